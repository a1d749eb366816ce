-- sinkgate.run.runner — runs sink plans: each tick the source fills a C
-- batch, one C call encodes and produces it, deliveries are counted, and
-- status is reported. Exactly-once (transactions + progress topic) belongs
-- to the sink engine; this runner produces idempotently (at-least-once).
local core = require "sinkgate.core"
local generate = require "sinkgate.source.generate"
local kafka_conf = require "sinkgate.run.kafka_conf"
local registry = require "sinkgate.registry"
local log = require "sinkgate.util.log"

local C, ffi = core.C, core.ffi
local M = {}

local FMT = { json = C.SG_FMT_JSON, text = C.SG_FMT_TEXT, bytes = C.SG_FMT_BYTES }
local ENV = { upsert = C.SG_ENV_UPSERT, debezium = C.SG_ENV_DEBEZIUM }

-- What this runner cannot do yet, as a refusal naming the option.
local function unsupported(p)
  local o = p.opts
  if o.mode == "exactly_once" then
    return "mode: exactly_once needs the sink engine's transactions and progress topic, not in this " ..
      "build; set mode = \"at_least_once\""
  end
  if o.headers then return "headers: per-row header functions are not in this build" end
  if o.from.kind ~= "load_generator" then return "from: only load generators can be run by this build" end
end

local Sink = {}
Sink.__index = Sink

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

local function new_sink(p)
  local why = unsupported(p)
  if why then return nil, ("%s: sinks.%s.%s"):format(p.where, p.name, why) end
  local src = p.opts.from.opts
  local gen, gerr = generate.new(src, p.opts.from.generator_relation)
  if not gen then return nil, gerr end
  local conn = p.connection.opts
  local keys, vals = kafka_conf.for_connection(conn, {
    ["client.id"] = "sinkgate-" .. p.name, ["enable.idempotence"] = "true",
    ["socket.nagle.disable"] = "true", ["compression.type"] = p.opts.into.compression,
    ["linger.ms"] = "5",
  })
  if not keys then return nil, ("sinks.%s: %s"):format(p.name, vals) end
  local ck, keep_k = core.strings(keys)
  local cv, keep_v = core.strings(vals)
  local producer = C.sg_producer_new(ck, cv, #keys, core.errbuf, core.ERRLEN)
  if producer == nil then return nil, ("sinks.%s: producer: %s"):format(p.name, core.err()) end
  local self = setmetatable({ plan = p, gen = gen, rows = 0, ticks = 0, keep = { keep_k, keep_v } }, Sink)
  self.producer = ffi.gc(producer, C.sg_producer_free)
  local parts = C.sg_producer_partition_count(producer, p.topic, 10000, core.errbuf, core.ERRLEN)
  if parts <= 0 then return nil, ("sinks.%s: topic %s: %s"):format(p.name, p.topic, core.err()) end
  self.partitions = parts
  self.batch = ffi.gc(C.sg_batch_new(p.relation:c_schema(), 1024), C.sg_batch_free)
  local key_cols = {}
  for i, k in ipairs(p.key or {}) do key_cols[i] = p.relation.index[k] - 1 end
  self.key_cols = ffi.new("int[?]", math.max(1, #key_cols), key_cols)
  self.spec = ffi.new("sg_emit_spec", {
    producer = self.producer, topic = p.topic, partitions = parts,
    key_format = p.key and fmt_code(p.key_format) or 0, value_format = fmt_code(p.value_format),
    envelope = ENV[p.envelope], key_cols = self.key_cols, nkey = #key_cols, ts_header = p.opts.timestamp_header,
  })
  self.anchor = { p.topic, p.opts.timestamp_header } -- strings the spec points into
  if p.avro then
    local client, rerr = registry_for(p)
    if not client then return nil, ("sinks.%s: registry: %s"):format(p.name, rerr) end
    self.registry, self.retry_at, self.backoff = client, 0, 1000
    self.state = "stalled"
    self.why = "waiting to register its schemas"
  else
    self.state = "running"
  end
  self.start = src.start or (math.floor(tonumber(C.sg_sys_now_ms()) / gen.tick_ms) * gen.tick_ms)
  return self
end

-- Publishes the sink's schemas; until the registry accepts them the sink
-- is stalled and produces nothing (ticks accumulate and go out after).
function Sink:publish(now_ms)
  if now_ms < self.retry_at then return false end
  local ids, err = self.registry:publish(self.plan)
  if not ids then
    if self.why ~= err.message then log.info("sink %s: stalled: %s", self.plan.name, err.message) end
    self.why = err.message
    self.retry_at = now_ms + self.backoff
    self.backoff = math.min(self.backoff * 2, 30000)
    return false
  end
  self.spec.key_schema_id = ids.key or -1
  self.spec.value_schema_id = ids.value or -1
  self.state, self.why = "running", nil
  log.info("sink %s: schemas registered (key id %s, value id %s)", self.plan.name, tostring(ids.key or "-"),
    tostring(ids.value or "-"))
  return true
end

-- Emits every tick whose wall-clock time has come.
function Sink:step(now_ms)
  if self.state == "stalled" and not self:publish(now_ms) then return true end
  local b = self.batch
  C.sg_batch_clear(b)
  local g = self.gen
  while self.start + self.ticks * g.tick_ms <= now_ms and b.nrows < 100000 do
    generate.fill(g, b, self.ticks, self.start + self.ticks * g.tick_ms)
    self.ticks = self.ticks + 1
  end
  if b.nrows == 0 then return true end
  local n = C.sg_emit_batch(self.spec, b, core.errbuf, core.ERRLEN)
  if n < 0 then return nil, core.err() end
  self.rows = self.rows + tonumber(n)
  return true
end

function Sink:status()
  local st = ffi.new("sg_producer_stats")
  C.sg_producer_stats_get(self.producer, st)
  return ("sink %s: %s; %d ticks, %d rows produced, %d delivered, %d failed -> %s (%d partitions)%s"):format(
    self.plan.name, self.state .. (self.why and (" (" .. self.why .. ")") or ""), self.ticks, self.rows,
    tonumber(st.delivered), tonumber(st.failed), self.plan.topic, self.partitions, st.failed > 0 and ("; last error: " .. ffi.string(st.last_error)) or ""), st
end

function Sink:finish()
  if C.sg_producer_flush(self.producer, 30000, core.errbuf, core.ERRLEN) ~= 0 then return nil, core.err() end
  return true
end

-- Runs until a signal, opts.duration_ms, or an error. Returns an exit code.
function M.run(plans, opts)
  local sinks = {}
  for _, p in ipairs(plans) do
    local s, err = new_sink(p)
    if not s then log.err("sinkgate run: " .. err) return 1 end
    sinks[#sinks + 1] = s
    log.info("sink %s: producing to %s (%d partitions, %s/%s, %s)", p.name, p.topic, s.partitions,
      require("sinkgate.plan").format_name(p.key_format or "-"), require("sinkgate.plan").format_name(p.value_format),
      p.envelope)
  end
  C.sg_sys_signals_install()
  local t0 = tonumber(C.sg_sys_now_ms())
  local next_status = t0 + (opts.status_interval_ms or 10000)
  local rc = 0
  while C.sg_sys_signal_pending() == 0 do
    local now = tonumber(C.sg_sys_now_ms())
    if opts.duration_ms and now - t0 >= opts.duration_ms then break end
    for _, s in ipairs(sinks) do
      local ok, err = s:step(now)
      if not ok then log.err("sinkgate run: sinks." .. s.plan.name .. ": " .. err) rc = 1 break end
    end
    if rc ~= 0 then break end
    local sig = C.sg_sys_signal_take()
    if sig == 10 or now >= next_status then -- 10 = SIGUSR1 on Linux
      for _, s in ipairs(sinks) do log.info("%s", (s:status())) end
      next_status = now + (opts.status_interval_ms or 10000)
    end
    C.sg_sys_sleep_ms(10)
  end
  for _, s in ipairs(sinks) do
    local ok, err = s:finish()
    local line, st = s:status()
    log.info("%s", line)
    if not ok or st.failed > 0 then
      log.err("sinkgate run: sinks." .. s.plan.name .. ": " .. (err or "some messages were not delivered"))
      rc = 1
    elseif s.state == "stalled" then
      log.err("sinkgate run: sinks." .. s.plan.name .. ": ended stalled: " .. s.why)
      rc = 1
    end
  end
  return rc
end

return M
