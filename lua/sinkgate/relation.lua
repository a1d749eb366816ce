-- sinkgate.relation — a relation's shape: named, typed, nullable columns,
-- known unique keys and comments. Built once when a config loads; the C
-- schema (sg_schema) is made from it for the hot path.
local core = require "sinkgate.core"
local types = require "sinkgate.types"

local C, ffi = core.C, core.ffi
local M = {}
M.__index = M

-- columns: list of { name, type-string, not_null =, comment = }; named_types:
-- name → definition (sg.type) the column types may use.
-- Returns a relation or nil, list of "key.path: message" problems.
function M.new(name, columns, keys, comment, named_types)
  local r = setmetatable({ name = name, columns = {}, index = {}, keys = {}, comment = comment }, M)
  local problems = {}
  for i, c in ipairs(columns) do
    local t, err = types.parse(c[2], named_types)
    if not t then
      problems[#problems + 1] = ("columns[%d]: %s"):format(i, err)
    elseif type(c[1]) ~= "string" or c[1]:find("\0", 1, true) then
      -- names reach C as NUL-terminated strings: "a\0b" and "a" would clash there
      problems[#problems + 1] = ("columns[%d]: a column name must be text without NUL bytes"):format(i)
    elseif r.index[c[1]] then
      problems[#problems + 1] = ("columns[%d]: column \"%s\" is declared twice"):format(i, c[1])
    else
      r.columns[i] = { name = c[1], type = t, nullable = not c.not_null, comment = c.comment }
      r.index[c[1]] = i
    end
  end
  for i, key in ipairs(keys or {}) do
    local k = {}
    for j, col in ipairs(key) do
      if not r.index[col] then
        problems[#problems + 1] = ("keys[%d][%d]: no column \"%s\""):format(i, j, col)
      end
      k[j] = col
    end
    r.keys[i] = k
  end
  if #problems > 0 then return nil, problems end
  return r
end

-- The C type tree of a descriptor, owned by schema s.
local function c_type(s, t)
  local ti = C.sg_schema_type(s, t.id, t.precision or -1, t.scale or -1)
  if ti == nil then error("out of memory building type " .. types.render(t)) end
  if t.elem or t.value then C.sg_type_set_elem(ti, c_type(s, t.elem or t.value)) end
  for _, f in ipairs(t.fields or {}) do
    if C.sg_type_add_field(s, ti, f.name, c_type(s, f.type), f.nullable and 1 or 0) ~= 0 then error("out of memory") end
  end
  if t.sql_name then C.sg_type_set_name(s, ti, t.sql_name) end
  return ti
end

-- The C-side schema for batches of this relation.
function M:c_schema()
  if self._c then return self._c end
  local s = ffi.gc(C.sg_schema_new(), C.sg_schema_free)
  for _, c in ipairs(self.columns) do
    if C.sg_schema_add_column(s, c.name, c_type(s, c.type), c.nullable and 1 or 0, core.errbuf, core.ERRLEN) ~= 0 then
      error(core.err())
    end
  end
  self._c = s
  return s
end

-- `("a", "b")`, as the seed's error DETAIL prints keys.
function M.render_key(cols)
  local q = {}
  for i, c in ipairs(cols) do q[i] = '"' .. c .. '"' end
  return "(" .. table.concat(q, ", ") .. ")"
end

-- Whether `cols` contains one of the relation's known unique keys.
function M:is_unique(cols)
  local set = {}
  for _, c in ipairs(cols) do set[c] = true end
  for _, key in ipairs(self.keys) do
    local all = true
    for _, c in ipairs(key) do all = all and set[c] == true end
    if all then return true end
  end
  return false
end

return M
