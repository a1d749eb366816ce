-- sinkgate.sink.steps — what a started sink does each step: fill due
-- ticks, consolidate, and drive one transaction at a time to its commit.
--
-- A transaction (self.txn) covers updates [from, to) of the consolidated
-- batch and ends with the progress record; it is begun, sent and then
-- committed in short slices across steps. Abortable errors abort it and
-- re-send the same range (same producer, so in-memory state stays true);
-- fatal ones hand over to recovery (startup.lua), fencing stops the sink.
local core = require "sinkgate.core"
local lifecycle = require "sinkgate.sink.lifecycle"
local txn = require "sinkgate.sink.txn"
local log = require "sinkgate.util.log"

local C, ffi = core.C, core.ffi
local M = {}

local STALL_AFTER_MS = 5000

------------------------------------------------------------------------------
-- Starting and finishing one transaction.

-- Partitions and headers of updates [from, to), computed once so a retried
-- transaction sends the same messages.
function M:route_range(from, to)
  local parts, headers
  -- plugins: transform and format plugins first (their rows, parts, headers)
  local given
  if self.plugins then
    local err
    given, err = self.plugins:range(self.batch, self.updates[0], from, to)
    if not given then return nil, err end
  end
  -- a transform hands back its own copy of the range's updates, [0, to - from)
  local u, rf, rt = self.updates[0], from, to
  if given and given.updates then u, rf, rt = given.updates[0], 0, to - from end
  if self.route and self.opts.into.partition_by then
    local err
    parts, err = self.route:partitions(u, rf, rt, self.partitions)
    if not parts then return nil, err end
  end
  local keep -- what the sg_msg_headers points into: it must live as long as the routed range
  if self.route and (self.opts.headers or given and given.headers) then
    headers, keep = self.route:message_headers(u, rf, rt, given and given.headers)
    if not headers then return nil, keep end -- on_error = "fail"
  end
  return { parts = parts, headers = headers, headers_keep = keep, given = given }
end

-- Starts the transaction of updates [from, to) with the given frontier;
-- after() runs once it has committed.
function M:start_txn(now, from, to, frontier, snapshot_done, after)
  if frontier < self.upper then return nil, ("frontier went backwards: %s < %s"):format(frontier, self.upper) end
  local routed, err = self:route_range(from, to)
  if not routed then return nil, err end
  local t = { from = from, to = to, frontier = frontier, snapshot_done = snapshot_done, routed = routed,
    record = self:record(frontier, snapshot_done), after = after, t0 = now, attempt = 1 }
  if not self.exactly_once then return self:send_unsafely(now, t) end
  self.txn = t
  return self:drive(now)
end

function M:committed(now, t)
  self.txn = nil
  self.bad:committed() -- the dead letters it held are in
  if self.input.committed then self.input:committed() end -- a Kafka source's lag offsets
  self.counters.messages = self.counters.messages + (t.n or 0)
  self.counters.transactions = self.counters.transactions + 1
  self.counters.rows = (self.counters.rows or 0) + (t.to - t.from)
  if self.state == "stalled" then lifecycle.set(self, "running", nil) end
  return t.after(now)
end

-- A failed transactional call, by class.
function M:txn_failed(now, rc, err)
  local t = self.txn
  if rc == C.SG_TXN_FENCED then
    return self:fence(("fenced by another instance of sink %s (transactional.id %s): %s"):format(self.name,
      self.txn_id, err))
  end
  if rc == C.SG_TXN_ABORTABLE then
    self.counters.aborts = self.counters.aborts + 1
    log.info("sink %s: transaction attempt %d aborted: %s", self.name, t.attempt, err)
    t.aborting, t.sent = true, false
    t.attempt = t.attempt + 1
    t.retry_at = now + math.min(100 * 2 ^ math.min(t.attempt, 6), 5000)
    return true
  end
  return self:recover(err)
end

-- Drives the transaction in flight one slice further.
function M:drive(now)
  local t = self.txn
  if t.retry_at and now < t.retry_at and not t.aborting then return true end
  local rc, err
  if t.aborting then
    rc, err = txn.abort(self)
    if rc ~= C.SG_TXN_RETRIABLE then lifecycle.trace(self, "abort", rc) end
    if rc == C.SG_TXN_RETRIABLE then return self:waiting(now, "abort", err) end
    if rc ~= C.SG_TXN_OK then return self:txn_failed(now, rc, err) end
    t.aborting = false
    return true
  end
  if not t.sent then
    rc, err = txn.begin_and_send(self, t)
    lifecycle.trace(self, "send", rc == C.SG_TXN_OK and t.frontier or rc)
    if rc ~= C.SG_TXN_OK then return self:txn_failed(now, rc, err) end
    t.sent, t.commit_started = true, now
    -- The last look before committing: another instance or a newer
    -- version that has committed meanwhile wins (on Kafka it has fenced
    -- this producer anyway; brokers that do not fence are covered too).
    local why = self:watch_says()
    if why then
      txn.abort(self)
      return self:fence(why)
    end
    self:prefill(now)
  end
  rc, err = txn.commit(self)
  if rc ~= C.SG_TXN_RETRIABLE then lifecycle.trace(self, "commit", rc == C.SG_TXN_OK and t.frontier or rc) end
  if rc == C.SG_TXN_OK then return self:committed(now, t) end
  if rc == C.SG_TXN_RETRIABLE then return self:waiting(now, "commit", err) end
  return self:txn_failed(now, rc, err)
end

------------------------------------------------------------------------------
-- Prefill: once a transaction is sent, librdkafka delivers it and the
-- commit waits for the broker, while the main thread would be idle; it
-- fills the next batch meanwhile (self.ahead, swapped in by run_step), so
-- generating rows overlaps the commit instead of following it. Only after
-- the snapshot, and only for inputs that say filling early is safe
-- (input:prefill_safe(): nothing it does belongs in a transaction). The
-- rows stay in memory; a recovery drops them with the batch (startup.lua).
local swap_tmp = ffi.new("sg_batch")
local BATCH_BYTES = ffi.sizeof("sg_batch")

local function swap_batches(a, b)
  ffi.copy(swap_tmp, a, BATCH_BYTES)
  ffi.copy(a, b, BATCH_BYTES)
  ffi.copy(b, swap_tmp, BATCH_BYTES)
end

function M:prefill(now)
  local inp = self.input
  if self.as_of or not inp.prefill_safe or not inp:prefill_safe() or inp:exhausted() then return end
  if not self.ahead then self.ahead = ffi.gc(C.sg_batch_new(self.batch.schema, 4096), C.sg_batch_free) end
  if self.ahead.nrows > 0 then return end
  -- An error stays with the input (its failure): run_step's next fill returns it.
  inp:fill(self.ahead, inp:due(now), self.opts.max_transaction_rows)
  self.counters.rows_prefilled = self.counters.rows_prefilled + self.ahead.nrows -- status JSON
end

-- The input has nothing more to give: exhausted, and no prefilled rows wait.
function M:input_done()
  return self.input:exhausted() and not (self.ahead and self.ahead.nrows > 0)
end

-- A commit or abort still waiting on the broker: shown as stalled after a while.
function M:waiting(now, what, err)
  local since = self.txn.commit_started or self.txn.t0
  if now - since > STALL_AFTER_MS then
    -- A stable reason (the time it started, not a growing count), so the
    -- log says it once; status shows it for as long as it lasts.
    lifecycle.set(self, "stalled", ("%s waiting for the broker since %s: %s"):format(what,
      os.date("!%H:%M:%S", math.floor(since / 1000)), err))
  end
  return true
end

function M:fence(why)
  self.txn = nil
  txn.close(self)
  self.watch = nil
  lifecycle.set(self, "fenced", why)
  return true
end

-- A fatal producer error: replace the producer and resume from the
-- committed record (startup phases), never from memory.
function M:recover(err)
  local t = self.txn
  self.bad:discard() -- refilled from the committed frontier, bad rows are found again
  self.counters.producer_restarts = self.counters.producer_restarts + 1
  self.recovery = { frontier = t and t.frontier, snapshot_done = t and t.snapshot_done, n = t and t.n }
  self.txn = nil
  txn.close(self)
  self.watch = nil
  self.phase, self.retry_at = "prepare", nil
  lifecycle.set(self, "recovering", err)
  return true
end

------------------------------------------------------------------------------
-- At-least-once: no transactions and no flush per batch. The progress
-- record of a batch is written once every message produced before it has
-- been delivered (checked without blocking on later steps), so a restart
-- resumes at a frontier whose data is all there — and may repeat what came
-- after it.
function M:send_unsafely(now, t)
  local n, err = txn.send_range(self, t.from, t.to, t.routed)
  if not n then return nil, err end
  local dead_ok, derr = self.bad:produce(self.producer) -- dead letters: at least once here
  if not dead_ok then return nil, derr end
  t.n = n
  local st = ffi.new("sg_producer_stats")
  C.sg_producer_stats_get(self.producer, st)
  self.unacked = self.unacked or {}
  self.unacked[#self.unacked + 1] = { produced = tonumber(st.produced), record = t.record }
  local ok
  ok, err = self:acknowledge(false)
  if not ok then return nil, err end
  return self:committed(now, t)
end

-- Writes the progress record of the newest batch whose messages are all
-- delivered; with wait_ms, flushes first (shutdown).
function M:acknowledge(wait_ms)
  if not self.unacked or #self.unacked == 0 then return true end
  if wait_ms and C.sg_producer_flush(self.producer, wait_ms, core.errbuf, core.ERRLEN) ~= 0 then
    return nil, core.err()
  end
  local st = ffi.new("sg_producer_stats")
  C.sg_producer_stats_get(self.producer, st)
  if st.failed > 0 then return nil, "messages were not delivered: " .. ffi.string(st.last_error) end
  local done = tonumber(st.delivered)
  local last
  while #self.unacked > 0 and self.unacked[1].produced <= done do last = table.remove(self.unacked, 1) end
  if last then return txn.send_record(self, last.record) end
  return true
end

------------------------------------------------------------------------------
-- The snapshot: every update up to as_of, consolidated at as_of, sent in
-- transactions of at most max_transaction_rows updates (one per step).
function M:snapshot_step(now)
  local b = self.batch
  if not self.snap then
    C.sg_batch_clear(b)
    self.input:rewind()
    local filled, ferr = self.input:fill(b, self.as_of + 1)
    if not filled then return nil, ferr end -- a bad row / failing feed fails the sink
    if C.sg_consolidate(b, self.pair_cols, self.npair, 0, self.as_of, self.updates, core.errbuf, core.ERRLEN) ~= 0 then
      return nil, core.err()
    end
    self.snap = { n = tonumber(self.updates[0].n) }
  end
  local n, done = self.snap.n, self.snapshot_done or 0
  local to = math.min(done + self.opts.max_transaction_rows, n)
  local last = to == n
  return self:start_txn(now, done, to, last and self.as_of + 1 or self.as_of, (not last) and to or nil, function()
    if not last then
      self.snapshot_done = to
      return true
    end
    self.counters.multi_key = self.counters.multi_key + tonumber(self.updates[0].multi_key)
    self.upper, self.as_of, self.snapshot_done, self.snap = self.as_of + 1, nil, nil, nil
    self.input:seek(self.upper)
    C.sg_batch_clear(b)
    return true
  end)
end

-- Fills due ticks and starts a transaction when the pending changes have
-- spanned commit_interval or hold max_transaction_rows.
function M:run_step(now)
  local b, o, inp = self.batch, self.opts, self.input
  if self.ahead and self.ahead.nrows > 0 then
    -- prefilled during the commit that emptied b (recovery clears both)
    assert(b.nrows == 0, "prefilled rows with a batch still held")
    swap_batches(b, self.ahead)
  end
  local filled, ferr = inp:fill(b, inp:due(now), o.max_transaction_rows)
  if not filled then return nil, ferr end
  local full = b.nrows >= o.max_transaction_rows or inp:exhausted()
  if now - self.last_commit < o.commit_interval and not full then return true end
  local new_upper = inp:next_time()
  if new_upper <= self.upper then
    if self:input_done() then lifecycle.set(self, "done", nil) end
    return true
  end
  if C.sg_consolidate(b, self.pair_cols, self.npair, self.upper, -1, self.updates, core.errbuf, core.ERRLEN) ~= 0 then
    return nil, core.err()
  end
  local u = self.updates[0]
  return self:start_txn(now, 0, tonumber(u.n), new_upper, nil, function(done_at)
    self.counters.multi_key = self.counters.multi_key + tonumber(u.multi_key)
    local old_upper = self.upper
    self.upper, self.last_commit = new_upper, done_at
    if inp.realtime then self:record_latency(old_upper, new_upper) end
    C.sg_batch_clear(b)
    if self:input_done() then lifecycle.set(self, "done", nil) end
    return true
  end)
end

return M
