-- The .proto text of a relation and, per column, how its value is written.
-- One message, proto3; a nullable column is `optional` (NULL = absent, so
-- a 0 or "" is told apart from NULL); field numbers follow column order.
local wire = require "wire"

local M = {}

-- SQL type (its text form) → proto type and wire writer name.
local function mapping(sql)
  local base = sql:match("^([%w ]+)") or sql
  base = base:gsub("%s+$", "")
  local map = {
    boolean = { "bool", "varint" }, smallint = { "int32", "varint" }, integer = { "int32", "varint" },
    bigint = { "int64", "varint" }, uint2 = { "uint32", "varint" }, uint4 = { "uint32", "varint" },
    uint8 = { "uint64", "varint" }, oid = { "uint32", "varint" },
    real = { "float", "float" }, ["double precision"] = { "double", "double" },
    text = { "string", "string" }, varchar = { "string", "string" }, ["character varying"] = { "string", "string" },
    numeric = { "string", "text" }, uuid = { "string", "string" }, jsonb = { "string", "string" },
    bytea = { "bytes", "string" },
    date = { "int32", "varint" }, time = { "int64", "varint" },
    timestamp = { "int64", "varint" }, timestamptz = { "int64", "varint" },
  }
  if sql:match("%[%]$") or sql:match(" list$") or sql:match("^map%[") or sql:match("^record") then return nil end
  return map[base]
end

local function camel(name)
  return (name:gsub("^%l", string.upper):gsub("[_%.](%w)", function(c) return c:upper() end):gsub("[^%w]", ""))
end

-- columns: { { name, type (text), nullable }, … } → { text, message, fields } or nil, message.
function M.build(columns, opts, relation_name)
  local message = opts.message or camel(relation_name)
  local lines = { 'syntax = "proto3";', "", ("package %s;"):format(opts.package), "", ("message %s {"):format(message) }
  local fields = {}
  for i, c in ipairs(columns) do
    if not c.name:match("^[%a_][%w_]*$") then
      return nil, ("column \"%s\" is not a Protobuf field name (letters, digits, '_')"):format(c.name)
    end
    local m = mapping(c.type)
    if not m then return nil, ("column \"%s\": type %s has no Protobuf mapping in this plugin"):format(c.name, c.type) end
    lines[#lines + 1] = ("  %s%s %s = %d;"):format(c.nullable and "optional " or "", m[1], c.name, i)
    local wt = (m[2] == "varint" and wire.VARINT) or (m[2] == "double" and wire.I64) or (m[2] == "float" and wire.I32)
      or wire.LEN
    fields[i] = { name = c.name, key = wire.key(i, wt), write = m[2] }
  end
  lines[#lines + 1] = "}"
  return { text = table.concat(lines, "\n") .. "\n", message = opts.package .. "." .. message, fields = fields }
end

return M
