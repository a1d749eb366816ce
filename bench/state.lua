-- bench/state.lua — keyed state at scale, a section of `make bench`
-- (dofile'd by bench/run.lua, which appends M.run()'s lines to its report)
-- that also runs alone:
--   luajit bench/state.lua   (BENCH_STATE_ROWS, default 10,000,000;
--                             BENCH_STATE_ONLY=h or r: one part)
--
--   (h)  group_by count/sum over the bench relation keyed by id % 1,000,000
--        (1M groups), state_memory = 64 MiB, state_dir in a temporary
--        directory: input rows/s, CPU, peak RSS.
--   (r)  rehydration of an UPSERT source: a topic seeded by the raw
--        librdkafka producer (bench/baseline.c: ~90% distinct-key inserts,
--        the deletes of the bench relation mostly consolidated away), a
--        sink run once without snapshot (its state is built and its
--        progress committed at the ends), then restarted twice: with its
--        state files (kept: checked against the committed offsets and
--        used, source/upsert_cache.lua) and without them (cold: rebuilt
--        from the topic up to the committed offsets). keys/s is the keys
--        over the time from starting the process to its state being ready.
-- Figures come from the runs' own reports (peak RSS is the process's
-- ru_maxrss: LuaJIT heap, librdkafka queues and the LMDB pages it touched,
-- which are file-backed mmap and count while resident).
package.path = "lua/?.lua;build/lua/?.lua;" .. package.path
package.cpath = "build/?.so;" .. package.cpath
local socket = require "socket"

local M = {}

local BIN = "build/sinkgate"
local MEMORY = 64 * 1024 * 1024

local dev = dofile("bench/dev.lua")
local sh = dev.sh

local function tmpdir()
  local p = os.tmpname()
  os.remove(p)
  os.execute("mkdir -p " .. p)
  return p
end

local function write(text)
  local path = os.tmpname()
  local f = io.open(path, "w")
  f:write(text)
  f:close()
  return path
end

local function report(out)
  local wall, cpu, rss = out:match("run: ([%d.]+)s wall, ([%d.]+)s CPU, peak RSS ([%d.]+) MiB")
  if not wall then error("sinkgate run failed:\n" .. out:sub(-3000)) end
  return tonumber(wall), tonumber(cpu), tonumber(rss)
end

local HEAD = [[
local sg = require "sinkgate"
local kafka = sg.kafka_connection { brokers = sg.env("SINKGATE_BROKERS") }
]]

-- (h): the whole run is the measurement (generation, the views, the sink).
function M.group_by(ctx, rows)
  local dir = tmpdir()
  local cfg = write(HEAD .. ([[
local gen = sg.source.load_generator { kind = "bench", tick = "1ms", rows_per_tick = 1000, ticks = %d,
  realtime = false, start = 1700000000000 }
local keyed = sg.view { from = gen, map = function(row) return { k = row.id %% 1000000, qty = row.qty } end,
  columns = { { "k", "bigint", not_null = true }, { "qty", "integer", not_null = true } } }
local g = sg.view { from = keyed, group_by = { "k" }, aggregates = { n = "count", total = { "sum", "qty" } } }
sg.sink "bench_state_h" { from = g, into = { connection = kafka, topic = "bench_state_h" }, key = { "k" },
  format = "json", envelope = "upsert", state_dir = %q, state_memory = %d }
]]):format(math.floor(rows / 1000), dir, MEMORY))
  local out = sh(ctx.env .. BIN .. " run --status-interval 1h " .. cfg)
  os.remove(cfg)
  local wall, cpu, rss = report(out)
  local keys, disk = out:match("view_state=(%d+) keys %((%d+) on disk%)")
  local du = sh("du -sm " .. dir):match("^(%d+)")
  os.execute("rm -rf " .. dir)
  return { rows = rows, seconds = wall, cpu = cpu, rss = rss, keys = tonumber(keys), keys_on_disk = tonumber(disk),
    disk_mib = tonumber(du) }
end

-- Runs cfg until its log shows the UPSERT state rebuilt, then stops it.
local function until_rebuilt(ctx, cfg, timeout_s, when_ready)
  local log = os.tmpname()
  local t0 = socket.gettime()
  local pid = tonumber(sh(("%s%s run --status-interval 1h %s > %s 2>&1 & echo $!"):format(ctx.env, BIN, cfg, log)))
  local deadline = socket.gettime() + timeout_s
  local function read()
    socket.sleep(0.05)
    local f = io.open(log)
    local text = f and f:read("*a") or ""
    if f then f:close() end
    return text
  end
  -- RSS split as the kernel sees it: anonymous (heap, librdkafka's queues)
  -- and file-backed (LMDB's mapped pages: page cache, reclaimable)
  local peak = { anon = 0, file = 0 }
  local function sample()
    local f = io.open("/proc/" .. pid .. "/status")
    if not f then return end
    local st = f:read("*a")
    f:close()
    peak.anon = math.max(peak.anon, tonumber(st:match("RssAnon:%s*(%d+)")) or 0)
    peak.file = math.max(peak.file, tonumber(st:match("RssFile:%s*(%d+)")) or 0)
  end
  local text
  repeat
    sample()
    text = read()
  until text:find("UPSERT state rebuilt") or text:find("run: ") or socket.gettime() > deadline
  peak.ready_s = socket.gettime() - t0 -- from starting the process to its state ready (±50 ms)
  if when_ready then when_ready() end
  socket.sleep(1.5) -- a progress record at the ends
  os.execute("kill -TERM " .. pid .. " 2>/dev/null")
  repeat text = read() until text:find("run: [%d.]+s wall") or socket.gettime() > deadline + 30
  os.remove(log)
  if os.getenv("BENCH_STATE_DEBUG") then io.stderr:write(text) end
  return text, peak
end

-- (r): seeding, a first run (state built, progress committed), the restart.
function M.rehydrate(ctx, rows)
  local topic = "bench_state_r"
  -- kcat (a librdkafka producer) from a file: key<TAB>value lines, one
  -- distinct key each, hashed over the topic's partitions. The dev broker
  -- keeps at most ~100k messages (or ~5 MiB) per partition, so the topic has
  -- 128 partitions and the messages are small.
  local file = os.tmpname()
  local f = assert(io.open(file, "w"))
  local buf = {}
  for i = 1, rows do
    buf[#buf + 1] = ("k%09d\tv%09d-%06d\n"):format(i, i, i % 999983)
    if #buf == 10000 then
      f:write(table.concat(buf))
      buf = {}
    end
  end
  f:write(table.concat(buf))
  f:close()
  local t0 = socket.gettime()
  local seed = sh(("kcat -P -b %s -t %s -K '\t' -X linger.ms=50 -X batch.num.messages=10000 -l %s"):format(ctx.brokers,
    topic, file))
  os.remove(file)
  if seed:find("%S") then error("seeding failed:\n" .. seed) end
  local messages = rows
  io.stderr:write(("bench: seeded %d messages in %.1f s\n"):format(rows, socket.gettime() - t0))
  local dir = tmpdir()
  local cfg = write(HEAD .. ([[
local src = sg.source.kafka { connection = kafka, topic = %q, key_format = "bytes", value_format = "bytes",
  envelope = "upsert" }
sg.sink "bench_state_r" { from = src, into = { connection = kafka, topic = "bench_state_r_out" }, key = { "key" },
  format = "json", envelope = "upsert", snapshot = false, state_dir = %q, state_memory = %d }
]]):format(topic, dir, MEMORY))
  -- one more message once the state is built: the sink commits a
  -- transaction, so the restarts resume from committed progress
  local first = until_rebuilt(ctx, cfg, 1800, function()
    sh(("printf 'k_last\tv_last\n' | kcat -P -b %s -t %s -K '\t'"):format(ctx.brokers, topic))
  end)
  if not first:find("UPSERT state rebuilt") then error("the first run did not build its state:\n" .. first:sub(-3000)) end
  local du = sh("du -sm " .. dir):match("^(%d+)")
  local function restart(kept)
    local text, peak = until_rebuilt(ctx, cfg, 1800)
    if kept ~= (text:find("state files fit the committed offsets", 1, true) ~= nil) then
      error("the restart did " .. (kept and "not " or "") .. "use the state files:\n" .. text:sub(-3000))
    end
    local keys, disk, secs = text:match("UPSERT state rebuilt up to offsets [%d,]+: (%d+) keys %((%d+) on disk%) in ([%d.]+)s")
    if not secs then error("the restart did not rebuild its state:\n" .. text:sub(-3000)) end
    local _, cpu, rss = report(text)
    return { keys = tonumber(keys), keys_on_disk = tonumber(disk), rebuild_s = tonumber(secs), seconds = peak.ready_s,
      cpu = cpu, rss = rss, anon_mib = peak.anon / 1024, file_mib = peak.file / 1024 }
  end
  local warm = restart(true)
  os.execute("rm -rf " .. dir .. "/*/source-*.kept") -- the files lost: rebuilt from the topic
  local cold = restart(false)
  os.remove(cfg)
  os.execute("rm -rf " .. dir)
  return { messages = messages, warm = warm, cold = cold, disk_mib = tonumber(du) }
end

function M.measure(ctx)
  local rows = ctx.rows or 10000000
  local only = os.getenv("BENCH_STATE_ONLY") -- "h" or "r": one part (its figures only)
  local h, r
  if only ~= "r" then
    io.stderr:write("bench: (h) group_by over " .. rows .. " rows\n")
    h = M.group_by(ctx, rows)
  end
  if only ~= "h" then
    io.stderr:write("bench: UPSERT rehydration of " .. rows .. " messages\n")
    r = M.rehydrate(ctx, rows)
  end
  return { h = h, r = r }
end

function M.section(res)
  local h, r = res.h, res.r
  local lines = { "## Keyed state (bench/state.lua)", "" }
  if h then
    lines[#lines + 1] = ("- (h) group_by count/sum, %d rows into 1M groups, state_memory 64 MiB + state_dir: %.0f rows/s, " ..
      "%.1f CPU s, peak RSS %.0f MiB; %s keys (%s on disk), %s MiB on disk"):format(h.rows, h.rows / h.seconds,
      h.cpu, h.rss, tostring(h.keys), tostring(h.keys_on_disk), tostring(h.disk_mib))
  end
  if r then
    for _, c in ipairs({ { "state files kept", r.warm }, { "cold, rebuilt from the topic", r.cold } }) do
      local x = c[2]
      lines[#lines + 1] = ("- UPSERT rehydration (%s): %d messages seeded, %d keys ready in %.2f s from the process " ..
        "start: %.0f keys/s (rebuild %.2f s); the restarted process: %.1f CPU s, peak RSS %.0f MiB (sampled: " ..
        "anonymous %.0f MiB, file-backed LMDB pages %.0f MiB); %s MiB on disk"):format(c[1], r.messages, x.keys,
        x.seconds, x.keys / x.seconds, x.rebuild_s, x.cpu, x.rss, x.anon_mib, x.file_mib, tostring(r.disk_mib))
    end
  end
  lines[#lines + 1] = ""
  return lines
end

-- The section's lines, measured against a sinkgate dev of its own (its
-- topics need 128 partitions; bench/run.lua's broker stays as it is).
function M.run()
  local env, stop = dev.start(BIN, "bench_state_h:4,bench_state_r:128,bench_state_r_out:4")
  local ctx = { env = ("SINKGATE_BROKERS=%s "):format(env.SINKGATE_BROKERS), brokers = env.SINKGATE_BROKERS,
    baseline = "build/baseline", rows = tonumber(os.getenv("BENCH_STATE_ROWS")) or 10000000 }
  local ok, res = pcall(M.measure, ctx)
  stop()
  if not ok then error(res, 0) end
  return M.section(res)
end

if arg and arg[0] and arg[0]:match("bench/state%.lua$") then io.stdout:write(table.concat(M.run(), "\n"), "\n") end

return M
