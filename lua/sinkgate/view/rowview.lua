-- sinkgate.view.rowview — the row a view's functions see: rows.view's
-- read-only proxy over one batch row (same behaviour: `row.col` reads the
-- cell on access, unknown columns raise, pairs(row) yields the non-NULL
-- columns in order), with one getter per column chosen by its type when
-- the view is built, so a read is a field load and a conversion rather
-- than a walk through rows.get's type tests on every access.
local core = require "sinkgate.core"
local rows = require "sinkgate.rows"
local types = require "sinkgate.types"

local ffi = core.ffi
local M = {}

local ID = types.ID
local INT = { [ID.smallint] = true, [ID.integer] = true, [ID.bigint] = true, [ID.uint2] = true, [ID.uint4] = true,
  [ID.oid] = true, [ID.date] = true, [ID.time] = true, [ID.timestamp] = true, [ID.timestamptz] = true }
local FLOAT = { [ID.real] = true, [ID["double precision"]] = true }
local VAR = { [ID.text] = true, [ID.bytea] = true, [ID.jsonb] = true, [ID.numeric] = true }

-- getter(batch, r) for column col (0-based) of type t.
local function getter(col, t)
  local id = t.id
  if INT[id] then
    return function(b, r)
      local i = r * b.ncols + col
      if b.nulls[i] ~= 0 then return nil end
      local x = b.cells[i].i
      if x >= -9007199254740992LL and x <= 9007199254740992LL then return tonumber(x) end
      return x
    end
  elseif FLOAT[id] then
    return function(b, r)
      local i = r * b.ncols + col
      if b.nulls[i] ~= 0 then return nil end
      return b.cells[i].f
    end
  elseif id == ID.boolean then
    return function(b, r)
      local i = r * b.ncols + col
      if b.nulls[i] ~= 0 then return nil end
      return b.cells[i].i ~= 0
    end
  elseif VAR[id] then
    return function(b, r)
      local i = r * b.ncols + col
      if b.nulls[i] ~= 0 then return nil end
      local s = b.cells[i].s
      return ffi.string(b.arena + s.off, s.len)
    end
  end
  return function(b, r) return rows.get(b, r, col, t) end
end

function M.new(relation, batch)
  local get, current = {}, 0
  for i, c in ipairs(relation.columns) do get[c.name] = getter(i - 1, c.type) end
  local list = relation.columns
  local row = setmetatable({}, {
    __index = function(_, name)
      local g = get[name]
      if not g then error("no column \"" .. tostring(name) .. "\" in " .. relation.name, 2) end
      return g(batch, current)
    end,
    __newindex = function() error("rows are read-only", 2) end,
    __pairs = function(t)
      local i = 0
      return function()
        while true do
          i = i + 1
          local c = list[i]
          if not c then return nil end
          local v = get[c.name](batch, current)
          if v ~= nil then return c.name, v end
        end
      end, t, nil
    end,
  })
  return { at = function(_, r) current = r return row end }
end

return M
