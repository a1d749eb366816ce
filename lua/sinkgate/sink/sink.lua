-- sinkgate.sink.sink — one running sink: its input, its producer, its
-- transactions and its progress. Its life is an explicit state machine
-- (sink/lifecycle.lua); starting and recovering run the phases of
-- sink/startup.lua, running runs sink/steps.lua.
--
-- Exactly-once protocol (semantics.md §1, §11): one transactional producer
-- per sink with a stable transactional.id; on start the committed record is
-- read (version check), init_transactions fences older instances, the
-- committed record read again gives the resume upper; each transaction holds
-- every update with time in [upper, new upper) — whole timestamps, coalesced
-- to at least commit_interval — and the progress record last. A snapshot
-- larger than max_transaction_rows is split across transactions, its
-- position kept in the progress record.
local bad_rows = require "sinkgate.sink.bad_rows"
local core = require "sinkgate.core"
local input = require "sinkgate.source.input"
local kafka_conf = require "sinkgate.run.kafka_conf"
local lifecycle = require "sinkgate.sink.lifecycle"
local progress = require "sinkgate.sink.progress"
local registry = require "sinkgate.registry"
local route = require "sinkgate.sink.route"
local startup = require "sinkgate.sink.startup"
local steps = require "sinkgate.sink.steps"
local txn = require "sinkgate.sink.txn"
local plan_mod = require "sinkgate.plan"
local problems = require "sinkgate.sink.problems"
local log = require "sinkgate.util.log"
local histogram = require "sinkgate.ops.histogram"

local C, ffi = core.C, core.ffi
local M = {}
M.__index = M
for k, f in pairs(startup) do if type(f) == "function" then M[k] = f end end
for k, f in pairs(steps) do if type(f) == "function" then M[k] = f end end

local ENV = { upsert = C.SG_ENV_UPSERT, debezium = C.SG_ENV_DEBEZIUM }
local PARTITION_REFRESH_MS = 30000

-- plugins: every format, built-in or plugin, is a descriptor of the plugin
-- registry; it names the C encoder (or SG_FMT_GIVEN: encoded in Lua).
local function fmt_code(f)
  return require("sinkgate.plugin.registry").c_format(C, f)
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
  for i, n in ipairs(names) do idx[i] = (p.source_relation or p.relation).index[n] - 1 end
  return idx
end

local function c_ints(list)
  return ffi.new("int[?]", math.max(1, #list), list), #list
end

-- A random id for this instance of a sink, named in its progress records.
local function writer_id()
  local f = io.open("/dev/urandom", "rb")
  local bytes = f and f:read(8) or tostring(os.time() + os.clock())
  if f then f:close() end
  return (bytes:gsub(".", function(c) return ("%02x"):format(c:byte()) end))
end

-- What a timeline is committed for (progress.lua): changing any of these
-- makes resuming the old record wrong.
local function identity(p)
  return { topic = p.topic, key = p.key, key_format = p.key and plan_mod.format_name(p.key_format) or nil,
    value_format = plan_mod.format_name(p.value_format), envelope = p.envelope }
end

function M.new(p)
  local o = p.opts
  local self = setmetatable({ plan = p, name = p.name, opts = o, state = "starting",
    exactly_once = o.mode == "exactly_once", identity = identity(p),
    writer = { id = writer_id(), started = tonumber(C.sg_sys_now_ms()) },
    counters = { messages = 0, transactions = 0, partition_by_nil = 0, partition_by_errors = 0,
      header_errors = 0, headers_dropped = 0, multi_key = 0, aborts = 0, producer_restarts = 0,
      rows_prefilled = 0 },
    latency_hist = histogram.new(histogram.LATENCY_MS) }, M) -- /metrics (ops/metrics.lua)
  local conn = p.connection.opts
  self.txn_id = (o.into.transactional_id_prefix or "sinkgate") .. "-" .. p.name
  self.progress_key = progress.key(o.into.transactional_id_prefix, p.name)
  self.progress_topic = conn.progress_topic
  local base, err = kafka_conf.for_connection(conn, {})
  if not base then return nil, err end
  self.conf = { keys = base, values = err }
  local in_rel = p.source_relation or p.relation -- plugins: a transform changes what the sink publishes
  self.input, err = input.new(o.from, in_rel)
  if not self.input then return nil, err end
  self.batch = ffi.gc(C.sg_batch_new(in_rel:c_schema(), 4096), C.sg_batch_free)
  self.updates = ffi.gc(ffi.new("sg_updates[1]"), C.sg_updates_free)
  self.pair_cols, self.npair = c_ints(pairing_columns(p))
  local key_idx = {}
  for i, k in ipairs(p.key or {}) do key_idx[i] = p.relation.index[k] - 1 end
  self.key_cols, self.nkey = c_ints(key_idx)
  -- Runtime errors by kind (problems), the bad-row policy (bad_rows), and
  -- routing errors reported through problems.
  self.problems = problems.new(p.name)
  self.bad = bad_rows.new(self)
  self.input:on_bad_row(self.bad:handler())
  if self.input.attach then self.input:attach(self) end -- views: on_error, problems, state_dir
  -- plugins: transforms and format plugins (sinkgate.plugin.emit); routing reads the rows they produce
  self.plugins = require("sinkgate.plugin.emit").new(p, self.problems, self.counters)
  local out = self.plugins and self.plugins:output(self.batch) or self.batch
  if o.into.partition_by or o.headers or self.plugins then
    self.route = route.new(p, out, self.counters, self.problems)
  end
  return self
end

-- The emit spec handed to C with every batch of updates.
function M:build_spec()
  local p, o = self.plan, self.opts
  local old = self.spec
  self.spec = ffi.new("sg_emit_spec", {
    producer = self.producer, topic = p.topic, partitions = self.partitions,
    key_format = p.key and fmt_code(p.key_format) or 0, value_format = fmt_code(p.value_format),
    envelope = ENV[p.envelope], key_cols = self.key_cols, nkey = self.nkey, ts_header = o.timestamp_header,
    key_schema_id = old and old.key_schema_id or -1, value_schema_id = old and old.value_schema_id or -1,
  })
  self.anchor = { p.topic, o.timestamp_header }
end

function M:record(frontier, snapshot_done)
  return progress.encode({ frontier = frontier, version = self.opts.version, snapshot_done = snapshot_done,
    sink = self.identity, writer = self.writer,
    -- A Kafka source keeps its next offsets here, in the data's transaction.
    sources = { [self:source_name()] = self.input.resume_state and self.input:resume_state() or self.source_state } })
end

-- Running (or started): schemas first for Avro sinks, then steps.
function M:ready(now)
  self.next_refresh = now + PARTITION_REFRESH_MS
  if self.plan.avro and self.spec.value_schema_id < 0 then
    local client, rerr = registry_for(self.plan)
    if not client then return lifecycle.set(self, "failed", "registry: " .. rerr) end
    self.registry, self.publish_at, self.publish_backoff = client, 0, 1000
    return lifecycle.set(self, "stalled", "waiting to register its schemas")
  end
  -- plugins: format plugins prepare (register their schemas) before any data
  if self.plugins and not self.plugins.prepared then
    self.prepare_at, self.prepare_backoff = 0, 1000
    return lifecycle.set(self, "stalled", "waiting for its format plugins to prepare")
  end
  lifecycle.set(self, "running", nil)
end

-- plugins: like publish, a registry that cannot be reached stalls the sink
-- and is retried with backoff; any other prepare failure fails the sink.
function M:prepare_plugins(now)
  if now < self.prepare_at then return end
  local ok, err, retriable = self.plugins:prepare()
  if ok then
    self.prepare_at = nil
    return lifecycle.set(self, "running", nil)
  end
  if not retriable then
    self.prepare_at = nil
    return lifecycle.set(self, "failed", err)
  end
  lifecycle.set(self, "stalled", err)
  self.prepare_at = now + self.prepare_backoff
  self.prepare_backoff = math.min(self.prepare_backoff * 2, 30000)
end

function M:publish(now)
  if now < self.publish_at then return false end
  local ids, err = self.registry:publish(self.plan)
  if not ids then
    self.counters.registry_stalls = (self.counters.registry_stalls or 0) + 1
    lifecycle.set(self, "stalled", err.message)
    self.publish_at = now + self.publish_backoff
    self.publish_backoff = math.min(self.publish_backoff * 2, 30000)
    return false
  end
  self.spec.key_schema_id = ids.key or -1
  self.spec.value_schema_id = ids.value or -1
  self.registry = nil
  log.info("sink %s: schemas registered (key id %s, value id %s)", self.name, tostring(ids.key or "-"),
    tostring(ids.value or "-"))
  lifecycle.set(self, "running", nil)
  return true
end

function M:maintain(now)
  if now >= self.next_refresh then
    self.next_refresh = now + PARTITION_REFRESH_MS
    local ok, err = self:refresh_partitions(2000)
    if not ok then log.info("sink %s: partition count not refreshed (%s); keeping %d", self.name, err, self.partitions) end
  end
  local why = self:watch_says()
  if why then self:fence(why) end
end

-- One step of the sink's life.
function M:step(now)
  local st = self.state
  if lifecycle.FINAL[st] then return end
  if st == "starting" or st == "recovering" then
    if self:start_step(now) then self:ready(now) end
    return
  end
  if self.registry then self:publish(now) return end
  if self.prepare_at then self:prepare_plugins(now) return end -- plugins
  local ok, err
  if self.txn then
    ok, err = self:drive(now)
  else
    self:maintain(now)
    if lifecycle.FINAL[self.state] then return end
    if self.as_of then ok, err = self:snapshot_step(now) else ok, err = self:run_step(now) end
  end
  if not ok then lifecycle.set(self, "failed", err) return end
  -- A Kafka source that cannot go on (decode error policy "stall", state
  -- limit) stalls the sink with its reason; what it read before is committed.
  local why = self.input.stalled and self.input:stalled()
  if why and not self.txn and self.state == "running" then lifecycle.set(self, "stalled", why) end
end

------------------------------------------------------------------------------
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
    self.latency_hist:observe(now - inp:time_of(i))
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

function M:status()
  local c = self.counters
  local p50, p99 = self:latency_percentiles()
  local st = { name = self.name, state = self.state, why = self.why, topic = self.plan.topic,
    latency_p50_ms = p50, latency_p99_ms = p99,
    frontier = self.upper, partitions = self.partitions, messages = c.messages,
    transactions = c.transactions, mode = self.opts.mode, writer = self.writer.id }
  for k, v in pairs(c) do if st[k] == nil and v > 0 then st[k] = v end end
  st.errors = self.problems:report() -- runtime errors by kind: first/last message, what was dropped
  st.view_state = self.input.state_stats and self.input:state_stats() or nil -- views: keys, bytes in memory, on disk
  if self.input.status then st.source = self.input:status() end
  -- a Kafka source rebuilding its (and its views') state: read, target, rate, eta_s, phase
  st.rehydration = self.input.rehydration and self.input:rehydration() or nil
  return st
end

function M:status_line()
  local s = self:status()
  local extra = {}
  for _, k in ipairs({ "multi_key", "partition_by_nil", "partition_by_errors", "partition_by_invalid",
    "headers_dropped", "header_errors", "bad_rows", "feed_errors", "dead_letters", "plugin_errors",
    "aborts", "producer_restarts", "latency_p50_ms", "latency_p99_ms", "view_errors" }) do
    if s[k] then extra[#extra + 1] = k .. "=" .. s[k] end
  end
  local vs = s.view_state
  if vs then
    extra[#extra + 1] = ("view_state=%d keys (%d on disk), %d B in memory, %d B on disk"):format(vs.keys,
      vs.keys_on_disk, vs.bytes_in_memory, vs.bytes_on_disk)
  end
  local src = s.source -- a Kafka source: where it is, what it met
  if src then
    extra[#extra + 1] = "source_offsets=" .. src.offsets
    if src.decode_errors > 0 then extra[#extra + 1] = "decode_errors=" .. src.decode_errors end
    if src.duplicates then extra[#extra + 1] = "duplicates=" .. src.duplicates end
    if src.error_state then extra[#extra + 1] = "source_error=" .. src.error_state end
    local ss = src.state -- an UPSERT source's store
    if ss then
      extra[#extra + 1] = ("source_state=%d keys (%d on disk), %d B in memory, %d B on disk"):format(ss.keys,
        ss.keys_on_disk, ss.bytes_in_memory, ss.bytes_on_disk)
    end
  end
  local last = self.problems:last_error()
  if last then extra[#extra + 1] = "last_error=" .. last end
  return ("sink %s: %s%s; %d messages in %d transactions; frontier %s -> %s (%s partitions)%s"):format(
    self.name, s.state, s.why and (" (" .. s.why .. ")") or "", s.messages, s.transactions,
    tostring(s.frontier or "-"), s.topic, tostring(s.partitions or "?"),
    #extra > 0 and ("; " .. table.concat(extra, " ")) or "")
end

-- At shutdown, within grace_ms: an open transaction is committed if it
-- can be, else aborted (what it held was not committed, so nothing is
-- lost: the next start produces it again); at-least-once flushes and
-- writes its last progress.
function M:finish(grace_ms)
  self.problems:flush() -- what the log rate limit held back
  if not self.producer then return end
  local deadline = tonumber(C.sg_sys_now_ms()) + grace_ms
  if not self.exactly_once then
    local ok, err = self:acknowledge(grace_ms)
    if not ok then lifecycle.set(self, "failed", err) end
    C.sg_producer_flush(self.producer, math.max(0, deadline - tonumber(C.sg_sys_now_ms())), core.errbuf, core.ERRLEN)
    return
  end
  while self.txn and not lifecycle.FINAL[self.state] and tonumber(C.sg_sys_now_ms()) < deadline do
    self:drive(tonumber(C.sg_sys_now_ms()))
  end
  local t = self.txn
  if t and t.sent and self.producer then
    local abort_until = tonumber(C.sg_sys_now_ms()) + 2000
    local rc
    repeat rc = txn.abort(self) until rc ~= C.SG_TXN_RETRIABLE or tonumber(C.sg_sys_now_ms()) >= abort_until
    log.info("sink %s: stopped with a transaction open (%d updates up to frontier %s): %s; it was not committed and " ..
      "will be produced again on the next start", self.name, t.to - t.from, tostring(t.frontier),
      rc == C.SG_TXN_OK and "aborted" or "left to the broker to abort")
  end
  self.txn = nil
end

M.format_name = plan_mod.format_name

return M
