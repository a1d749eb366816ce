-- sinkgate.cli — `sinkgate <command> …`. Each command lives in
-- sinkgate/cli/<command>.lua as { spec = <args spec>, main = fn(opts, pos) }.
local args = require "sinkgate.util.args"
local log = require "sinkgate.util.log"

local M = {}

local COMMANDS = { "run", "check", "status", "dev", "tail", "plugin", "version" }

local function usage()
  return table.concat({
    "usage: sinkgate <command> [options]",
    "",
    "sinkgate publishes relations that change over time to Kafka, exactly once,",
    "configured by Lua (or YAML) scripts.",
    "",
    "commands:",
    "  run CONFIG       run the sinks of a config until interrupted",
    "  run -e 'LUA'     run a Lua chunk with sinkgate loaded; print what it returns",
    "  check CONFIG     validate a config and print its plan (topics, keys, formats, schemas)",
    "  status [PID]     the state of the sinks of running gateways",
    "  dev              start the dev environment: a mock Kafka broker and a Schema Registry",
    "  tail TOPIC       print a topic's messages as JSON lines",
    "  plugin new NAME  scaffold a plugin (descriptor, options, spec, README, rockspec)",
    "  version          print versions",
    "",
    "`sinkgate <command> --help` describes each command.",
  }, "\n")
end

function M.main(argv)
  local name = argv[1]
  if name == nil or name == "--help" or name == "-h" or name == "help" then
    log.out(usage())
    return name == nil and 2 or 0
  end
  if name == "--version" then name = "version" end
  local known = false
  for _, c in ipairs(COMMANDS) do known = known or c == name end
  if not known then
    log.err("sinkgate: unknown command '" .. name .. "'\n\n" .. usage())
    return 2
  end
  local cmd = require("sinkgate.cli." .. name)
  local rest = { unpack(argv, 2) }
  for _, a in ipairs(rest) do
    if a == "--help" or a == "-h" then
      log.out(args.help(cmd.spec))
      return 0
    end
  end
  local opts, pos = args.parse(rest, cmd.spec)
  if not opts then
    log.err("sinkgate " .. name .. ": " .. pos .. "\n\n" .. args.help(cmd.spec))
    return 2
  end
  local ok, rc = xpcall(cmd.main, debug.traceback, opts, pos)
  if not ok then
    log.err("sinkgate " .. name .. ": internal error: " .. tostring(rc))
    return 70
  end
  return rc or 0
end

return M
