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
-- Two kinds today:
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

local C = core.C
local M = {}
M.__index = M

-- A Lua-fed table's handle inside feed(t, tick, time): changes at that time.
local Feed = {}
Feed.__index = Feed

function Feed:_put(row, diff)
  local b, rel = self.batch, self.relation
  local r = C.sg_batch_push_row(b, self.time, diff)
  if r < 0 then error("out of memory", 2) end
  for i, c in ipairs(rel.columns) do
    local ok, err = pcall(rows.set, b, r, i - 1, c.type, row[c.name])
    if not ok then error(("%s.%s: %s"):format(rel.name, c.name, err), 3) end
  end
end

function Feed:insert(row) self:_put(row, 1) end
function Feed:delete(row) self:_put(row, -1) end
function Feed:update(old, new)
  self:_put(old, -1)
  self:_put(new, 1)
end

-- decl: a validated load_generator or table source; relation: its relation.
function M.new(decl, relation)
  local o = decl.opts
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

local function fill_table(self, b, i, time)
  local t = setmetatable({ batch = b, relation = self.relation, time = time }, Feed)
  if i == 0 then
    for _, row in ipairs(self.initial or {}) do t:insert(row) end
  end
  if self.feed then self.feed(t, i, time) end
end

function M:due(now)
  return self.realtime and now + 1 or math.huge
end

-- Whether a bounded input (ticks = N) has been filled completely.
function M:exhausted()
  return self.limit ~= nil and self.cursor >= self.limit
end

-- Appends ticks with time < until (at most max_rows rows' worth); returns
-- the number of ticks filled.
function M:fill(b, until_time, max_rows)
  local n = 0
  while self:time_of(self.cursor) < until_time and (not max_rows or b.nrows < max_rows) and not self:exhausted() do
    local i, time = self.cursor, self:time_of(self.cursor)
    if self.gen then generate.fill(self.gen, b, i, time) else fill_table(self, b, i, time) end
    self.cursor = i + 1
    n = n + 1
  end
  return n
end

return M
