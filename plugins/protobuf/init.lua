-- protobuf — a value format: each row as a Protobuf message whose schema
-- (generated from the sink's columns) is registered with a Confluent Schema
-- Registry (schemaType PROTOBUF, subject <topic>-value), in Confluent's
-- framing: magic byte 0, the 4-byte schema id, the message indexes ([0],
-- one 0 byte: the first message of the file), then the message. Deletions
-- under ENVELOPE UPSERT stay tombstones; keys use key_format (json).
local wire = require "wire"
local schema = require "schema"

local W = {
  varint = function(v) return wire.varint(v) end,
  double = wire.double,
  float = wire.float,
  string = function(v) return wire.varint(#v) .. v end,
  text = function(v) v = tostring(v) return wire.varint(#v) .. v end,
}
local BOOL = { [true] = "\1", [false] = "\0" }

local function new(opts)
  local fields, header
  local self = {}
  -- Registers the schema once, before the first message (the plugin has no
  -- network: the host registers through the connection it was given).
  function self.prepare(info)
    local s, err = schema.build(info.columns, opts, info.relation_name)
    if not s then return nil, err end
    local id
    id, err = info.register(opts.registry, opts.subject or (info.topic .. "-value"), s.text, "PROTOBUF")
    if not id then return nil, err end
    fields, header = s.fields, "\0" .. wire.be32(id) .. "\0"
    self.schema, self.schema_id = s, id
    return true
  end
  function self.encode(row)
    local out = { header }
    for i = 1, #fields do
      local f = fields[i]
      local v = row[f.name]
      if v ~= nil then
        out[#out + 1] = f.key
        if type(v) == "boolean" then
          out[#out + 1] = BOOL[v]
        else
          out[#out + 1] = W[f.write](v)
        end
      end
    end
    return table.concat(out)
  end
  return self
end

return {
  kind = "format",
  name = "protobuf",
  version = "1.0.0",
  doc = "Rows as Protobuf messages through a Confluent Schema Registry (schemaType PROTOBUF, Confluent framing).",
  options = {
    doc = "value_format = sg.plugin \"protobuf\" { registry = csr }",
    fields = {
      { "registry", "registry_connection", required = true, doc = "The Schema Registry to register the schema with." },
      { "package", "string", default = "sinkgate", doc = "The .proto package." },
      { "message", "string", doc = "The message name. Default: the relation's name in CamelCase." },
      { "subject", "string", doc = "The registry subject. Default: <topic>-value." },
    },
  },
  new = new,
}
