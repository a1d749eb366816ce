-- sinkgate.tail_decode — `sinkgate tail` with the decoders Kafka sources
-- use (sinkgate.decode, sinkgate.decode.protobuf): a key or value becomes
-- the row a source would see, printed as one JSON object of its columns by
-- the sinks' JSON encoder. So what tail shows of a topic is what a source
-- reading it would ingest, and a message tail cannot decode is one a
-- source would count as undecodable.
--
--   local d, err = tail_decode.new { format = "protobuf", which = "value", topic = "t",
--     registry = url, descriptor_set = path, message = "pkg.Msg",
--     csv = { columns = n | header = { names }, delimiter = "," } }
--   d:decode(bytes) → JSON text | nil, message[, fatal]
local core = require "sinkgate.core"
local decode = require "sinkgate.decode"
local pb = require "sinkgate.decode.protobuf"
local relation = require "sinkgate.relation"

local C, ffi = core.C, core.ffi
local M = {}
M.__index = M

M.FORMATS = { avro = true, protobuf = true, csv = true, text = true, bytes = true, json = true }

local function client_of(o)
  if not o.registry then return nil, "no registry (--registry or $SINKGATE_REGISTRY)" end
  local c, err = require("sinkgate.registry").client({ url = o.registry, timeout = 10000, retries = 1 })
  if not c then return nil, "registry: " .. tostring(err) end
  return c
end

-- The latest schema of <topic>-<which>: the reader schema a source
-- created now would use (TopicNameStrategy, as the reference).
local function latest(c, o)
  local subject = o.topic .. "-" .. o.which
  local l, err = c:latest(subject)
  if not l then return nil, "registry: " .. err.message end
  return l
end

local function avro(o)
  local c, err = client_of(o)
  if not c then return nil, err end
  local l
  l, err = latest(c, o)
  if not l then return nil, err end
  if l.schemaType ~= "AVRO" then return nil, ("%s-%s is a %s schema, not Avro"):format(o.topic, o.which, l.schemaType) end
  local d
  d, err = decode.new("avro", { schema = l.schema, fetch = function(id)
    local text, e = c:schema_by_id(id)
    if not text then return nil, e.message end
    return text
  end })
  if not d then return nil, err end
  return { columns = d:relation_columns(), into = function(b, r, bytes)
    local ok, e2 = d:into(b, r, 0, bytes)
    return ok, e2
  end }
end

local function protobuf(o)
  local d, err, c
  if o.descriptor_set then
    if not o.message then return nil, "--descriptor-set needs --message NAME" end
    d, err = pb.from_file({ descriptor_set = o.descriptor_set, message = o.message })
  else
    c, err = client_of(o)
    if not c then return nil, err end
    local l
    l, err = latest(c, o)
    if not l then return nil, err end
    if l.schemaType ~= "PROTOBUF" then return nil, ("%s-%s is a %s schema, not Protobuf"):format(o.topic, o.which, l.schemaType) end
    d, err = pb.from_registry(l.schema, { schema_id = l.id })
  end
  if not d then return nil, err end
  return { columns = d.columns, into = function(b, r, bytes)
    local ok, e2, code = d:decode(b, r, 0, bytes)
    if ok or code ~= -2 or not c then return ok, e2 end
    -- Framed with another schema id: accepted if it defines the message
    -- the same way (the source's rule), then decoded again.
    local id = d:last_id()
    local text, e3 = c:schema_by_id(id)
    if not text then return nil, e3.message end
    local acc, e4 = d:accept_schema(id, text)
    if not acc then return nil, e4 end
    return d:decode(b, r, 0, bytes)
  end }
end

local function simple(o)
  local d, err = decode.new(o.format, o.format == "csv" and o.csv or nil)
  if not d then return nil, err end
  return { columns = d:relation_columns(), into = function(b, r, bytes)
    local ok, e2 = d:into(b, r, 0, bytes)
    return ok, e2
  end }
end

-- A decoder for o.format; nil, message when it cannot be made (no
-- registry, no subject, a bad descriptor set: nothing could be decoded).
function M.new(o)
  local inner, err
  if o.format == "avro" then
    inner, err = avro(o)
  elseif o.format == "protobuf" then
    inner, err = protobuf(o)
  elseif M.FORMATS[o.format] then
    inner, err = simple(o)
  else
    return nil, "unknown format " .. tostring(o.format)
  end
  if not inner then return nil, ("--%s-format %s: %s"):format(o.which, o.format, err) end
  local rel, problems = relation.new(o.which, inner.columns)
  if not rel then return nil, table.concat(problems, "; ") end
  local cols = ffi.new("int[?]", #rel.columns)
  for i = 1, #rel.columns do cols[i - 1] = i - 1 end
  return setmetatable({ inner = inner, rel = rel, cols = cols, ncols = #rel.columns,
    batch = ffi.gc(C.sg_batch_new(rel:c_schema(), 1), C.sg_batch_free),
    buf = ffi.gc(ffi.new("sg_buf"), C.sg_buf_free) }, M)
end

function M:decode(bytes)
  local b = self.batch
  C.sg_batch_clear(b)
  local r = C.sg_batch_push_row(b, 1, 1)
  if r < 0 then return nil, "out of memory" end
  local ok, err = self.inner.into(b, r, bytes)
  if not ok then return nil, err end
  local buf = self.buf
  buf.len = 0
  if C.sg_encode_json_row(b, r, self.cols, self.ncols, buf, core.errbuf, core.ERRLEN) ~= 0 then
    return nil, core.err()
  end
  return ffi.string(buf.data, buf.len)
end

return M
