-- The libcurl registry client against the dev registry, over real HTTP.
local helpers = require "helpers"
local registry = require "sinkgate.registry"
local cjson = require "cjson"

local function schema(fields)
  return cjson.encode({ type = "record", name = "r", fields = fields })
end

local A = schema({ { name = "a", type = "long" } })
local B = schema({ { name = "b", type = "long" } })

describe("registry client", function()
  local dev
  setup(function() dev = helpers.dev_start() end)
  teardown(function() helpers.dev_stop(dev) end)

  local function client(extra)
    local opts = { url = dev.registry, timeout = 5000, retries = 2 }
    for k, v in pairs(extra or {}) do opts[k] = v end
    return assert(registry.client(opts))
  end

  it("registers and gets the same id for the same schema", function()
    local c = client()
    local id = assert(c:register("rc-value", A))
    assert.equal(id, c:register("rc-value", A))
    assert.equal(id, client():register("rc-value", A)) -- a fresh client asks the registry again
    local st, body = helpers.http("GET", dev.registry .. "/subjects/rc-value/versions/latest")
    assert.same({ 200, id }, { st, body.id })
  end)

  it("reports 409 and 42201 with the registry's message", function()
    local c = client()
    assert(c:register("rc2-value", A))
    local id, err = c:register("rc2-value", B)
    assert.is_nil(id)
    assert.same({ 409, 409 }, { err.http_status, err.error_code })
    assert.matches("incompatible", err.message)
    id, err = c:register("rc3-value", '{"type":"nope"}')
    assert.is_nil(id)
    assert.same({ 422, 42201 }, { err.http_status, err.error_code })
  end)

  it("sets a compatibility level only when none is set", function()
    local c = client()
    assert(c:register("rc4-value", A))
    assert.same({ "FULL", "set" }, { c:ensure_compatibility("rc4-value", "FULL") })
    assert.same({ "FULL", "kept" }, { c:ensure_compatibility("rc4-value", "NONE") })
    local _, body = helpers.http("GET", dev.registry .. "/config/rc4-value")
    assert.equal("FULL", body.compatibilityLevel)
  end)

  it("retries 5xx with backoff and gives up on 4xx at once", function()
    assert.equal("ok", helpers.ctl(dev, "registry-fail 2 503"))
    local c = client()
    assert.is_number(c:register("rc5-value", A))
    assert.equal(3, c.res.attempts)
    assert.equal("ok", helpers.ctl(dev, "registry-fail 1 404"))
    local id, err = client():register("rc6-value", A)
    assert.is_nil(id)
    assert.equal(404, err.http_status)
  end)

  it("sends basic auth from a secret", function()
    assert.equal("ok", helpers.ctl(dev, "registry-auth reg:pw-in-secret"))
    local _, err = client():register("rc7-value", A)
    assert.equal(401, err.http_status)
    local c = client({ username = "reg", password = setmetatable({ name = "X" }, { __index = { reveal = function() return "pw-in-secret" end } }) })
    assert.is_number(c:register("rc7-value", A))
    assert.equal("ok", helpers.ctl(dev, "registry-auth off"))
  end)

  it("reports an unreachable registry after its retries", function()
    local c = assert(registry.client({ url = "http://127.0.0.1:1", timeout = 500, retries = 1 }))
    local id, err = c:register("x-value", A)
    assert.is_nil(id)
    assert.equal(0, err.http_status)
    assert.equal(2, c.res.attempts)
    assert.matches("Couldn't connect", err.message)
  end)
end)
