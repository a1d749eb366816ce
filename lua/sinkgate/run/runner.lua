-- sinkgate.run.runner — runs a config's sinks side by side until a signal,
-- --duration, or every sink has failed. Each sink steps in turn (fill due
-- ticks, maybe commit); a transaction is never cut by a signal because
-- signals are only looked at between steps. Status is printed every
-- --status-interval and on SIGUSR1, and written to a status file that
-- `sinkgate status` reads.
local core = require "sinkgate.core"
local lifecycle = require "sinkgate.sink.lifecycle"
local sink = require "sinkgate.sink.sink"
local log = require "sinkgate.util.log"
local status_file = require "sinkgate.run.status_file"
local ops_http = require "sinkgate.ops.http" -- h14: operations endpoint
local reload = require "sinkgate.run.reload" -- h14: SIGHUP / --watch
local progress = require "sinkgate.ops.progress" -- h14: snapshot / backlog progress

local C, ffi = core.C, core.ffi
local M = {}

local SIGUSR1 = 10
-- --duration counts from when every sink has started, but start-up itself
-- (a broker that cannot be reached, retried) gets at most this much on top.
local START_ALLOWANCE_MS = 15000
-- At shutdown, how long an open transaction gets to commit before it is
-- aborted (a second SIGINT/SIGTERM exits at once instead).
local SHUTDOWN_GRACE_MS = 10000

M.status_dir = status_file.dir

-- Runs the plans; returns the process exit code.
function M.run(plans, opts)
  local sinks = {}
  for _, p in ipairs(plans) do
    local s, err = sink.new(p)
    if not s then
      log.err("sinkgate run: sinks." .. p.name .. ": " .. err)
      return 1
    end
    sinks[#sinks + 1] = s
    log.info("sink %s: %s -> %s (%s/%s, %s, %s)", p.name, p.relation.name, p.topic,
      sink.format_name(p.key_format or "-"), sink.format_name(p.value_format), p.envelope, p.opts.mode)
  end
  C.sg_sys_signals_install()
  local status = status_file.open(opts.status_file)
  local t0 = tonumber(C.sg_sys_now_ms())
  -- ---- h14: operations endpoint (/metrics, /health, /ready, /status) ----
  local ops = { sinks = sinks, plans = { unpack(plans) }, started_ms = t0, version = core.version(), reloads = {} }
  local http
  if opts.http then
    local err
    http, err = ops_http.start(opts.http.listen, opts.http.basic_auth)
    if not http then
      log.err("sinkgate run: http: " .. err)
      return 1
    end
    http:publish(ops, t0, true) -- before the address is announced: never a 503 for "no snapshot yet"
    log.info("http: serving /metrics, /health, /ready, /status on %s", http.url)
  end
  -- Reload: SIGHUP, or --watch seeing the config file change (the same
  -- text on two reads a second apart, so a half-written file is not taken).
  local watch = opts.reload and opts.reload.watch
  local seen_text = watch and opts.reload.read()
  local loaded_text = seen_text
  if opts.reload then C.sg_sys_reload_signal_install() end
  local prog = progress.new(C.sg_sys_isatty(2) == 1 and log.format == "text", opts.status_interval_ms)
  log.before_write = function() prog:clear() end
  -- systemd Type=notify: READY=1 once every sink is running or done
  -- (readiness as /ready has it), RELOADING=1 around a reload, STOPPING=1.
  local notified_ready = false
  local function notify(state)
    if C.sg_sys_notify(state, core.errbuf, core.ERRLEN) < 0 then log.err("sinkgate run: " .. core.err()) end
  end
  local function maybe_reload(now)
    local want = C.sg_sys_reload_take() == 1
    if watch and now >= (ops.next_watch or 0) then
      ops.next_watch = now + 1000
      local text = opts.reload.read()
      if text and text ~= loaded_text and text == seen_text then want = true end
      seen_text = text
    end
    if not want then return end
    loaded_text = opts.reload.read() or loaded_text
    log.event("info", "reload", nil, "reload: reading the config again")
    notify("RELOADING=1\nMONOTONIC_USEC=" .. ("%d"):format(math.floor(tonumber(C.sg_sys_mono_ns()) / 1000)))
    local new_plans, problems = opts.reload.load()
    reload.apply(ops, new_plans, problems, SHUTDOWN_GRACE_MS)
    notified_ready = false -- READY=1 again once the new set is up
    if http then http:publish(ops, tonumber(C.sg_sys_now_ms()), true) end
  end
  -- ---- end h14 ----
  local interval = opts.status_interval_ms or 10000
  local next_status, next_file = t0 + interval, t0
  local running_since -- --duration counts from when every sink has started
  while C.sg_sys_signal_pending() == 0 do
    local now = tonumber(C.sg_sys_now_ms())
    if opts.duration_ms and now - (running_since or t0 + START_ALLOWANCE_MS) >= opts.duration_ms then break end
    local alive, starting = 0, 0
    for _, s in ipairs(sinks) do
      s:step(now)
      if not lifecycle.FINAL[s.state] then alive = alive + 1 end
      if s.state == "starting" then starting = starting + 1 end
      if C.sg_sys_signal_pending() ~= 0 then break end
    end
    if opts.reload and reload.replan(ops, opts.reload.load, SHUTDOWN_GRACE_MS) then starting = starting + 1 end
    if not running_since and starting == 0 then running_since = tonumber(C.sg_sys_now_ms()) end
    if alive == 0 then break end
    if C.sg_sys_signal_take() == SIGUSR1 or now >= next_status then
      for _, s in ipairs(sinks) do log.info("%s", s:status_line()) end
      next_status = now + interval
    end
    if now >= next_file then
      log.drain() -- librdkafka's lines, at least once a second
      status:write_sinks(sinks, t0)
      next_file = now + 1000
    end
    if http then http:publish(ops, now) end -- h14
    if opts.reload then maybe_reload(now) end -- h14
    prog:update(sinks, now) -- h14
    if not notified_ready and ops_http.ready(sinks) then -- h14
      notified_ready = true
      notify(("READY=1\nSTATUS=%d sink(s) running or done"):format(#sinks))
    end
    C.sg_sys_sleep_ms(5)
  end
  notify("STOPPING=1") -- h14
  prog:clear()
  log.before_write = nil
  local rc = 0
  local grace_until = tonumber(C.sg_sys_now_ms()) + SHUTDOWN_GRACE_MS
  for _, s in ipairs(sinks) do
    s:finish(math.max(0, grace_until - tonumber(C.sg_sys_now_ms())))
    log.info("%s", s:status_line())
    if s.state == "failed" or s.state == "fenced" then
      rc = 1
    elseif s.state ~= "running" and s.state ~= "done" then
      log.err(("sinkgate run: sinks.%s: ended %s: %s"):format(s.name, s.state, tostring(s.why)))
      rc = 1
    end
  end
  status:write_sinks(sinks, t0)
  status:close()
  if http then -- h14: the final state for one last scrape, then stop serving
    http:publish(ops, tonumber(C.sg_sys_now_ms()), true)
    http:stop()
  end
  local cpu, rss = ffi.new("int64_t[1]"), ffi.new("int64_t[1]")
  C.sg_sys_rusage(cpu, rss)
  log.info("run: %.2fs wall, %.2fs CPU, peak RSS %.1f MiB", (tonumber(C.sg_sys_now_ms()) - t0) / 1000,
    tonumber(cpu[0]) / 1000, tonumber(rss[0]) / 1024)
  return rc
end

return M
