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
    assert.matches("^error unknown or malformed", helpers.ctl(dev, "fly away"))
    assert.equal("ok", helpers.ctl(dev, "rtt 1 0"))
  end)

  it("creates topics with partition counts that clients see", function()
    assert.equal("ok", helpers.ctl(dev, "topic-create made 6"))
    -- --unsafe: the sandbox of -e hands out the config API only, not the core's FFI
    local r = helpers.sinkgate("run --unsafe -e " .. helpers.q([[
      local core = require "sinkgate.core"
      local p = core.C.sg_producer_new(core.strings({ "bootstrap.servers" }), core.strings({ os.getenv("SINKGATE_BROKERS") }), 1, core.errbuf, core.ERRLEN)
      local a = core.C.sg_producer_partition_count(p, "made", 5000, core.errbuf, core.ERRLEN)
      local b = core.C.sg_producer_partition_count(p, "preset", 5000, core.errbuf, core.ERRLEN)
      core.C.sg_producer_free(p)
      return a, b]]), dev.env)
    assert.equal(0, r.rc, r.err)
    assert.equal("6\n3\n", r.out)
  end)

  it("sends `sinkgate dev --ctl` commands to a running environment", function()
    local r = helpers.sinkgate("dev --ctl ping", dev.env)
    assert.same({ 0, "ok pong\n" }, { r.rc, r.out })
    r = helpers.sinkgate("dev --ctl 'broker-down 99'", dev.env)
    assert.equal(1, r.rc)
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
