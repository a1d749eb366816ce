-- sinkgate.types — SQL type names as config scripts write them, parsed
-- into descriptors the encoders and the Avro schema generator share:
--   { name = "numeric", id = <sg_type>, precision = 10, scale = 2 }
--   { name = "array", id = ..., elem = <descriptor> }        -- text[]
--   { name = "list",  id = ..., elem = <descriptor> }        -- text list
--   { name = "map",   id = ..., value = <descriptor> }       -- map[text=>bigint]
--   { name = "record", id = ..., fields = { … }, sql_name = "my_app.point" }
--   { name = "text", id = ..., char = "character", length = 3 }  -- char(3)
-- A type is a string ("bigint", "my_app.point list", "map[text=>point]") or
-- a table ({ record = … }, { list = T }, { array = T }, { map = T }); names
-- not built in are looked up in the config's named types (sg.type), so a
-- named type is declared once and used anywhere, nested at any depth.
local M = {}

-- Canonical names, with their aliases, in sg_type order.
local CANON = {
  { "boolean", "bool" }, { "smallint", "int2" }, { "integer", "int", "int4" }, { "bigint", "int8" },
  { "uint2" }, { "uint4" }, { "uint8" }, { "oid" },
  { "real", "float4" }, { "double precision", "float8", "double", "float" }, { "numeric", "decimal" },
  { "text", "string" }, { "bytea" }, { "date" }, { "time" },
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

-- Character types: text underneath (Avro "string", JSON string), with
-- PostgreSQL's name and length. char without a length is char(1), as in
-- PostgreSQL; varchar and bpchar without one have no limit (and no padding).
local CHAR = { char = "character", character = "character", bpchar = "character",
  varchar = "character varying", ["character varying"] = "character varying" }

local function trim(s) return (s:gsub("^%s+", ""):gsub("%s+$", "")) end

local parse

-- A record type: { record = { {"x", "integer", not_null = true}, … },
-- name = "my_app.point", comment = "…" }. A field may also be written
-- { name = "x", type = "integer" }, as YAML configs write columns.
local function parse_record(t, scope, seen)
  if type(t.record) ~= "table" or #t.record == 0 then return nil, "a record type needs fields: { record = { {name, type}, … } }" end
  local fields, names = {}, {}
  for i, f in ipairs(t.record) do
    local fname, fty = type(f) == "table" and (f[1] or f.name), type(f) == "table" and (f[2] or f.type)
    if type(fname) ~= "string" then return nil, ("record field %d: expected {name, type}"):format(i) end
    if names[fname] then return nil, ("record field \"%s\" is declared twice"):format(fname) end
    names[fname] = true
    local ft, err = parse(fty, scope, seen)
    if not ft then return nil, ("record field \"%s\": %s"):format(fname, err) end
    fields[i] = { name = fname, type = ft, nullable = not f.not_null, comment = f.comment }
  end
  return { name = "record", id = M.ID.record, fields = fields, sql_name = t.name, comment = t.comment,
    precision = -1, scale = -1 }
end

-- Table forms: a record, or a list/array/map around any type.
local function parse_table(t, scope, seen)
  if t.record ~= nil then return parse_record(t, scope, seen) end
  local which = (t.list ~= nil and "list") or (t.array ~= nil and "array") or (t.map ~= nil and "map")
  if not which then
    return nil, "a type table needs record, list, array or map: { record = {…} }, { list = T }, { map = T }"
  end
  local inner, err = parse(t[which], scope, seen)
  if not inner then return nil, err end
  local d = { name = which, id = M.ID[which], sql_name = t.name }
  if which == "map" then d.value = inner else d.elem = inner end
  return d
end

-- A named type (sg.type) by name; nil if there is none.
local function named(name, scope, seen)
  local def = scope and scope[name]
  if def == nil then return nil end
  if seen[name] then return false, ("type \"%s\" refers to itself (recursive types are not supported)"):format(name) end
  seen[name] = true
  local t, err = parse_table(def, scope, seen)
  seen[name] = nil
  if not t then -- name the type once, innermost first
    return false, err:match('^type "') and err or ("type \"%s\": %s"):format(name, err)
  end
  return t
end

local function parse_char(base, args, s)
  local n
  if args then
    n = args:match("^%s*(%d+)%s*$")
    if not n or tonumber(n) < 1 then return nil, "a character type takes one length ≥ 1, in \"" .. s .. "\"" end
    n = tonumber(n)
  elseif base == "bpchar" then
    return { name = "text", id = M.ID.text, precision = -1, scale = -1, char = "bpchar" }
  elseif CHAR[base] == "character" then
    n = 1
  end
  return { name = "text", id = M.ID.text, precision = -1, scale = -1, char = CHAR[base], length = n }
end

-- Parses a type string (or table); returns a descriptor or nil, message.
-- scope: name → definition of the config's named types.
parse = function(s, scope, seen)
  seen = seen or {}
  -- An already-parsed descriptor (the decoders derive nested types, e.g. a
  -- list of records, that no type string can spell) is taken as it is.
  if type(s) == "table" and s.id and M.NAME[s.id] == s.name then return s end
  if type(s) == "table" then return parse_table(s, scope, seen) end
  if type(s) ~= "string" then return nil, "expected a type name" end
  local orig = trim(s)
  s = orig:lower()
  local t, err = named(orig, scope, seen)
  if t ~= nil then return t or nil, err end
  -- The suffix and map forms; the inner part keeps its case (named types).
  local function inner_of(a, b) return orig:sub(a, b) end
  local last = s:match("^.-()%s*%[%]$")
  if last then
    local elem, e = parse(inner_of(1, last - 1), scope, seen)
    if not elem then return nil, e end
    return { name = "array", id = M.ID.array, elem = elem }
  end
  last = s:match("^.-()%s+list$")
  if last then
    local elem, e = parse(inner_of(1, last - 1), scope, seen)
    if not elem then return nil, e end
    return { name = "list", id = M.ID.list, elem = elem }
  end
  local k, vstart, _, vend = s:match("^map%s*%[%s*(.-)%s*=>%s*()(.-)()%s*%]$")
  if k then
    if k ~= "text" then return nil, "map keys must be text, got " .. k end
    local val, e = parse(inner_of(vstart, vend - 1), scope, seen)
    if not val then return nil, e end
    return { name = "map", id = M.ID.map, value = val }
  end
  local base, args = s:match("^([%a ]-)%s*%(([%d%s,]*)%)$")
  base = base or s
  if CHAR[base] then return parse_char(base, args, s) end
  local name = alias[base]
  if not name or name == "map" or name == "list" or name == "array" or name == "record" then
    return nil, "unknown type \"" .. orig .. "\""
  end
  t = { name = name, id = M.ID[name], precision = -1, scale = -1 }
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

function M.parse(s, scope) return parse(s, scope) end

-- The type as SQL would print it (named types by their name).
function M.render(t)
  if t.sql_name then return t.sql_name end
  if t.name == "record" then
    local f = {}
    for i, x in ipairs(t.fields) do f[i] = x.name .. " " .. M.render(x.type) end
    return "record(" .. table.concat(f, ", ") .. ")"
  end
  if t.char then return t.char .. (t.length and ("(%d)"):format(t.length) or "") end
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

-- UTF-8 characters in s (PostgreSQL lengths count characters, not bytes).
local function nchars(s)
  local _, n = s:gsub("[^\128-\191]", "")
  return n
end

-- A text value of a character type as PostgreSQL stores it: char(n)
-- blank-padded to n; a longer value is cut to n only if what is cut is
-- spaces, else an error. nil, message for a value that does not fit.
function M.fit_text(t, s)
  local n = t.length
  if not n then return s end
  local len = nchars(s)
  if len > n then
    -- the byte offset just past the n-th character
    local cut, count = #s + 1, 0
    for pos in s:gmatch("()[^\128-\191]") do
      count = count + 1
      if count == n + 1 then cut = pos break end
    end
    if s:sub(cut):find("[^ ]") then return nil, ("value too long for type %s(%d)"):format(t.char, n) end
    s, len = s:sub(1, cut - 1), n
  end
  if t.char == "character" and len < n then s = s .. (" "):rep(n - len) end
  return s
end

return M
