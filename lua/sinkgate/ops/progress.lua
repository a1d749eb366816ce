-- sinkgate.ops.progress — how far long work has got: a snapshot being
-- sent (updates done of total), a Kafka source rebuilding its state after
-- a restart (offsets read of target, source/rehydration.lua) and a
-- realtime sink catching up a backlog (event time caught up of time
-- behind). On a terminal, one line on stderr rewritten in place
-- (done/total, rate, ETA) that log lines clear first; off a terminal, a
-- log line per sink at the status interval. Work that ends within
-- SHOW_AFTER_MS never shows.
local log = require "sinkgate.util.log"

local M = {}

M.SHOW_AFTER_MS = 1000
M.TTY_EVERY_MS = 250
-- A realtime sink whose frontier is further behind the wall clock than
-- this is catching up a backlog (after a stop, or from a start in the past).
M.BACKLOG_MS = 10000

local P = {}
P.__index = P

-- tty: stderr is a terminal; log_every_ms: cadence of the off-terminal lines.
function M.new(tty, log_every_ms)
  return setmetatable({ tty = tty, log_every = log_every_ms or 10000, jobs = {}, next_tty = 0, next_log = 0 }, P)
end

-- What a sink is busy with: kind, done, total, unit — or nil.
local function measure(s, now)
  if s.snap and s.snap.n > 0 then return "snapshot", s.snapshot_done or 0, s.snap.n, "updates" end
  local inp = s.input
  local r = inp and inp.rehydration and inp:rehydration()
  if r and r.phase ~= "done" and r.phase ~= "stalled" then return "rehydration", r.read, r.target, "offsets" end
  if s.state == "running" and inp and inp.realtime and s.upper then
    local upper, due = tonumber(s.upper), now
    if due - upper > M.BACKLOG_MS then return "backlog", upper, due, "ms" end
  end
  return nil
end

local function duration(ms)
  local sec = math.floor(ms / 1000 + 0.5)
  if sec < 60 then return sec .. "s" end
  if sec < 3600 then return ("%dm%02ds"):format(math.floor(sec / 60), sec % 60) end
  return ("%dh%02dm"):format(math.floor(sec / 3600), math.floor(sec / 60) % 60)
end

-- The text of one job: "snapshot orders: 12000/50000 updates (24%), 3000/s, ETA 13s".
local function describe(j, now)
  local elapsed = math.max(1, now - j.started)
  if j.kind == "snapshot" or j.kind == "rehydration" then
    local done, total = j.done, j.total
    local rate = (done - j.done0) * 1000 / elapsed
    local eta = rate > 0 and duration((total - done) / rate * 1000) or "?"
    return ("%s %s: %d/%d %s (%d%%), %.0f/s, ETA %s"):format(j.kind == "snapshot" and "snapshot" or "rebuilding state",
      j.name, done, total, j.kind == "snapshot" and "updates" or "offsets", math.floor(done * 100 / math.max(total, 1)),
      rate, eta)
  end
  -- backlog: done is the frontier, total the wall clock; the target moves
  -- at 1 ms per ms, so the gap closes at (speed - 1).
  local speed = (j.done - j.done0) / elapsed
  local behind = j.total - j.done
  local eta = speed > 1 and duration(behind / (speed - 1)) or "?"
  return ("backlog %s: %s behind (caught up %s of %s), %.1fx real time, ETA %s"):format(j.name, duration(behind),
    duration(j.done - j.done0), duration(j.total - j.done0), speed, eta)
end

function P:clear()
  if self.shown then
    io.stderr:write("\r\27[K")
    io.stderr:flush()
    self.shown = false
  end
end

-- Called from the run loop with the current sinks.
function P:update(sinks, now)
  local active = {}
  for _, s in ipairs(sinks) do
    local kind, done, total = measure(s, now)
    local key = kind and (s.name .. "\0" .. kind)
    if key then
      local j = self.jobs[key] or { name = s.name, kind = kind, started = now, done0 = done }
      j.done, j.total = done, total
      self.jobs[key] = j
      active[key] = true
    end
  end
  for key in pairs(self.jobs) do if not active[key] then self.jobs[key] = nil end end
  local lines = {}
  for _, j in pairs(self.jobs) do
    if now - j.started >= M.SHOW_AFTER_MS then lines[#lines + 1] = describe(j, now) end
  end
  table.sort(lines)
  if #lines == 0 then return self:clear() end
  if log.quiet then return end
  if self.tty then
    if now < self.next_tty then return end
    self.next_tty = now + M.TTY_EVERY_MS
    local text = table.concat(lines, " | ")
    io.stderr:write("\r\27[K", text)
    io.stderr:flush()
    self.shown = true
  elseif now >= self.next_log then
    self.next_log = now + self.log_every
    for _, l in ipairs(lines) do log.event("info", "progress", nil, "progress: %s", l) end
  end
end

return M
