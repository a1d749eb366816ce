-- bench/pipeline.lua — Kafka→Kafka pipelines for `make bench` (issue 11):
-- a Kafka source (UPSERT) sunk into another topic (UPSERT), against a raw
-- librdkafka consume+produce doing the same (bench/pipeline_baseline.c) and
-- the produce-only ceiling of the same messages, in one run.
--
--   (p) JSON upsert → JSON upsert     (q) Avro upsert → Avro upsert (registry)
--
-- Each input topic is filled once per run (not timed) with BENCH_PIPE_ROWS
-- messages (default: BENCH_ROWS / 10, at most 1,000,000: the dev broker
-- keeps only ~5 MiB per partition, so the input topics have 32 partitions),
-- every tenth one updating or deleting an earlier key. sinkgate runs the
-- pipeline with `stop_at_end = true` (the source ends at the high watermarks
-- it saw, the run exits once that is committed); a new sink reads the
-- existing topic as its snapshot. Rounds alternate sinkgate and the raw
-- pipeline (A B A B); rates are input messages per wall second of the whole
-- process (start-up included on both sides), medians. Peak RSS is measured
-- at a tenth of the messages too.
--
-- bench/run.lua loads this file (EXTENSIONS); `luajit bench/run.lua
-- pipelines` runs it alone and replaces its section of latest.md.
local M = { name = "pipelines" }

M.BEGIN, M.END = "<!-- pipelines:begin -->", "<!-- pipelines:end -->"
M.topics = "pipe_p_in:32,pipe_p_small:32,pipe_p_out:4,pipe_q_in:32,pipe_q_small:32,pipe_q_out:4"

local BASE = "build/pipeline_baseline"

local KEY_SCHEMA = '"long"'
local VALUE_SCHEMA = '{"type":"record","name":"Row","namespace":"bench","fields":[{"name":"name","type":"string"},' ..
  '{"name":"price","type":"double"},{"name":"qty","type":"int"},' ..
  '{"name":"ts","type":{"type":"long","logicalType":"timestamp-micros"}},{"name":"active","type":"boolean"}]}'

M.SCENARIOS = {
  { id = "p", what = "JSON upsert → JSON upsert", format = '"json"' },
  { id = "q", what = "Avro upsert → Avro upsert (dev registry)", format = "sg.avro { registry = csr }", avro = true },
}

local run_no = 0

local function config(s, topic)
  run_no = run_no + 1
  return ([[
local sg = require "sinkgate"
local kafka = sg.kafka_connection { brokers = sg.env("SINKGATE_BROKERS") }
local csr = sg.registry_connection { url = sg.env("SINKGATE_REGISTRY") }
local src = sg.source.kafka { connection = kafka, topic = %q, format = %s, envelope = "upsert", stop_at_end = true }
sg.sink "pipe_%s_%d" { from = src, into = { connection = kafka, topic = "pipe_%s_out" }, key = { "key" },
  format = %s, envelope = "upsert" }
]]):format(topic, s.format, s.id, run_no, s.id, s.format)
end

local function json_line(out, what)
  local cjson = require "cjson"
  local ok, r = pcall(cjson.decode, out:match("{[^\n]-}\n?$") or "")
  if not ok then error(what .. " failed:\n" .. out, 0) end
  return r
end

local function run_sinkgate(ctx, s, topic)
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write(config(s, topic))
  f:close()
  local out = ctx.sh(ctx.ENV .. ctx.BIN .. " run --status-interval 1h " .. path)
  os.remove(path)
  local wall, cpu, rss = out:match("run: ([%d.]+)s wall, ([%d.]+)s CPU, peak RSS ([%d.]+) MiB")
  local msgs = out:match("done; (%d+) messages in")
  if not wall or not msgs then error("sinkgate pipeline run failed:\n" .. out, 0) end
  return { seconds = tonumber(wall), cpu = tonumber(cpu), rss_mib = tonumber(rss), produced = tonumber(msgs) }
end

-- Registers a schema for subject; returns its id.
local function register(ctx, subject, schema)
  local cjson = require "cjson"
  local body = os.tmpname()
  local f = assert(io.open(body, "w"))
  f:write(cjson.encode({ schema = schema }))
  f:close()
  local out = ctx.sh(("curl -s -X POST -H 'Content-Type: application/vnd.schemaregistry.v1+json' --data @%s %s/subjects/%s/versions")
    :format(body, ctx.env.SINKGATE_REGISTRY, subject))
  os.remove(body)
  local ok, r = pcall(cjson.decode, out)
  if not ok or not r.id then error("registering " .. subject .. ": " .. out, 0) end
  return r.id
end

local function latest_id(ctx, subject)
  local cjson = require "cjson"
  local out = ctx.sh(("curl -s %s/subjects/%s/versions/latest"):format(ctx.env.SINKGATE_REGISTRY, subject))
  local ok, r = pcall(cjson.decode, out)
  if not ok or not r.id then error("schema of " .. subject .. ": " .. out, 0) end
  return r.id
end

local function seed(ctx, s, topic, n)
  local avro = ""
  if s.avro then
    avro = (" --avro %d %d"):format(register(ctx, topic .. "-key", KEY_SCHEMA), register(ctx, topic .. "-value", VALUE_SCHEMA))
  end
  json_line(ctx.sh(("%s seed %s %s %d%s"):format(BASE, ctx.env.SINKGATE_BROKERS, topic, n, avro)), "seeding " .. topic)
end

-- The raw pipeline (ceiling: its produce side alone), on sinkgate's
-- allocator unless libc_malloc.
local function baseline(ctx, s, ceiling, libc_malloc)
  local avro = s.avro and (" --avro %d %d"):format(latest_id(ctx, "pipe_" .. s.id .. "_out-key"),
    latest_id(ctx, "pipe_" .. s.id .. "_out-value")) or ""
  return json_line(ctx.sh(("%s%s pipe %s pipe_%s_in pipe_%s_out%s%s"):format(libc_malloc and "" or ctx.ALLOC or "", BASE,
    ctx.env.SINKGATE_BROKERS, s.id, s.id, avro, ceiling and " --ceiling" or "")), "raw pipeline")
end

-- Runs the selected scenarios; returns the report lines (with markers).
local function loadavg()
  local f = io.open("/proc/loadavg")
  local l = f and f:read("*n")
  if f then f:close() end
  return l
end

function M.run(ctx)
  local n = tonumber(os.getenv("BENCH_PIPE_ROWS")) or math.min(1000000, math.floor(ctx.rows / 10))
  local load0 = loadavg()
  local rows = {}
  for _, s in ipairs(M.SCENARIOS) do
    if ctx.only and not ctx.only:find(s.id, 1, true) then goto next_scenario end
    if ctx.fresh_broker then ctx.fresh_broker() end -- a new broker per scenario (bench/run.lua)
    io.stderr:write(("bench: pipeline %s: seeding %d + %d messages\n"):format(s.id, n, math.floor(n / 10)))
    seed(ctx, s, "pipe_" .. s.id .. "_in", n)
    seed(ctx, s, "pipe_" .. s.id .. "_small", math.floor(n / 10))
    local sg_runs, raw_runs, ceil_runs, libc_runs = {}, {}, {}, {}
    for round = 1, ctx.rounds do
      io.stderr:write(("bench: pipeline %s round %d\n"):format(s.id, round))
      -- sinkgate first: in (q) the raw pipeline writes with the ids sinkgate registered
      sg_runs[round] = run_sinkgate(ctx, s, "pipe_" .. s.id .. "_in")
      raw_runs[round] = baseline(ctx, s)
      ceil_runs[round] = baseline(ctx, s, true)
      -- the raw pipeline as librdkafka ships (the C library's malloc): what the allocator is worth
      if ctx.ALLOC_PATH then libc_runs[round] = baseline(ctx, s, false, true) end
    end
    local small = run_sinkgate(ctx, s, "pipe_" .. s.id .. "_small")
    local msgs = raw_runs[1].messages -- what the topic holds (both read all of it)
    local function med(list, f)
      local t = {}
      for i, r in ipairs(list) do t[i] = f(r) end
      return ctx.median(t)
    end
    rows[#rows + 1] = { id = s.id, what = s.what, messages = msgs, produced = sg_runs[1].produced,
      rate = med(sg_runs, function(r) return msgs / r.seconds end),
      raw = med(raw_runs, function(r) return r.messages / r.seconds end),
      raw_libc = #libc_runs > 0 and med(libc_runs, function(r) return r.messages / r.seconds end) or nil,
      ceiling = med(ceil_runs, function(r) return r.produced / r.seconds end),
      cpu = med(sg_runs, function(r) return r.cpu / (msgs / 1e6) end),
      raw_cpu = med(raw_runs, function(r) return r.cpu_ms / 1000 / (r.messages / 1e6) end),
      rss = med(sg_runs, function(r) return r.rss_mib end), rss_small = small.rss_mib,
      raw_rss = med(raw_runs, function(r) return r.maxrss_kb / 1024 end) }
    ::next_scenario::
  end
  local lines = { M.BEGIN, "",
    ("Kafka→Kafka pipelines (%s): the input topic holds N messages (~10%% update or delete an earlier key), " ..
      "read by a new sink (its snapshot) with `stop_at_end = true`; rate = N / wall seconds of the whole process, " ..
      "start-up included on both sides; %d interleaved rounds, medians. Raw = bench/pipeline_baseline.c " ..
      "(consume read_committed, produce the same bytes, partitions, timestamp header and transactions, without " ..
      "consolidating); ceiling = its produce side alone."):format(os.date("!%Y-%m-%d %H:%M UTC"), ctx.rounds),
    "",
    "| pipeline | N | sinkgate msgs/s | raw consume+produce msgs/s | ratio | produce-only ceiling msgs/s | " ..
      "CPU s / M: sinkgate | raw | peak RSS MiB at N/10 | at N | raw |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  }
  for _, r in ipairs(rows) do
    lines[#lines + 1] = ("| (%s) %s | %d | %.0f | %.0f | %.0f%% | %.0f | %.2f | %.2f | %.0f | %.0f | %.0f |"):format(r.id,
      r.what, r.messages, r.rate, r.raw, 100 * r.rate / r.raw, r.ceiling, r.cpu, r.raw_cpu, r.rss_small, r.rss, r.raw_rss)
  end
  lines[#lines + 1] = ""
  lines[#lines + 1] = ("- target: sinkgate ≥ 90%% of the raw pipeline (issue 11). Raw and ceiling run on sinkgate's " ..
    "allocator (%s, by LD_PRELOAD), so the ratio is not the allocator's gain."):format(ctx.ALLOC_PATH or "libc malloc")
  for _, r in ipairs(rows) do
    if r.raw_libc then
      lines[#lines + 1] = ("- (%s) the raw pipeline with the C library's malloc, as librdkafka ships: %.0f msgs/s " ..
        "(sinkgate is %.0f%% of that)."):format(r.id, r.raw_libc, 100 * r.rate / r.raw_libc)
    end
  end
  lines[#lines + 1] = ("- 1-minute load average at the start and end of this part: %s / %s (2 cores). On a shared " ..
    "machine the wall-clock rates follow each process's share of the CPU; CPU s / M is the steadier comparison.")
    :format(tostring(load0), tostring(loadavg()))
  lines[#lines + 1] = "- a new sink reads an UPSERT snapshot from the source's keyed state (docs/sources.md): " ..
    "the batch holds one row per live key, so peak RSS follows the keys, not the messages; here ~85% of the " ..
    "messages leave a live key, so it still grows with N (steady-state batches are bounded by max_transaction_rows)."
  lines[#lines + 1] = ""
  lines[#lines + 1] = M.END
  return lines
end

return M
