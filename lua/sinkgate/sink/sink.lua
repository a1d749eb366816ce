-- sinkgate.sink.sink — one running sink: its input, its producer, its
-- transactions and its progress.
--
-- Exactly-once protocol (semantics.md §1): one transactional producer per
-- sink with a stable transactional.id; on start init_transactions (fencing
-- older instances), then the last committed progress record gives the resume
-- upper; each transaction holds every update with time in [upper, new upper)
-- — whole timestamps, coalesced to at least commit_interval — and the
-- progress record last. A snapshot larger than max_transaction_rows is split
-- across transactions, its position kept in the progress record.
local bad_rows = require "sinkgate.sink.bad_rows"
local core = require "sinkgate.core"
local input = require "sinkgate.source.input"
local kafka_conf = require "sinkgate.run.kafka_conf"
local progress = require "sinkgate.sink.progress"
local registry = require "sinkgate.registry"
local route = require "sinkgate.sink.route"
local topics = require "sinkgate.sink.topics"
local plan_mod = require "sinkgate.plan"
local problems = require "sinkgate.sink.problems"
local log = require "sinkgate.util.log"

local C, ffi = core.C, core.ffi
local M = {}
M.__index = M

local FMT = { json = C.SG_FMT_JSON, text = C.SG_FMT_TEXT, bytes = C.SG_FMT_BYTES }
local ENV = { upsert = C.SG_ENV_UPSERT, debezium = C.SG_ENV_DEBEZIUM }
local TXN_TIMEOUT_MS = 30000
local PARTITION_REFRESH_MS = 30000

local function fmt_code(f)
  return type(f) == "table" and C.SG_FMT_AVRO or FMT[f]
end

-- One registry client per registry connection, shared by its sinks.
local clients = setmetatable({}, { __mode = "k" })

local function registry_for(p)
  local f = type(p.value_format) == "table" and p.value_format or p.key_format
  local conn = f.opts.registry
  if not clients[conn] then
    local c, err = registry.client(conn.opts)
    if not c then return nil, err end
    clients[conn] = c
  end
  return clients[conn]
end

-- Columns that pair deletions with insertions: the KEY, else a known
-- unique key of the relation, else none.
local function pairing_columns(p)
  local names = p.key or p.relation.keys[1] or {}
  local idx = {}
  for i, n in ipairs(names) do idx[i] = p.relation.index[n] - 1 end
  return idx
end

local function c_ints(list)
  return ffi.new("int[?]", math.max(1, #list), list), #list
end

function M.new(p)
  local o = p.opts
  local self = setmetatable({ plan = p, name = p.name, opts = o, state = "starting", exactly_once = o.mode == "exactly_once",
    counters = { messages = 0, transactions = 0, partition_by_nil = 0, partition_by_errors = 0,
      header_errors = 0, headers_dropped = 0, multi_key = 0, aborts = 0, producer_restarts = 0 } }, M)
  local conn = p.connection.opts
  self.txn_id = (o.into.transactional_id_prefix or "sinkgate") .. "-" .. p.name
  self.progress_key = progress.key(o.into.transactional_id_prefix, p.name)
  self.progress_topic = conn.progress_topic
  local base, err = kafka_conf.for_connection(conn, {})
  if not base then return nil, err end
  self.conf = { keys = base, values = err }
  self.input, err = input.new(o.from, p.relation)
  if not self.input then return nil, err end
  self.batch = ffi.gc(C.sg_batch_new(p.relation:c_schema(), 4096), C.sg_batch_free)
  self.updates = ffi.gc(ffi.new("sg_updates[1]"), C.sg_updates_free)
  self.pair_cols, self.npair = c_ints(pairing_columns(p))
  local key_idx = {}
  for i, k in ipairs(p.key or {}) do key_idx[i] = p.relation.index[k] - 1 end
  self.key_cols, self.nkey = c_ints(key_idx)
  -- hook (h9c): runtime errors by kind; the bad-row policy; routing errors reported through problems
  self.problems = problems.new(p.name)
  self.bad = bad_rows.new(self)
  self.input:on_bad_row(self.bad:handler())
  if o.into.partition_by or o.headers then self.route = route.new(p, self.batch, self.counters, self.problems) end
  return self
end

-- librdkafka properties of this sink's producer, with its own additions.
function M:producer_conf()
  local keys, values = { unpack(self.conf.keys) }, { unpack(self.conf.values) }
  local function put(k, v) keys[#keys + 1], values[#values + 1] = k, tostring(v) end
  put("client.id", "sinkgate-" .. self.name)
  put("enable.idempotence", "true")
  put("socket.nagle.disable", "true")
  put("compression.type", self.opts.into.compression)
  put("linger.ms", "5")
  -- A whole transaction must fit the queue, or producing stalls on QUEUE_FULL.
  put("queue.buffering.max.messages", math.max(100000, 2 * self.opts.max_transaction_rows + 1000))
  if self.exactly_once then
    put("transactional.id", self.txn_id)
    put("transaction.timeout.ms", "60000")
  end
  return keys, values
end

function M:new_producer()
  local keys, values = self:producer_conf()
  local ck, kk = core.strings(keys)
  local cv, kv = core.strings(values)
  local p = C.sg_producer_new(ck, cv, #keys, core.errbuf, core.ERRLEN)
  local _ = { kk, kv }
  if p == nil then return nil, "producer: " .. core.err() end
  self.producer = ffi.gc(p, C.sg_producer_free)
  if self.exactly_once then
    local rc = C.sg_producer_init_transactions(self.producer, TXN_TIMEOUT_MS, core.errbuf, core.ERRLEN)
    if rc ~= C.SG_TXN_OK then return nil, core.err() end
  end
  if self.spec then self.spec.producer = self.producer end
  return true
end

-- The last committed progress record of this sink, or false when there is
-- none; nil, err, hard on failure (hard: retrying cannot help).
function M:read_progress()
  local keys, values = { unpack(self.conf.keys) }, { unpack(self.conf.values) }
  keys[#keys + 1], values[#values + 1] = "group.id", (self.opts.into.progress_group_id_prefix or "sinkgate") .. "-" .. self.name
  local ck, kk = core.strings(keys)
  local cv, kv = core.strings(values)
  local buf = ffi.new("sg_buf[1]")
  local rc = C.sg_progress_read(ck, cv, #keys, self.progress_topic, self.progress_key, buf, core.errbuf, core.ERRLEN)
  local _ = { kk, kv }
  local text = rc == 1 and ffi.string(buf[0].data, buf[0].len) or nil
  C.sg_buf_free(buf)
  if rc < 0 then
    local err = core.err()
    return nil, err, err:find("must have exactly 1", 1, true) ~= nil
  end
  if not text then return false end
  return progress.decode(text)
end

function M:ensure_topics()
  local into = self.opts.into
  local conn = self.plan.connection
  local ok, err = topics.ensure(conn, self.conf, self.progress_topic, 1, conn.opts.progress_topic_replication_factor,
    { ["cleanup.policy"] = "compact", ["segment.bytes"] = "134217728" })
  if not ok then return nil, "progress topic: " .. err end
  ok, err = topics.ensure(conn, self.conf, self.plan.topic, into.topic_partition_count, into.topic_replication_factor,
    into.topic_config)
  if not ok then return nil, "topic " .. self.plan.topic .. ": " .. err end
  return true
end

function M:refresh_partitions()
  local n = C.sg_producer_partition_count(self.producer, self.plan.topic, 10000, core.errbuf, core.ERRLEN)
  if n <= 0 then return nil, ("topic %s: %s"):format(self.plan.topic, core.err()) end
  if self.partitions and n ~= self.partitions then
    log.info("sink %s: topic %s now has %d partitions (was %d)", self.name, self.plan.topic, n, self.partitions)
  end
  self.partitions = n
  if self.spec then self.spec.partitions = n end
  return true
end

-- Start-up: progress, topics, producer, partitions, schemas. Returns true,
-- or nil, err (the sink fails).
function M:start(now)
  local rec, err, hard = self:read_progress()
  if rec == nil then return nil, err, hard end
  local p, o = self.plan, self.opts
  if rec and rec.version > o.version then
    return nil, ("fenced off by newer version %d of sink %s (this one is version %d)"):format(rec.version, self.name,
      o.version), true
  end
  if rec and rec.version < o.version then rec = false end -- re-pointed: a new input timeline
  if rec and not rec.frontier then return nil, "the progress record says this sink is finished", true end
  if not rec then
    local ok, terr = self:ensure_topics()
    if not ok then return nil, terr end
  end
  local ok, perr = self:new_producer()
  if not ok then return nil, perr end
  -- A fenced older instance may have committed meanwhile: read again now
  -- that init_transactions has aborted whatever it left open.
  if self.exactly_once and rec then
    local again, rerr = self:read_progress()
    if again == nil then return nil, rerr end
    rec = again or rec
  end
  ok, perr = self:refresh_partitions()
  if not ok then return nil, perr end
  self.spec = ffi.new("sg_emit_spec", {
    producer = self.producer, topic = p.topic, partitions = self.partitions,
    key_format = p.key and fmt_code(p.key_format) or 0, value_format = fmt_code(p.value_format),
    envelope = ENV[p.envelope], key_cols = self.key_cols, nkey = self.nkey, ts_header = o.timestamp_header,
    key_schema_id = -1, value_schema_id = -1,
  })
  self.anchor = { p.topic, o.timestamp_header }
  self:position(rec, now)
  self.next_refresh = now + PARTITION_REFRESH_MS
  self.last_commit = now
  if p.avro then
    local client, rerr = registry_for(p)
    if not client then return nil, "registry: " .. rerr end
    self.registry, self.retry_at, self.backoff = client, 0, 1000
    self.state, self.why = "stalled", "waiting to register its schemas"
  else
    self.state = "running"
  end
  return true
end

-- Where to continue: the resume upper (and snapshot position) from the
-- progress record, or a fresh start at now.
function M:position(rec, now)
  local src = self.opts.from
  local saved = rec and rec.sources[self:source_name()] or {}
  local tick = self.input.tick_ms
  local start = saved.start or src.opts.start or math.floor(now / tick) * tick
  self.input:set_start(start)
  self.source_state = { start = start }
  if rec then
    self.upper = rec.frontier
    self.snapshot_done = rec.snapshot_done
    self.as_of = rec.snapshot_done and rec.frontier or nil
    log.info("sink %s: resuming at frontier %s%s", self.name, tostring(self.upper),
      self.snapshot_done and (" (snapshot: " .. self.snapshot_done .. " updates committed)") or "")
  else
    -- A new sink: its as_of is the last tick at or before now (for an input
    -- that is not realtime, its own first tick: it has no wall clock).
    local as_of = self.input.realtime and start + math.floor((now - start) / tick) * tick or start
    self.as_of = self.opts.snapshot and as_of or nil
    self.snapshot_done = self.opts.snapshot and 0 or nil
    self.upper = self.opts.snapshot and as_of or as_of + 1
    if not self.opts.snapshot then self.input:seek(self.upper) end
  end
  if not self.as_of then self.input:seek(self.upper) end
end

-- The name a source's resume state is kept under in the progress record.
function M:source_name()
  local src = self.opts.from
  return src.opts.name or src.generator_relation or src.path:match("[^.]+$")
end

function M:record(frontier, snapshot_done)
  return progress.encode({ frontier = frontier, version = self.opts.version, snapshot_done = snapshot_done,
    sources = { [self:source_name()] = self.source_state } })
end

------------------------------------------------------------------------------
-- Producing one transaction's worth of updates.

-- Partitions and headers of updates [from, to), computed once so a retried
-- transaction sends the same messages.
function M:route_range(from, to)
  local parts, headers, keep
  if self.route and self.opts.into.partition_by then
    local err
    parts, err = self.route:partitions(self.updates[0], from, to, self.partitions)
    if not parts then return nil, err end
  end
  if self.route and self.opts.headers then
    headers, keep = self.route:message_headers(self.updates[0], from, to)
    if not headers then return nil, keep end -- hook (h9c): on_error = "fail"
  end
  return { parts = parts, headers = headers, keep = keep }
end

function M:send_range(from, to, routed)
  local n = C.sg_emit_updates(self.spec, self.batch, self.updates, from, to, routed.parts, routed.headers,
    core.errbuf, core.ERRLEN)
  if n < 0 then return nil, core.err() end
  return tonumber(n)
end

function M:send_record(record)
  if C.sg_producer_send(self.producer, self.progress_topic, 0, self.progress_key, #self.progress_key, record, #record,
        0, nil, nil, nil, 0, core.errbuf, core.ERRLEN) ~= 0 then
    return nil, core.err()
  end
  return true
end

-- Whether a progress record read back covers (frontier, snapshot position).
local function covers(rec, frontier, done)
  if not rec or not rec.frontier then return false end
  if rec.frontier ~= frontier then return rec.frontier > frontier end
  if done == nil then return rec.snapshot_done == nil end
  return rec.snapshot_done == nil or rec.snapshot_done >= done
end

-- One transaction: updates [from, to) then the progress record, committed.
-- Retriable commits are retried, abortable ones aborted and re-sent whole,
-- fatal ones get a new producer (re-fencing) and a check of what committed.
function M:transact(from, to, record, frontier, snapshot_done)
  local routed, rerr = self:route_range(from, to)
  if not routed then return nil, rerr end
  for attempt = 1, 5 do
    local rc = C.sg_producer_begin(self.producer, core.errbuf, core.ERRLEN)
    local n, err
    if rc == C.SG_TXN_OK then
      n, err = self:send_range(from, to, routed)
      local dead_ok -- hook (h9c): dead letters go in the same transaction, before the progress record
      if n then dead_ok, err = self.bad:produce(self.producer) end
      if dead_ok and self:send_record(record) then
        repeat
          rc = C.sg_producer_commit(self.producer, TXN_TIMEOUT_MS, core.errbuf, core.ERRLEN)
        until rc ~= C.SG_TXN_RETRIABLE or C.sg_sys_signal_pending() ~= 0
        if rc == C.SG_TXN_OK then
          self.bad:committed() -- hook (h9c)
          return n
        end
      else
        rc = C.SG_TXN_ABORTABLE
      end
    end
    err = err or core.err()
    log.info("sink %s: transaction attempt %d failed: %s", self.name, attempt, err)
    if rc == C.SG_TXN_ABORTABLE then
      self.counters.aborts = self.counters.aborts + 1
      if C.sg_producer_abort(self.producer, TXN_TIMEOUT_MS, core.errbuf, core.ERRLEN) ~= C.SG_TXN_OK then
        rc = C.SG_TXN_FATAL
      end
    end
    if rc ~= C.SG_TXN_ABORTABLE then
      local ok, perr = self:restart_producer()
      if not ok then return nil, perr end
      if covers(self:read_progress(), frontier, snapshot_done) then
        self.bad:committed() -- hook (h9c)
        return to - from -- it did commit before the failure was reported
      end
    end
  end
  return nil, "transaction failed 5 times"
end

function M:restart_producer()
  self.counters.producer_restarts = self.counters.producer_restarts + 1
  self.producer = nil
  collectgarbage()
  return self:new_producer()
end

-- At-least-once: no transactions and no flush per batch. The progress
-- record of a batch is written once every message produced before it has
-- been delivered (checked without blocking on later steps), so a restart
-- resumes at a frontier whose data is all there — and may repeat what came
-- after it.
function M:send_unsafely(from, to, record)
  local routed, err = self:route_range(from, to)
  if not routed then return nil, err end
  local n
  n, err = self:send_range(from, to, routed)
  if not n then return nil, err end
  local dead_ok, derr = self.bad:produce(self.producer) -- hook (h9c): dead letters, at least once here
  if not dead_ok then return nil, derr end
  self.bad:committed()
  local st = ffi.new("sg_producer_stats")
  C.sg_producer_stats_get(self.producer, st)
  self.unacked = self.unacked or {}
  self.unacked[#self.unacked + 1] = { produced = tonumber(st.produced), record = record }
  local ok
  ok, err = self:acknowledge(false)
  if not ok then return nil, err end
  return n
end

-- Writes the progress record of the newest batch whose messages are all
-- delivered; with wait, flushes first (shutdown).
function M:acknowledge(wait)
  if not self.unacked or #self.unacked == 0 then return true end
  if wait and C.sg_producer_flush(self.producer, TXN_TIMEOUT_MS, core.errbuf, core.ERRLEN) ~= 0 then
    return nil, core.err()
  end
  local st = ffi.new("sg_producer_stats")
  C.sg_producer_stats_get(self.producer, st)
  if st.failed > 0 then return nil, "messages were not delivered: " .. ffi.string(st.last_error) end
  local done = tonumber(st.delivered)
  local last
  while #self.unacked > 0 and self.unacked[1].produced <= done do last = table.remove(self.unacked, 1) end
  if last then return self:send_record(last.record) end
  return true
end

function M:commit_range(from, to, frontier, snapshot_done)
  local record = self:record(frontier, snapshot_done)
  local n, err
  if self.exactly_once then
    n, err = self:transact(from, to, record, frontier, snapshot_done)
  else
    n, err = self:send_unsafely(from, to, record)
  end
  if not n then return nil, err end
  if frontier < self.upper then return nil, ("frontier went backwards: %s < %s"):format(frontier, self.upper) end
  self.counters.messages = self.counters.messages + n
  self.counters.transactions = self.counters.transactions + 1
  return true
end

------------------------------------------------------------------------------
-- The steps.

-- The snapshot: every tick up to as_of, consolidated at as_of, sent in
-- transactions of at most max_transaction_rows updates.
function M:snapshot_step()
  local b = self.batch
  C.sg_batch_clear(b)
  self.input.cursor = 0
  local filled, ferr = self.input:fill(b, self.as_of + 1) -- hook (h9c): a bad row / failing feed fails the sink
  if not filled then return nil, ferr end
  if C.sg_consolidate(b, self.pair_cols, self.npair, 0, self.as_of, self.updates, core.errbuf, core.ERRLEN) ~= 0 then
    return nil, core.err()
  end
  local u = self.updates[0]
  local chunk = self.opts.max_transaction_rows
  local done = self.snapshot_done or 0
  while done < u.n do
    local to = math.min(done + chunk, u.n)
    local last = to == u.n
    local ok, err = self:commit_range(done, to, last and self.as_of + 1 or self.as_of, (not last) and to or nil)
    if not ok then return nil, err end
    done = to
    if C.sg_sys_signal_pending() ~= 0 and not last then
      self.snapshot_done = done
      return true
    end
  end
  if u.n == 0 then -- an empty snapshot still records its frontier
    local ok, err = self:commit_range(0, 0, self.as_of + 1, nil)
    if not ok then return nil, err end
  end
  self.counters.multi_key = self.counters.multi_key + tonumber(u.multi_key)
  self.upper, self.as_of, self.snapshot_done = self.as_of + 1, nil, nil
  self.input:seek(self.upper)
  C.sg_batch_clear(b)
  return true
end

-- Fills due ticks and commits when the transaction has spanned
-- commit_interval or holds max_transaction_rows.
function M:run_step(now)
  local b, o, inp = self.batch, self.opts, self.input
  local filled, ferr = inp:fill(b, inp:due(now), o.max_transaction_rows) -- hook (h9c)
  if not filled then return nil, ferr end
  local full = b.nrows >= o.max_transaction_rows or inp:exhausted()
  if now - self.last_commit < o.commit_interval and not full then return true end
  local new_upper = inp:next_time()
  if new_upper <= self.upper then
    if inp:exhausted() then self.state = "done" end
    return true
  end
  if C.sg_consolidate(b, self.pair_cols, self.npair, self.upper, -1, self.updates, core.errbuf, core.ERRLEN) ~= 0 then
    return nil, core.err()
  end
  local u = self.updates[0]
  local ok, err = self:commit_range(0, u.n, new_upper, nil)
  if not ok then return nil, err end
  self.counters.multi_key = self.counters.multi_key + tonumber(u.multi_key)
  local old_upper = self.upper
  self.upper, self.last_commit = new_upper, now
  if inp.realtime then self:record_latency(old_upper, new_upper) end
  C.sg_batch_clear(b)
  if inp:exhausted() then self.state = "done" end
  return true
end

-- Commit latency: for each tick just committed, the wall time from the
-- tick's time to the end of its commit, kept in a fixed-size reservoir.
local RESERVOIR = 10000

function M:record_latency(from, to)
  local inp, now = self.input, tonumber(C.sg_sys_now_ms())
  local lat = self.latency or { n = 0 }
  self.latency = lat
  local i = math.ceil((from - inp.start) / inp.tick_ms)
  while inp:time_of(i) < to do
    lat.n = lat.n + 1
    local slot = lat.n <= RESERVOIR and lat.n or math.random(lat.n)
    if slot <= RESERVOIR then lat[slot] = now - inp:time_of(i) end
    i = i + 1
  end
end

-- p50 and p99 commit latency in ms, or nil without samples.
function M:latency_percentiles()
  local lat = self.latency
  if not lat or lat.n == 0 then return nil end
  local xs = {}
  for k = 1, math.min(lat.n, RESERVOIR) do xs[k] = lat[k] end
  table.sort(xs)
  local function at(p) return xs[math.max(1, math.ceil(p * #xs))] end
  return at(0.5), at(0.99)
end

function M:publish(now)
  if now < self.retry_at then return false end
  local ids, err = self.registry:publish(self.plan)
  if not ids then
    if self.why ~= err.message then log.info("sink %s: stalled: %s", self.name, err.message) end
    self.why = err.message
    self.retry_at = now + self.backoff
    self.backoff = math.min(self.backoff * 2, 30000)
    return false
  end
  self.spec.key_schema_id = ids.key or -1
  self.spec.value_schema_id = ids.value or -1
  self.state, self.why = "running", nil
  log.info("sink %s: schemas registered (key id %s, value id %s)", self.name, tostring(ids.key or "-"),
    tostring(ids.value or "-"))
  return true
end

-- One step of the sink's life; failures leave it in state "failed".
function M:step(now)
  if self.state == "failed" or self.state == "done" then return end
  local ok, err = true, nil
  if self.state == "starting" then
    if now < (self.start_retry_at or 0) then return end
    local hard
    ok, err, hard = self:start(now)
    now = tonumber(C.sg_sys_now_ms()) -- start-up takes a while
    if not ok and not hard then -- the broker may be down or slow: try again
      self.start_backoff = math.min((self.start_backoff or 500) * 2, 30000)
      self.start_retry_at = now + self.start_backoff
      if self.why ~= err then log.info("sink %s: cannot start yet (%s); retrying", self.name, err) end
      self.why, self.producer = err, nil
      return
    end
    self.why = nil
  end
  if ok and self.state == "stalled" and not self:publish(now) then return end
  if ok and now >= self.next_refresh then
    ok, err = self:refresh_partitions()
    self.next_refresh = now + PARTITION_REFRESH_MS
  end
  if ok and self.as_of then ok, err = self:snapshot_step() end
  if ok and not self.as_of then ok, err = self:run_step(now) end
  if not ok then
    self.state, self.why = "failed", err
    log.err(("sinkgate run: sinks.%s: %s"):format(self.name, err))
  end
end

function M:status()
  local c = self.counters
  local p50, p99 = self:latency_percentiles()
  local st = { name = self.name, state = self.state, why = self.why, topic = self.plan.topic,
    latency_p50_ms = p50, latency_p99_ms = p99,
    frontier = self.upper, partitions = self.partitions, messages = c.messages,
    transactions = c.transactions, mode = self.opts.mode }
  for k, v in pairs(c) do if st[k] == nil and v > 0 then st[k] = v end end
  st.errors = self.problems:report() -- hook (h9c): runtime errors by kind, first/last message, what was dropped
  return st
end

function M:status_line()
  local s = self:status()
  local extra = {}
  for _, k in ipairs({ "multi_key", "partition_by_nil", "partition_by_errors", "partition_by_invalid",
    "headers_dropped", "header_errors", "bad_rows", "feed_errors", "dead_letters",
    "aborts", "producer_restarts", "latency_p50_ms", "latency_p99_ms" }) do
    if s[k] then extra[#extra + 1] = k .. "=" .. s[k] end
  end
  local last = self.problems:last_error() -- hook (h9c)
  if last then extra[#extra + 1] = "last_error=" .. last end
  return ("sink %s: %s%s; %d messages in %d transactions; frontier %s -> %s (%s partitions)%s"):format(
    self.name, s.state, s.why and (" (" .. s.why .. ")") or "", s.messages, s.transactions,
    tostring(s.frontier or "-"), s.topic, tostring(s.partitions or "?"),
    #extra > 0 and ("; " .. table.concat(extra, " ")) or "")
end

-- Final flush at shutdown (at-least-once: after it, the last progress).
function M:finish()
  self.problems:flush() -- hook (h9c): what the log rate limit held back
  if not self.producer then return end
  if not self.exactly_once then
    local ok, err = self:acknowledge(true)
    if not ok then
      self.state, self.why = "failed", err
      log.err(("sinkgate run: sinks.%s: %s"):format(self.name, err))
    end
  end
  C.sg_producer_flush(self.producer, TXN_TIMEOUT_MS, core.errbuf, core.ERRLEN)
end

M.format_name = plan_mod.format_name

return M
