-- sinkgate.sink.startup — how a sink (re)starts, in the reference's order
-- (semantics §1, §11), as phases resumed step by step:
--   prepare  progress topic; the last committed record read BEFORE fencing,
--            so an instance of an older version never fences a newer one;
--            after a fatal error, also whether a newer instance has
--            committed since (then this one stops instead of fencing it)
--   fence    init_transactions: older producers with this transactional.id
--            are fenced and their open transaction aborted
--   resume   the committed record read again, now that nothing can
--            overtake it: version and identity checks, the data topic for a
--            new timeline, partitions, the input positioned at its frontier
-- The same phases run after a fatal producer error (state recovering): the
-- committed record is then the only truth about what was written.
local core = require "sinkgate.core"
local lifecycle = require "sinkgate.sink.lifecycle"
local progress = require "sinkgate.sink.progress"
local topics = require "sinkgate.sink.topics"
local txn = require "sinkgate.sink.txn"
local log = require "sinkgate.util.log"

local C, ffi = core.C, core.ffi
local M = {}

local READ_TIMEOUT_MS = 5000
local STALL_AFTER_MS = 5000

-- The last committed progress record of this sink, false when there is
-- none; nil, err, hard on failure (hard: retrying cannot help).
-- Properties of the consumers that read the progress topic (a group.id is
-- required to assign partitions; offsets are never committed to it).
function M:consumer_conf()
  local keys, values = { unpack(self.conf.keys) }, { unpack(self.conf.values) }
  keys[#keys + 1], values[#values + 1] = "group.id", (self.opts.into.progress_group_id_prefix or "sinkgate") .. "-" .. self.name
  return keys, values
end

-- Advances the read of the last committed progress record of this sink
-- (resumable: one broker request or ~100 ms of polling per call). Returns
-- "wait" while reading, then the record or false when there is none; nil,
-- err, hard on failure (hard: retrying cannot help).
function M:progress_step()
  if not self.reader then
    local keys, values = self:consumer_conf()
    local ck, kk = core.strings(keys)
    local cv, kv = core.strings(values)
    local r = C.sg_progress_reader_new(ck, cv, #keys, self.progress_topic, self.progress_key, READ_TIMEOUT_MS,
      core.errbuf, core.ERRLEN)
    local _ = { kk, kv }
    if r == nil then return nil, "progress: " .. core.err() end
    self.reader = ffi.gc(r, C.sg_progress_reader_free)
  end
  local buf = ffi.new("sg_buf[1]")
  local rc = C.sg_progress_reader_step(self.reader, 100, buf, core.errbuf, core.ERRLEN)
  if rc == 2 then return "wait" end
  self.reader = nil -- freed by its finalizer; a new read starts from scratch
  local text = rc == 1 and ffi.string(buf[0].data, buf[0].len) or nil
  C.sg_buf_free(buf)
  lifecycle.trace(self, "read-progress", rc < 0 and "error" or (text or "none"))
  if rc < 0 then
    local err = core.err()
    return nil, err, err:find("must have exactly 1", 1, true) ~= nil
  end
  if not text then return false end
  local rec, derr = progress.decode(text)
  if not rec then return nil, derr, true end
  return rec
end

-- Why rec shows that another instance has taken this sink over, or nil:
-- a newer version, or (same version) a writer that started after this one.
function M:superseded_by(rec)
  if not rec then return nil end
  local mine = self.opts.version
  if rec.version > mine then
    return ("fenced off by newer version %d of sink %s (this one is version %d)"):format(rec.version, self.name, mine)
  end
  local w = rec.writer
  if rec.version == mine and w and w.id ~= self.writer.id
      and (w.started > self.writer.started or (w.started == self.writer.started and w.id > self.writer.id)) then
    return ("another instance of sink %s (writer %s, started %s) has committed since this one started; this instance " ..
      "stops and leaves the sink to it"):format(self.name, w.id, os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(w.started / 1000)))
  end
end

function M:ensure_topics(data_too)
  local into = self.opts.into
  local conn = self.plan.connection
  local ok, err, hard = topics.ensure(conn, self.conf, self.progress_topic, 1, conn.opts.progress_topic_replication_factor,
    { ["cleanup.policy"] = "compact", ["segment.bytes"] = "134217728" })
  if not ok then return nil, "progress topic: " .. err, hard end
  if not data_too then return true end
  ok, err, hard = topics.ensure(conn, self.conf, self.plan.topic, into.topic_partition_count,
    into.topic_replication_factor, into.topic_config)
  if not ok then return nil, "topic " .. self.plan.topic .. ": " .. err, hard end
  return true
end

function M:refresh_partitions(timeout_ms)
  local n = C.sg_producer_partition_count(self.producer, self.plan.topic, timeout_ms or READ_TIMEOUT_MS, core.errbuf,
    core.ERRLEN)
  if n <= 0 then return nil, ("topic %s: %s"):format(self.plan.topic, core.err()) end
  if self.partitions and n ~= self.partitions then
    log.info("sink %s: topic %s now has %d partitions (was %d)", self.name, self.plan.topic, n, self.partitions)
  end
  self.partitions = n
  if self.spec then self.spec.partitions = n end
  return true
end

-- The progress watcher (core/kafka/progress.c): opened before the
-- committed record is read, so no later record of another writer is missed.
function M:open_watch()
  local keys, values = self:consumer_conf()
  local ck, kk = core.strings(keys)
  local cv, kv = core.strings(values)
  local w = C.sg_progress_watch_new(ck, cv, #keys, self.progress_topic, self.progress_key, core.errbuf,
    core.ERRLEN)
  local _ = { kk, kv }
  if w == nil then return nil, "progress watcher: " .. core.err() end
  self.watch = ffi.gc(w, C.sg_progress_watch_free)
  self.watch_buf = ffi.gc(ffi.new("sg_buf[1]"), C.sg_buf_free)
  return true
end

-- Why this sink must stop, if a record another writer committed since the
-- last look says so (never blocks).
function M:watch_says()
  if not self.watch then return nil end
  local rc = C.sg_progress_watch_poll(self.watch, self.watch_buf, core.errbuf, core.ERRLEN)
  if rc ~= 1 then return nil end
  local rec = progress.decode(ffi.string(self.watch_buf[0].data, self.watch_buf[0].len))
  return self:superseded_by(rec)
end

------------------------------------------------------------------------------
-- The phases. Each returns true (go on), "wait" (a resumable call is still
-- in progress), or nil, err, hard ("fenced" | "replan" | true | nil = transient).

local phases = {}

function phases.prepare(self)
  local ok, err, hard
  if not self.progress_topic_ok then
    ok, err, hard = self:ensure_topics(false)
    if not ok then return nil, err, hard end
    self.progress_topic_ok = true
  end
  local rec
  rec, err, hard = self:progress_step()
  if rec == "wait" or rec == nil then return rec, err, hard end
  -- Before fencing: never fence a newer version, nor (when recovering) an
  -- instance that has committed since this one started.
  local why = self:superseded_by(rec)
  if why and (self.recovery or rec.version > self.opts.version) then return nil, why, "fenced" end
  ok, err = txn.open(self)
  if not ok then return nil, err end
  self.fence_started = nil
  return true
end

function phases.fence(self, now)
  if not self.exactly_once then return true end
  self.fence_started = self.fence_started or now
  local rc, err = txn.init(self)
  if rc ~= C.SG_TXN_RETRIABLE then lifecycle.trace(self, "init-transactions", rc) end
  if rc == C.SG_TXN_OK then return true end
  if rc == C.SG_TXN_FENCED then
    return nil, ("fenced by another instance of sink %s (transactional.id %s) while initializing: %s"):format(self.name,
      self.txn_id, err), "fenced"
  end
  if rc == C.SG_TXN_RETRIABLE then
    if now - self.fence_started > STALL_AFTER_MS then
      self.why = ("fencing older instances: waiting %ds for the transaction coordinator (%s)"):format(
        math.floor((now - self.fence_started) / 1000), err)
    end
    return "wait"
  end
  txn.close(self) -- a fatal error on init: start over with a new producer
  self.phase = "prepare"
  return nil, err
end

-- After a fatal error: whether the transaction that failed had committed,
-- known only from a record that names this instance as its writer.
local function count_recovered(self, rec)
  local r = self.recovery
  if not (r and rec and rec.writer and rec.writer.id == self.writer.id) then return end
  if rec.frontier == r.frontier and rec.snapshot_done == r.snapshot_done then
    self.counters.messages = self.counters.messages + (r.n or 0)
    self.counters.transactions = self.counters.transactions + 1
    log.info("sink %s: the transaction that failed had committed (frontier %s)", self.name, tostring(rec.frontier))
  end
end

function phases.resume(self, now)
  if self.exactly_once and not self.watch then
    local ok, werr = self:open_watch()
    if not ok then return nil, werr end
  end
  local rec, err, hard = self:progress_step()
  if rec == "wait" or rec == nil then return rec, err, hard end
  local o = self.opts
  local why = self:superseded_by(rec)
  if why and (self.recovery or rec.version > o.version) then return nil, why, "fenced" end
  if rec and rec.version < o.version then
    log.info("sink %s: version %d starts a new timeline (the committed progress is version %d)", self.name, o.version,
      rec.version)
    rec = false
  end
  if rec and not rec.frontier then return nil, "the progress record says this sink is finished", true end
  if rec then
    local changes = progress.identity_changes(rec.sink, self.identity)
    if #changes > 0 then
      return nil, ("the committed progress of version %d was written for another sink: %s. Resuming it would skip or " ..
        "mix data. Either restore the old setting, or bump this sink's version to %d to start a new timeline (the new " ..
        "setting gets a full snapshot)"):format(rec.version, table.concat(changes, "; "), o.version + 1), true
    end
    local input_why = progress.input_change(rec.sources, self:source_name())
    if input_why then
      return nil, ("the committed progress of version %d %s. Resuming it would mix the old input's output with the " ..
        "new one's. Either restore the old input, or bump this sink's version to %d to start a new timeline (with a " ..
        "full snapshot)"):format(rec.version, input_why, o.version + 1), true
    end
  end
  count_recovered(self, rec)
  if not rec then
    local ok, terr, thard = self:ensure_topics(true)
    if not ok then return nil, terr, thard end
  end
  local ok, perr = self:refresh_partitions()
  if not ok then return nil, perr end
  if self.input.prepare then -- a Kafka source: its consumer and offsets, from the committed record
    local phard
    ok, perr, phard = self.input:prepare(rec and rec.sources[self:source_name()] or nil, now)
    if not ok then return nil, perr, phard end
  end
  self:build_spec()
  self:position(rec, now)
  self.recovery = nil
  return true
end

M.PHASES = { "prepare", "fence", "resume" }
-- What status says while a phase waits on the broker.
local WAITING = {
  prepare = "reading the committed progress record (before fencing)",
  fence = "fencing older instances (init_transactions)",
  resume = "reading the committed progress record (after fencing)",
}
local NEXT = { prepare = "fence", fence = "resume" }

-- One step of (re)starting. Returns true when the sink is ready to run.
function M:start_step(now)
  if self.replan or now < (self.retry_at or 0) then return false end
  self.phase = self.phase or "prepare"
  local ok, err, hard = phases[self.phase](self, now)
  if ok == "wait" then
    if not self.why or self.why_phase ~= self.phase then self.why, self.why_phase = WAITING[self.phase], self.phase end
    return false
  end
  if not ok then
    self.reader = nil
    if hard == "replan" then -- a Kafka source pinned its reader schema: run/runner.lua plans this sink again
      log.info("sink %s: %s", self.name, err)
      self.replan, self.why = err, err
      return false
    end
    if hard then
      txn.close(self)
      lifecycle.set(self, hard == "fenced" and "fenced" or "failed", err)
      return false
    end
    self.backoff = math.min((self.backoff or 250) * 2, 30000)
    self.retry_at = now + self.backoff
    if self.why ~= err then log.info("sink %s: cannot %s yet (%s); retrying", self.name, self.phase, err) end
    self.why = err
    return false
  end
  self.phase = NEXT[self.phase]
  if self.phase then return false end
  self.backoff, self.retry_at = nil, nil
  return true
end

-- Where to continue: the resume upper (and snapshot position) from the
-- progress record, or a fresh start at now. The input is rewound first:
-- after a recovery it may be ahead of what was committed.
function M:position(rec, now)
  local saved = rec and rec.sources[self:source_name()] or {}
  local start = self.input:origin(saved.start, now)
  self.input:rewind()
  self.source_state = { start = start }
  C.sg_batch_clear(self.batch)
  if self.ahead then C.sg_batch_clear(self.ahead) end -- prefilled past what was committed (steps.lua)
  self.snap = nil
  if rec then
    self.upper = rec.frontier
    self.snapshot_done = rec.snapshot_done
    self.as_of = rec.snapshot_done and rec.frontier or nil
    log.info("sink %s: resuming at frontier %s%s", self.name, tostring(self.upper),
      self.snapshot_done and (" (snapshot: " .. self.snapshot_done .. " updates committed)") or "")
  else
    -- A new sink: its as_of is the last time at or before now (for an input
    -- that is not realtime, its own first time: it has no wall clock).
    local as_of = self.input:new_as_of(now)
    self.as_of = self.opts.snapshot and as_of or nil
    self.snapshot_done = self.opts.snapshot and 0 or nil
    self.upper = self.opts.snapshot and as_of or as_of + 1
  end
  if not self.as_of then self.input:seek(self.upper) end
  self.last_commit = now
end

-- The name a source's resume state is kept under in the progress record.
function M:source_name()
  local src = self.opts.from
  return src.opts.name or src.generator_relation or (src.kind == "kafka" and src.opts.topic) or src.path:match("[^.]+$")
end

M.STALL_AFTER_MS = STALL_AFTER_MS
return M
