-- sinkgate.source.upsert_snapshot — a new sink's snapshot of an UPSERT
-- Kafka source, read from its keyed state (source/kafka_read.lua catch_up).
--
-- The consolidated snapshot at as_of is the keyed state at the target
-- offsets: one insertion per live key. So instead of decoding every message
-- into a retraction and an insertion (a batch as long as the topic), the
-- state is built in C without decoding (core/state/upsert.c, as a
-- rehydration does, in ~100 ms slices with the same progress figures),
-- then each live key's stored value is decoded once into an insertion at
-- the snapshot time: a batch bounded by the state, not the topic.
--
-- Only where this gives what the per-message path gives: under
-- on_decode_error = "stall" (a message that does not decode would stop
-- the snapshot there; under skip or dead_letter it would leave the state
-- as it was, which the C path cannot know), no stateful view replay below,
-- no CSV header record. A stored key or value that does not decode sends
-- the snapshot back to the per-message path from the start offsets, which
-- stalls at that message with its usual message. A message replaced or
-- deleted before the target is never decoded here, so one that does not
-- decode stalls only the per-message path (documented in docs/sources.md).
local core = require "sinkgate.core"
local log = require "sinkgate.util.log"
local rehydration = require "sinkgate.source.rehydration"

local C = core.C
local M = {}

local SLICE_MS = 100
local LOG_MS = 5000

function M.allowed(self)
  local env = self.env
  return self.layout.envelope == "upsert" and not self.resumed and not self.replay and env.snapshot_rows ~= nil
    and env:fast_rehydration(self.o) and not self.layout.csv_header_at
end

-- Reads the snapshot up to target into b at time t. Returns true, true
-- (done: positions at the target, or the source stalled past its state
-- limit), true, false (a stop signal arrived), "fallback" (a stored row
-- does not decode: state and positions are back at the start, the caller
-- reads the snapshot per message), or nil, err. over_limit(self) says
-- whether the state outgrew upsert_state_limit (it sets stalled_why).
function M.read(self, b, t, target, over_limit)
  local messages0 = self.counters.messages
  rehydration.begin(self, target, "snapshot_state")
  local r = self.rehydration_state
  local last_log = tonumber(C.sg_sys_now_ms())
  while true do
    if C.sg_sys_signal_pending() ~= 0 then return true, false end
    local done, applied = self.env:rehydrate(self.c, self.positions, target, SLICE_MS)
    if done == nil then return nil, applied end -- applied: the error
    r.messages = r.messages + (applied or 0)
    self.counters.messages = self.counters.messages + (applied or 0)
    if done or over_limit(self) then break end
    -- kept state: checkpointed where it stands (the C loop comes back when its transaction grows long)
    if self.env.settle then self.env:settle(self.o.topic, self.start_offsets, self.positions) end
    local now = tonumber(C.sg_sys_now_ms())
    if now - last_log > LOG_MS then
      last_log = now
      log.info("source %s: snapshot: building its state up to offsets %s (at %s)%s", self.relation.name,
        table.concat(target, ","), table.concat(self.positions, ","), rehydration.summary(self))
    end
  end
  rehydration.flush(self, true)
  local ok, n = self.env:snapshot_rows(b, t)
  if ok == nil then return nil, n end
  if ok == false then
    log.info("source %s: snapshot: a stored row does not decode (%s); reading the snapshot again per message",
      self.relation.name, n)
    self.env:reset()
    for p, o in ipairs(self.start_offsets) do self.positions[p] = o end
    self.counters.messages, self.stalled_why, self.rehydration_state = messages0, nil, nil
    return "fallback"
  end
  local st = self.env:stats() or { keys_on_disk = 0 }
  log.info("source %s: snapshot from its UPSERT state: %d rows (%d keys on disk), %d messages read",
    self.relation.name, n, st.keys_on_disk or 0, r.messages)
  return true, true
end

return M
