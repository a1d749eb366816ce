-- sinkgate.source.rehydration — a Kafka source rebuilding its state after a
-- restart (source/kafka_read.lua catch_up with rehydrate = true): how far it has
-- read, and where its updates go.
--
-- Progress is counted in offsets, per partition from where the rebuild
-- began up to the committed offsets (the target): under read_committed the
-- transaction markers between messages take offsets too, so offsets, not
-- messages, say how much is left. rate is offsets per second since the
-- rebuild began (≈ messages/s), eta_s what is left at that rate.
--
-- Updates: without a stateful view downstream the rebuilt rows are
-- dropped (only the source's upsert/Debezium state matters). With one, the
-- view input sets a replay (set_replay): the source fills replay.batch and
-- hands it to replay.fn every replay.rows rows and before it gives back
-- control, so the views' state is whole up to what was read whenever the
-- sink gets control, and their output is discarded.
local core = require "sinkgate.core"
local log = require "sinkgate.util.log"

local C, ffi = core.C, core.ffi
local M = {}

local function now_ms() return tonumber(C.sg_sys_now_ms()) end

local function sum_read(self, r)
  local read = 0
  for p, to in ipairs(r.to) do
    read = read + math.max(0, math.min(self.positions[p] or 0, to) - (r.from[p] or 0))
  end
  return read
end

-- A stateful view below (view/input.lua): the rebuild feeds its updates
-- to fn(batch) through batch, `rows` at a time, instead of dropping them.
function M.set_replay(self, batch, fn, rows)
  self.replay = { batch = batch, fn = fn, rows = rows }
end

-- The batch the rebuilt updates go into: the replay's, or a scratch batch
-- emptied after each message.
local function scratch(self)
  if self.replay then return self.replay.batch end
  self.dropped = self.dropped or ffi.gc(C.sg_batch_new(self.relation:c_schema(), 64), C.sg_batch_free)
  return self.dropped
end

-- Called as each slice of a rebuild starts: the first one records where it
-- starts (later ones, at the next fills, keep it). Returns the batch the
-- rebuilt updates go into. phase: what the status calls the rebuild
-- (an UPSERT snapshot built from state: "snapshot_state").
function M.begin(self, target, phase)
  local r = self.rehydration_state
  if r and r.phase ~= "done" then return scratch(self) end
  r = { started = now_ms(), from = {}, to = {}, target = 0, messages = 0,
    phase = phase or (self.replay and "source_and_view_state" or "source_state") }
  for p, to in ipairs(target) do
    r.from[p], r.to[p] = math.min(self.positions[p] or 0, to), to
    r.target = r.target + (to - r.from[p])
  end
  self.rehydration_state = r
  log.info("source %s: rebuilding state from offsets %s up to %s (%d offsets)%s", self.relation.name,
    table.concat(r.from, ","), table.concat(r.to, ","), r.target, self.replay and ", views included" or "")
  return scratch(self)
end

-- One message was taken into the batch scratch (from M.begin): dropped
-- at once, or passed on to the replay when it holds replay.rows rows.
-- true, or nil, err (a view failed: on_error = "fail", or its store).
function M.taken(self, batch)
  local r = self.rehydration_state
  r.messages = r.messages + 1
  local replay = self.replay
  if not replay then
    C.sg_batch_clear(batch)
    return true
  end
  if batch.nrows < replay.rows then return true end
  local ok, err = replay.fn(batch)
  C.sg_batch_clear(batch)
  return ok, err
end

-- The end of a slice: what the replay batch holds goes to the views, so
-- their state is whole up to what was read whenever the sink gets control;
-- done: the target is reached (or the source stalled). Returns true, false
-- (catch_up's "not done yet" after a slice) or true, true at the end; nil,
-- err when a view failed.
function M.flush(self, done)
  local replay = self.replay
  if replay and replay.batch.nrows > 0 then
    local ok, err = replay.fn(replay.batch)
    C.sg_batch_clear(replay.batch)
    if not ok then return nil, err end
  end
  if not done then return true, false end
  local r = self.rehydration_state
  if r and r.phase ~= "done" then
    r.read, r.finished = sum_read(self, r), now_ms()
    r.phase = self.stalled_why and "stalled" or "done"
    local secs = math.max(0.001, (r.finished - r.started) / 1000)
    log.info("source %s: state rebuilt up to offsets %s: %d messages (%d offsets) in %.2fs, %.0f/s%s",
      self.relation.name, table.concat(r.to, ","), r.messages, r.read, secs, r.read / secs,
      replay and ", views included" or "")
  end
  return true, true
end

-- The status object: read, target, rate, eta_s, phase (nil when the source
-- never rebuilt state in this process).
function M.status(self)
  local r = self.rehydration_state
  if not r then return nil end
  local now = r.finished or now_ms()
  local read = r.finished and r.read or sum_read(self, r)
  local secs = (now - r.started) / 1000
  local rate = secs > 0 and read / secs or 0
  local left = r.target - read
  return { phase = r.phase, read = read, target = r.target, messages = r.messages,
    rate = math.floor(rate + 0.5), elapsed_s = math.floor(secs * 10 + 0.5) / 10,
    eta_s = r.phase == "done" and 0 or (rate > 0 and math.ceil(left / rate) or nil) }
end

-- ", 12000/50000 offsets (24%), 3000/s, ETA 13s" for the 5 s log line.
function M.summary(self)
  local s = M.status(self)
  if not s then return "" end
  return (", %d/%d offsets (%d%%), %d/s, ETA %s"):format(s.read, s.target,
    s.target > 0 and math.floor(s.read * 100 / s.target) or 100, s.rate, s.eta_s and (s.eta_s .. "s") or "?")
end

return M
