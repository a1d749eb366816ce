-- sinkgate.decode.avro — an Avro schema (registry JSON text) into relation
-- columns, after the reference's Avro → SQL mapping:
--   boolean → boolean, int → integer, long → bigint, float → real,
--   double → double precision, string → text, bytes/fixed → bytea,
--   enum → text, array → list, map → map[text=>…], record → record;
--   logical types: date → date, time-millis/-micros → time,
--   timestamp-millis → timestamp(3), timestamp-micros → timestamp(6) (local-
--   variants too), decimal(p, s) → numeric(p, s), uuid → uuid.
-- A record schema gives one column per field; any other schema one column
-- named `default_name` ("value", or "key" for keys). A union with null makes
-- its type nullable; a top-level field that is a union of several non-null
-- types expands into one nullable column per branch (<field>1, <field>2, …,
-- in branch order), which the C decoder (core/decode/avro.c) mirrors.
-- Recursive types are rejected, as the reference does.
-- Returns a list of { name, type descriptor, not_null = bool } (the column
-- spec shape sg.source.table takes) or nil, message.
local cjson = require "cjson.safe"
local types = require "sinkgate.types"

local M = {}
local ID = types.ID

local PRIMITIVE = { boolean = "boolean", int = "integer", long = "bigint", float = "real",
  double = "double precision", string = "text", bytes = "bytea" }

local function scalar(name) return assert(types.parse(name)) end

local function fullname(name, ns)
  if name:find(".", 1, true) or not ns or ns == "" then return name end
  return ns .. "." .. name
end

local convert

-- Non-null branches of a union, and whether null is one of them.
local function union_parts(u)
  local parts, has_null = {}, false
  for _, b in ipairs(u) do
    if b == "null" or (type(b) == "table" and b.type == "null") then has_null = true else parts[#parts + 1] = b end
  end
  return parts, has_null
end

local function logical(s, base)
  local lt = s.logicalType
  if lt == "date" and base == "int" then return scalar("date") end
  if (lt == "time-millis" and base == "int") or (lt == "time-micros" and base == "long") then return scalar("time") end
  if (lt == "timestamp-millis" or lt == "local-timestamp-millis") and base == "long" then return scalar("timestamp(3)") end
  if (lt == "timestamp-micros" or lt == "local-timestamp-micros") and base == "long" then return scalar("timestamp(6)") end
  if lt == "uuid" and base == "string" then return scalar("uuid") end
  if lt == "decimal" and (base == "bytes" or base == "fixed") then
    local p, sc = tonumber(s.precision), tonumber(s.scale) or 0
    if not p or p < 1 or sc < 0 or sc > p then return nil, "decimal needs 1 <= precision and 0 <= scale <= precision" end
    if p > 39 then return nil, ("decimal precision %d exceeds numeric's maximum of 39"):format(p) end
    return scalar(("numeric(%d,%d)"):format(p, sc))
  end
  return nil -- unknown logical types fall back to the base type, as Avro specifies
end

-- (descriptor, nullable) of a schema node, or nil, message.
convert = function(s, ctx, ns, path)
  if type(s) == "string" then
    if PRIMITIVE[s] then return scalar(PRIMITIVE[s]), false end
    if s == "null" then return nil, path .. ": a null type has no SQL column type" end
    local full = ctx.named[fullname(s, ns)] or ctx.named[s]
    if full == "defining" then return nil, path .. ": recursive type " .. s .. " is not supported" end
    if not full then return nil, path .. ": unknown type " .. s end
    return full, false
  end
  if type(s) ~= "table" then return nil, path .. ": not an Avro schema" end
  if s[1] ~= nil or next(s) == nil then -- a union (a JSON array)
    local parts, has_null = union_parts(s)
    if #parts == 0 then return nil, path .. ": a union of only null" end
    if #parts > 1 then
      return nil, path .. ": a union of several non-null types is only supported as a top-level field"
    end
    local t, err = convert(parts[1], ctx, ns, path)
    if not t then return nil, err end
    return t, has_null
  end
  local ty = s.type
  if type(ty) == "table" then return convert(ty, ctx, ns, path) end
  if PRIMITIVE[ty] then
    local t, err = logical(s, ty)
    if err then return nil, path .. ": " .. err end
    return t or scalar(PRIMITIVE[ty]), false
  end
  if ty == "array" then
    local e, nullable = convert(s.items, ctx, ns, path .. "[]")
    if not e then return nil, nullable end
    return { name = "list", id = ID.list, elem = e }, false
  end
  if ty == "map" then
    local e, nullable = convert(s.values, ctx, ns, path .. "{}")
    if not e then return nil, nullable end
    return { name = "map", id = ID.map, value = e }, false
  end
  if ty == "enum" or ty == "fixed" or ty == "record" or ty == "error" then
    if type(s.name) ~= "string" then return nil, path .. ": a named type without a name" end
    local full = fullname(s.name, s.namespace or ns)
    local t
    if ty == "enum" then
      t = scalar("text")
    elseif ty == "fixed" then
      local err
      t, err = logical(s, "fixed")
      if err then return nil, path .. ": " .. err end
      t = t or scalar("bytea")
    else
      ctx.named[full] = "defining"
      local fields = {}
      local inner_ns = full:match("^(.*)%.[^.]*$") or (s.namespace or ns)
      for i, f in ipairs(s.fields or {}) do
        if type(f) ~= "table" or type(f.name) ~= "string" then return nil, ("%s: field %d has no name"):format(path, i) end
        local ft, nullable = convert(f.type, ctx, inner_ns, path .. "." .. f.name)
        if not ft then return nil, nullable end
        fields[i] = { name = f.name, type = ft, nullable = nullable }
      end
      if #fields == 0 then return nil, path .. ": record " .. full .. " has no fields" end
      t = { name = "record", id = ID.record, fields = fields, precision = -1, scale = -1 }
    end
    ctx.named[full] = t
    return t, false
  end
  if ty == "null" then return nil, path .. ": a null type has no SQL column type" end
  return nil, path .. ": unknown Avro type " .. tostring(ty)
end

-- schema: the schema JSON text (or its decoded table). default_name names
-- the one column of a non-record schema.
function M.columns(schema, default_name)
  local s = schema
  if type(schema) == "string" then
    local err
    s, err = cjson.decode(schema)
    if s == nil then return nil, "invalid Avro schema JSON: " .. tostring(err) end
  end
  local ctx = { named = {} }
  local top = type(s) == "table" and s.type == "record" and s
  if not top then
    local t, nullable = convert(s, ctx, nil, default_name or "value")
    if not t then return nil, nullable end
    return { { default_name or "value", t, not_null = not nullable } }
  end
  -- The top-level record: fields become columns; multi-type unions expand.
  ctx.named[fullname(top.name or "", top.namespace)] = "defining"
  local ns = top.namespace or (type(top.name) == "string" and top.name:match("^(.*)%.[^.]*$"))
  local cols, seen = {}, {}
  local function add(name, t, not_null)
    if seen[name] then return nil, ("column \"%s\" appears twice (a field name clashes with an expanded union)"):format(name) end
    seen[name] = true
    cols[#cols + 1] = { name, t, not_null = not_null }
    return true
  end
  for i, f in ipairs(top.fields or {}) do
    if type(f) ~= "table" or type(f.name) ~= "string" then return nil, ("field %d has no name"):format(i) end
    local parts = type(f.type) == "table" and f.type[1] ~= nil and union_parts(f.type)
    if parts and #parts > 1 then
      for k, b in ipairs(parts) do
        local t, err = convert(b, ctx, ns, f.name)
        if not t then return nil, err end
        local ok, e2 = add(f.name .. k, t, false)
        if not ok then return nil, e2 end
      end
    else
      local t, nullable = convert(f.type, ctx, ns, f.name)
      if not t then return nil, nullable end
      local ok, e2 = add(f.name, t, not nullable)
      if not ok then return nil, e2 end
    end
  end
  if #cols == 0 then return nil, "the Avro record has no fields" end
  return cols
end

return M
