-- Packaging for operators: systemd's readiness protocol over
-- $NOTIFY_SOCKET from a real `sinkgate run` (READY=1 once the sink runs,
-- STOPPING=1 at shutdown), and `sinkgate version --json`.
local helpers = require "helpers"
local unix = require "socket.unix"
local cjson = require "cjson"

describe("operators", function()
  local dev
  setup(function() dev = helpers.dev_start("--topics nt:1") end)
  teardown(function() helpers.dev_stop(dev) end)

  it("run tells systemd READY=1 once its sinks run, STOPPING=1 when it stops", function()
    local sock_path = helpers.tmpname(".sock")
    local s = assert(unix.dgram())
    assert(s:bind(sock_path))
    s:settimeout(20)
    local cfg = helpers.write_tmp([[
local sg = require "sinkgate"
local kafka = sg.kafka_connection { brokers = sg.env("SINKGATE_BROKERS"), admin_timeout = "200ms" }
local gen = sg.source.load_generator { kind = "counter", tick = "100ms" }
sg.sink "nt" { from = gen, into = { connection = kafka, topic = "nt" }, envelope = "debezium" }
]], ".lua")
    local env = { NOTIFY_SOCKET = sock_path }
    for k, v in pairs(dev.env) do env[k] = v end
    local pid, log = helpers.spawn("run --status-interval 1h " .. cfg, env)
    local ready = s:receive()
    local running_when_ready = helpers.read(log):find("sink nt: running", 1, true) ~= nil
    os.execute("kill -TERM " .. pid)
    local stopping = s:receive()
    assert.is_true(helpers.wait_exit(pid, 20))
    s:close()
    os.remove(sock_path)
    os.remove(cfg)
    os.remove(log)
    assert.matches("^READY=1\nSTATUS=1 sink%(s%) running or done$", ready)
    assert.is_true(running_when_ready)
    assert.equal("STOPPING=1", stopping)
  end)

  it("version --json names every library", function()
    local r = helpers.sinkgate("version --json")
    local plain = helpers.sinkgate("version")
    assert.equal(0, r.rc)
    local v = cjson.decode(r.out)
    assert.matches("^sinkgate " .. v.sinkgate:gsub("%p", "%%%0") .. " %(librdkafka " .. v.librdkafka:gsub("%p", "%%%0"),
      plain.out)
    assert.matches("^%d+%.%d+%.%d+$", v.libmicrohttpd)
    assert.is_string(v.lua)
  end)
end)
