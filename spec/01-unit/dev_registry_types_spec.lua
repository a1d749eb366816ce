-- The dev registry's schema types: PROTOBUF (.proto text, checked by
-- compiling it with protoc) and JSON schemas register beside Avro ones,
-- keep their type on every read, and skip compatibility checks.
local registry = require "sinkgate.dev.registry"
local cjson = require "cjson"

local PROTO = 'syntax = "proto3";\npackage shop;\nmessage Order { int64 id = 1; string item = 2; }\n'
local PROTO2 = 'syntax = "proto3";\npackage shop;\nmessage Order { string id = 1; }\n'

local function post(r, subject, schema, kind)
  local st, body = r:handle("POST", "/subjects/" .. subject .. "/versions", {},
    cjson.encode({ schema = schema, schemaType = kind }))
  return st, body
end

describe("dev registry schema types", function()
  local r
  before_each(function() r = registry.new() end)

  it("registers a PROTOBUF schema and returns its type by id and by version", function()
    local st, body = post(r, "orders-value", PROTO, "PROTOBUF")
    assert.equal(200, st)
    local id = body.id
    st, body = r:handle("GET", "/schemas/ids/" .. id, {}, nil)
    assert.same({ 200, PROTO, "PROTOBUF" }, { st, body.schema, body.schemaType })
    st, body = r:handle("GET", "/subjects/orders-value/versions/latest", {}, nil)
    assert.same({ 200, id, "PROTOBUF", PROTO }, { st, body.id, body.schemaType, body.schema })
    -- Identical re-registration returns the same id; lookup finds it.
    st, body = post(r, "orders-value", PROTO, "PROTOBUF")
    assert.same({ 200, id }, { st, body.id })
    st, body = r:handle("POST", "/subjects/orders-value", {}, cjson.encode({ schema = PROTO, schemaType = "PROTOBUF" }))
    assert.same({ 200, id }, { st, body.id })
  end)

  it("rejects .proto text that protoc rejects, with protoc's message", function()
    local st, body = post(r, "bad-value", "message {", "PROTOBUF")
    assert.same({ 422, 42201 }, { st, body.error_code })
    assert.matches("protoc rejected the schema", body.message, 1, true)
  end)

  it("does not check compatibility for PROTOBUF and JSON (documented)", function()
    assert.equal(200, (post(r, "o-value", PROTO, "PROTOBUF")))
    local st, body = post(r, "o-value", PROTO2, "PROTOBUF")
    assert.equal(200, st)
    assert.equal(2, body.id)
    st, body = r:handle("GET", "/subjects/o-value/versions", {}, nil)
    assert.same({ 200, { 1, 2 } }, { st, body })
  end)

  it("registers JSON schemas and rejects text that is not JSON", function()
    local schema = '{"type": "object", "properties": {"a": {"type": "integer"}}}'
    local st, body = post(r, "j-value", schema, "JSON")
    assert.equal(200, st)
    st, body = r:handle("GET", "/schemas/ids/" .. body.id, {}, nil)
    assert.same({ 200, schema, "JSON" }, { st, body.schema, body.schemaType })
    st, body = post(r, "j-value", "{not json", "JSON")
    assert.same({ 422, 42201 }, { st, body.error_code })
    st, body = post(r, "j-value", schema, "XML")
    assert.same({ 422, 42201 }, { st, body.error_code })
  end)

  it("keeps Avro answers as before (no schemaType), and types apart", function()
    local avro = '{"type": "record", "name": "r", "fields": [{"name": "a", "type": "int"}]}'
    local st, body = post(r, "a-value", avro)
    assert.equal(200, st)
    st, body = r:handle("GET", "/schemas/ids/" .. body.id, {}, nil)
    assert.equal(200, st)
    assert.is_nil(body.schemaType)
    -- The same text as JSON is a different schema: a different id.
    local _, j = post(r, "j-value", avro, "JSON")
    assert.are_not.equal(1, j.id)
  end)
end)
