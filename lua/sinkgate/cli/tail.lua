-- sinkgate tail TOPIC — print a topic's messages as JSON lines.
local core = require "sinkgate.core"
local tail = require "sinkgate.tail"
local json = require "sinkgate.util.json"
local log = require "sinkgate.util.log"

local FORMATS = { auto = true, json = true, text = true, bytes = true, avro = true }

local spec = {
  usage = "sinkgate tail TOPIC [--brokers B] [--registry URL] [--max N] [--follow] [--read-uncommitted]",
  summary = "Print every message of TOPIC from the beginning as one JSON object per line:\n" ..
    "partition, offset, timestamp, key, value, headers. Keys and values are decoded from their\n" ..
    "bytes: Confluent-framed Avro through the registry, JSON, UTF-8 text, else {\"base64\": …}.\n" ..
    "Reads with isolation.level=read_committed unless told otherwise, and stops once it has\n" ..
    "caught up with the end of the topic (or after --max messages) unless --follow is given.\n" ..
    "A missing topic is an error (exit 1). A key or value that cannot be decoded as asked\n" ..
    "(--value-format json on non-JSON data, Avro that does not match its schema) prints as\n" ..
    "{\"error\": …}, is reported on stderr, and makes the exit status 1; an unreachable\n" ..
    "registry stops the tail (exit 1).",
  options = {
    { "--brokers", arg = "B", doc = "bootstrap servers (default $SINKGATE_BROKERS, then 127.0.0.1:9092)" },
    { "--registry", arg = "URL", doc = "schema registry for Avro (default $SINKGATE_REGISTRY)" },
    { "--max", arg = "N", doc = "stop after N messages (a positive integer)" },
    { "--follow", "-f", doc = "keep waiting for new messages (until interrupted, or --timeout)" },
    { "--timeout", arg = "SECONDS", doc = "stop after this long without a new message (default 10; with " ..
      "--follow: no limit unless given, and reaching it is a normal end, exit 0)" },
    { "--read-uncommitted", doc = "also show messages of open and aborted transactions" },
    { "--key-format", arg = "F", doc = "auto (default), json, text, bytes or avro" },
    { "--value-format", arg = "F", doc = "auto (default), json, text, bytes or avro" },
  },
}

local function main(opts, pos)
  if #pos ~= 1 then
    log.err("sinkgate tail: expected one TOPIC argument\n\n" .. require("sinkgate.util.args").help(spec))
    return 2
  end
  for _, k in ipairs({ "key_format", "value_format" }) do
    if opts[k] and not FORMATS[opts[k]] then
      log.err("sinkgate tail: --" .. k:gsub("_", "-") .. " must be auto, json, text, bytes or avro")
      return 2
    end
  end
  local bad = require("sinkgate.config.loader").check_overrides(opts)
  if bad then log.err("sinkgate tail: " .. bad) return 2 end
  local secret = require "sinkgate.secret"
  secret.protect(secret.url_password(opts.registry or os.getenv("SINKGATE_REGISTRY")), "***")
  local max = opts.max and tostring(opts.max):match("^%d+$") and tonumber(opts.max)
  if opts.max and not (max and max >= 1) then
    log.err("sinkgate tail: --max must be a positive integer, not '" .. tostring(opts.max) .. "'")
    return 2
  end
  local timeout = opts.timeout and tonumber(opts.timeout)
  if opts.timeout and not (timeout and timeout > 0 and timeout < math.huge) then
    log.err("sinkgate tail: --timeout must be a positive number of seconds, not '" .. tostring(opts.timeout) .. "'")
    return 2
  end
  core.C.sg_sys_signals_install()
  local t, err = tail.open({
    brokers = opts.brokers or os.getenv("SINKGATE_BROKERS") or "127.0.0.1:9092", topic = pos[1],
    read_committed = not opts.read_uncommitted, registry = opts.registry or os.getenv("SINKGATE_REGISTRY"),
    key_format = opts.key_format, value_format = opts.value_format,
    warn = function(msg) log.err("sinkgate tail: warning: " .. msg) end,
  })
  if not t then log.err("sinkgate tail: " .. err) return 1 end
  -- Idle time is measured on the clock, not by counting polls: a poll may
  -- return early or late.
  local n = 0
  local idle_limit = timeout and timeout * 1000 or (not opts.follow and 10000) or nil
  local last = tonumber(core.C.sg_sys_mono_ns()) / 1e6
  local errors = 0
  while (not max or n < max) and core.C.sg_sys_signal_pending() == 0 do
    local m, why = t:next(200)
    local now = tonumber(core.C.sg_sys_mono_ns()) / 1e6
    if m then
      log.out_json(m, json.encode) -- scrubbed value by value: the line stays JSON
      n, last = n + 1, now
      if t.errors > errors then
        errors = t.errors
        log.err("sinkgate tail: " .. t.last_error)
      end
    elseif why == "caught-up" and not opts.follow then
      break
    elseif why == "idle" or why == "caught-up" then
      if why == "caught-up" then core.C.sg_sys_sleep_ms(200) end
      if idle_limit and now - last >= idle_limit then
        if not opts.follow then
          log.err(("sinkgate tail: no message for %gs, stopping"):format(idle_limit / 1000))
        end
        break
      end
    else
      log.err("sinkgate tail: " .. why)
      return 1
    end
  end
  if errors > 0 then
    log.err(("sinkgate tail: %d key(s)/value(s) could not be decoded"):format(errors))
    return 1
  end
  return 0
end

return { spec = spec, main = main }
