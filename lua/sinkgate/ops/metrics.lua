-- sinkgate.ops.metrics — the metrics sinkgate exposes on /metrics, as one
-- table: each entry names a metric, its type and help, its labels and how
-- to read it from a sink. The same table writes the Prometheus text
-- exposition and the metrics reference in docs/operations.md
-- (tools/gen-docs.lua), so the two cannot disagree.
local core = require "sinkgate.core"
local txn = require "sinkgate.sink.txn"

local M = {}

local STATES = { "starting", "stalled", "running", "recovering", "done", "failed", "fenced" }
M.STATES = STATES

local kbuf
-- One field of the sink producer's librdkafka statistics, or nil before
-- the first report (or without a producer, or when librdkafka left it out).
local function kafka(field, scale)
  return function(s)
    if s.producer == nil then return nil end
    kbuf = kbuf or core.ffi.new("sg_kafka_stats")
    core.C.sg_producer_kafka_stats(s.producer, kbuf)
    local v = tonumber(kbuf[field])
    if kbuf.at_ms == 0 or v < 0 then return nil end
    return v * (scale or 1)
  end
end

local function counter(key)
  return function(s) return s.counters[key] or 0 end
end

-- Each `get(s, now)` returns a number, or for a labelled metric a list of
-- { label values…, value }. Per sink; a source's and its views' figures under the sink that reads them.
M.SINK = {
  { "sinkgate_sink_state", "gauge", "1 for the state the sink is in, 0 for the others.", labels = { "state" },
    get = function(s)
      local out = {}
      for i, st in ipairs(STATES) do out[i] = { st, s.state == st and 1 or 0 } end
      return out
    end },
  { "sinkgate_sink_rows_total", "counter", "Updates committed, after consolidation (a deletion and an insertion of one key at one time are one update).",
    get = counter("rows") },
  { "sinkgate_sink_messages_total", "counter", "Kafka messages committed (data topic, tombstones included).",
    get = counter("messages") },
  { "sinkgate_sink_bytes_total", "counter",
    "Bytes of keys and values the broker acknowledged: data, dead letters and the sink's progress records " ..
    "(aborted attempts included).",
    get = function(s) return txn.delivered_bytes(s) end },
  { "sinkgate_sink_transactions_total", "counter", "Transactions committed (at-least-once: batches acknowledged).",
    get = counter("transactions") },
  { "sinkgate_sink_aborts_total", "counter", "Transaction attempts aborted and retried.", get = counter("aborts") },
  { "sinkgate_sink_producer_restarts_total", "counter",
    "Producers replaced after a fatal error (the sink resumed from its committed record).",
    get = counter("producer_restarts") },
  { "sinkgate_sink_registry_stalls_total", "counter",
    "Failed attempts to register the sink's schemas (the sink stays stalled and retries).",
    get = counter("registry_stalls") },
  { "sinkgate_sink_fenced", "gauge", "1 once another instance or a newer version of the sink fenced this one.",
    get = function(s) return s.state == "fenced" and 1 or 0 end },
  -- Times are kept in milliseconds and exposed in seconds, the unit
  -- Prometheus names and `promtool check metrics` expects.
  { "sinkgate_sink_commit_latency_seconds", "histogram",
    "Wall time from a tick's time to the end of the commit that made it visible (millisecond resolution).",
    scale = 0.001, get = function(s) return s.latency_hist end },
  { "sinkgate_sink_frontier_lag_seconds", "gauge",
    "Wall clock minus the committed frontier (millisecond resolution; sources whose times follow the wall clock).",
    get = function(s, now)
      if not (s.input and s.input.realtime and s.upper) then return nil end
      return math.max(0, now - tonumber(s.upper)) / 1000
    end },
  { "sinkgate_sink_frontier", "gauge", "The committed frontier: every update before it is in Kafka.",
    get = function(s) return s.upper and tonumber(s.upper) or nil end },
  { "sinkgate_sink_decode_errors_total", "counter", "Source records that could not be decoded.",
    get = counter("decode_errors") },
  { "sinkgate_sink_dropped_total", "counter",
    "What a sink left out, by reason: bad_row (a row failing its relation's checks), feed_error (a feed " ..
    "function error), header_error (user headers left out), header_dropped (a reserved header name).",
    labels = { "reason" },
    get = function(s)
      local c = s.counters
      return { { "bad_row", c.bad_rows or 0 }, { "feed_error", c.feed_errors or 0 },
        { "header_error", c.header_errors or 0 }, { "header_dropped", c.headers_dropped or 0 } }
    end },
  { "sinkgate_sink_misrouted_total", "counter",
    "Messages sent to partition 0 because partition_by returned NULL (nil), raised (error) or returned " ..
    "something that is not a partition (invalid).",
    labels = { "reason" },
    get = function(s)
      local c = s.counters
      return { { "nil", c.partition_by_nil or 0 }, { "error", c.partition_by_errors or 0 },
        { "invalid", c.partition_by_invalid or 0 } }
    end },
  { "sinkgate_sink_dead_letters_total", "counter", "Rows written to the dead-letter topic.",
    get = counter("dead_letters") },
  { "sinkgate_sink_multi_key_total", "counter",
    "Times several rows shared one key at one timestamp (a NOT ENFORCED key that did not hold).",
    get = counter("multi_key") },
  { "sinkgate_sink_partitions", "gauge", "Partitions of the data topic.",
    get = function(s) return s.partitions end },
  -- The sink's input: a Kafka source (directly or under views) and the
  -- views' keyed state. Absent for inputs that have none.
  { "sinkgate_source_offset", "gauge", "Next offset the sink's Kafka source reads, per partition.",
    labels = { "partition" },
    get = function(s)
      if not s.input.lag then return nil end
      local out = {}
      for i, l in ipairs(s.input:lag()) do out[i] = { l[1], l[2] } end
      return out
    end },
  { "sinkgate_source_lag_messages", "gauge",
    "Messages of the source topic not read yet, per partition: the high watermark last seen minus the next offset.",
    labels = { "partition" },
    get = function(s)
      if not s.input.lag then return nil end
      local out = {}
      for _, l in ipairs(s.input:lag()) do if l[3] then out[#out + 1] = { l[1], l[3] } end end
      return out
    end },
  { "sinkgate_source_decode_errors_total", "counter", "Messages of the Kafka source its decoders refused.",
    get = function(s)
      local st = s.input.status and s.input:status()
      return st and st.decode_errors or nil
    end },
  { "sinkgate_source_state_bytes", "gauge",
    "Bytes of the Kafka source's keyed state: UPSERT in memory and on disk (state_dir), DEBEZIUM in memory.",
    labels = { "where" },
    get = function(s)
      local st = s.input.status and s.input:status()
      if not st then return nil end
      if st.state then return { { "memory", st.state.bytes_in_memory }, { "disk", st.state.bytes_on_disk } } end
      return st.state_bytes and { { "memory", st.state_bytes } } or nil
    end },
  { "sinkgate_source_state_keys", "gauge", "Keys of the Kafka source's UPSERT state, in memory and on disk.",
    labels = { "where" },
    get = function(s)
      local st = s.input.status and s.input:status()
      if not (st and st.state) then return nil end
      return { { "memory", st.state.keys_in_memory }, { "disk", st.state.keys_on_disk } }
    end },
  { "sinkgate_view_state_keys", "gauge", "Keys of the views' state (distinct_on, group_by), in memory and on disk.",
    labels = { "where" },
    get = function(s)
      local st = s.input.state_stats and s.input:state_stats()
      if not st then return nil end
      return { { "memory", st.keys - st.keys_on_disk }, { "disk", st.keys_on_disk } }
    end },
  { "sinkgate_view_state_bytes", "gauge", "Bytes of the views' state, in memory and on disk.", labels = { "where" },
    get = function(s)
      local st = s.input.state_stats and s.input:state_stats()
      if not st then return nil end
      return { { "memory", st.bytes_in_memory }, { "disk", st.bytes_on_disk } }
    end },
  -- librdkafka's statistics of the sink's producer (every 5 s; a replaced
  -- producer starts its counters again, which Prometheus treats as a reset).
  { "sinkgate_kafka_queue_messages", "gauge", "Messages waiting in the producer's queue (librdkafka msg_cnt).",
    get = kafka("queue_messages") },
  { "sinkgate_kafka_queue_bytes", "gauge", "Bytes waiting in the producer's queue (librdkafka msg_size).",
    get = kafka("queue_bytes") },
  { "sinkgate_kafka_requests_total", "counter", "Requests the producer sent to brokers (librdkafka tx, summed over brokers).",
    get = kafka("requests") },
  { "sinkgate_kafka_request_bytes_total", "counter", "Bytes the producer sent to brokers (librdkafka txbytes, summed over brokers).",
    get = kafka("request_bytes") },
  { "sinkgate_kafka_broker_rtt_seconds", "gauge",
    "The largest of the brokers' average request round-trip times (librdkafka rtt.avg).",
    get = kafka("rtt_avg_us", 1e-6) },
  { "sinkgate_kafka_brokers_up", "gauge", "Brokers the producer is connected to (librdkafka state UP).",
    get = kafka("brokers_up") },
}

-- Process-wide metrics: read from the run (run = { started_ms, version, reloads }).
M.PROCESS = {
  { "sinkgate_build_info", "gauge", "Always 1; the version label says which sinkgate runs.", labels = { "version" },
    get = function(run) return { { run.version, 1 } } end },
  { "sinkgate_start_time_seconds", "gauge", "When the run started, Unix time in seconds.",
    get = function(run) return run.started_ms / 1000 end },
  { "sinkgate_sinks", "gauge", "Sinks the run has.", get = function(run) return #run.sinks end },
  { "sinkgate_reloads_total", "counter", "Config reloads, by result (applied, refused, failed).",
    labels = { "result" },
    get = function(run)
      local r = run.reloads or {}
      return { { "applied", r.applied or 0 }, { "refused", r.refused or 0 }, { "failed", r.failed or 0 } }
    end },
}

-- Label values escaped as the text format wants (\\, \", \n).
local function esc(v)
  return (tostring(v):gsub("[\\\"\n]", { ["\\"] = "\\\\", ['"'] = '\\"', ["\n"] = "\\n" }))
end

-- Numbers as the format reads them: integers without exponent, others %.17g.
local function num(v)
  v = tonumber(v)
  if v ~= v then return "NaN" end
  if v == math.huge then return "+Inf" end
  if v == -math.huge then return "-Inf" end
  if v == math.floor(v) and math.abs(v) < 2 ^ 53 then return ("%d"):format(v) end
  local short = ("%.15g"):format(v) -- 0.005, not 0.0050000000000000001
  if tonumber(short) == v then return short end
  return ("%.17g"):format(v)
end

local function labels(pairs_)
  local parts = {}
  for i = 1, #pairs_, 2 do parts[#parts + 1] = ("%s=\"%s\""):format(pairs_[i], esc(pairs_[i + 1])) end
  return #parts > 0 and ("{" .. table.concat(parts, ",") .. "}") or ""
end

local function emit_family(out, m, objects, base_labels, now)
  local name, kind = m[1], m[2]
  local header = false
  for _, o in ipairs(objects) do
    local v = m.get(o, now)
    if v ~= nil then
      if not header then
        out[#out + 1] = ("# HELP %s %s"):format(name, m[3])
        out[#out + 1] = ("# TYPE %s %s"):format(name, kind)
        header = true
      end
      local base = base_labels(o)
      if kind == "histogram" then
        local scale = m.scale or 1
        for i, b in ipairs(v.bounds) do
          local l = { unpack(base) }
          l[#l + 1], l[#l + 2] = "le", num(b * scale)
          out[#out + 1] = ("%s_bucket%s %s"):format(name, labels(l), num(v.counts[i]))
        end
        local l = { unpack(base) }
        l[#l + 1], l[#l + 2] = "le", "+Inf"
        out[#out + 1] = ("%s_bucket%s %s"):format(name, labels(l), num(v.count))
        out[#out + 1] = ("%s_sum%s %s"):format(name, labels(base), num(v.sum * scale))
        out[#out + 1] = ("%s_count%s %s"):format(name, labels(base), num(v.count))
      elseif type(v) == "table" then
        for _, row in ipairs(v) do
          local l = { unpack(base) }
          for i, lname in ipairs(m.labels) do l[#l + 1], l[#l + 2] = lname, row[i] end
          out[#out + 1] = ("%s%s %s"):format(name, labels(l), num(row[#m.labels + 1]))
        end
      else
        out[#out + 1] = ("%s%s %s"):format(name, labels(base), num(v))
      end
    end
  end
end

-- The exposition text of a run: run = { sinks, started_ms, version, reloads }.
function M.exposition(run, now)
  local out = {}
  for _, m in ipairs(M.PROCESS) do emit_family(out, m, { run }, function() return {} end, now) end
  for _, m in ipairs(M.SINK) do
    emit_family(out, m, run.sinks, function(s) return { "sink", s.name } end, now)
  end
  return table.concat(out, "\n") .. "\n"
end

-- The metrics reference (docs/operations.md, between its markers).
function M.reference_md()
  local out = { "<!-- generated by tools/gen-docs.lua from lua/sinkgate/ops/metrics.lua; do not edit -->", "",
    "| metric | type | labels | description |", "|---|---|---|---|" }
  local function rows(list, base)
    for _, m in ipairs(list) do
      local l = {}
      for _, x in ipairs(base) do l[#l + 1] = x end
      for _, x in ipairs(m.labels or {}) do l[#l + 1] = x end
      if m[2] == "histogram" then l[#l + 1] = "le" end
      out[#out + 1] = ("| `%s` | %s | %s | %s |"):format(m[1], m[2], table.concat(l, ", "), m[3]:gsub("|", "\\|"))
    end
  end
  rows(M.PROCESS, {})
  rows(M.SINK, { "sink" })
  return table.concat(out, "\n") .. "\n"
end

return M
