-- sinkgate dev — the embedded dev environment (not durable, not for production).
local core = require "sinkgate.core"
local env = require "sinkgate.dev.env"
local log = require "sinkgate.util.log"

local spec = {
  usage = "sinkgate dev [--brokers N] [--env-file FILE] [--registry-port P] [--control-port P]\n" ..
    "       [--topics T:N,…] [--produce TOPIC=FILE …]\n" ..
    "       sinkgate dev --ctl 'COMMAND'",
  summary = "Start a development environment on 127.0.0.1: a Kafka-protocol broker (librdkafka's\n" ..
    "mock cluster) and a Schema Registry following the Confluent REST API, plus a control\n" ..
    "channel for fault injection. It prints bootstrap.servers=… and registry.url=… and runs\n" ..
    "until interrupted.\n\n" ..
    "NOT DURABLE, NOT FOR PRODUCTION: everything lives in memory and is lost on exit, the mock\n" ..
    "broker keeps only the newest ~100k messages per partition and does not implement\n" ..
    "transaction isolation or the Admin API faithfully.",
  options = {
    { "--brokers", arg = "N", doc = "number of mock brokers (default 1)" },
    { "--env-file", arg = "FILE", doc = "write SINKGATE_BROKERS/_REGISTRY/_CONTROL exports here when ready" },
    { "--registry-port", arg = "P", doc = "registry port (default: a free port)" },
    { "--control-port", arg = "P", doc = "control port (default: a free port)" },
    { "--registry-auth", arg = "USER:PASSWORD", doc = "require basic auth on the registry" },
    { "--registry-tls", arg = "CERT,KEY[,CA]", doc = "also serve the registry over HTTPS with this PEM certificate and " ..
      "key ($SINKGATE_REGISTRY_HTTPS); with CA, clients must present a certificate it signed" },
    { "--topics", arg = "T:N,…", doc = "create topics with partition counts at start, e.g. orders:8,bids:4 " ..
      "(_sinkgate-progress:1 is always created)" },
    { "--produce", arg = "TOPIC=FILE", repeatable = true, doc = "produce FILE's messages to TOPIC at start " ..
      "(repeatable): one JSON object per line {\"key\", \"value\", \"headers\", \"partition\"}, or " ..
      "TOPIC=text:FILE for one value per line (docs/dev-environment.md)" },
    { "--ctl", arg = "COMMAND", doc = "send COMMAND to a running dev environment ($SINKGATE_CONTROL)" },
  },
  epilog = env.HELP,
}

local function ctl(line)
  if not line:match("%S") then
    log.err("sinkgate dev --ctl: empty command (try: --ctl help)")
    return 2
  end
  local control = os.getenv("SINKGATE_CONTROL")
  if not control then
    log.err("sinkgate dev --ctl: SINKGATE_CONTROL is not set (source the --env-file of `sinkgate dev`)")
    return 2
  end
  -- `produce TOPIC FILE` is read by the dev process, whose working
  -- directory may differ: a relative FILE is made absolute here.
  local topic, mode, file = line:match("^%s*produce%s+(%S+)%s+(text:)(%S+)%s*$")
  if not topic then
    mode = ""
    topic, file = line:match("^%s*produce%s+(%S+)%s+(%S+)%s*$")
  end
  if file and file:sub(1, 1) ~= "/" and os.getenv("PWD") then
    line = ("produce %s %s%s/%s"):format(topic, mode, os.getenv("PWD"), file)
  end
  local reply, err = env.send(control, line)
  if not reply then log.err("sinkgate dev --ctl: " .. err) return 1 end
  if reply:match("^ok") then
    log.out(reply)
    return 0
  end
  log.err("sinkgate dev --ctl: " .. reply)
  -- A command the environment could not parse is a usage error (2); one it
  -- understood but could not carry out is a failure (1).
  return (reply:match("^error usage:") or reply:match("^error unknown command") or reply:match("^error empty")) and 2 or 1
end

-- An integer option within [lo, hi] (its default when absent), or nil
-- after a usage message.
local function int_opt(opts, name, default, lo, hi)
  local v = opts[name]
  if v == nil then return default end
  local n = tostring(v):match("^%d+$") and tonumber(v)
  if not n or n < lo or n > hi then
    log.err(("sinkgate dev: --%s must be an integer %d..%d, not '%s'"):format(name:gsub("_", "-"), lo, hi, v))
    return nil
  end
  return n
end

-- --topics "a:3,b:4" as { {name, count}, … }, or nil, message.
local function parse_topics(text)
  local list = {}
  for item in (text or ""):gmatch("[^,]+") do
    local name, n = item:match("^%s*([^:%s]+):(%S+)%s*$")
    if not name then return nil, ("--topics: expected TOPIC:PARTITIONS, not '%s'"):format(item) end
    list[#list + 1] = { name, n }
  end
  return list
end

local function main(opts)
  if opts.ctl then return ctl(opts.ctl) end
  local brokers = int_opt(opts, "brokers", 1, 1, 16)
  local rport = int_opt(opts, "registry_port", 0, 0, 65535)
  local cport = int_opt(opts, "control_port", 0, 0, 65535)
  local topics, terr = parse_topics(opts.topics)
  if not topics then log.err("sinkgate dev: " .. terr) end
  if not (brokers and rport and cport and topics) then return 2 end
  local tls -- h14
  if opts.registry_tls then
    local cert, key, ca = opts.registry_tls:match("^([^,]+),([^,]+),?([^,]*)$")
    if not cert then log.err("sinkgate dev: --registry-tls: expected CERT,KEY[,CA]") return 2 end
    tls = { cert = cert, key = key, ca = ca ~= "" and ca or nil }
  end
  core.C.sg_sys_signals_install()
  local e, err = env.start({
    brokers = brokers, registry_port = rport, control_port = cport, registry_auth = opts.registry_auth,
    registry_tls = tls,
  })
  if not e then log.err("sinkgate dev: " .. err) return 1 end
  -- The default progress topic, with the one partition it must have: the
  -- mock would auto-create it with 4.
  table.insert(topics, 1, { "_sinkgate-progress", "1" })
  for _, t in ipairs(topics) do
    local reply = e:command(("topic-create %s %s"):format(t[1], t[2]))
    if not reply:match("^ok") then log.err("sinkgate dev: --topics " .. t[1] .. ": " .. reply) return 1 end
  end
  for _, item in ipairs(opts.produce or {}) do
    local topic, file = item:match("^([^=]+)=(.+)$")
    if not topic then
      log.err("sinkgate dev: --produce: expected TOPIC=FILE, not '" .. item .. "'")
      return 2
    end
    local reply = e:command(("produce %s %s"):format(topic, file))
    if not reply:match("^ok") then log.err("sinkgate dev: --produce " .. item .. ": " .. reply) return 1 end
    log.info("--produce %s: %s", topic, (reply:gsub("^ok ", "")))
  end
  log.out("sinkgate dev: NOT DURABLE, NOT FOR PRODUCTION (in-memory mock broker and registry)")
  log.out("bootstrap.servers=" .. e.bootstrap)
  log.out("registry.url=" .. e.registry_url)
  if e.registry_https_url then log.out("registry.https.url=" .. e.registry_https_url) end -- h14
  log.out("control=" .. e.control)
  if opts.env_file then
    -- Atomic (readers never see half a file), through a mkstemp name: a
    -- predictable "<file>.tmp" could be a planted symlink.
    local text = e:env_text()
    if core.C.sg_sys_write_atomic(opts.env_file, text, #text, core.errbuf, core.ERRLEN) ~= 0 then
      log.err("sinkgate dev: --env-file " .. core.err())
      return 1
    end
  end
  e:loop()
  if opts.env_file then os.remove(opts.env_file) end
  return 0
end

return { spec = spec, main = main }
