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
  it("reads a schema by id and a subject's latest version, and feeds an Avro decoder", function()
    local c = client()
    local id = assert(c:register("rc5-value", A))
    local latest = assert(c:latest("rc5-value"))
    assert.same({ id, 1, "AVRO" }, { latest.id, latest.version, latest.schemaType })
    assert.same(cjson.decode(A), cjson.decode(latest.schema))
    assert.same(cjson.decode(A), cjson.decode((assert(c:schema_by_id(id)))))
    local none, err = c:latest("rc-missing-value")
    assert.is_nil(none)
    assert.equal(404, err.http_status)
    -- a decoder whose writer schemas come from the registry by id
    local decode = require "sinkgate.decode"
    local relation = require "sinkgate.relation"
    local rows = require "sinkgate.rows"
    local core = require "sinkgate.core"
    local d = assert(decode.new("avro", { schema = latest.schema, fetch = function(i) return c:schema_by_id(i) end }))
    local rel = assert(relation.new("t", d:relation_columns()))
    local b = core.ffi.gc(core.C.sg_batch_new(rel:c_schema(), 2), core.C.sg_batch_free)
    local r = core.C.sg_batch_push_row(b, 1, 1)
    local msg = string.char(0, math.floor(id / 16777216) % 256, math.floor(id / 65536) % 256, math.floor(id / 256) % 256, id % 256)
      .. string.char(0x54) -- zigzag 42
    assert(d:into(b, r, 0, msg))
    assert.equal(42, rows.get(b, r, 0, rel.columns[1].type))
  end)
end)
