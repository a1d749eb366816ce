-- sinkgate.view.project — the fast path of a map that only copies columns:
-- `map = function(row) return { id = row.id, name = row.name, … } end`.
--
-- Such a map is recognised from its bytecode when the view is built (a
-- table constructor of constant keys, each value `row.<column>`, returned;
-- nothing else: no upvalues, constants, calls or branches), so it has no
-- effect but the table it returns. Its rows are then written straight from
-- the source batch's cells into the sink's batch, without calling it: no
-- Lua table per row and no Lua string per text column (making those is
-- most of a view's per-row cost: a string costs 100–250 ns to intern here).
--
-- Every value still goes through the writer's checks (view/writer.lua)
-- with the value the row view would have given the map: integers, floats
-- and booleans through the same rows_check function, text by pointer after
-- the same UTF-8 scan. Whatever the checks refuse (a NULL into a NOT NULL
-- column, a value out of range, invalid UTF-8, a full arena) sends that row
-- down the plain path — the map called, its table written by the writer —
-- so errors read exactly as without the fast path. A view with a filter
-- alone copies every column the same way (M.identity). The view spec
-- (spec/01-unit/view_project_spec.lua) cross-checks both paths.
local core = require "sinkgate.core"
local check = require "sinkgate.rows_check"
local types = require "sinkgate.types"

local C = core.C
local M = {}

local ID = types.ID
-- What the row view (view/rowview.lua) gives for a cell, by input type.
local INT = { [ID.smallint] = true, [ID.integer] = true, [ID.bigint] = true, [ID.uint2] = true, [ID.uint4] = true,
  [ID.oid] = true, [ID.date] = true, [ID.time] = true, [ID.timestamp] = true, [ID.timestamptz] = true }
local FLOAT = { [ID.real] = true, [ID["double precision"]] = true }
local STAMP = { [ID.timestamp] = true, [ID.timestamptz] = true }
-- Integer output types: the range within which rows_check.integer takes a
-- number as it is (and the row view gives a number: |x| <= 2^53).
local FITS = { [ID.smallint] = { "-32768LL", "32767LL" }, [ID.integer] = { "-2147483648LL", "2147483647LL" },
  [ID.bigint] = { "-9007199254740992LL", "9007199254740992LL" }, [ID.uint2] = { "0LL", "65535LL" },
  [ID.uint4] = { "0LL", "4294967295LL" }, [ID.oid] = { "0LL", "4294967295LL" } }
-- How the writer stores a checked value, by output type.
local FIXED_INT = { [ID.boolean] = true, [ID.smallint] = true, [ID.integer] = true, [ID.bigint] = true,
  [ID.uint2] = true, [ID.uint4] = true, [ID.uint8] = true, [ID.oid] = true, [ID.date] = true, [ID.time] = true,
  [ID.timestamp] = true, [ID.timestamptz] = true }

-- Set to true to turn the fast path off (specs compare both paths).
M.disabled = false

local jutil
do
  local ok, u = pcall(require, "jit.util")
  if ok and u.funcbc and u.funcinfo and u.funck then jutil = u end
end

local function decode(fn, pc)
  local ins = jutil.funcbc(fn, pc)
  if not ins then return nil end
  return ins % 256, math.floor(ins / 256) % 256, math.floor(ins / 16777216) % 256, math.floor(ins / 65536) % 256,
    math.floor(ins / 65536)
end

-- The opcodes of the pattern, learnt from a function of that shape (so
-- nothing depends on one LuaJIT build's numbering).
local OP
if jutil then
  local probe = function(row) return { x = row.y } end
  local ops = {}
  for pc = 1, 4 do ops[pc] = decode(probe, pc) end
  OP = { TDUP = ops[1], TGETS = ops[2], TSETS = ops[3], RET1 = ops[4] }
end

-- { [output key] = input column } when fn is a pure projection, else nil.
function M.projection(fn)
  if not jutil or type(fn) ~= "function" then return nil end
  local info = jutil.funcinfo(fn)
  if not info or info.ffid or info.params ~= 1 or info.isvararg or info.upvalues ~= 0 or info.children or
    info.nconsts ~= 0 or not info.bytecodes or info.bytecodes < 3 then
    return nil
  end
  local op, a, _, _, d = decode(fn, 1)
  if op ~= OP.TDUP then return nil end
  -- the constructor's template: constant keys, no constant values
  local template = jutil.funck(fn, -d - 1)
  if type(template) ~= "table" or next(template) ~= nil then return nil end
  local tslot, map = a, {}
  local pc, last = 2, info.bytecodes - 1
  while pc < last do
    local op1, tmp, b1, c1 = decode(fn, pc)
    local op2, a2, b2, c2 = decode(fn, pc + 1)
    if op1 ~= OP.TGETS or b1 ~= 0 or tmp == 0 or tmp == tslot then return nil end
    if op2 ~= OP.TSETS or a2 ~= tmp or b2 ~= tslot then return nil end
    local col, key = jutil.funck(fn, -c1 - 1), jutil.funck(fn, -c2 - 1)
    if type(col) ~= "string" or type(key) ~= "string" then return nil end
    map[key] = col
    pc = pc + 2
  end
  local op3, a3, _, _, d3 = decode(fn, last)
  if pc ~= last or op3 ~= OP.RET1 or a3 ~= tslot or d3 ~= 2 then return nil end
  return map
end

-- The statements that write output column j (0-based oc, type ot) from
-- input column ic (type it), or nil when this pair has no fast path.
local function column_code(j, oc, out, ic, it)
  local ot = out.type
  local lines = { ("  i = base + %d"):format(ic), "  if s.nulls[i] ~= 0 then" }
  lines[#lines + 1] = out.nullable and "" or "    goto plain"
  lines[#lines + 1] = "  else"
  if it.id == ID.text and ot.id == ID.text and not ot.length then
    -- the bytes themselves: rows_check.text would take the string the row
    -- view makes of them if it is valid UTF-8, and store it unchanged
    lines[#lines + 1] = "    local sv = s.cells[i].s"
    lines[#lines + 1] = "    local p = s.arena + sv.off"
    lines[#lines + 1] = "    if utf8_valid(p, sv.len, nil) == 0 then goto plain end"
    lines[#lines + 1] = ("    if set_bytes(b, r, %d, p, sv.len) ~= 0 then goto plain end"):format(oc)
  elseif INT[it.id] and STAMP[ot.id] then
    -- rows_check.timestamp takes any integer the row view gives as it is
    lines[#lines + 1] = ("    set_i64(b, r, %d, s.cells[i].i)"):format(oc)
  elseif FLOAT[it.id] and FLOAT[ot.id] then
    -- rows_check.float takes any number as it is
    lines[#lines + 1] = ("    set_f64(b, r, %d, s.cells[i].f)"):format(oc)
  elseif it.id == ID.boolean and ot.id == ID.boolean then
    lines[#lines + 1] = ("    if s.cells[i].i ~= 0 then set_i64(b, r, %d, 1) else set_i64(b, r, %d, 0) end"):format(oc, oc)
  elseif FIXED_INT[ot.id] or FLOAT[ot.id] then
    local fits = INT[it.id] and FITS[ot.id]
    if fits then
      -- an integer the row view gives as a number, within the column's
      -- range: rows_check.integer takes it as it is; anything else is
      -- checked by it below
      lines[#lines + 1] = "    x = s.cells[i].i"
      lines[#lines + 1] = ("    if x >= %s and x <= %s then set_i64(b, r, %d, x) else"):format(fits[1], fits[2], oc)
    end
    if INT[it.id] then
      lines[#lines + 1] = "    x = s.cells[i].i"
      lines[#lines + 1] = "    if x >= -9007199254740992LL and x <= 9007199254740992LL then v = tonumber(x) else v = x end"
    elseif FLOAT[it.id] then
      lines[#lines + 1] = "    v = s.cells[i].f"
    elseif it.id == ID.boolean then
      lines[#lines + 1] = "    v = s.cells[i].i ~= 0"
    else
      return nil
    end
    lines[#lines + 1] = ("    x = CHECK[%d](T[%d], v)"):format(j, j)
    lines[#lines + 1] = "    if x == nil then goto plain end"
    lines[#lines + 1] = ("    %s(b, r, %d, x)"):format(FLOAT[ot.id] and "set_f64" or "set_i64", oc)
    if fits then lines[#lines + 1] = "    end" end
  else
    return nil
  end
  lines[#lines + 1] = "  end"
  return table.concat(lines, "\n")
end

-- copy(b, time, diff, s, sr) → the row index written in b from row sr of
-- batch s, or false (b as it was) for the plain path; nil when there is no
-- fast path. input: the relation of s; output: the view's; map: output key
-- → input column, as M.projection gives; kept: the input key columns the
-- map must keep (view/plan.lua).
function M.copier(input, output, map, kept)
  for key, col in pairs(map) do
    if not output.index[key] or not input.index[col] then return nil end -- the plain path's errors
  end
  for _, k in ipairs(kept or {}) do
    for _, c in ipairs(k) do
      -- out[c] ~= row[c] never holds when both read one non-float cell
      local ic = input.index[c]
      if map[c] ~= c or not ic or FLOAT[input.columns[ic].type.id] then return nil end
    end
  end
  local body = { "local C, CHECK, T = ...",
    "local push_row, set_i64, set_f64, set_bytes, utf8_valid, truncate = C.sg_batch_push_row, " ..
      "C.sg_batch_set_i64, C.sg_batch_set_f64, C.sg_batch_set_bytes, C.sg_utf8_valid, C.sg_batch_truncate",
    "return function(b, time, diff, s, sr)",
    "  local nrows, arena = b.nrows, b.arena_len",
    "  local r = push_row(b, time, diff)",
    "  if r < 0 then return false end",
    "  local base = sr * s.ncols",
    "  local i, x, v" }
  local CHECK, T = {}, {}
  for j, out in ipairs(output.columns) do
    local col = map[out.name]
    if col then
      local ic = input.index[col]
      local code = column_code(j, j - 1, out, ic - 1, input.columns[ic].type)
      if not code then return nil end
      CHECK[j], T[j] = check.BY_ID[out.type.id], out.type
      body[#body + 1] = "  do"
      body[#body + 1] = code
      body[#body + 1] = "  end"
    elseif not out.nullable then
      return nil -- every row would be a NOT NULL error
    end
  end
  body[#body + 1] = "  do return r end"
  body[#body + 1] = "  ::plain::"
  body[#body + 1] = "  truncate(b, nrows, arena)"
  body[#body + 1] = "  return false"
  body[#body + 1] = "end"
  local make = assert(loadstring(table.concat(body, "\n"), "=view projection " .. output.name))
  return make(C, CHECK, T)
end

-- The fast path of a view with map fn (a copier), or nil.
function M.new(input, output, fn, kept)
  if M.disabled then return nil end
  local map = M.projection(fn)
  return map and M.copier(input, output, map, kept)
end

-- The fast path of a view with a filter alone: its rows are the input's
-- (the writer would read each column through the row view and check it).
function M.identity(input, output)
  if M.disabled then return nil end
  local map = {}
  for _, c in ipairs(input.columns) do map[c.name] = c.name end
  return M.copier(input, output, map)
end

return M
