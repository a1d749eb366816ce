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
    "caught up with the end of the topic (or after --max messages) unless --follow is given.",
  options = {
    { "--brokers", arg = "B", doc = "bootstrap servers (default $SINKGATE_BROKERS, then 127.0.0.1:9092)" },
    { "--registry", arg = "URL", doc = "schema registry for Avro (default $SINKGATE_REGISTRY)" },
    { "--max", arg = "N", doc = "stop after N messages" },
    { "--follow", "-f", doc = "keep waiting for new messages" },
    { "--timeout", arg = "SECONDS", doc = "give up after this long without a message (default 10)" },
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
  core.C.sg_sys_signals_install()
  local t, err = tail.open({
    brokers = opts.brokers or os.getenv("SINKGATE_BROKERS") or "127.0.0.1:9092", topic = pos[1],
    read_committed = not opts.read_uncommitted, registry = opts.registry or os.getenv("SINKGATE_REGISTRY"),
    key_format = opts.key_format, value_format = opts.value_format,
  })
  if not t then log.err("sinkgate tail: " .. err) return 1 end
  local max, n = tonumber(opts.max or ""), 0
  local idle_limit = (tonumber(opts.timeout or "") or 10) * 1000
  local idle = 0
  while (not max or n < max) and core.C.sg_sys_signal_pending() == 0 do
    local m, why = t:next(200)
    if m then
      log.out_json(m, json.encode) -- scrubbed value by value: the line stays JSON
      n, idle = n + 1, 0
    elseif why == "caught-up" and not opts.follow then
      break
    elseif why == "idle" or why == "caught-up" then
      idle = idle + 200
      if why == "caught-up" then core.C.sg_sys_sleep_ms(200) end
      if idle >= idle_limit and not opts.follow then
        log.err(("sinkgate tail: no message for %ds, stopping"):format(math.floor(idle_limit / 1000)))
        break
      end
    else
      log.err("sinkgate tail: " .. why)
      return 1
    end
  end
  return 0
end

return { spec = spec, main = main }
