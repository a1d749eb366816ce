-- cloudevents — a value format: each row as a CloudEvent (CloudEvents 1.0,
-- Kafka protocol binding). mode = "structured": the whole event as one JSON
-- object (content type application/cloudevents+json); mode = "binary": the
-- row as the JSON value, the attributes as ce_* headers. Deletions under
-- ENVELOPE UPSERT stay tombstones (no event). Event ids are deterministic
-- (sink, logical time, position in that time), so a transaction replayed
-- after a failure carries the same ids.
local json = require "json"

local function rfc3339(ms)
  if type(ms) ~= "number" then return nil end
  return os.date("!%Y-%m-%dT%H:%M:%S", math.floor(ms / 1000)) .. (".%03dZ"):format(ms % 1000)
end

local function new(opts)
  local names, last_time, seq
  local self = { keys = false }
  function self.prepare(info)
    names = {}
    for i, c in ipairs(info.columns) do names[i] = c.name end
    return true
  end
  function self.encode(row, meta)
    if meta.time ~= last_time then last_time, seq = meta.time, 0 end
    seq = seq + 1
    local id = ("%s-%s-%d"):format(meta.sink or meta.topic, (tostring(meta.time):gsub("U?LL$", "")), seq)
    local attrs = {
      { "specversion", "1.0" }, { "id", id }, { "source", opts.source }, { "type", opts.type },
      { "time", opts.time and rfc3339(meta.time) or nil },
      { "subject", opts.subject_column and row[opts.subject_column] ~= nil and tostring(row[opts.subject_column])
        or nil },
    }
    local data = json.row(row, names)
    if opts.mode == "binary" then
      local headers = { ["content-type"] = "application/json" }
      for _, a in ipairs(attrs) do if a[2] ~= nil then headers["ce_" .. a[1]] = a[2] end end
      return data, headers
    end
    local out = {}
    for _, a in ipairs(attrs) do
      if a[2] ~= nil then out[#out + 1] = json.value(a[1]) .. ":" .. json.value(a[2]) end
    end
    out[#out + 1] = '"datacontenttype":"application/json"'
    out[#out + 1] = '"data":' .. data
    return "{" .. table.concat(out, ",") .. "}", { ["content-type"] = "application/cloudevents+json" }
  end
  return self
end

return {
  kind = "format",
  name = "cloudevents",
  version = "1.0.0",
  doc = "Rows as CloudEvents 1.0 (structured JSON, or binary mode with ce_* headers).",
  options = {
    doc = "value_format = sg.plugin \"cloudevents\" { source = \"/orders\" }",
    fields = {
      { "source", "string", required = true, check = "nonempty", doc = "The event source (a URI-reference)." },
      { "type", "string", default = "io.sinkgate.row", check = "nonempty", doc = "The event type." },
      { "mode", "string", default = "structured", enum = { "structured", "binary" },
        doc = "structured: one JSON event per message; binary: the row as value, attributes as ce_* headers." },
      { "subject_column", "string", doc = "A column whose value is the event's subject." },
      { "time", "boolean", default = true,
        doc = "Give the event a time: the row's logical timestamp read as epoch milliseconds." },
    },
  },
  new = new,
}
