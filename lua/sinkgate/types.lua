-- sinkgate.types — SQL type names as config scripts write them, parsed
-- into descriptors the encoders and the Avro schema generator share:
--   { name = "numeric", id = <sg_type>, precision = 10, scale = 2 }
--   { name = "array", id = ..., elem = <descriptor> }        -- text[]
--   { name = "list",  id = ..., elem = <descriptor> }        -- text list
--   { name = "map",   id = ..., value = <descriptor> }       -- map[text=>bigint]
local M = {}

-- Canonical names, with their aliases, in sg_type order.
local CANON = {
  { "boolean", "bool" }, { "smallint", "int2" }, { "integer", "int", "int4" }, { "bigint", "int8" },
  { "uint2" }, { "uint4" }, { "uint8" }, { "oid" },
  { "real", "float4" }, { "double precision", "float8", "double", "float" }, { "numeric", "decimal" },
  { "text", "varchar", "string" }, { "bytea" }, { "date" }, { "time" },
  { "timestamp" }, { "timestamptz", "timestamp with time zone" }, { "interval" },
  { "uuid" }, { "jsonb", "json" }, { "map" }, { "list" }, { "array" }, { "record" },
}

M.ID, M.NAME = {}, {}
local alias = {}
for id, names in ipairs(CANON) do
  M.ID[names[1]] = id
  M.NAME[id] = names[1]
  for _, n in ipairs(names) do alias[n] = names[1] end
end

local function trim(s) return (s:gsub("^%s+", ""):gsub("%s+$", "")) end

-- A record type: { record = { {"x", "integer", not_null = true}, … },
-- name = "my_app.point", comment = "…" }.
local function parse_record(t)
  if type(t.record) ~= "table" or #t.record == 0 then return nil, "a record type needs fields: { record = { {name, type}, … } }" end
  local fields, seen = {}, {}
  for i, f in ipairs(t.record) do
    if type(f) ~= "table" or type(f[1]) ~= "string" then return nil, ("record field %d: expected {name, type}"):format(i) end
    if seen[f[1]] then return nil, ("record field \"%s\" is declared twice"):format(f[1]) end
    seen[f[1]] = true
    local ft, err = M.parse(f[2])
    if not ft then return nil, ("record field \"%s\": %s"):format(f[1], err) end
    fields[i] = { name = f[1], type = ft, nullable = not f.not_null, comment = f.comment }
  end
  return { name = "record", id = M.ID.record, fields = fields, sql_name = t.name, comment = t.comment,
    precision = -1, scale = -1 }
end

-- Parses a type string (or a record table); returns a descriptor or nil, message.
function M.parse(s)
  -- An already-parsed descriptor (decoders derive types from schemas, e.g. a list of records).
  if type(s) == "table" and s.id and M.NAME[s.id] == s.name then return s end
  if type(s) == "table" then return parse_record(s) end
  if type(s) ~= "string" then return nil, "expected a type name" end
  s = trim(s:lower())
  local inner = s:match("^(.-)%s*%[%]$")
  if inner then
    local elem, err = M.parse(inner)
    if not elem then return nil, err end
    return { name = "array", id = M.ID.array, elem = elem }
  end
  inner = s:match("^(.-)%s+list$")
  if inner then
    local elem, err = M.parse(inner)
    if not elem then return nil, err end
    return { name = "list", id = M.ID.list, elem = elem }
  end
  local k, v = s:match("^map%s*%[%s*(.-)%s*=>%s*(.-)%s*%]$")
  if k then
    if k ~= "text" then return nil, "map keys must be text, got " .. k end
    local val, err = M.parse(v)
    if not val then return nil, err end
    return { name = "map", id = M.ID.map, value = val }
  end
  local base, args = s:match("^([%a ]-)%s*%(([%d%s,]*)%)$")
  base = base or s
  local name = alias[base]
  if not name or name == "map" or name == "list" or name == "array" or name == "record" then
    return nil, "unknown type \"" .. s .. "\""
  end
  local t = { name = name, id = M.ID[name], precision = -1, scale = -1 }
  if args then
    local p, sc = args:match("^%s*(%d+)%s*,?%s*(%d*)%s*$")
    if not p then return nil, "bad type arguments in \"" .. s .. "\"" end
    if name == "numeric" then
      t.precision, t.scale = tonumber(p), tonumber(sc) or 0
      if t.precision < 1 or t.precision > 39 or t.scale > t.precision then
        return nil, "numeric precision must be 1..39 and scale ≤ precision in \"" .. s .. "\""
      end
    elseif name == "timestamp" or name == "timestamptz" or name == "time" then
      if sc ~= "" then return nil, name .. " takes one precision, in \"" .. s .. "\"" end
      t.precision = tonumber(p)
      if t.precision > 6 then return nil, "precision must be 0..6 in \"" .. s .. "\"" end
    else
      return nil, name .. " takes no arguments, in \"" .. s .. "\""
    end
  end
  return t
end

-- The type as SQL would print it.
function M.render(t)
  if t.name == "record" then
    if t.sql_name then return t.sql_name end
    local f = {}
    for i, x in ipairs(t.fields) do f[i] = x.name .. " " .. M.render(x.type) end
    return "record(" .. table.concat(f, ", ") .. ")"
  end
  if t.name == "array" then return M.render(t.elem) .. "[]" end
  if t.name == "list" then return M.render(t.elem) .. " list" end
  if t.name == "map" then return "map[text=>" .. M.render(t.value) .. "]" end
  if t.name == "numeric" and t.precision >= 0 then return ("numeric(%d,%d)"):format(t.precision, t.scale) end
  if t.precision and t.precision >= 0 then return ("%s(%d)"):format(t.name, t.precision) end
  return t.name
end

function M.is_scalar(t)
  return t.name ~= "array" and t.name ~= "list" and t.name ~= "map" and t.name ~= "record"
end

return M
