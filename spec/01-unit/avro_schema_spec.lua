local cfg = require "helpers.config"
local avro = require "sinkgate.avro.schema"
local cjson = require "cjson"

local function schemas(columns, keys, fields, avro_opts, extra)
  local text = cfg.sink_config(columns, keys,
    fields .. ", format = sg.avro { registry = csr" .. (avro_opts and (", " .. avro_opts) or "") .. " }", extra)
  local plans, errs = cfg.plans(text)
  if not plans then return nil, errs end
  local a = plans[1].avro
  return a.key and cjson.decode(a.key), cjson.decode(a.value), a
end

describe("Avro schemas", function()
  it("sanitize field names and make them unique", function()
    assert.equal("col_a", avro.sanitize("col-a"))
    assert.equal("_1st", avro.sanitize("1st"))
    assert.equal("_bc", avro.sanitize("$bc"))
    local _, v = schemas([[{ {"col-a","int",not_null=true}, {"col@a","int",not_null=true}, {"col#a","int",not_null=true} }]],
      "{}", [[envelope = "debezium"]])
    local row = v.fields[1].type[2]
    assert.same({ "col_a", "col_a1", "col_a2" }, { row.fields[1].name, row.fields[2].name, row.fields[3].name })
  end)

  it("name records row/envelope and make nullable fields null-first unions", function()
    local k, v = schemas([[{ {"id","bigint",not_null=true}, {"name","text"} }]], [[{ {"id"} }]],
      [[key = {"id"}, envelope = "upsert"]])
    assert.equal("row", k.name)
    assert.equal("envelope", v.name)
    assert.same({ "null", "string" }, v.fields[2].type)
    assert.is_nil(v.fields[2].default)
  end)

  it("add null defaults with NULL DEFAULTS", function()
    local _, _, a = schemas([[{ {"id","bigint",not_null=true}, {"name","text"} }]], [[{ {"id"} }]],
      [[key = {"id"}, envelope = "upsert"]], "null_defaults = true")
    assert.matches('{"name":"name","type":%["null","string"%],"default":null}', a.value)
  end)

  it("map the type table", function()
    local _, v = schemas([[{ {"b","boolean",not_null=true}, {"s","smallint",not_null=true}, {"i","integer",not_null=true},
      {"l","bigint",not_null=true}, {"r","real",not_null=true}, {"d","double precision",not_null=true},
      {"n","numeric(10,2)",not_null=true}, {"n2","numeric",not_null=true}, {"t","text",not_null=true},
      {"y","bytea",not_null=true}, {"dt","date",not_null=true}, {"tm","time",not_null=true},
      {"ts3","timestamp(3)",not_null=true}, {"ts6","timestamptz(6)",not_null=true}, {"u2","uint2",not_null=true},
      {"u4","uint4",not_null=true}, {"o","oid",not_null=true}, {"u8","uint8",not_null=true},
      {"iv","interval",not_null=true}, {"uu","uuid",not_null=true}, {"j","jsonb",not_null=true},
      {"m","map[text=>bigint]",not_null=true}, {"a","text[]",not_null=true} }]], "{}", [[envelope = "debezium"]])
    local f = {}
    for _, x in ipairs(v.fields[1].type[2].fields) do f[x.name] = x.type end
    assert.same({ "boolean", "int", "int", "long", "float", "double" }, { f.b, f.s, f.i, f.l, f.r, f.d })
    assert.same({ type = "bytes", logicalType = "decimal", precision = 39, scale = 2 }, f.n)
    assert.same({ type = "bytes", logicalType = "decimal", precision = 81, scale = 39 }, f.n2)
    assert.same({ "string", "bytes" }, { f.t, f.y })
    assert.same({ type = "int", logicalType = "date" }, f.dt)
    assert.same({ type = "long", logicalType = "time-micros" }, f.tm)
    assert.same({ type = "long", logicalType = "timestamp-millis" }, f.ts3)
    assert.same({ type = "long", logicalType = "timestamp-micros" }, f.ts6)
    assert.same({ type = "fixed", size = 2, name = "com.materialize.sink.uint2" }, f.u2)
    assert.same({ type = "fixed", size = 4, name = "com.materialize.sink.uint4" }, f.u4)
    assert.equal("com.materialize.sink.uint4", f.o) -- defined once, then referenced by name
    assert.same({ type = "fixed", size = 16, name = "com.materialize.sink.interval" }, f.iv)
    assert.same({ type = "string", logicalType = "uuid" }, f.uu)
    assert.same({ type = "string", ["connect.name"] = "io.debezium.data.Json" }, f.j)
    assert.same({ type = "map", values = { "null", "long" } }, f.m)
    assert.same({ type = "array", items = { "null", "string" } }, f.a)
  end)

  it("build the Debezium value schema", function()
    local _, _, a = schemas([[{ {"id","bigint",not_null=true} }]], "{}", [[envelope = "debezium"]])
    assert.equal('{"type":"record","name":"envelope","fields":[{"name":"before","type":["null",' ..
      '{"type":"record","name":"row","fields":[{"name":"id","type":"long"}]}]},' ..
      '{"name":"after","type":["null","row"]}]}', a.value)
  end)

  it("apply fullnames and their rules", function()
    local k, v = schemas([[{ {"id","bigint",not_null=true} }]], [[{ {"id"} }]], [[key = {"id"}, envelope = "upsert"]],
      [[key_fullname = "com.acme.Key", value_fullname = "Value"]])
    assert.same({ "com.acme", "Key" }, { k.namespace, k.name })
    assert.same({ nil, "Value" }, { v.namespace, v.name })
    local _, errs = schemas([[{ {"id","bigint",not_null=true} }]], [[{ {"id"} }]], [[key = {"id"}, envelope = "upsert"]],
      [[value_fullname = "Value"]])
    assert.matches("value_fullname %(AVRO VALUE FULLNAME%) needs key_fullname", errs[1])
    _, errs = schemas([[{ {"id","bigint",not_null=true} }]], "{}", [[envelope = "debezium"]], [[key_fullname = "K", value_fullname = "V"]])
    assert.matches("key_fullname %(AVRO KEY FULLNAME%) needs a key", errs[1])
    _, errs = schemas([[{ {"id","bigint",not_null=true} }]], "{}", [[envelope = "debezium"]], [[value_fullname = "a.1b"]])
    assert.matches('invalid Avro fullname "a.1b"', errs[1])
  end)

  it("follow DOC ON precedence: scoped, then general, then comment", function()
    -- The seed's documentation-comments example.
    local cols = [[{ {"key","integer",not_null=true}, {"value","text",not_null=true,comment="SQL comment on t.value"} }]]
    local k, v = schemas(cols, [[{ {"key"} }]], [[key = {"key"}, envelope = "upsert"]], [[doc_on = {
      { type = "t", doc = "Top-level comment for container record in both key and value schemas" },
      { column = "t.key", scope = "key", doc = "Comment on column only in key schema" },
      { column = "t.key", scope = "value", doc = "Comment on column only in value schema" } }]])
    assert.same({ type = "record", name = "row",
      doc = "Top-level comment for container record in both key and value schemas",
      fields = { { name = "key", type = "int", doc = "Comment on column only in key schema" } } }, k)
    assert.same({ type = "record", name = "envelope",
      doc = "Top-level comment for container record in both key and value schemas",
      fields = { { name = "key", type = "int", doc = "Comment on column only in value schema" },
        { name = "value", type = "string", doc = "SQL comment on t.value" } } }, v)
  end)

  it("name nested records per occurrence, with NULL DEFAULTS and DOC ON inside", function()
    local point = [[{ record = { {"x","integer",not_null=true}, {"y","integer"} }, name = "my_app.point",
      comment = "a point" }]]
    local _, v = schemas(([[{ {"id","bigint",not_null=true}, {"a",%s,not_null=true}, {"b",%s} }]]):format(point, point),
      [[{ {"id"} }]], [[key = {"id"}, envelope = "upsert"]],
      [[null_defaults = true, doc_on = { { type = "my_app.point", scope = "value", doc = "value point" },
        { column = "my_app.point.y", doc = "the y" } }]])
    local a, b = v.fields[2].type, v.fields[3].type[2]
    assert.equal("com.materialize.sink.record0", a.name)
    assert.equal("com.materialize.sink.record1", b.name)
    assert.equal("value point", a.doc)
    assert.same({ name = "x", type = "int" }, a.fields[1])
    assert.same({ name = "y", type = { "null", "int" }, default = cjson.null, doc = "the y" }, a.fields[2])
    assert.equal(cjson.null, v.fields[3].default) -- the nullable column itself
  end)

  it("omit doc when none is found", function()
    local _, _, a = schemas([[{ {"id","bigint",not_null=true} }]], "{}", [[envelope = "debezium"]])
    assert.is_nil(a.value:find('"doc"', 1, true))
  end)
end)
