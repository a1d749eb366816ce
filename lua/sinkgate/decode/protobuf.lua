-- sinkgate.decode.protobuf — Protobuf schemas to relation columns, and the
-- decoder (core/decode/protobuf*.c) that fills them.
--
-- Schemas come from a FileDescriptorSet (`protoc --include_imports
-- --descriptor_set_out`) plus a message name, or from a registry's .proto
-- text, which the real compiler (protoc) turns into a descriptor set.
-- The SQL mapping follows the reference: a message's fields become columns
-- in declaration order; int32/sint32/sfixed32 → integer, int64/sint64/
-- sfixed64 → bigint, float → real, double → double precision, bool →
-- boolean, string → text, bytes → bytea, enum → text (the value's name),
-- message → a nullable record, repeated → a NOT NULL list. Beyond the
-- reference (which rejects them): uint32/fixed32 → uint4, uint64/fixed64 →
-- uint8, map<K, V> → map[text=>V] with keys in text form.
local core = require "sinkgate.core"
local types = require "sinkgate.types"
local relation = require "sinkgate.relation"

local C, ffi = core.C, core.ffi
local M = {}
M.__index = M

local SCALAR = {
  [1] = "double precision", [2] = "real", [3] = "bigint", [4] = "uint8", [5] = "integer", [6] = "uint8",
  [7] = "uint4", [8] = "boolean", [9] = "text", [12] = "bytea", [13] = "uint4", [14] = "text",
  [15] = "integer", [16] = "bigint", [17] = "integer", [18] = "bigint",
}
local MESSAGE = 11

M.CONFLUENT, M.OPTIONAL_NULL = C.SG_PB_CONFLUENT, C.SG_PB_OPTIONAL_NULL

local info = ffi.new("sg_pb_field_info")

local function fields_of(d, msg)
  local out = {}
  for i = 0, C.sg_pb_decoder_nfields(d, msg) - 1 do
    assert(C.sg_pb_decoder_field(d, msg, i, info) == 0)
    out[i + 1] = {
      name = ffi.string(info.name), number = info.number, proto_type = info.proto_type,
      repeated = info.repeated ~= 0, map = info.map ~= 0, nullable = info.nullable ~= 0, message = info.message,
    }
  end
  return out
end

local type_of

-- A message as a record type: its fields, with the decoder's nullability.
local function record_of(d, msg)
  local fields = {}
  for i, f in ipairs(fields_of(d, msg)) do
    fields[i] = { name = f.name, type = type_of(d, f, true), nullable = f.nullable }
  end
  return { name = "record", id = types.ID.record, fields = fields, precision = -1, scale = -1 }
end

-- The SQL type of field f (of one element when `whole` is false).
type_of = function(d, f, whole)
  if whole and f.map then
    local value = fields_of(d, f.message)[2]
    return { name = "map", id = types.ID.map, value = type_of(d, value, true) }
  end
  if whole and f.repeated then
    return { name = "list", id = types.ID.list, elem = type_of(d, f, false) }
  end
  if f.proto_type == MESSAGE then return record_of(d, f.message) end
  return assert(types.parse(SCALAR[f.proto_type]))
end

-- opts: descriptor_set (bytes), message (full name), confluent (bool: the
-- registry's framing), optional = "default" (the reference: absent optional
-- and oneof scalars read as their default) | "null" (they read as NULL).
function M.new(opts)
  if type(opts.descriptor_set) ~= "string" then return nil, "descriptor_set: expected the descriptor set's bytes" end
  if type(opts.message) ~= "string" or opts.message == "" then return nil, "message: expected a full message name" end
  local optional = opts.optional or "default"
  if optional ~= "default" and optional ~= "null" then
    return nil, "optional: expected \"default\" or \"null\", got " .. tostring(optional)
  end
  local flags = bit.bor(opts.confluent and M.CONFLUENT or 0, optional == "null" and M.OPTIONAL_NULL or 0)
  local fds = opts.descriptor_set
  local d = C.sg_pb_decoder_new(fds, #fds, opts.message:gsub("^%.", ""), flags, core.errbuf, core.ERRLEN)
  if d == nil then return nil, core.err() end
  d = ffi.gc(d, C.sg_pb_decoder_free)
  local self = setmetatable({ c = d, message = opts.message:gsub("^%.", ""), columns = {} }, M)
  for i, f in ipairs(fields_of(d, 0)) do
    self.columns[i] = { f.name, type_of(d, f, true), not_null = not f.nullable }
  end
  return self
end

-- Reads a descriptor set file (opts.descriptor_set is then a path).
function M.from_file(opts)
  local f, err = io.open(opts.descriptor_set or "", "rb")
  if not f then return nil, "descriptor_set: " .. tostring(err) end
  local bytes = f:read("*a")
  f:close()
  local o = {}
  for k, v in pairs(opts) do o[k] = v end
  o.descriptor_set = bytes
  return M.new(o)
end

-- Compiles .proto text with protoc; returns the descriptor set's bytes.
function M.compile(text, file_name, protoc)
  local out = ffi.new("sg_buf")
  local rc = C.sg_pb_compile_proto(protoc, text, #text, file_name or "schema.proto", out, core.errbuf, core.ERRLEN)
  local bytes = rc == 0 and ffi.string(out.data, out.len) or nil
  C.sg_buf_free(out)
  if not bytes then return nil, core.err() end
  return bytes
end

-- The full names of the top-level messages that `file` defines.
function M.messages(fds, file)
  local out = ffi.new("sg_buf")
  local n = C.sg_pb_fds_messages(fds, #fds, file, out, core.errbuf, core.ERRLEN)
  local text = n >= 0 and ffi.string(out.data, out.len) or nil
  C.sg_buf_free(out)
  if not text then return nil, core.err() end
  local names = {}
  for name in text:gmatch("[^\n]+") do names[#names + 1] = name end
  return names
end

-- A decoder for a registry schema (schemaType PROTOBUF: .proto text). As in
-- the reference, the schema must define exactly one message; messages carry
-- the registry's framing. opts: optional, protoc (path), schema_id (the id
-- the source accepts; others are reported by decode, see accept).
function M.from_registry(text, opts)
  opts = opts or {}
  local fds, err = M.compile(text, "schema.proto", opts.protoc)
  if not fds then return nil, err end
  local names
  names, err = M.messages(fds, "schema.proto")
  if not names then return nil, err end
  if #names ~= 1 then
    return nil, ("the registry schema must define exactly one message, it defines %d%s"):format(#names,
      #names > 0 and " (" .. table.concat(names, ", ") .. ")" or "")
  end
  local d
  d, err = M.new { descriptor_set = fds, message = names[1], confluent = true, optional = opts.optional }
  if not d then return nil, err end
  if opts.schema_id then d:accept(opts.schema_id) end
  return d
end

-- Accepts messages framed with this schema id (before the first call, any id is).
function M:accept(id)
  if C.sg_pb_decoder_accept_id(self.c, id) ~= 0 then error("too many accepted schema ids", 2) end
end

-- A text signature of the compiled message tree: names, numbers, types,
-- labels and nullability of every reachable field.
local function signature(d, msg, out, seen)
  if seen[msg] then return end
  seen[msg] = true
  out[#out + 1] = ffi.string(C.sg_pb_decoder_message_name(d, msg)) .. "{"
  for _, f in ipairs(fields_of(d, msg)) do
    out[#out + 1] = ("%s=%d:%d:%s%s%s;"):format(f.name, f.number, f.proto_type, f.repeated and "r" or "",
      f.map and "m" or "", f.nullable and "n" or "")
    if f.message >= 0 then signature(d, f.message, out, seen) end
  end
  out[#out + 1] = "}"
end

function M:signature()
  local out = {}
  signature(self.c, 0, out, {})
  return table.concat(out)
end

-- Accepts schema `id` whose .proto text (from the registry) was met in a
-- message, if its message compiles to the same fields as this decoder's (the
-- reference's rule: Protobuf schema evolution is not supported). true, or
-- nil and why.
function M:accept_schema(id, text, protoc)
  local fds, err = M.compile(text, "schema.proto", protoc)
  if not fds then return nil, err end
  local other
  other, err = M.new { descriptor_set = fds, message = self.message,
    optional = bit.band(C.sg_pb_decoder_flags(self.c), M.OPTIONAL_NULL) ~= 0 and "null" or "default" }
  if not other then return nil, ("schema id %d: %s"):format(id, err) end
  if other:signature() ~= self:signature() then
    return nil, ("schema id %d defines %s differently from the schema this source was created with; " ..
      "Protobuf schema evolution is not supported (re-create the source)"):format(id, self.message)
  end
  self:accept(id)
  return true
end

-- The schema id of the last framed message decoded, or nil.
function M:last_id()
  local id = C.sg_pb_decoder_last_id(self.c)
  return id >= 0 and id or nil
end

-- Decodes bytes into row r (0-based) of batch b from column first_col (0-based).
-- true, or nil, message, code (-1 malformed, -2 schema id not accepted).
function M:decode(b, r, first_col, bytes)
  local rc = C.sg_pb_decode(self.c, bytes, #bytes, b, r, first_col or 0, core.errbuf, core.ERRLEN)
  if rc ~= 0 then return nil, core.err(), rc end
  return true
end

-- A relation of the message's columns.
function M:relation(name)
  return relation.new(name or self.message, self.columns)
end

return M
