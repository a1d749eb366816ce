-- cloudevents — a value format: each row as a CloudEvent (CloudEvents 1.0,
-- Kafka protocol binding). mode = "structured": the whole event as one JSON
-- object (content type application/cloudevents+json); mode = "binary": the
-- row as the JSON value, the attributes as ce_* headers. Deletions under
-- ENVELOPE UPSERT stay tombstones (no event). Event ids are deterministic
-- (sink, logical time, position in that time), so a transaction replayed
-- after a failure carries the same ids.
local json = require "json"

local STRUCTURED_HEADERS = { ["content-type"] = "application/cloudevents+json" }

local function rfc3339(ms)
  if type(ms) ~= "number" then return nil end
  return os.date("!%Y-%m-%dT%H:%M:%S", math.floor(ms / 1000)) .. (".%03dZ"):format(ms % 1000)
end

local function new(opts)
  local cols, last_time, seq, time_id, time_attr
  -- the parts that do not change per row, built once
  local tail = ',"source":' .. json.value(opts.source) .. ',"type":' .. json.value(opts.type)
  local subject = opts.subject_column
  local self = {}
  function self.prepare(info)
    local names = {}
    for i, c in ipairs(info.columns) do names[i] = c.name end
    cols = json.columns(names)
    return true
  end
  function self.encode(row, meta)
    local t = meta.time
    if t ~= last_time then -- per logical time, not per row
      last_time, seq = t, 0
      time_id = (tostring(t):gsub("U?LL$", ""))
      time_attr = opts.time and rfc3339(t) or nil
    end
    seq = seq + 1
    local id = (meta.sink or meta.topic) .. "-" .. time_id .. "-" .. seq
    local subj = subject and row[subject]
    local data = json.row(row, cols)
    if opts.mode == "binary" then
      return data, { ["content-type"] = "application/json", ce_specversion = "1.0", ce_id = id, ce_source = opts.source,
        ce_type = opts.type, ce_time = time_attr, ce_subject = subj ~= nil and tostring(subj) or nil }
    end
    return '{"specversion":"1.0","id":' .. json.value(id) .. tail ..
      (time_attr and (',"time":"' .. time_attr .. '"') or "") ..
      (subj ~= nil and (',"subject":' .. json.value(tostring(subj))) or "") ..
      ',"datacontenttype":"application/json","data":' .. data .. "}",
      STRUCTURED_HEADERS
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
