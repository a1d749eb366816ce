-- sinkgate.sink.txn — a sink's producer and the transactional calls on it.
--
-- Every call that can wait on the broker is made in short slices and
-- resumed on the next step (librdkafka's init_transactions,
-- commit_transaction and abort_transaction are resumable after a timeout),
-- so one stuck sink never blocks the run loop: status keeps updating,
-- signals are seen, other sinks go on.
--
-- Outcomes are C.SG_TXN_* classes: OK, RETRIABLE (call again), ABORTABLE
-- (abort, then the same range may be re-sent), FATAL (replace the producer
-- and resume from the committed record) and FENCED (another instance owns
-- the transactional.id: stop, never fence it back).
local core = require "sinkgate.core"

local C, ffi = core.C, core.ffi
local M = {}

M.SLICE_MS = 200          -- longest a transactional call blocks one step
M.TXN_TIMEOUT_MS = 60000  -- transaction.timeout.ms: the broker aborts beyond it

-- librdkafka properties of a sink's producer, with its own additions.
function M.producer_conf(sink)
  local keys, values = { unpack(sink.conf.keys) }, { unpack(sink.conf.values) }
  local function put(k, v) keys[#keys + 1], values[#values + 1] = k, tostring(v) end
  put("client.id", "sinkgate-" .. sink.name)
  put("enable.idempotence", "true")
  put("socket.nagle.disable", "true")
  put("compression.type", sink.opts.into.compression)
  put("linger.ms", "5")
  -- A whole transaction must fit the queue, or producing stalls on QUEUE_FULL.
  put("queue.buffering.max.messages", math.max(100000, 2 * sink.opts.max_transaction_rows + 1000))
  if sink.exactly_once then
    put("transactional.id", sink.txn_id)
    put("transaction.timeout.ms", M.TXN_TIMEOUT_MS)
  end
  return keys, values
end

-- A new producer for the sink (not yet initialized for transactions).
function M.open(sink)
  M.close(sink)
  local keys, values = M.producer_conf(sink)
  local ck, kk = core.strings(keys)
  local cv, kv = core.strings(values)
  local p = C.sg_producer_new(ck, cv, #keys, core.errbuf, core.ERRLEN)
  local _ = { kk, kv }
  if p == nil then return nil, "producer: " .. core.err() end
  sink.producer = ffi.gc(p, C.sg_producer_discard)
  if sink.spec then sink.spec.producer = sink.producer end
  return true
end

-- Bytes (keys + values) the broker acknowledged from every producer the
-- sink has had, aborted attempts included (the /metrics bytes counter).
local stats_buf
function M.delivered_bytes(sink)
  local n = sink.bytes_closed or 0
  if sink.producer ~= nil then
    stats_buf = stats_buf or ffi.new("sg_producer_stats")
    C.sg_producer_stats_get(sink.producer, stats_buf)
    n = n + tonumber(stats_buf.delivered_bytes)
  end
  return n
end

-- Drops the producer without sending what is queued.
function M.close(sink)
  local p = sink.producer
  if p == nil then return end
  sink.bytes_closed = M.delivered_bytes(sink)
  sink.producer = nil
  ffi.gc(p, nil)
  C.sg_producer_discard(p)
end

local function call(rc)
  if rc == C.SG_TXN_OK then return rc end
  return rc, core.err()
end

function M.init(sink) return call(C.sg_producer_init_transactions(sink.producer, M.SLICE_MS, core.errbuf, core.ERRLEN)) end
function M.commit(sink) return call(C.sg_producer_commit(sink.producer, M.SLICE_MS, core.errbuf, core.ERRLEN)) end
function M.abort(sink) return call(C.sg_producer_abort(sink.producer, M.SLICE_MS, core.errbuf, core.ERRLEN)) end

-- After a failed produce call: the producer's fatal state decides whether
-- the transaction can be aborted and retried (ABORTABLE) or not.
local function send_failed(sink, err)
  local buf = ffi.new("char[256]")
  local rc = C.sg_producer_fatal_class(sink.producer, buf, 256)
  if rc == C.SG_TXN_OK then return C.SG_TXN_ABORTABLE, err end
  return rc, err .. " (" .. ffi.string(buf) .. ")"
end

function M.send_record(sink, record)
  if C.sg_producer_send(sink.producer, sink.progress_topic, 0, sink.progress_key, #sink.progress_key, record, #record,
        0, nil, nil, nil, 0, core.errbuf, core.ERRLEN) ~= 0 then
    return nil, core.err()
  end
  return true
end

-- Sends updates [from, to) with their routing; returns the count or nil, err.
function M.send_range(sink, from, to, routed)
  -- plugins: parts encoded by format plugins, rows rewritten by a transform
  local g = routed.given
  sink.spec.given_key, sink.spec.given_value = g and g.key, g and g.value
  local updates = sink.updates
  if g and g.updates then updates, from, to = g.updates, 0, to - from end -- a transform's copy of the range
  local n = C.sg_emit_updates(sink.spec, g and g.batch or sink.batch, updates, from, to, routed.parts,
    routed.headers, core.errbuf, core.ERRLEN)
  sink.spec.given_key, sink.spec.given_value = nil, nil
  if n < 0 then return nil, core.err() end
  return tonumber(n)
end

-- Begins a transaction and sends t's updates and its progress record last.
function M.begin_and_send(sink, t)
  local rc, err = call(C.sg_producer_begin(sink.producer, core.errbuf, core.ERRLEN))
  if rc ~= C.SG_TXN_OK then return rc, err end
  local n
  n, err = M.send_range(sink, t.from, t.to, t.routed)
  if not n then return send_failed(sink, err) end
  -- Dead letters (bad rows) go in the same transaction, before the record.
  local ok
  ok, err = sink.bad:produce(sink.producer)
  if not ok then return send_failed(sink, err) end
  ok, err = M.send_record(sink, t.record)
  if not ok then return send_failed(sink, err) end
  t.n = n
  return C.SG_TXN_OK
end

return M
