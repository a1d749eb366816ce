-- sinkgate.sink.progress — the progress record a sink writes last in every
-- transaction: key "<prefix>-sink-<name>", value compact JSON
--   {"frontier":[<upper>],"version":<n>}
-- extended only when needed with "snapshot":{"done":k} (a snapshot split
-- across transactions: k updates of it are committed) and
-- "sources":{"<name>":{…}} (what an input needs to resume identically, e.g. a
-- generator's start; Kafka sources will keep their offsets here, in the same
-- transaction). "frontier":[] means the sink is finished.
local cjson = require "cjson.safe"

local M = {}

function M.key(prefix, sink_name)
  return (prefix or "sinkgate") .. "-sink-" .. sink_name
end

local function int(v)
  return (tostring(v):gsub("U?LL$", ""))
end

-- rec: { frontier = u64 or nil, version = n, snapshot_done = k?, sources = { name = { k = v } }? }
function M.encode(rec)
  local parts = { '{"frontier":[', rec.frontier and int(rec.frontier) or "", '],"version":', int(rec.version) }
  if rec.snapshot_done then parts[#parts + 1] = ',"snapshot":{"done":' .. int(rec.snapshot_done) .. "}" end
  if rec.sources and next(rec.sources) then
    local names = {}
    for name in pairs(rec.sources) do names[#names + 1] = name end
    table.sort(names)
    local s = {}
    for i, name in ipairs(names) do
      local fields, keys = {}, {}
      for k in pairs(rec.sources[name]) do keys[#keys + 1] = k end
      table.sort(keys)
      for j, k in ipairs(keys) do fields[j] = cjson.encode(k) .. ":" .. int(rec.sources[name][k]) end
      s[i] = cjson.encode(name) .. ":{" .. table.concat(fields, ",") .. "}"
    end
    parts[#parts + 1] = ',"sources":{' .. table.concat(s, ",") .. "}"
  end
  parts[#parts + 1] = "}"
  return table.concat(parts)
end

-- Parses a record; nil, message when it is not one.
function M.decode(text)
  local t = cjson.decode(text or "")
  if type(t) ~= "table" or type(t.frontier) ~= "table" or type(t.version) ~= "number" then
    return nil, "not a progress record: " .. tostring(text)
  end
  local rec = { version = t.version, sources = type(t.sources) == "table" and t.sources or {} }
  if #t.frontier > 0 then rec.frontier = t.frontier[1] end
  if type(t.snapshot) == "table" then rec.snapshot_done = t.snapshot.done end
  return rec
end

return M
