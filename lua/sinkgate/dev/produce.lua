-- sinkgate.dev.produce — seeds a topic of the dev environment from a file
-- written by hand (`sinkgate dev --produce TOPIC=FILE`, control command
-- `produce TOPIC FILE`), so examples need no other Kafka tool.
--
-- Two file modes (docs/dev-environment.md):
--   FILE       one JSON object per line: {"key": …, "value": …, "headers":
--              {…}, "partition": n}; key/value are strings sent as UTF-8,
--              null (or absent) for none; "key_b64"/"value_b64" carry raw
--              bytes; "value": null is a tombstone. Blank lines and lines
--              starting with '#' are skipped.
--   text:FILE  each line is one value, without a key.
-- The whole file is checked before anything is sent: a bad line means no
-- message of the file is produced.
local cjson = require "cjson.safe"
local mime = require "mime"
local core = require "sinkgate.core"

local C, ffi = core.C, core.ffi
local M = {}

M.MAX_LINES = 1000000
M.FLUSH_MS = 15000

local FIELDS = { key = true, value = true, key_b64 = true, value_b64 = true, headers = true, partition = true }

local function b64(s, what)
  if type(s) ~= "string" or #s % 4 ~= 0 or not s:match("^[%w+/]*=?=?$") then
    return nil, what .. " must be base64 text"
  end
  return mime.unb64(s) or ""
end

-- One of key/value: nil for null/absent, else the bytes; or nil, message.
local function bytes_of(o, name)
  local plain, raw = o[name], o[name .. "_b64"]
  if plain ~= nil and raw ~= nil then return nil, ("give %s or %s_b64, not both"):format(name, name) end
  if raw ~= nil and raw ~= cjson.null then return b64(raw, name .. "_b64") end
  if plain == nil or plain == cjson.null then return false end
  if type(plain) ~= "string" then
    return nil, ("%s must be a string or null (use %s_b64 for raw bytes), not %s"):format(name, name, type(plain))
  end
  return plain
end

-- headers: {"name": "value"|null, …} or [["name", "value"|null], …] (the
-- list form keeps order and allows a name twice).
local function headers_of(h)
  if h == nil or h == cjson.null then return {} end
  if type(h) ~= "table" then return nil, "headers must be an object or a list of [name, value] pairs" end
  local out = {}
  if #h > 0 or next(h) == nil then
    for i, pair in ipairs(h) do
      if type(pair) ~= "table" or type(pair[1]) ~= "string" or #pair ~= 2 then
        return nil, ("headers[%d] must be a [name, value] pair"):format(i)
      end
      out[i] = { pair[1], pair[2] }
    end
  else
    local names = {}
    for k in pairs(h) do names[#names + 1] = k end
    table.sort(names) -- an object has no order: a stable one
    for _, k in ipairs(names) do out[#out + 1] = { k, h[k] } end
  end
  for _, p in ipairs(out) do
    if p[2] == cjson.null then p[2] = nil end
    if p[2] ~= nil and type(p[2]) ~= "string" then return nil, ("header %s must be a string or null"):format(p[1]) end
  end
  return out
end

-- One JSON line as a message { key, value, headers, partition }, or nil, message.
function M.parse_line(line)
  local o, err = cjson.decode(line)
  if type(o) ~= "table" or #o > 0 then
    return nil, err and ("not JSON (" .. err .. ")") or "expected a JSON object"
  end
  for k in pairs(o) do
    if not FIELDS[k] then return nil, ("unknown field \"%s\" (expected key, value, key_b64, value_b64, headers, partition)"):format(tostring(k)) end
  end
  local m = {}
  m.key, err = bytes_of(o, "key")
  if m.key == nil then return nil, err end
  m.value, err = bytes_of(o, "value")
  if m.value == nil then return nil, err end
  m.headers, err = headers_of(o.headers)
  if not m.headers then return nil, err end
  local p = o.partition
  if p ~= nil and p ~= cjson.null then
    if type(p) ~= "number" or p % 1 ~= 0 or p < 0 or p > 99999 then
      return nil, "partition must be an integer >= 0"
    end
    m.partition = p
  end
  return m
end

-- The messages of a file ("text:PATH" for text mode), or nil, message.
function M.read(spec)
  local text_mode = spec:sub(1, 5) == "text:"
  local path = text_mode and spec:sub(6) or spec
  local f, err = io.open(path, "rb")
  if not f then return nil, tostring(err) end
  local data = f:read("*a")
  f:close()
  local msgs, n = {}, 0
  for line in (data:sub(-1) == "\n" and data or data .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    if n > M.MAX_LINES then return nil, ("%s: more than %d lines"):format(path, M.MAX_LINES) end
    line = line:gsub("\r$", "")
    if text_mode then
      msgs[#msgs + 1] = { key = false, value = line, headers = {} }
    elseif line:match("%S") and not line:match("^%s*#") then
      local m, e2 = M.parse_line(line)
      if not m then return nil, ("%s:%d: %s"):format(path, n, e2) end
      msgs[#msgs + 1] = m
    end
  end
  return msgs
end

-- A producer for the dev cluster. Partitioning by key with murmur2, as
-- Java clients do, so keyed messages land where other tools put them.
function M.producer(bootstrap)
  local keys = { "bootstrap.servers", "partitioner", "socket.nagle.disable", "linger.ms", "message.timeout.ms" }
  local vals = { bootstrap, "murmur2_random", "true", "5", tostring(M.FLUSH_MS) }
  local ck, kk = core.strings(keys)
  local cv, kv = core.strings(vals)
  local p = C.sg_producer_new(ck, cv, #keys, core.errbuf, core.ERRLEN)
  local _ = { kk, kv }
  if p == nil then return nil, "producer: " .. core.err() end
  return ffi.gc(p, C.sg_producer_free)
end

-- Sends msgs to topic and waits for their delivery; returns the count, or
-- nil, message (some may have been delivered then).
function M.send(p, topic, msgs)
  local before = ffi.new("sg_producer_stats")
  C.sg_producer_stats_get(p, before)
  for _, m in ipairs(msgs) do
    local nh = #m.headers
    local names, nkeep = core.strings((function()
      local t = {}
      for i, h in ipairs(m.headers) do t[i] = h[1] end
      return t
    end)())
    local hv, hl = ffi.new("const void *[?]", nh + 1), ffi.new("size_t[?]", nh + 1)
    for i, h in ipairs(m.headers) do
      hv[i - 1] = h[2]
      hl[i - 1] = h[2] and #h[2] or 0
    end
    local key = m.key or nil
    local rc = C.sg_producer_send(p, topic, m.partition or -1, key, key and #key or 0, m.value or nil,
      m.value and #m.value or 0, m.value and 0 or 1, names, hv, hl, nh, core.errbuf, core.ERRLEN)
    local _ = { nkeep, m }
    if rc ~= 0 then return nil, core.err() end
  end
  if C.sg_producer_flush(p, M.FLUSH_MS, core.errbuf, core.ERRLEN) ~= 0 then return nil, core.err() end
  local after = ffi.new("sg_producer_stats")
  C.sg_producer_stats_get(p, after)
  local failed = tonumber(after.failed - before.failed)
  if failed > 0 then
    return nil, ("%d of %d message(s) not delivered: %s"):format(failed, #msgs, ffi.string(after.last_error))
  end
  return #msgs
end

return M
