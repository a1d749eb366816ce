-- sinkgate.tail — reads a topic and turns each message into an ordered JSON
-- object: partition, offset, timestamp, key, value, headers. Keys and values
-- are decoded by their bytes: Confluent-framed Avro through the registry,
-- JSON, UTF-8 text, else base64.
local cjson = require "cjson.safe"
local mime = require "mime"
local core = require "sinkgate.core"
local json = require "sinkgate.util.json"

local C, ffi = core.C, core.ffi
local M = {}
M.__index = M

local function valid_utf8(s)
  local i, n = 1, #s
  while i <= n do
    local c = s:byte(i)
    local len = c < 0x80 and 1 or (c >= 0xC2 and c < 0xE0) and 2 or (c >= 0xE0 and c < 0xF0) and 3
      or (c >= 0xF0 and c < 0xF5) and 4 or nil
    if not len or i + len - 1 > n then return false end
    for j = i + 1, i + len - 1 do
      local b = s:byte(j)
      if b < 0x80 or b > 0xBF then return false end
    end
    i = i + len
  end
  return true
end

-- GET /schemas/ids/N from the registry (luasocket; tail is a dev tool).
local function fetch_schema(registry, id)
  local http = require "socket.http"
  local ltn12 = require "ltn12"
  local out = {}
  local _, status = http.request({ url = registry .. "/schemas/ids/" .. id, sink = ltn12.sink.table(out) })
  local body = cjson.decode(table.concat(out))
  if status ~= 200 or type(body) ~= "table" or not body.schema then
    return nil, ("registry %s: schema %d: HTTP %s"):format(registry, id, tostring(status))
  end
  return body.schema
end

function M:decode_avro(bytes)
  local id = bytes:byte(2) * 16777216 + bytes:byte(3) * 65536 + bytes:byte(4) * 256 + bytes:byte(5)
  local schema = self.schemas[id]
  if not schema then
    local err
    schema, err = fetch_schema(self.registry, id)
    if not schema then return nil, err end
    self.schemas[id] = schema
  end
  local buf = ffi.new("sg_buf[1]")
  local rc = C.sg_avro_decode_json(schema, #schema, bytes:sub(6), #bytes - 5, buf, core.errbuf, core.ERRLEN)
  local text = rc == 0 and ffi.string(buf[0].data, buf[0].len) or nil
  C.sg_buf_free(buf)
  if not text then return nil, core.err() end
  return json.raw(text)
end

-- The JSON form of one key or value.
function M:decode(bytes, fmt)
  if bytes == nil then return json.null end
  if (fmt == "avro" or fmt == "auto") and self.registry and #bytes >= 5 and bytes:byte(1) == 0 then
    local v, err = self:decode_avro(bytes)
    if v or fmt == "avro" then return v or json.object({ "error" }, { error = err }) end
  end
  if (fmt == "json" or fmt == "auto") and #bytes > 0 and cjson.decode(bytes) ~= nil then
    return json.raw(bytes)
  end
  if (fmt == "text" or fmt == "auto" or fmt == "json") and valid_utf8(bytes) then return bytes end
  return json.object({ "base64" }, { base64 = mime.b64(bytes) })
end

function M.open(o)
  local t = C.sg_tail_open(o.brokers, o.topic, o.read_committed and 1 or 0, nil, nil, 0, core.errbuf, core.ERRLEN)
  if t == nil then return nil, core.err() end
  return setmetatable({ h = ffi.gc(t, C.sg_tail_free), msg = ffi.new("sg_tail_msg"), registry = o.registry,
    schemas = {}, key_format = o.key_format or "auto", value_format = o.value_format or "auto" }, M)
end

local function str(p, n, is_null)
  if is_null ~= 0 then return nil end
  return ffi.string(p, n)
end

-- Next message as an ordered table; nil, "idle" | "caught-up" | error.
function M:next(timeout_ms)
  local rc = C.sg_tail_next(self.h, timeout_ms, self.msg, core.errbuf, core.ERRLEN)
  if rc == 0 then return nil, "idle" end
  if rc == 2 then return nil, "caught-up" end
  if rc < 0 then return nil, core.err() end
  local m = self.msg
  local headers = {}
  local name, val, len = ffi.new("const char *[1]"), ffi.new("const void *[1]"), ffi.new("size_t[1]")
  for i = 0, m.nheaders - 1 do
    if C.sg_tail_header(self.h, i, name, val, len) == 0 then
      local v = val[0] ~= nil and ffi.string(val[0], len[0]) or nil
      headers[#headers + 1] = { ffi.string(name[0]), v == nil and json.null or self:decode(v, "text") }
    end
  end
  return json.object({ "partition", "offset", "timestamp", "key", "value", "headers" }, {
    partition = m.partition, offset = tonumber(m.offset), timestamp = tonumber(m.timestamp),
    key = self:decode(str(m.key, m.key_len, m.key_null), self.key_format),
    value = self:decode(str(m.value, m.value_len, m.value_null), self.value_format),
    headers = #headers > 0 and headers or json.empty_array,
  })
end

return M
