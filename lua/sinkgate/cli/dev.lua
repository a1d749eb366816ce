-- sinkgate dev — the embedded dev environment (not durable, not for production).
local core = require "sinkgate.core"
local env = require "sinkgate.dev.env"
local log = require "sinkgate.util.log"

local spec = {
  usage = "sinkgate dev [--brokers N] [--env-file FILE] [--registry-port P] [--control-port P]\n" ..
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
    { "--topics", arg = "T:N,…", doc = "create topics with partition counts at start, e.g. orders:8,bids:4 " ..
      "(_sinkgate-progress:1 is always created)" },
    { "--ctl", arg = "COMMAND", doc = "send COMMAND to a running dev environment ($SINKGATE_CONTROL)" },
  },
  epilog = env.HELP,
}

local function ctl(line)
  local control = os.getenv("SINKGATE_CONTROL")
  if not control then
    log.err("sinkgate dev --ctl: SINKGATE_CONTROL is not set (source the --env-file of `sinkgate dev`)")
    return 2
  end
  local reply, err = env.send(control, line)
  if not reply then log.err("sinkgate dev --ctl: " .. err) return 1 end
  log.out(reply)
  return reply:match("^ok") and 0 or 1
end

local function main(opts)
  if opts.ctl then return ctl(opts.ctl) end
  core.C.sg_sys_signals_install()
  local e, err = env.start({
    brokers = tonumber(opts.brokers or 1), registry_port = tonumber(opts.registry_port or 0),
    control_port = tonumber(opts.control_port or 0), registry_auth = opts.registry_auth,
  })
  if not e then log.err("sinkgate dev: " .. err) return 1 end
  -- The default progress topic, with the one partition it must have: the
  -- mock would auto-create it with 4.
  for name, n in ("_sinkgate-progress:1," .. (opts.topics or "")):gmatch("([^,:]+):(%d+)") do
    local reply = e:command(("topic-create %s %s"):format(name, n))
    if not reply:match("^ok") then log.err("sinkgate dev: " .. reply) return 1 end
  end
  log.out("sinkgate dev: NOT DURABLE, NOT FOR PRODUCTION (in-memory mock broker and registry)")
  log.out("bootstrap.servers=" .. e.bootstrap)
  log.out("registry.url=" .. e.registry_url)
  log.out("control=" .. e.control)
  if opts.env_file then
    local tmp = opts.env_file .. ".tmp"
    local f = assert(io.open(tmp, "w"))
    f:write(e:env_text())
    f:close()
    os.rename(tmp, opts.env_file) -- atomic: readers never see half a file
  end
  e:loop()
  if opts.env_file then os.remove(opts.env_file) end
  return 0
end

return { spec = spec, main = main }
