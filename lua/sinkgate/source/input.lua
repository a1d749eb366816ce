-- sinkgate.source.input — what a sink reads. Every input is a stream of
-- updates (row, time, diff) in non-decreasing time, seen through the same
-- methods, so the sink (sink/steps.lua, sink/startup.lua) never knows
-- where times come from:
--   input.realtime             times follow the wall clock (due() matters)
--   input:origin(saved, now)   fixes the time origin (saved: the start kept
--                              in the progress record) and returns it
--   input:new_as_of(now)       the as_of of a new sink: its snapshot is the
--                              contents consolidated at that time
--   input:rewind()             back to the first update (the snapshot)
--   input:next_time()          the input's frontier: the first time not yet
--                              filled (one past the last time once exhausted)
--   input:seek(upper)          drop every update with time < upper
--   input:fill(batch, until, max_rows)
--                              append whole timestamps with time < until,
--                              stopping between two once max_rows are held
--   input:due(now)             the bound of the times due at wall time now
--                              (math.huge for an input that is not realtime)
--   input:exhausted()          a bounded input has been filled completely
--   input:prefill_safe()       (optional) filling ahead of a commit is safe
-- Two kinds today (and views over either, lua/sinkgate/view/input.lua):
--   tick-based (this file): load generators and Lua-fed tables with feed.
--     Tick i happens at logical time start + i * tick and its rows depend
--     only on i (and the seed), so an input can be positioned anywhere and
--     regenerates the same changes after a restart.
--   explicit times (source/timed.lua): a table's `updates`, (row, time,
--     diff) triples; times are data (1, 2, 3 or epoch ms), never a clock.
-- A Kafka source fits the second shape: its times come from the data, its
-- frontier from what it has read, seek from its durable offsets.
local core = require "sinkgate.core"
local generate = require "sinkgate.source.generate"
local rows = require "sinkgate.rows"
local timed = require "sinkgate.source.timed"
local check = require "sinkgate.rows_check"

local C, ffi = core.C, core.ffi
local M = {}
M.__index = M

-- A Lua-fed table's handle inside feed(t, tick, time): changes at that time.
-- Every row is checked as it is written (rows.push); a bad one never stays
-- in the batch, even half-written, and goes to the input's bad-row policy
-- with the config line that wrote it.
local Feed = {}
Feed.__index = Feed

-- Where a feed function called t:insert/delete/update: "file:line" of the
-- config line (level: the caller's stack level as seen from here).
local function call_site(level)
  local info = debug.getinfo(level + 1, "Sl")
  if not info then return "?:0" end
  local src = info.source:sub(1, 1) == "@" and info.source:sub(2) or info.short_src
  return src .. ":" .. (info.currentline or 0)
end

-- Raised through the feed function when the policy is to fail: the feed
-- pcall in fill_table recognises it (and the input remembers it, in case
-- the feed function swallows errors itself).
local FAILED = {}

-- Writes changes { row, diff, row, diff, … } all or none.
function Feed:_put(changes, where)
  local b, rel = self.batch, self.relation
  local nrows, arena = b.nrows, b.arena_len
  for i = 1, #changes, 2 do
    local r, err = rows.push(b, rel, self.time, changes[i + 1], changes[i])
    if not r then
      C.sg_batch_truncate(b, nrows, arena)
      local msg = ("%s: %s"):format(where or call_site(3), err)
      if not self.input:reject("bad_row", msg, changes[i], nil, self.time) then error(FAILED, 0) end
      return
    end
  end
end

function Feed:insert(row) self:_put({ row, 1 }) end
function Feed:delete(row) self:_put({ row, -1 }) end
function Feed:update(old, new) self:_put({ old, -1, new, 1 }) end

-- Problems of a table source's `rows` option ("file:line: relation.column:
-- message"), found without running anything, so `check` reports them; once
-- per source, however many sinks read it.
function M.check_rows(decl, relation)
  local out = {}
  local initial = decl.kind == "table" and decl.opts and decl.opts.rows
  if not initial or decl.rows_checked then return out end
  decl.rows_checked = true
  local b = ffi.gc(C.sg_batch_new(relation:c_schema(), 16), C.sg_batch_free)
  for k, row in ipairs(initial) do
    local p = (decl.path or "source") .. ".rows[" .. k .. "]"
    local r, err = rows.push(b, relation, 0, 1, row)
    if not r then out[#out + 1] = ("%s: %s"):format(decl.locate and decl.locate(p) or decl.where or "?:0", err) end
    C.sg_batch_clear(b)
  end
  return out
end

-- decl: a validated load_generator or table source; relation: its relation.
function M.new(decl, relation)
  -- ==== views (issue 12): a view reads its source through view/input.lua ====
  if decl.kind == "view" then return require("sinkgate.view.input").new(decl, relation) end
  -- ==== end of views ====
  local o = decl.opts
  if decl.kind == "kafka" then return require("sinkgate.source.kafka").new(decl, relation) end -- issue 11
  if decl.kind == "table" and o.updates then return timed.new(decl, relation) end
  local self = setmetatable({ decl = decl, relation = relation, tick_ms = o.tick, cursor = 0,
    configured_start = o.start, realtime = o.realtime ~= false, limit = o.ticks }, M)
  if decl.kind == "load_generator" then
    local gen, err = generate.new(o, decl.generator_relation)
    if not gen then return nil, err end
    self.gen = gen
  else
    self.feed, self.initial = o.feed, o.rows
  end
  return self
end

function M:set_start(ms)
  self.start = ms
  -- Generators re-create old rows (to delete them) with the time they had.
  if self.gen then self.gen.start_time = function(i) return self:time_of(i) end end
end

-- The time of tick 0: the saved one, the configured one, or the tick at
-- or before now for a sink's first run.
function M:origin(saved, now)
  local start = saved or self.configured_start or math.floor(now / self.tick_ms) * self.tick_ms
  self:set_start(start)
  return start
end

-- A new sink's as_of: the last tick at or before now (for an input that is
-- not realtime, its own first tick: it has no wall clock).
function M:new_as_of(now)
  local start, tick = self.start, self.tick_ms
  return self.realtime and start + math.floor((now - start) / tick) * tick or start
end

function M:rewind()
  self.cursor = 0
end

-- Whether the sink may fill the next batch while a transaction commits
-- (sink/steps.lua, prefill): only a load generator, whose rows cannot be
-- refused, so filling early has no effect a commit must come first for
-- (a feed table's bad rows become dead letters of a transaction).
function M:prefill_safe()
  return self.gen ~= nil
end

function M:time_of(i)
  return self.start + i * self.tick_ms
end

function M:next_time()
  return self:time_of(self.cursor)
end

function M:seek(upper)
  local i = math.ceil((upper - self.start) / self.tick_ms)
  if i > self.cursor then self.cursor = i end
end

-- The "file:line: relation: feed failed: message" of an error raised by
-- a feed function (its own position when the message has one).
local function feed_error(self, e)
  local where, rest = check.raised_at(self.feed, e)
  return ("%s: %s: feed failed: %s"):format(where, self.relation.name, rest)
end

-- Fills one tick; a tick is all or nothing when its feed function fails.
local function fill_table(self, b, i, time)
  local t = setmetatable({ batch = b, relation = self.relation, time = time, input = self }, Feed)
  local nrows, arena = b.nrows, b.arena_len
  local ok, e = pcall(function()
    if i == 0 then
      local d = self.decl
      for k, row in ipairs(self.initial or {}) do
        local p = (d.path or "source") .. ".rows[" .. k .. "]"
        t:_put({ row, 1 }, d.locate and d.locate(p) or d.where or "?:0")
      end
    end
    if self.feed then self.feed(t, i, time) end
  end)
  if self.failure then return nil, self.failure end
  if ok then return true end
  local dropped = b.nrows - nrows
  C.sg_batch_truncate(b, nrows, arena)
  local msg = feed_error(self, e)
  if self:reject("feed_error", msg, nil, dropped, time) then return true end
  self.failure = msg
  return nil, msg
end

-- Sets the bad-row policy: fn(kind, message, row, dropped, time) → true when the
-- row (or the tick, kind "feed_error") was dropped and filling goes on,
-- false to fail. Without one, a bad row fails the input.
function M:on_bad_row(fn)
  self.bad_row = fn
end

function M:reject(kind, msg, row, dropped, time)
  if self.bad_row and self.bad_row(kind, msg, row, dropped, time) then return true end
  if kind == "bad_row" then self.failure = self.failure or msg end
  return false
end

function M:due(now)
  return self.realtime and now + 1 or math.huge
end

-- Whether a bounded input (ticks = N) has been filled completely.
function M:exhausted()
  return self.limit ~= nil and self.cursor >= self.limit
end

-- Appends ticks with time < until (at most max_rows rows' worth); returns
-- the number of ticks filled, or nil, "file:line: relation…: message" when
-- a bad row or a failing feed function stops the input (a tick is then
-- left out whole: the input stays failed).
function M:fill(b, until_time, max_rows)
  if self.failure then return nil, self.failure end
  local n = 0
  while self:time_of(self.cursor) < until_time and (not max_rows or b.nrows < max_rows) and not self:exhausted() do
    local i, time = self.cursor, self:time_of(self.cursor)
    if self.gen then
      generate.fill(self.gen, b, i, time)
    else
      local ok, err = fill_table(self, b, i, time)
      if not ok then return nil, err end
    end
    self.cursor = i + 1
    n = n + 1
  end
  return n
end

return M
