-- Named types, records inside lists and maps, and char(n) end to end: a
-- Lua-fed table through `sinkgate run` to the dev broker, read back with tail.
local helpers = require "helpers"
local cjson = require "cjson"

local CONFIG = [[
local sg = require "sinkgate"
local kafka = sg.kafka_connection { brokers = sg.env("SINKGATE_BROKERS"), admin_timeout = "200ms" }
local csr = sg.registry_connection { url = sg.env("SINKGATE_REGISTRY"), retries = 0 }
sg.type "shop.point" { record = { {"x","integer",not_null=true}, {"y","integer"} }, comment = "a point" }
sg.type "shop.path" { list = "shop.point" }
local t = sg.source.table { name = "routes", keys = { {"id"} }, tick = "50ms",
  columns = { {"id","bigint",not_null=true}, {"code","char(4)",not_null=true}, {"route","shop.path"},
    {"stops","map[text=>shop.point]"} },
  rows = { { id = 1, code = "ab", route = { { x = 1, y = 2 }, sg.null, { x = 3 } }, stops = { home = { x = 0, y = 0 } } },
    { id = 2, code = "wxyz" } } }
sg.sink "routes_json" { from = t, into = { connection = kafka, topic = "nested_json" }, key = { "id" },
  format = "json", envelope = "upsert" }
sg.sink "routes_avro" { from = t, into = { connection = kafka, topic = "nested_avro" }, key = { "id" },
  format = sg.avro { registry = csr, doc_on = { { column = "shop.point.y", doc = "the y" } } }, envelope = "debezium" }
]]

describe("named and nested types end to end", function()
  local dev
  setup(function() dev = helpers.dev_start("--topics nested_json:1,nested_avro:1") end)
  teardown(function() helpers.dev_stop(dev) end)

  it("write the reference's JSON bytes and Avro values, with the schema registered", function()
    local path = helpers.write_tmp(CONFIG, ".lua")
    local r = helpers.sinkgate("run --duration 800ms " .. path, dev.env)
    os.remove(path)
    assert.equal(0, r.rc, r.err)

    local json = helpers.tail(dev, "nested_json", "--value-format text --key-format text")
    assert.equal(2, #json)
    table.sort(json, function(a, b) return a.key < b.key end)
    assert.equal('{"id":1}', json[1].key)
    assert.equal('{"id":1,"code":"ab  ","route":[{"x":1,"y":2},null,{"x":3,"y":null}],' ..
      '"stops":{"home":{"x":0,"y":0}}}', json[1].value)
    assert.equal('{"id":2,"code":"wxyz","route":null,"stops":null}', json[2].value)

    local _, value = helpers.http("GET", dev.registry .. "/subjects/nested_avro-value/versions/latest")
    local schema = cjson.decode(value.schema)
    local row = schema.fields[1].type[2]
    assert.equal("a point", row.fields[3].type[2].items[2].doc)
    assert.equal("com.materialize.sink.record0", row.fields[3].type[2].items[2].name)
    assert.equal("the y", row.fields[3].type[2].items[2].fields[2].doc)
    assert.equal("com.materialize.sink.record1", row.fields[4].type[2].values[2].name)

    local avro = helpers.tail(dev, "nested_avro")
    assert.equal(2, #avro)
    local seen = {}
    for _, m in ipairs(avro) do seen[m.value.after.row.id] = m.value.after.row end
    assert.same({ array = { { record0 = { x = 1, y = { int = 2 } } }, cjson.null, { record0 = { x = 3, y = cjson.null } } } },
      seen[1].route)
    assert.same({ map = { home = { record1 = { x = 0, y = { int = 0 } } } } }, seen[1].stops)
    assert.equal("ab  ", seen[1].code)
  end)
end)
