-- sinkgate.view.plan — a view's output relation, worked out when the config
-- loads: its columns (declared for map/flat_map, derived otherwise, types
-- checked here) and its unique keys with where each comes from (`check`
-- prints the note), so a sink's upsert key is proved against them.
--
-- Kinds, one per view (chain views to combine them):
--   stateless  filter, then map or flat_map (or filter alone)
--   distinct   distinct_on + order_by: one row per distinct key
--   group      group_by + aggregates
local relation = require "sinkgate.relation"
local types = require "sinkgate.types"

local M = {}

local ID = types.ID

-- A relation from already parsed column descriptors.
local function derived(name, cols, keys)
  local r = setmetatable({ name = name, columns = {}, index = {}, keys = keys or {} }, relation)
  for i, c in ipairs(cols) do
    r.columns[i] = { name = c.name, type = c.type, nullable = c.nullable, comment = c.comment }
    r.index[c.name] = i
  end
  return r
end
M.derived = derived

-- The record type of a list of columns: rows (and keys) are stored packed
-- as one record (rows.pack / rows.unpack).
function M.record_type(cols)
  local fields = {}
  for i, c in ipairs(cols) do fields[i] = { name = c.name, type = c.type, nullable = c.nullable ~= false } end
  return { name = "record", id = ID.record, fields = fields, precision = -1, scale = -1 }
end

local function kind_of(o)
  if o.distinct_on then return "distinct" end
  if o.group_by then return "group" end
  return "stateless"
end

local function same_type(a, b)
  return types.render(a) == types.render(b)
end

-- Columns of the input by name; problems for names that are not there.
local function columns_of(up, names, path, problems)
  local out = {}
  for i, n in ipairs(names) do
    local c = up.columns[up.index[n] or 0]
    if not c then
      problems[#problems + 1] = ("%s[%d]: no column \"%s\" in %s"):format(path, i, n, up.name)
    else
      out[i] = c
    end
  end
  return out
end

local function key_text(keys)
  local out = {}
  for i, k in ipairs(keys) do out[i] = relation.render_key(k) end
  return #out > 0 and table.concat(out, ", ") or "none"
end

local function stateless(v, o, up, name, problems)
  local p = v.path
  if o.map and o.flat_map then problems[#problems + 1] = p .. ": give map or flat_map, not both" end
  if not (o.map or o.flat_map or o.filter) then
    problems[#problems + 1] = p .. ": a view needs map, flat_map or filter, distinct_on or group_by"
  end
  local rel
  if o.map or o.flat_map then
    if not o.columns then
      problems[#problems + 1] = p .. ".columns: a " .. (o.map and "map" or "flat_map") .. " view declares its columns"
      return nil
    end
    local errs
    rel, errs = relation.new(name, o.columns, nil, nil, v.types)
    for _, e in ipairs(errs or {}) do problems[#problems + 1] = p .. "." .. e end
    if not rel then return nil end
  else
    if o.columns then problems[#problems + 1] = p .. ".columns: a filter view keeps its input's columns" end
    rel = derived(name, up.columns)
  end
  local note
  if o.keys then
    note = "declared"
  elseif not (o.map or o.flat_map) then
    rel.keys, note = up.keys, "kept by the filter"
  elseif o.map then
    -- Input keys whose columns the map outputs with the same types; every
    -- row is checked to keep their values (view/input.lua).
    local kept = {}
    for _, k in ipairs(up.keys) do
      local all = true
      for _, c in ipairs(k) do
        local out = rel.columns[rel.index[c] or 0]
        all = all and out ~= nil and same_type(out.type, up.columns[up.index[c]].type)
      end
      if all then kept[#kept + 1] = k end
    end
    rel.keys, note = kept, #kept > 0 and "inherited from " .. up.name .. " (the map must keep their values)" or
      "none: the map does not output " .. up.name .. "'s keys"
    v.checked_keys = kept
  else
    note = "none: a flat_map may emit several rows per input row"
  end
  if o.keys then
    rel.keys = {}
    for i, k in ipairs(o.keys) do
      rel.keys[i] = k
      columns_of(rel, k, p .. ".keys[" .. i .. "]", problems)
    end
  end
  return rel, note
end

local ORDERABLE = { [ID.boolean] = true, [ID.smallint] = true, [ID.integer] = true, [ID.bigint] = true,
  [ID.uint2] = true, [ID.uint4] = true, [ID.uint8] = true, [ID.oid] = true, [ID.real] = true,
  [ID["double precision"]] = true, [ID.numeric] = true, [ID.text] = true, [ID.bytea] = true, [ID.date] = true,
  [ID.time] = true, [ID.timestamp] = true, [ID.timestamptz] = true, [ID.uuid] = true }
M.ORDERABLE = ORDERABLE

local function no_stateless(o, p, problems, what)
  for _, k in ipairs({ "map", "flat_map", "filter", "columns", "keys" }) do
    if o[k] ~= nil then
      problems[#problems + 1] = ("%s.%s: a %s view derives its rows, columns and keys (chain a view for %s)")
        :format(p, k, what, k)
    end
  end
end

local function distinct(v, o, up, name, problems)
  local p = v.path
  no_stateless(o, p, problems, "distinct_on")
  if o.group_by then problems[#problems + 1] = p .. ": give distinct_on or group_by, not both" end
  if #o.distinct_on == 0 then problems[#problems + 1] = p .. ".distinct_on: must name at least one column" end
  v.key_cols = columns_of(up, o.distinct_on, p .. ".distinct_on", problems)
  v.order = {}
  for i, ob in ipairs(o.order_by) do
    local col, dir = ob[1], ob[2] or "asc"
    local c = up.columns[up.index[col or ""] or 0]
    if not c then
      problems[#problems + 1] = ("%s.order_by[%d]: no column \"%s\" in %s"):format(p, i, tostring(col), up.name)
    elseif not ORDERABLE[c.type.id] then
      problems[#problems + 1] = ("%s.order_by[%d]: cannot order by \"%s\" of type %s"):format(p, i, col,
        types.render(c.type))
    elseif dir ~= "asc" and dir ~= "desc" or #ob > 2 then
      problems[#problems + 1] = ("%s.order_by[%d]: expected {column, \"asc\"|\"desc\"}"):format(p, i)
    else
      v.order[#v.order + 1] = { col = up.index[col], desc = dir == "desc", type = c.type }
    end
  end
  local keys = { o.distinct_on }
  for _, k in ipairs(up.keys) do keys[#keys + 1] = k end
  return derived(name, up.columns, keys), "distinct_on " .. relation.render_key(o.distinct_on) ..
    (#up.keys > 0 and ", and " .. up.name .. "'s own" or "")
end

local AGG = { count = true, sum = true, min = true, max = true }
local SUMMABLE_INT = { [ID.smallint] = true, [ID.integer] = true, [ID.bigint] = true, [ID.uint2] = true,
  [ID.uint4] = true }
local SUMMABLE_FLOAT = { [ID.real] = true, [ID["double precision"]] = true }

local function group(v, o, up, name, problems)
  local p = v.path
  no_stateless(o, p, problems, "group_by")
  if #o.group_by == 0 then problems[#problems + 1] = p .. ".group_by: must name at least one column" end
  if not o.aggregates then problems[#problems + 1] = p .. ".aggregates: a group_by view needs aggregates" end
  if o.order_by and #o.order_by > 0 then problems[#problems + 1] = p .. ".order_by: goes with distinct_on" end
  v.key_cols = columns_of(up, o.group_by, p .. ".group_by", problems)
  local cols = {}
  for i, c in ipairs(v.key_cols) do cols[i] = c end
  local names = {}
  for n in pairs(o.aggregates or {}) do names[#names + 1] = n end
  table.sort(names) -- output columns in a stable order: group columns, then aggregates by name
  v.aggs = {}
  for _, n in ipairs(names) do
    local a = o.aggregates[n]
    local fn, col = type(a) == "string" and a or a[1], type(a) == "table" and a[2] or nil
    local ap = p .. ".aggregates." .. n
    local c = col and up.columns[up.index[col] or 0]
    local out_t, nullable
    if not AGG[fn] then
      problems[#problems + 1] = ("%s: unknown aggregate \"%s\" (count, sum, min, max)"):format(ap, fn)
    elseif fn ~= "count" and not col then
      problems[#problems + 1] = ("%s: %s needs a column: {\"%s\", column}"):format(ap, fn, fn)
    elseif col and not c then
      problems[#problems + 1] = ("%s: no column \"%s\" in %s"):format(ap, col, up.name)
    end
    for _, k in ipairs(o.group_by) do
      if k == n then problems[#problems + 1] = ("%s: \"%s\" is also a group column"):format(ap, n) end
    end
    if AGG[fn] and (fn == "count" or c) then
      if fn == "count" then
        out_t, nullable = types.parse("bigint"), false
      elseif fn == "sum" and SUMMABLE_INT[c.type.id] then
        out_t, nullable = types.parse("bigint"), true
      elseif fn == "sum" and SUMMABLE_FLOAT[c.type.id] then
        out_t, nullable = types.parse("double precision"), true
      elseif fn == "sum" then
        problems[#problems + 1] = ("%s: cannot sum \"%s\" of type %s (integers and floats)"):format(ap, col,
          types.render(c.type))
      elseif not ORDERABLE[c.type.id] then
        problems[#problems + 1] = ("%s: cannot take the %s of \"%s\" of type %s"):format(ap, fn, col,
          types.render(c.type))
      else
        out_t, nullable = c.type, true
      end
    end
    if out_t then
      cols[#cols + 1] = { name = n, type = out_t, nullable = nullable }
      v.aggs[#v.aggs + 1] = { name = n, fn = fn, col = col and up.index[col], type = c and c.type,
        int = c and SUMMABLE_INT[c.type.id] or false }
    end
  end
  return derived(name, cols, { o.group_by }), "group_by " .. relation.render_key(o.group_by)
end

-- The relation of view decl v (validated), given its input's relation up;
-- nil when something is wrong (problems: "path: message"). Records on v
-- what the runtime needs (v.plan).
function M.relation(v, up, problems)
  local o = v.opts
  local n0 = #problems
  local name = o.name or (v.path and v.path:match("[^%.]+$")) or "view"
  local kind = kind_of(o)
  local rel, note
  if kind == "stateless" then
    rel, note = stateless(v, o, up, name, problems)
  elseif kind == "distinct" then
    rel, note = distinct(v, o, up, name, problems)
  else
    rel, note = group(v, o, up, name, problems)
  end
  if not rel or #problems > n0 then return nil end
  v.plan = { kind = kind, input = up, relation = rel, keys_note = ("keys %s (%s)"):format(key_text(rel.keys), note) }
  return rel
end

-- The views from the source up to v, and the source: { root, views… }.
function M.chain(v)
  local list = {}
  while v.kind == "view" do
    table.insert(list, 1, v)
    v = v.opts.from
  end
  return v, list
end

return M
