-- sinkgate.tail — reads a topic and turns each message into an ordered JSON
-- object: partition, offset, timestamp, key, value, headers. Keys and values
-- are decoded by their bytes: Confluent-framed Avro through the registry,
-- JSON, UTF-8 text, else base64. A key or value that cannot be decoded as
-- asked is {"error": …} (and counted in self.errors), never silently
-- something else; a registry that cannot be reached stops the tail.
-- A key_format/value_format may also be a sinkgate.tail_decode decoder:
-- the row a Kafka source would decode, as a JSON object of its columns.
local cjson = require "cjson.safe"
local mime = require "mime"
local core = require "sinkgate.core"
local avro_decode = require "sinkgate.avro.decode"
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
-- Returns the schema text; or nil, err, true when the registry could not
-- be asked at all (unreachable: nothing Avro can be decoded).
local function fetch_schema(registry, id)
  local http = require "socket.http"
  local ltn12 = require "ltn12"
  local out = {}
  http.TIMEOUT = 10
  local ok, status = http.request({ url = registry .. "/schemas/ids/" .. id, sink = ltn12.sink.table(out) })
  if not ok then return nil, ("registry %s unreachable: %s"):format(registry, tostring(status)), true end
  local body = cjson.decode(table.concat(out))
  if status ~= 200 or type(body) ~= "table" or type(body.schema) ~= "string" then
    return nil, ("registry %s: schema id %d: HTTP %s"):format(registry, id, tostring(status))
  end
  return body.schema
end

local function framed(bytes)
  return #bytes >= 5 and bytes:byte(1) == 0
end

local function schema_id(bytes)
  return bytes:byte(2) * 16777216 + bytes:byte(3) * 65536 + bytes:byte(4) * 256 + bytes:byte(5)
end

-- Decodes Confluent-framed Avro; nil, err[, fatal].
function M:decode_avro(bytes)
  local id = schema_id(bytes)
  local dec = self.schemas[id]
  if not dec then
    local text, err, fatal = fetch_schema(self.registry, id)
    if not text then return nil, err, fatal end
    dec, err = avro_decode.compile(text)
    if not dec then return nil, ("schema id %d: %s"):format(id, err) end
    self.schemas[id] = dec
  end
  local text, err = avro_decode.to_json(dec, bytes:sub(6))
  if not text then return nil, ("schema id %d: %s"):format(id, err) end
  return json.raw(text)
end

local function failed(self, what, err)
  self.errors = self.errors + 1
  self.last_error = what .. ": " .. err
  return json.object({ "error" }, { error = err })
end

-- The JSON form of one key or value (`what` names it in errors). fmt is
-- a format name, or a sinkgate.tail_decode decoder (the sources' decoders).
function M:decode(bytes, fmt, what)
  if bytes == nil then return json.null end
  if type(fmt) == "table" then
    local text, err = fmt:decode(bytes)
    if not text then return failed(self, what, err) end
    return json.raw(text)
  end
  if fmt == "avro" or (fmt == "auto" and framed(bytes)) then
    if not self.registry then
      if fmt == "avro" then return failed(self, what, "no registry to decode Avro") end
      -- Looks framed, but nothing to check it against: say so once, and
      -- show the bytes as bytes, never as text.
      if not self.warned_no_registry then
        self.warned_no_registry = true
        self.warn(("%s looks like Confluent-framed Avro (schema id %d) but no registry is set "
          .. "(--registry or $SINKGATE_REGISTRY): showing bytes as base64"):format(what, schema_id(bytes)))
      end
      return json.object({ "base64" }, { base64 = mime.b64(bytes) })
    end
    if not framed(bytes) then return failed(self, what, "not Confluent-framed Avro (no magic byte 0 + schema id)") end
    local v, err, fatal = self:decode_avro(bytes)
    if fatal then error({ tail_fatal = err }, 0) end
    if v then return v end
    if fmt == "avro" then return failed(self, what, err) end
    -- auto: a 0 first byte is not proof of Avro; fall through.
  end
  if fmt == "json" then
    local ok, err = cjson.decode(bytes)
    if ok == nil then return failed(self, what, "not JSON (" .. tostring(err) .. ")") end
    return json.raw(bytes)
  end
  if fmt == "auto" and #bytes > 0 and cjson.decode(bytes) ~= nil then return json.raw(bytes) end
  if (fmt == "text" or fmt == "auto") and valid_utf8(bytes) then return bytes end
  return json.object({ "base64" }, { base64 = mime.b64(bytes) })
end

function M.open(o)
  local t = C.sg_tail_open(o.brokers, o.topic, o.read_committed and 1 or 0, nil, nil, 0, core.errbuf, core.ERRLEN)
  if t == nil then return nil, core.err() end
  return setmetatable({ h = ffi.gc(t, C.sg_tail_free), msg = ffi.new("sg_tail_msg"), registry = o.registry,
    schemas = {}, key_format = o.key_format or "auto", value_format = o.value_format or "auto", errors = 0,
    warn = o.warn or function() end }, M)
end

local function str(p, n, is_null)
  if is_null ~= 0 then return nil end
  return ffi.string(p, n)
end

-- Next message as an ordered table; nil, "idle" | "caught-up" | error.
-- A registry that cannot be reached is an error (nothing Avro could be shown).
function M:next(timeout_ms)
  local ok, m, why = pcall(self.next_message, self, timeout_ms)
  if ok then return m, why end
  if type(m) == "table" and m.tail_fatal then return nil, m.tail_fatal end
  error(m, 0)
end

function M:next_message(timeout_ms)
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
    key = self:decode(str(m.key, m.key_len, m.key_null), self.key_format,
      ("partition %d offset %s: key"):format(m.partition, tostring(m.offset):gsub("LL$", ""))),
    value = self:decode(str(m.value, m.value_len, m.value_null), self.value_format,
      ("partition %d offset %s: value"):format(m.partition, tostring(m.offset):gsub("LL$", ""))),
    headers = #headers > 0 and headers or json.empty_array,
  })
end

return M
