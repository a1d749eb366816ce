-- sinkgate.view.group — a group_by view: one output row per group, its
-- aggregates maintained under insertions and retractions (diffs may be any
-- multiplicity).
--
-- State per group (in the state store): the row count, then per aggregate
--   count        the count of non-NULL values (int64)
--   sum          the sum (int64 for integers, double for floats) and the
--                count of non-NULL values (a sum of none is NULL)
--   min / max    every value with its multiplicity, since a retraction of
--                the current extreme needs the next one
-- When a group's output row changes, the old row is retracted and the new
-- one inserted; a group whose count drops to 0 is retracted and forgotten.
local ffi = require "ffi"
local codec = require "sinkgate.view.codec"
local rows = require "sinkgate.rows"
local vplan = require "sinkgate.view.plan"
local types = require "sinkgate.types"

local M = {}
M.__index = M

function M.new(v, store)
  local up, out = v.plan.input, v.plan.relation
  local self = setmetatable({ store = store, aggs = {}, key_names = {}, out_rec = vplan.record_type(out.columns) }, M)
  local kcols = {}
  for i, c in ipairs(v.key_cols) do
    kcols[i] = { name = c.name, type = c.type, nullable = true }
    self.key_names[i] = c.name
  end
  self.key_rec = vplan.record_type(kcols)
  for i, a in ipairs(v.aggs) do
    local col = a.col and up.columns[a.col]
    self.aggs[i] = { name = a.name, fn = a.fn, col = col and col.name, type = a.type, int = a.int,
      numeric = a.type and a.type.id == types.ID.numeric }
  end
  return self
end

-- { n = rows, [i] = per-aggregate state } from the stored bytes (nil: new group).
function M:decode(s)
  local st = { n = 0 }
  for i, a in ipairs(self.aggs) do
    if a.fn == "count" then st[i] = 0
    elseif a.fn == "sum" then st[i] = { sum = a.int and 0LL or 0, nn = 0 }
    else st[i] = {} end
  end
  if not s then return st end
  local r = codec.reader(s)
  st.n = r:i64()
  for i, a in ipairs(self.aggs) do
    if a.fn == "count" then
      st[i] = r:i64()
    elseif a.fn == "sum" then
      st[i].sum = a.int and r:i64_cdata() + 0LL or r:f64()
      st[i].nn = r:i64()
    else
      local vals = st[i]
      local n = r:i64()
      for _ = 1, n do
        local b = r:str()
        vals[b] = r:i64()
      end
    end
  end
  return st
end

function M:encode(st)
  local out = { codec.i64(st.n) }
  for i, a in ipairs(self.aggs) do
    if a.fn == "count" then
      out[#out + 1] = codec.i64(st[i])
    elseif a.fn == "sum" then
      out[#out + 1] = a.int and codec.i64(st[i].sum) or codec.f64(st[i].sum)
      out[#out + 1] = codec.i64(st[i].nn)
    else
      local keys = {}
      for b in pairs(st[i]) do keys[#keys + 1] = b end
      table.sort(keys) -- the same bytes for the same state
      out[#out + 1] = codec.i64(#keys)
      for _, b in ipairs(keys) do out[#out + 1] = codec.str(b) .. codec.i64(st[i][b]) end
    end
  end
  return table.concat(out)
end

local TWO53 = 9007199254740992LL

-- The output row of a group (nil when it has no rows).
function M:output(key, st)
  if st.n <= 0 then return nil end
  local row = {}
  for k, v in pairs(key) do row[k] = v end
  for i, a in ipairs(self.aggs) do
    local s = st[i]
    if a.fn == "count" then
      row[a.name] = s
    elseif a.fn == "sum" then
      if s.nn > 0 then
        local x = s.sum
        if a.int and x >= -TWO53 and x <= TWO53 then x = tonumber(x) end
        row[a.name] = x
      end
    else
      local best
      for b, n in pairs(s) do
        if n > 0 then
          local v = rows.unpack(a.type, b)
          if best == nil then
            best = v
          else
            local c = codec.compare(v, best, a.numeric)
            if (a.fn == "max" and c > 0) or (a.fn == "min" and c < 0) then best = v end
          end
        end
      end
      row[a.name] = best
    end
  end
  return row
end

function M:apply(row, time, diff, emit)
  local key = {}
  for _, n in ipairs(self.key_names) do key[n] = row[n] end
  local k = rows.pack(self.key_rec, key)
  local st = self:decode(self.store:get(k))
  local old = self:output(key, st)
  st.n = st.n + diff
  for i, a in ipairs(self.aggs) do
    if a.fn == "count" then
      if not a.col then
        st[i] = st[i] + diff
      elseif row[a.col] ~= nil then
        st[i] = st[i] + diff
      end
    else
      local v = row[a.col]
      if v ~= nil then
        if a.fn == "sum" then
          local s = st[i]
          if a.int then s.sum = s.sum + ffi.cast("int64_t", v) * diff else s.sum = s.sum + v * diff end
          s.nn = s.nn + diff
        else
          local b = rows.pack(a.type, v)
          local n = (st[i][b] or 0) + diff
          st[i][b] = n ~= 0 and n or nil
        end
      end
    end
  end
  if st.n == 0 then self.store:del(k) else self.store:put(k, self:encode(st)) end
  local new = self:output(key, st)
  if old and new and rows.pack(self.out_rec, old) == rows.pack(self.out_rec, new) then return end
  if old then emit(old, time, -1) end
  if new then emit(new, time, 1) end
end

return M
