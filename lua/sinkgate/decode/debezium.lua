-- sinkgate.decode.debezium — relation columns of a Debezium JSON topic.
-- With the schema/payload wrapper the columns come from the embedded Kafka
-- Connect schema (the `after` or `before` struct), mapped:
--   int8/int16 → smallint, int32 → integer, int64 → bigint,
--   float32 → real, float64 → double precision, boolean, string → text,
--   bytes → bytea (base64 in JSON), array → list, map → map[text=>…],
--   struct → record; named types:
--   io.debezium.time.Date, org.apache.kafka.connect.data.Date → date
--   io.debezium.time.Time (ms), MicroTime, NanoTime, connect Time → time
--   io.debezium.time.Timestamp (ms), connect Timestamp → timestamp(3)
--   io.debezium.time.MicroTimestamp → timestamp(6), NanoTimestamp → timestamp
--   io.debezium.time.ZonedTimestamp (ISO text) → timestamptz
--   org.apache.kafka.connect.data.Decimal (base64, parameters.scale) → numeric
--   io.debezium.data.VariableScaleDecimal → numeric
--   io.debezium.data.Uuid → uuid, io.debezium.data.Json → jsonb.
-- Each column carries a hint (SG_DBZ_H_*) telling the C decoder how its
-- JSON value encodes the type. Optional fields are nullable; the key
-- columns are the fields of the message key's schema when given.
local cjson = require "cjson.safe"
local core = require "sinkgate.core"
local types = require "sinkgate.types"

local C = core.C
local M = {}
local ID = types.ID

local function scalar(name) return assert(types.parse(name)) end

local SIMPLE = { int8 = "smallint", int16 = "smallint", int32 = "integer", int64 = "bigint", float32 = "real",
  float64 = "double precision", float = "real", double = "double precision", boolean = "boolean",
  string = "text", bytes = "bytea" }

-- name → { type, hint }
local NAMED = {
  ["io.debezium.time.Date"] = { "date", "SG_DBZ_H_DAYS" },
  ["org.apache.kafka.connect.data.Date"] = { "date", "SG_DBZ_H_DAYS" },
  ["io.debezium.time.Time"] = { "time", "SG_DBZ_H_MILLIS" },
  ["org.apache.kafka.connect.data.Time"] = { "time", "SG_DBZ_H_MILLIS" },
  ["io.debezium.time.MicroTime"] = { "time", "SG_DBZ_H_MICROS" },
  ["io.debezium.time.NanoTime"] = { "time", "SG_DBZ_H_NANOS" },
  ["io.debezium.time.Timestamp"] = { "timestamp(3)", "SG_DBZ_H_MILLIS" },
  ["org.apache.kafka.connect.data.Timestamp"] = { "timestamp(3)", "SG_DBZ_H_MILLIS" },
  ["io.debezium.time.MicroTimestamp"] = { "timestamp(6)", "SG_DBZ_H_MICROS" },
  ["io.debezium.time.NanoTimestamp"] = { "timestamp(6)", "SG_DBZ_H_NANOS" },
  ["io.debezium.time.ZonedTimestamp"] = { "timestamptz", "SG_DBZ_H_AUTO" },
  ["io.debezium.time.ZonedTime"] = { "time", "SG_DBZ_H_AUTO" },
  ["io.debezium.data.Uuid"] = { "uuid", "SG_DBZ_H_AUTO" },
  ["io.debezium.data.Json"] = { "jsonb", "SG_DBZ_H_AUTO" },
  ["io.debezium.data.VariableScaleDecimal"] = { "numeric", "SG_DBZ_H_VARIABLE_DECIMAL" },
}

local convert

-- (descriptor, hint name) of one connect schema node, or nil, message.
convert = function(f, path)
  if type(f) ~= "table" then return nil, path .. ": not a connect schema" end
  local named = NAMED[f.name]
  if named then return scalar(named[1]), named[2] end
  if f.name == "org.apache.kafka.connect.data.Decimal" then
    local params = f.parameters or {}
    local sc = tonumber(params.scale) or 0
    local p = tonumber(params["connect.decimal.precision"])
    if p and p >= 1 and p <= 39 and sc <= p then return scalar(("numeric(%d,%d)"):format(p, sc)), "SG_DBZ_H_BASE64_DECIMAL" end
    -- no usable precision: numeric with the scale alone (the C side reads the scale)
    local t = scalar("numeric")
    t = { name = t.name, id = t.id, precision = -1, scale = sc }
    return t, "SG_DBZ_H_BASE64_DECIMAL"
  end
  if SIMPLE[f.type] then return scalar(SIMPLE[f.type]), "SG_DBZ_H_AUTO" end
  if f.type == "array" then
    local e, err = convert(f.items, path .. "[]")
    if not e then return nil, err end
    return { name = "list", id = ID.list, elem = e }, "SG_DBZ_H_AUTO"
  end
  if f.type == "map" then
    if not f.keys or f.keys.type ~= "string" then return nil, path .. ": only maps with string keys are supported" end
    local e, err = convert(f.values, path .. "{}")
    if not e then return nil, err end
    return { name = "map", id = ID.map, value = e }, "SG_DBZ_H_AUTO"
  end
  if f.type == "struct" then
    local fields = {}
    for i, x in ipairs(f.fields or {}) do
      local t, err = convert(x, path .. "." .. tostring(x.field))
      if not t then return nil, err end
      fields[i] = { name = x.field, type = t, nullable = x.optional == true }
    end
    if #fields == 0 then return nil, path .. ": struct without fields" end
    return { name = "record", id = ID.record, fields = fields, precision = -1, scale = -1 }, "SG_DBZ_H_AUTO"
  end
  return nil, ("%s: unsupported connect type %s"):format(path, tostring(f.type))
end

-- The row struct (the `after`, else `before`, field) of an envelope schema.
local function row_struct(schema)
  if type(schema) ~= "table" or schema.type ~= "struct" then return nil, "the embedded schema is not a struct" end
  for _, which in ipairs({ "after", "before" }) do
    for _, f in ipairs(schema.fields or {}) do
      if f.field == which and f.type == "struct" and #(f.fields or {}) > 0 then return f end
    end
  end
  return nil, "the embedded schema has no before/after struct (is this a Debezium envelope?)"
end

-- Columns { {name, descriptor, not_null=}, … } and a parallel list of C
-- hint values from a wrapped message (bytes or decoded table) or a bare
-- envelope schema table.
function M.columns_from_message(msg)
  local t = msg
  if type(msg) == "string" then
    local err
    t, err = cjson.decode(msg)
    if t == nil then return nil, "Debezium message is not JSON: " .. tostring(err) end
  end
  local schema = type(t) == "table" and (t.schema or (t.type == "struct" and t))
  if type(schema) ~= "table" then return nil, "the Debezium message has no embedded schema (schemas.enable=false?): declare columns" end
  local row, err = row_struct(schema)
  if not row then return nil, err end
  local cols, hints = {}, {}
  for i, f in ipairs(row.fields or {}) do
    if type(f.field) ~= "string" then return nil, ("row field %d has no name"):format(i) end
    local ty, hint = convert(f, f.field)
    if not ty then return nil, hint end
    cols[i] = { f.field, ty, not_null = f.optional ~= true }
    hints[i] = C[hint]
  end
  if #cols == 0 then return nil, "the row struct has no fields" end
  return cols, hints
end

-- Key column names from a wrapped key message (its schema's struct fields).
function M.key_from_message(msg)
  local t = type(msg) == "string" and cjson.decode(msg) or msg
  local schema = type(t) == "table" and t.schema
  if type(schema) ~= "table" or schema.type ~= "struct" then return nil, "the key message has no struct schema" end
  local names = {}
  for i, f in ipairs(schema.fields or {}) do names[i] = f.field end
  return names
end

return M
