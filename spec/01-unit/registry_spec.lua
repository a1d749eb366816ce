-- The dev Schema Registry's REST semantics, without sockets.
local registry = require "sinkgate.dev.registry"
local cjson = require "cjson"

local function schema(fields)
  return cjson.encode({ schema = cjson.encode({ type = "record", name = "r", fields = fields }) })
end

local A = schema({ { name = "a", type = "long" } })
local AB_DEFAULT = schema({ { name = "a", type = "long" }, { name = "b", type = { "null", "string" }, default = cjson.null } })
local B = schema({ { name = "b", type = "long" } })

describe("dev registry", function()
  local r
  before_each(function() r = registry.new() end)

  it("registers versions and gives identical schemas the same id", function()
    local st, body = r:handle("POST", "/subjects/t-value/versions", {}, A)
    assert.same({ 200, { id = 1 } }, { st, body })
    st, body = r:handle("POST", "/subjects/t-value/versions", {}, A)
    assert.same({ 200, { id = 1 } }, { st, body })
    st, body = r:handle("POST", "/subjects/u-value/versions", {}, A) -- other subject, same schema
    assert.same({ 200, { id = 1 } }, { st, body })
    st, body = r:handle("GET", "/subjects/t-value/versions", {}, nil)
    assert.same({ 200, { 1 } }, { st, body })
  end)

  it("answers 40401 for unknown subjects and 40408 for unset subject config", function()
    local st, body = r:handle("GET", "/config/t-value", {}, nil)
    assert.same({ 404, 40401 }, { st, body.error_code })
    r:handle("POST", "/subjects/t-value/versions", {}, A)
    st, body = r:handle("GET", "/config/t-value", {}, nil)
    assert.same({ 404, 40408 }, { st, body.error_code })
    st, body = r:handle("PUT", "/config/t-value", {}, '{"compatibility":"FULL"}')
    assert.same({ 200, "FULL" }, { st, body.compatibility })
    st, body = r:handle("GET", "/config/t-value", {}, nil)
    assert.same({ 200, "FULL" }, { st, body.compatibilityLevel })
    st, body = r:handle("PUT", "/config/t-value", {}, '{"compatibility":"SIDEWAYS"}')
    assert.same({ 422, 42203 }, { st, body.error_code })
  end)

  it("refuses incompatible schemas with 409 under BACKWARD and allows them under NONE", function()
    r:handle("POST", "/subjects/t-value/versions", {}, A)
    local st, body = r:handle("POST", "/subjects/t-value/versions", {}, B)
    assert.same({ 409, 409 }, { st, body.error_code })
    st = r:handle("POST", "/subjects/t-value/versions", {}, AB_DEFAULT) -- added field with a default
    assert.equal(200, st)
    r:handle("PUT", "/config/t-value", {}, '{"compatibility":"NONE"}')
    st, body = r:handle("POST", "/subjects/t-value/versions", {}, B)
    assert.same({ 200, 3 }, { st, body.id })
  end)

  it("refuses invalid schemas with 42201", function()
    local st, body = r:handle("POST", "/subjects/t-value/versions", {}, '{"schema":"{\\"type\\":\\"recrod\\"}"}')
    assert.same({ 422, 42201 }, { st, body.error_code })
    st, body = r:handle("POST", "/subjects/t-value/versions", {}, "not json")
    assert.same({ 422, 42201 }, { st, body.error_code })
  end)

  it("serves schemas by id and versions by number or latest", function()
    r:handle("POST", "/subjects/t-value/versions", {}, A)
    local st, body = r:handle("GET", "/schemas/ids/1", {}, nil)
    assert.equal(200, st)
    assert.equal(cjson.decode(A).schema, body.schema)
    st, body = r:handle("GET", "/subjects/t-value/versions/latest", {}, nil)
    assert.same({ 200, 1, 1, "t-value" }, { st, body.version, body.id, body.subject })
    st, body = r:handle("GET", "/schemas/ids/7", {}, nil)
    assert.same({ 404, 40403 }, { st, body.error_code })
    st, body = r:handle("GET", "/subjects/t-value/versions/9", {}, nil)
    assert.same({ 404, 40402 }, { st, body.error_code })
  end)

  it("requires basic auth when configured", function()
    r = registry.new({ auth = "user:pw" })
    local st = r:handle("GET", "/subjects", {}, nil)
    assert.equal(401, st)
    st = r:handle("GET", "/subjects", { authorization = "Basic " .. require("mime").b64("user:pw") }, nil)
    assert.equal(200, st)
    st = r:handle("GET", "/subjects", { authorization = "Basic " .. require("mime").b64("user:no") }, nil)
    assert.equal(401, st)
  end)

  it("fails the next requests on demand", function()
    r.failures = { 503 }
    assert.equal(503, (r:handle("GET", "/subjects", {}, nil)))
    assert.equal(200, (r:handle("GET", "/subjects", {}, nil)))
  end)
end)
