-- `sinkgate dev` as another process sees it: the registry over HTTP, the
-- control channel, and the broker through sinkgate's own producer and tail.
local helpers = require "helpers"
local cjson = require "cjson"

local SCHEMA = cjson.encode({ schema = '{"type":"record","name":"r","fields":[{"name":"a","type":"long"}]}' })

describe("sinkgate dev", function()
  local dev
  setup(function() dev = helpers.dev_start("--topics preset:3") end)
  teardown(function() helpers.dev_stop(dev) end)

  it("prints its addresses and says it is not durable", function()
    local log = helpers.read(dev.log)
    assert.matches("NOT DURABLE, NOT FOR PRODUCTION", log)
    assert.matches("bootstrap.servers=127%.0%.0%.1:%d+", log)
    assert.matches("registry.url=http://127%.0%.0%.1:%d+", log)
  end)

  it("serves the Confluent registry API over HTTP", function()
    local st, body = helpers.http("POST", dev.registry .. "/subjects/dev-value/versions", SCHEMA)
    assert.equal(200, st)
    local id = body.id
    st, body = helpers.http("POST", dev.registry .. "/subjects/dev-value/versions", SCHEMA)
    assert.same({ 200, id }, { st, body.id })
    st, body = helpers.http("GET", dev.registry .. "/config/dev-key")
    assert.same({ 404, 40401 }, { st, body.error_code })
    st, body = helpers.http("GET", dev.registry .. "/config/dev-value")
    assert.same({ 404, 40408 }, { st, body.error_code })
    st, body = helpers.http("GET", dev.registry .. "/schemas/ids/" .. id)
    assert.equal(200, st)
    assert.matches('"name":"r"', body.schema)
  end)

  it("injects registry failures and basic auth through the control channel", function()
    assert.equal("ok", helpers.ctl(dev, "registry-fail 1 500"))
    assert.equal(500, (helpers.http("GET", dev.registry .. "/subjects")))
    assert.equal(200, (helpers.http("GET", dev.registry .. "/subjects")))
    assert.equal("ok", helpers.ctl(dev, "registry-auth u:p"))
    assert.equal(401, (helpers.http("GET", dev.registry .. "/subjects")))
    assert.equal(200, (helpers.http("GET", dev.registry .. "/subjects", nil,
      { authorization = "Basic " .. require("mime").b64("u:p") })))
    assert.equal("ok", helpers.ctl(dev, "registry-auth off"))
  end)

  it("answers control commands and refuses bad ones", function()
    assert.equal("ok pong", helpers.ctl(dev, "ping"))
    assert.matches("^ok bootstrap.servers=", helpers.ctl(dev, "info"))
    assert.matches("^ok 2 error%(s%) queued for API 0", helpers.ctl(dev, "request-errors Produce NOT_LEADER_FOR_PARTITION 6"))
    assert.matches("^error unknown error name", helpers.ctl(dev, "request-errors Produce NO_SUCH_ERROR"))
    assert.matches("^error unknown API", helpers.ctl(dev, "request-errors Nope 6"))
    assert.matches("^error unknown command fly %(try: help%)", helpers.ctl(dev, "fly away"))
    assert.equal("ok", helpers.ctl(dev, "rtt 1 0"))
  end)

  -- Each bad command gets a clear "error …" reply; the environment keeps
  -- serving (ping after each) and its memory stays small.
  local BAD = {
    { "topic-create t -1", "PARTITIONS must be 1..10000, not -1" },
    { "topic-create t 0", "PARTITIONS must be 1..10000, not 0" },
    { "topic-create t 100000000", "PARTITIONS must be 1..10000, not 100000000" },
    { "topic-create t 2.5", "PARTITIONS must be an integer, not '2.5'" },
    { "topic-create t 0x10", "PARTITIONS must be an integer, not '0x10'" },
    { "topic-create t nan", "PARTITIONS must be an integer, not 'nan'" },
    { "topic-create t 3 0", "RF must be 1..1, not 0" },
    { "topic-create t 3 2", "RF must be 1..1, not 2" },
    { "topic-create a/b 3", "invalid topic name 'a/b'" },
    { "topic-create .. 3", "invalid topic name '..'" },
    { "topic-create " .. ("x"):rep(250) .. " 3", "invalid topic name" },
    { "topic-create t", "usage: topic-create TOPIC PARTITIONS [RF]" },
    { "topic-create t 1 1 1", "usage: topic-create TOPIC PARTITIONS [RF]" },
    { "topic-create preset 3", "Topic already exists" },
    { "broker-down 99", "broker ID must be 1..1, not 99" },
    { "broker-up 0", "broker ID must be 1..1, not 0" },
    { "broker-down x", "broker ID must be an integer, not 'x'" },
    { "broker-down", "usage: broker-down ID" },
    { "rtt 1 -5", "MS must be 0..60000, not -5" },
    { "rtt 1 99999999999", "MS must be 0..60000, not 99999999999" },
    { "rtt 7 10", "broker ID must be 1..1, not 7" },
    { "request-errors Produce 99999999", "unknown error name 99999999" },
    { "request-errors 5000 6", "unknown API 5000" },
    { "request-errors Produce", "usage: request-errors API ERR" },
    { "registry-fail 100000000 500", "COUNT must be 1..1000, not 100000000" },
    { "registry-fail 1 5000", "STATUS must be 100..599, not 5000" },
    { "registry-fail -1 500", "COUNT must be 1..1000, not -1" },
    { "registry-auth nope", "expected USER:PASSWORD or off" },
    { "ping extra", "usage: ping" },
    { "", "empty command" },
  }
  it("refuses every malformed command with a clear error and keeps running", function()
    for _, case in ipairs(BAD) do
      local reply = helpers.ctl(dev, case[1])
      assert.matches("^error ", reply, nil, false, case[1])
      assert.is_truthy(reply:find(case[2], 1, true), case[1] .. " -> " .. reply)
      assert.not_matches("internal", reply)
      assert.equal("ok pong", helpers.ctl(dev, "ping"))
    end
    -- VmRSS from /proc, not `ps`: under the ASan run ps inherits the
    -- preloaded sanitizer runtime and can hang.
    local rss_kib = tonumber(helpers.read("/proc/" .. dev.pid .. "/status"):match("VmRSS:%s*(%d+)"))
    assert.is_true(rss_kib < 200 * 1024, "dev RSS " .. rss_kib .. " KiB")
  end)

  it("drops a client whose line never ends, and serves others meanwhile", function()
    local socket = require "socket"
    local host, port = dev.control:match("^(.+):(%d+)$")
    local slow = assert(socket.connect(host, tonumber(port)))
    slow:send("pi") -- half a line: must not block the environment
    assert.equal("ok pong", helpers.ctl(dev, "ping"))
    slow:send("ng\n")
    slow:settimeout(5)
    assert.equal("ok pong", slow:receive("*l"))
    local hog = assert(socket.connect(host, tonumber(port)))
    hog:settimeout(5)
    hog:send(("x"):rep(10000))
    assert.equal("error line longer than 4096 bytes", hog:receive("*l"))
    hog:close()
    slow:close()
    assert.equal("ok pong", helpers.ctl(dev, "ping"))
  end)

  it("lists its commands on `help`", function()
    local reply = helpers.ctl(dev, "help")
    for _, c in ipairs({ "ping", "topic-create", "rtt", "broker-down", "registry-fail", "shutdown" }) do
      assert.matches(" " .. c:gsub("%-", "%%-"), reply)
    end
  end)

  it("creates topics with partition counts that clients see", function()
    assert.equal("ok", helpers.ctl(dev, "topic-create made 6"))
    -- --unsafe: the sandbox of -e hands out the config API only, not the core's FFI
    local r = helpers.sinkgate("run --unsafe -e " .. helpers.q([[
      local core = require "sinkgate.core"
      local p = core.C.sg_producer_new(core.strings({ "bootstrap.servers" }), core.strings({ sg.env("SINKGATE_BROKERS") }), 1, core.errbuf, core.ERRLEN)
      local a = core.C.sg_producer_partition_count(p, "made", 5000, core.errbuf, core.ERRLEN)
      local b = core.C.sg_producer_partition_count(p, "preset", 5000, core.errbuf, core.ERRLEN)
      core.C.sg_producer_free(p)
      return a, b]]), dev.env)
    assert.equal(0, r.rc, r.err)
    assert.equal("6\n3\n", r.out)
  end)

  it("tells a sink at once that it has no Admin API (no 5 s CreateTopics timeout per run)", function()
    local path = helpers.write_tmp([[
local sg = require "sinkgate"
local kafka = sg.kafka_connection { brokers = sg.env("SINKGATE_BROKERS"), admin_timeout = "5s" }
local gen = sg.source.load_generator { kind = "counter", tick = "100ms" }
for i = 1, 3 do
  sg.sink("fresh" .. i) { from = gen, into = { connection = kafka, topic = "fresh" .. i }, envelope = "debezium" }
end]], ".lua")
    local t0 = require("socket").gettime()
    local r = helpers.sinkgate("run --duration 300ms " .. path, dev.env)
    local took = require("socket").gettime() - t0
    os.remove(path)
    assert.equal(0, r.rc, r.err)
    assert.is_true(took < 4, ("run took %.1f s"):format(took))
    local _, n = r.err:gsub("no usable Admin API %(the cluster's controller", "")
    assert.equal(1, n, r.err)
    for i = 1, 3 do assert.is_true(helpers.final_status(r.err, "fresh" .. i).messages > 0) end
  end)

  it("sends `sinkgate dev --ctl` commands to a running environment", function()
    local r = helpers.sinkgate("dev --ctl ping", dev.env)
    assert.same({ 0, "ok pong\n" }, { r.rc, r.out })
    r = helpers.sinkgate("dev --ctl 'broker-down 99'", dev.env)
    assert.equal(1, r.rc)
    assert.matches("broker ID must be 1..1, not 99", r.err, 1, true)
    r = helpers.sinkgate("dev --ctl 'fly away'", dev.env)
    assert.equal(2, r.rc)
    assert.matches("unknown command fly", r.err, 1, true)
    r = helpers.sinkgate("dev --ctl ''", dev.env)
    assert.equal(2, r.rc)
    r = helpers.sinkgate("dev --ctl ping")
    assert.equal(2, r.rc)
    assert.matches("SINKGATE_CONTROL is not set", r.err, 1, true)
  end)
end)

describe("sinkgate dev options", function()
  it("refuses bad --brokers, ports and --topics with a clear error", function()
    for args, msg in pairs({
      ["--brokers abc"] = "--brokers must be an integer 1..16, not 'abc'",
      ["--brokers 0"] = "--brokers must be an integer 1..16, not '0'",
      ["--control-port 70000"] = "--control-port must be an integer 0..65535, not '70000'",
      ["--topics x"] = "--topics: expected TOPIC:PARTITIONS, not 'x'",
    }) do
      local r = helpers.sinkgate("dev " .. args)
      assert.equal(2, r.rc, args)
      assert.matches(msg, r.err, 1, true)
    end
    local r = helpers.sinkgate("dev --topics x:0")
    assert.equal(1, r.rc)
    assert.matches("--topics x: error PARTITIONS must be 1..10000, not 0", r.err, 1, true)
  end)
end)

describe("sinkgate dev shutdown", function()
  it("stops on SIGTERM and removes its env file", function()
    local dev = helpers.dev_start()
    os.execute("kill -TERM " .. dev.pid)
    assert.is_true(helpers.wait_exit(dev.pid, 10))
    assert.is_nil(io.open(dev.env_file, "r"))
  end)
end)
