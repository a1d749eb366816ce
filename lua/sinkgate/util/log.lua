-- sinkgate.util.log — everything sinkgate prints goes through here, so
-- that secret values are scrubbed from every line (secret.redact).
-- librdkafka's own lines come here too: its callbacks queue them in C
-- (core/kafka/log.c) and every log call, plus the run loop, drains them,
-- so they are prefixed, redacted, deduplicated and silenced by -q.
local secret = require "sinkgate.secret"

local M = {}

M.quiet = false
-- "text" (default) or "json": one object per line on stderr with time,
-- level, sink, event, message, fields (`run --log-format json`).
M.format = "text"

-- The same librdkafka message (numbers aside) is printed at most once per
-- this window; the next one says how many were held back.
M.KAFKA_DEDUP_MS = 60000

local LEVELS = { [0] = "error", "error", "error", "error", "warning", "notice", "info", "debug" }

local core_ok, core -- loaded on first drain: plain-Lua users of this module need no C core
local line_buf
local seen = {} -- normalized message → { at = ms, held = n }
local draining = false

-- h14: a progress line being shown on the terminal (ops/progress.lua) is
-- cleared before any other line is written.
M.before_write = nil

local function write_err(parts)
  if M.before_write then M.before_write() end
  for i, p in ipairs(parts) do parts[i] = secret.redact(tostring(p)) end
  io.stderr:write(table.concat(parts, "\t"), "\n")
  io.stderr:flush()
end

-- ---- JSON lines (h14) ----
local json -- loaded on first use: text-mode users never need it
local KEYS = { "time", "level", "sink", "event", "message", "fields" }

local function iso_time(ms)
  local s = math.floor(ms / 1000)
  return ("%s.%03dZ"):format(os.date("!%Y-%m-%dT%H:%M:%S", s), ms - s * 1000)
end

local function now_ms()
  if core_ok then return tonumber(core.C.sg_sys_now_ms()) end
  return os.time() * 1000
end

-- The sink a line is about, read from sinkgate's own spelling of it.
local function sink_of(msg)
  return msg:match("^sink ([%w_%.%-]+): ") or msg:match("sinks%.([%w_%.%-]+)[:%.]")
end

-- One JSON object on stderr. Secret values are scrubbed from the message
-- and every field before encoding (the line stays valid JSON).
local function write_json(level, event, msg, fields, ms)
  json = json or require "sinkgate.util.json"
  if M.before_write then M.before_write() end
  msg = secret.redact(msg)
  local obj = json.object(KEYS, { time = iso_time(ms or now_ms()), level = level, sink = sink_of(msg),
    event = event, message = msg, fields = fields and secret.redact_value(fields) or nil })
  io.stderr:write(json.encode(obj), "\n")
  io.stderr:flush()
end

-- A structured line: level ("info", "warning", "error"), an event name,
-- fields (a flat table) and a message. In text mode, the message alone.
function M.event(level, event, fields, fmt, ...)
  M.drain()
  if M.quiet and level == "info" then return end
  local msg = select("#", ...) > 0 and fmt:format(...) or fmt
  if M.format == "json" then return write_json(level, event, msg, fields) end
  write_err({ ("sinkgate[%s] %s"):format(os.date("!%H:%M:%S"), msg) })
end
-- ---- end JSON lines ----

-- librdkafka repeats a message with its own counters and client names
-- ("rdkafka#producer-3: …", "(after 0ms in state CONNECT, 1 identical
-- error(s) suppressed)"): those do not make it a different message.
local function dedup_key(msg)
  return (msg:gsub("%s*%(after %d+ms in state .*$", ""):gsub("%d+", "#"))
end

-- "[thrd:…]: " and "rdkafka#producer-1: " name librdkafka's threads and
-- clients: noise for a reader.
local function strip(msg)
  return (msg:gsub("^%[thrd:[^%]]*%]: ", ""):gsub("^rdkafka#[%w_-]+: ", ""))
end

local function kafka_line(level, fac, msg, time_ms)
  msg = strip(msg)
  local key = dedup_key(msg)
  local s = seen[key]
  if s and time_ms - s.at < M.KAFKA_DEDUP_MS then
    s.held = s.held + 1
    return
  end
  local held = s and s.held or 0
  seen[key] = { at = time_ms, held = 0 }
  if M.quiet then return end
  local text = msg
  if held > 0 then text = ("%s (%d similar line(s) held back)"):format(text, held) end
  if M.format == "json" then
    return write_json(LEVELS[level] or "info", "kafka", text, { facility = fac, syslog_level = level,
      held_back = held > 0 and held or nil }, time_ms)
  end
  write_err({ ("sinkgate[%s] kafka %s: %s: %s"):format(os.date("!%H:%M:%S", math.floor(time_ms / 1000)),
    LEVELS[level] or "info", fac, text) })
end

-- Prints the librdkafka lines waiting in C. Cheap when there are none.
function M.drain()
  if draining then return end
  if core_ok == nil then
    core_ok, core = pcall(require, "sinkgate.core")
    if core_ok then line_buf = core.ffi.new("sg_kafka_log_line") end
  end
  if not core_ok or core.C.sg_kafka_log_pending() == 0 then return end
  draining = true
  local ffi = core.ffi
  while core.C.sg_kafka_log_take(line_buf) == 1 do
    local l = line_buf
    if l.dropped > 0 and not M.quiet then
      write_err({ ("sinkgate: kafka: %d librdkafka log line(s) lost (too many at once)"):format(tonumber(l.dropped)) })
    end
    if l.msg[0] ~= 0 then kafka_line(l.level, ffi.string(l.fac), ffi.string(l.msg), tonumber(l.time_ms)) end
  end
  draining = false
end

function M.out(...)
  M.drain()
  local parts = { ... }
  for i, p in ipairs(parts) do parts[i] = secret.redact(tostring(p)) end
  io.stdout:write(table.concat(parts, "\t"), "\n")
  io.stdout:flush()
end

function M.err(...)
  M.drain()
  if M.format == "json" then
    local parts = { ... }
    for i, p in ipairs(parts) do parts[i] = tostring(p) end
    return write_json("error", "error", table.concat(parts, "\t"))
  end
  write_err({ ... })
end

-- A JSON document on stdout: secrets are scrubbed from its string values
-- before encoding, never from the encoded text (which they could corrupt).
function M.out_json(v, encode)
  io.stdout:write(encode(secret.redact_value(v)), "\n")
  io.stdout:flush()
end

-- Timestamped log line on stderr (run, dev): "sinkgate[HH:MM:SS] msg".
function M.info(fmt, ...)
  M.drain()
  if M.quiet then return end
  if M.format == "json" then
    local msg = fmt:format(...)
    return write_json("info", msg:find("%d+ messages in %d+ transactions") and "status" or "log", msg)
  end
  M.err(("sinkgate[%s] " .. fmt):format(os.date("!%H:%M:%S"), ...))
end

return M
