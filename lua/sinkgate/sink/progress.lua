-- sinkgate.sink.progress — the progress record a sink writes last in every
-- transaction: key "<prefix>-sink-<name>", value compact JSON
--   {"frontier":[<upper>],"version":<n>}
-- extended (semantics §1 keeps the object open) with, in this order:
--   "snapshot":{"done":k}   a snapshot split across transactions: k updates
--                           of it are committed;
--   "sink":{…}              what the timeline was committed for (topic, key,
--                           formats, envelope): resuming a record written for
--                           something else would skip data, so a mismatch
--                           stops the sink until its version is bumped;
--   "writer":{"id":…,"started":ms}  which instance committed it: after a
--                           fatal error an instance counts a commit as its
--                           own only when the record names it, and an
--                           instance that sees a newer writer stops;
--   "sources":{"<name>":{…}} what an input needs to resume identically (a
--                           generator's start; Kafka sources' offsets).
-- "frontier":[] means the sink is finished.
local cjson = require "cjson.safe"

local M = {}

function M.key(prefix, sink_name)
  return (prefix or "sinkgate") .. "-sink-" .. sink_name
end

local function int(v)
  return (tostring(v):gsub("U?LL$", ""))
end

local IDENTITY = { "topic", "key", "key_format", "value_format", "envelope" }
M.IDENTITY = IDENTITY

local function identity_json(id)
  local parts = {}
  for _, k in ipairs(IDENTITY) do
    local v = id[k]
    if type(v) == "table" then
      local names = {}
      for i, n in ipairs(v) do names[i] = cjson.encode(n) end
      parts[#parts + 1] = cjson.encode(k) .. ":[" .. table.concat(names, ",") .. "]"
    elseif v ~= nil then
      parts[#parts + 1] = cjson.encode(k) .. ":" .. cjson.encode(v)
    end
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

-- nil when the record's inputs include name (or it has none: an older
-- record), else why not: a sink resumed over another input would keep the
-- old input's rows in its topic with nothing to retract them.
function M.input_change(sources, name)
  if not sources or next(sources) == nil or sources[name] then return nil end
  local was = {}
  for k in pairs(sources) do was[#was + 1] = k end
  table.sort(was)
  return ("was written reading input %s, but this sink now reads %s"):format(table.concat(was, ", "), name)
end

local function sources_json(sources)
  local names = {}
  for name in pairs(sources) do names[#names + 1] = name end
  table.sort(names)
  local s = {}
  for i, name in ipairs(names) do
    local fields, keys = {}, {}
    for k in pairs(sources[name]) do keys[#keys + 1] = k end
    table.sort(keys)
    for j, k in ipairs(keys) do
      local v = sources[name][k]
      if type(v) == "table" then -- a Kafka source's offsets per partition
        local xs = {}
        for n, x in ipairs(v) do xs[n] = int(x) end
        v = "[" .. table.concat(xs, ",") .. "]"
      elseif type(v) == "string" then -- e.g. a Kafka source's topic
        v = cjson.encode(v)
      else
        v = int(v)
      end
      fields[j] = cjson.encode(k) .. ":" .. v
    end
    s[i] = cjson.encode(name) .. ":{" .. table.concat(fields, ",") .. "}"
  end
  return "{" .. table.concat(s, ",") .. "}"
end

-- rec: { frontier = u64 or nil, version = n, snapshot_done = k?, sink = identity?,
--        writer = { id =, started = }?, sources = { name = { k = v } }? }
function M.encode(rec)
  local parts = { '{"frontier":[', rec.frontier and int(rec.frontier) or "", '],"version":', int(rec.version) }
  if rec.snapshot_done then parts[#parts + 1] = ',"snapshot":{"done":' .. int(rec.snapshot_done) .. "}" end
  if rec.sink then parts[#parts + 1] = ',"sink":' .. identity_json(rec.sink) end
  if rec.writer then
    parts[#parts + 1] = ',"writer":{"id":' .. cjson.encode(rec.writer.id) .. ',"started":' .. int(rec.writer.started) .. "}"
  end
  if rec.sources and next(rec.sources) then parts[#parts + 1] = ',"sources":' .. sources_json(rec.sources) end
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
  if type(t.sink) == "table" then rec.sink = t.sink end
  if type(t.writer) == "table" and type(t.writer.id) == "string" then
    rec.writer = { id = t.writer.id, started = tonumber(t.writer.started) or 0 }
  end
  return rec
end

local function show(v)
  if type(v) == "table" then return "{" .. table.concat(v, ", ") .. "}" end
  return v == nil and "(none)" or tostring(v)
end

local function same(a, b)
  if type(a) == "table" and type(b) == "table" then
    if #a ~= #b then return false end
    for i = 1, #a do if a[i] ~= b[i] then return false end end
    return true
  end
  return a == b
end

-- The differences between what a record was committed for and what the
-- sink is now, as "key: was X, now Y" strings (empty when they agree; a
-- record written before identities were recorded agrees with anything).
function M.identity_changes(recorded, now)
  local diffs = {}
  if not recorded then return diffs end
  for _, k in ipairs(IDENTITY) do
    local was = recorded[k]
    if was == cjson.null then was = nil end
    if not same(was, now[k]) then diffs[#diffs + 1] = ("%s was %s, now %s"):format(k, show(was), show(now[k])) end
  end
  return diffs
end

return M
