-- sinkgate.source.timed — an input of updates at explicit logical times:
-- (row, time, diff) triples, as a recorded change log or a differential
-- collection holds them. Times come from the data, not from a clock, so
-- the input is never realtime: it is read as fast as the sink takes it,
-- and its frontier (next_time) is the time of the first update not yet
-- filled, or one past the last time once everything is filled.
--
-- Updates are kept sorted by time (stable: at one time, in the order
-- given); the rows of one time always go into the same batch, so a
-- transaction never holds part of a timestamp. Consolidation (a row
-- inserted and deleted at one time, a delete and an insert paired into an
-- update) happens in the sink, as for every input.
--
-- Same methods as the tick-based input (source/input.lua has the contract).
local core = require "sinkgate.core"
local rows = require "sinkgate.rows"

local C, ffi = core.C, core.ffi
local M = {}
M.__index = M

-- The sink keeps times as Lua numbers (frontiers, progress records), which
-- are exact up to 2^53: far beyond epoch milliseconds or microseconds.
local MAX_TIME = 2 ^ 53
M.MAX_TIME = MAX_TIME

local function is_int64(v)
  return type(v) == "cdata" and (ffi.istype("int64_t", v) or ffi.istype("uint64_t", v))
end

-- A logical time as a Lua number, or nil: a non-negative integer (number
-- or int64/uint64 cdata) no larger than 2^53.
function M.time_value(v)
  if type(v) == "number" then
    if v % 1 == 0 and v >= 0 and v <= MAX_TIME then return v end
  elseif is_int64(v) then
    -- Through uint64, a negative int64 becomes huge and is refused too.
    if ffi.cast("uint64_t", v) <= 9007199254740992ULL then return tonumber(v) end
  end
  return nil
end

-- A diff as a number or int64 cdata, or nil: a non-zero integer.
function M.diff_value(v)
  if type(v) == "number" and v % 1 == 0 and v ~= 0 and v >= -MAX_TIME and v <= MAX_TIME then return v end
  if is_int64(v) and v ~= 0 then return v end
  return nil
end

-- Why one update entry { row, time [, diff] } is malformed, or nil. Only
-- its shape: the row's values are checked against the columns by check_rows.
function M.shape_error(u)
  if type(u) ~= "table" then return "expected an update { row, time, diff }, got " .. type(u) end
  local extra = {}
  for k in pairs(u) do
    if k ~= 1 and k ~= 2 and k ~= 3 then extra[#extra + 1] = tostring(k) end
  end
  if #extra > 0 then
    table.sort(extra) -- the same message every time
    return ("expected an update { row, time, diff }, got a table with key '%s'"):format(extra[1])
  end
  if type(u[1]) ~= "table" then return "[1]: expected a row (a table of column = value), got " .. type(u[1]) end
  if M.time_value(u[2]) == nil then
    return ("[2]: expected a time (an integer from 0 to 2^53), got %s %s"):format(type(u[2]), tostring(u[2]))
  end
  if u[3] ~= nil and M.diff_value(u[3]) == nil then
    return ("[3]: expected a diff (a non-zero integer), got %s %s"):format(type(u[3]), tostring(u[3]))
  end
  return nil
end

-- Appends one update to batch b; returns true, or nil and what is wrong
-- with its row (the row may then be half-written: check_rows uses a
-- scratch batch, so this never happens while filling).
local function put(b, rel, u)
  local r = C.sg_batch_push_row(b, u.time, u.diff)
  if r < 0 then error("out of memory filling a batch", 0) end
  for i, c in ipairs(rel.columns) do
    local ok, err = pcall(rows.set, b, r, i - 1, c.type, u.row[c.name])
    if not ok then return nil, ("%s.%s: %s"):format(rel.name, c.name, err) end
  end
  return true
end

-- Problems with the rows of validated updates against a relation's
-- columns, as { index, message } pairs (index into the list as given).
function M.check_rows(updates, rel)
  local problems = {}
  local b = ffi.gc(C.sg_batch_new(rel:c_schema(), 16), C.sg_batch_free)
  for i, u in ipairs(updates) do
    for name in pairs(u[1]) do
      if not rel.index[name] then
        problems[#problems + 1] = { i, ("%s: no column \"%s\""):format(rel.name, tostring(name)) }
      end
    end
    C.sg_batch_clear(b)
    local ok, err = put(b, rel, { row = u[1], time = 0, diff = 1 })
    if not ok then problems[#problems + 1] = { i, err } end
  end
  return problems
end

-- decl: a validated table source with `updates`; rel: its relation.
function M.new(decl, rel)
  local given = decl.opts.updates
  local list = {}
  for i, u in ipairs(given) do
    local err = M.shape_error(u)
    if err then return nil, ("%s.updates[%d]%s"):format(rel.name, i, err:sub(1, 1) == "[" and err or ": " .. err) end
    list[i] = { row = u[1], time = M.time_value(u[2]), diff = u[3] and M.diff_value(u[3]) or 1, seq = i }
  end
  local problems = M.check_rows(given, rel)
  if #problems > 0 then return nil, ("updates[%d]: %s"):format(problems[1][1], problems[1][2]) end
  table.sort(list, function(a, b) return a.time < b.time or (a.time == b.time and a.seq < b.seq) end)
  -- cursor: how many updates have been filled (0-based like the tick
  -- input's, so `input.cursor = 0` rewinds either kind).
  local self = setmetatable({ decl = decl, relation = rel, list = list, cursor = 0, floor = 0, realtime = false }, M)
  self.start = list[1] and list[1].time or 0
  return self
end

-- The first time: the as_of of a new sink (its snapshot is the contents
-- consolidated at that time). A saved start is not needed: times are data.
function M:origin()
  return self.start
end

function M:new_as_of()
  return self.start
end

function M:rewind()
  self.cursor, self.floor = 0, 0
end

function M:next_time()
  local list = self.list
  local u = list[self.cursor + 1]
  if u then return u.time end
  local last = list[#list]
  return math.max(last and last.time + 1 or 0, self.floor)
end

-- Drops every update with time < upper (a resumed sink has committed them).
function M:seek(upper)
  local list = self.list
  while list[self.cursor + 1] and list[self.cursor + 1].time < upper do self.cursor = self.cursor + 1 end
  if upper > self.floor then self.floor = upper end
end

-- Rows are checked against the columns when the input is made (and by
-- `check`), so a bad-row handler has nothing to do here; kept so a sink can
-- hand one to any input.
function M:on_bad_row(handler)
  self.bad_row = handler
end

-- No wall clock: every update is due at once.
function M.due()
  return math.huge
end

function M:exhausted()
  return self.cursor >= #self.list
end

-- Appends whole timestamps with time < until_time, stopping between two
-- timestamps once the batch holds max_rows rows; returns how many
-- timestamps were filled.
function M:fill(b, until_time, max_rows)
  local list, rel, n = self.list, self.relation, 0
  local u = list[self.cursor + 1]
  while u and u.time < until_time and (not max_rows or b.nrows < max_rows) do
    local t = u.time
    repeat
      local ok, err = put(b, rel, u)
      if not ok then error(err, 0) end -- cannot happen: new() checked every row
      self.cursor = self.cursor + 1
      u = list[self.cursor + 1]
    until not u or u.time ~= t
    n = n + 1
  end
  return n
end

return M
