-- sinkgate.view.distinct — a distinct_on view: one row per distinct key, the
-- first by order_by (the seed's `SELECT DISTINCT ON (k) … ORDER BY k, v DESC`).
--
-- State per key (in the state store): the multiset of input rows with that
-- key, as (packed row, multiplicity) pairs, since any of them may become the
-- winner when the current one is retracted. Each update recomputes the
-- key's winner; when it changes, the old winner is retracted and the new
-- one inserted, at the update's time.
local codec = require "sinkgate.view.codec"
local rows = require "sinkgate.rows"
local vplan = require "sinkgate.view.plan"
local types = require "sinkgate.types"

local M = {}
M.__index = M

-- v: the view's declaration (v.plan from view/plan.lua); store: its state.
function M.new(v, store)
  local up = v.plan.input
  local self = setmetatable({ store = store, cols = up.columns, rec = vplan.record_type(up.columns), order = {} }, M)
  local kcols = {}
  for i, c in ipairs(v.key_cols) do kcols[i] = { name = c.name, type = c.type, nullable = true } end
  self.key_rec, self.key_names = vplan.record_type(kcols), {}
  for i, c in ipairs(kcols) do self.key_names[i] = c.name end
  for i, o in ipairs(v.order) do
    self.order[i] = { name = up.columns[o.col].name, desc = o.desc, numeric = o.type.id == types.ID.numeric }
  end
  return self
end

local function decode(s)
  local list = {}
  if not s then return list end
  local r = codec.reader(s)
  while r:more() do
    local bytes = r:str()
    list[#list + 1] = { bytes, r:i64() }
  end
  return list
end

local function encode(list)
  local out = {}
  for i, e in ipairs(list) do out[i] = codec.str(e[1]) .. codec.i64(e[2]) end
  return table.concat(out)
end

-- Whether row a (decoded) comes before row b by order_by; ties by bytes.
function M:before(a, ab, b, bb)
  for _, o in ipairs(self.order) do
    local c = codec.compare(a[o.name], b[o.name], o.numeric)
    if c ~= 0 then
      if o.desc then return c > 0 end -- NULL is largest: first descending, last ascending
      return c < 0
    end
  end
  return ab < bb
end

-- The winning entry's bytes and row among those present (multiplicity > 0).
function M:winner(list)
  local best, best_row
  for _, e in ipairs(list) do
    if e[2] > 0 then
      local row = rows.unpack(self.rec, e[1])
      if not best or self:before(row, e[1], best_row, best) then best, best_row = e[1], row end
    end
  end
  return best, best_row
end

-- A plain table of the input row (a row view or a map's table).
function M:plain(row)
  local t = {}
  for _, c in ipairs(self.cols) do t[c.name] = row[c.name] end
  return t
end

-- One input update; emit(row, time, diff) receives the output changes.
function M:apply(row, time, diff, emit)
  local t = self:plain(row)
  local key = {}
  for _, n in ipairs(self.key_names) do key[n] = t[n] end
  local k, bytes = rows.pack(self.key_rec, key), rows.pack(self.rec, t)
  local list = decode(self.store:get(k))
  local old, old_row = self:winner(list)
  local found
  for i, e in ipairs(list) do
    if e[1] == bytes then
      e[2] = e[2] + diff
      found = i
      break
    end
  end
  if not found then
    list[#list + 1] = { bytes, diff }
  elseif list[found][2] == 0 then
    table.remove(list, found)
  end
  if #list == 0 then self.store:del(k) else self.store:put(k, encode(list)) end
  local new, new_row = self:winner(list)
  if old == new then return end
  if old then emit(old_row, time, -1) end
  if new then emit(new_row, time, 1) end
end

return M
