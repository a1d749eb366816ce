-- sg.source.kafka end to end: messages written by an independent producer
-- (python3-confluent-kafka; Avro by python3-avro, Protobuf by
-- python3-protobuf), read by a source, published by a JSON sink and read
-- back with `sinkgate tail`; decoded values compared with what the
-- reference documents (semantics §10: column names, metadata, envelopes).
local helpers = require "helpers"
local ks = require "helpers.kafka_source"
local pbh = require "helpers.protobuf"
local cjson = require "cjson"

local HEAD = [[
local sg = require "sinkgate"
local kafka = sg.kafka_connection { brokers = sg.env("SINKGATE_BROKERS"), admin_timeout = "200ms" }
local csr = sg.registry_connection { url = sg.env("SINKGATE_REGISTRY") }
]]

-- A source (Lua text) published append-only (DEBEZIUM, no key) to topic out.
local function append_only(src, out)
  return HEAD .. "local src = " .. src .. "\n" .. ([[sg.sink %q { from = src, into = { connection = kafka, topic = %q },
  format = "json", envelope = "debezium" }]]):format(out, out)
end

local function upsert(src, out, key)
  return HEAD .. "local src = " .. src .. "\n" .. ([[sg.sink %q { from = src, into = { connection = kafka, topic = %q },
  key = { %q }, format = "json", envelope = "upsert" }]]):format(out, out, key)
end

local function sorted_by(list, field)
  table.sort(list, function(a, b) return tostring(a[field]) < tostring(b[field]) end)
  return list
end

describe("sg.source.kafka", function()
  local dev
  setup(function() dev = helpers.dev_start() end)
  teardown(function() helpers.dev_stop(dev) end)

  it("JSON with the key and every metadata column (names and types as the reference)", function()
    ks.produce(dev, "meta_in", {
      { key = "a", value = '{"x":1}', headers = { { "trace-id", "t1" }, { "other", cjson.null } }, partition = 1 },
      { value = '{"x":[1,2]}', headers = { { "trace-id", "t2" } }, partition = 1 },
    })
    local src = [[sg.source.kafka { connection = kafka, topic = "meta_in", key_format = "text", value_format = "json",
      include = { key = true, partition = true, offset = "off", timestamp = true, headers = true,
        header = { { "trace-id", as = "trace_id" }, { "trace-id", as = "trace_raw", bytes = true } } } }]]
    local chk = helpers.sinkgate("check " .. helpers.write_tmp(append_only(src, "meta_out"), ".lua"), dev.env)
    assert.equal(0, chk.rc, chk.err)
    assert.matches("meta_in %(key text, data jsonb, partition integer not null, off uint8 not null, timestamp " ..
      "timestamp%(3%), headers record%(key text, value bytea%) list not null, trace_id text not null, trace_raw bytea " ..
      "not null%)", chk.out)
    local r = ks.run(dev, append_only(src, "meta_out"))
    assert.equal(0, r.rc, r.err)
    local rows = sorted_by(ks.afters(dev, "meta_out"), "off")
    assert.equal(2, #rows)
    assert.same({ key = "a", data = { x = 1 }, partition = 1, off = 0, trace_id = "t1", trace_raw = { 116, 49 },
      headers = { { key = "trace-id", value = { 116, 49 } }, { key = "other", value = cjson.null } } },
      { key = rows[1].key, data = rows[1].data, partition = rows[1].partition, off = rows[1].off,
        trace_id = rows[1].trace_id, trace_raw = rows[1].trace_raw, headers = rows[1].headers })
    assert.equal(cjson.null, rows[2].key)
    assert.same({ x = { 1, 2 } }, rows[2].data)
    assert.matches("^%d+%.000$", rows[1].timestamp)
  end)

  it("TEXT (invalid UTF-8 skipped and reported with its position), BYTES and CSV", function()
    ks.produce(dev, "text_in", { { value = "héllo" }, { value = "\255\254" }, { value = "ok" } })
    local r = ks.run(dev, append_only([[sg.source.kafka { connection = kafka, topic = "text_in", format = "text",
      on_decode_error = "skip" }]], "text_out"))
    assert.equal(0, r.rc, r.err)
    assert.matches("topic text_in partition 0 offset 1: ", r.err)
    local texts = {}
    for i, a in ipairs(ks.afters(dev, "text_out")) do texts[i] = a.text end
    table.sort(texts)
    assert.same({ "héllo", "ok" }, texts)

    ks.produce(dev, "bytes_in", { { value = "\0\1\255" } })
    r = ks.run(dev, append_only([[sg.source.kafka { connection = kafka, topic = "bytes_in", format = "bytes" }]],
      "bytes_out"))
    assert.equal(0, r.rc, r.err)
    assert.same({ { data = { 0, 1, 255 } } }, ks.afters(dev, "bytes_out"))

    ks.produce(dev, "csv_in", { { value = 'a;b;c' }, { value = '1;2' }, { value = 'x;"y;z";w' } })
    r = ks.run(dev, append_only([[sg.source.kafka { connection = kafka, topic = "csv_in",
      format = sg.csv { columns = 3, delimiter = ";" } }]], "csv_out"))
    assert.equal(0, r.rc, r.err)
    assert.matches("offset 1", r.err) -- the short record: skipped and reported
    assert.same({ { column1 = "a", column2 = "b", column3 = "c" }, { column1 = "x", column2 = "y;z", column3 = "w" } },
      sorted_by(ks.afters(dev, "csv_out"), "column1"))

    -- header = true: the first record names the columns and is not a row
    ks.produce(dev, "csvh_in", { { value = "name,qty" }, { value = "pen,2" }, { value = "ink,5" } })
    local src = [[sg.source.kafka { connection = kafka, topic = "csvh_in", format = sg.csv { header = true } }]]
    local chk = helpers.sinkgate("check " .. helpers.write_tmp(append_only(src, "csvh_out"), ".lua"), dev.env)
    assert.matches("csvh_in %(name text, qty text%)", chk.out)
    r = ks.run(dev, append_only(src, "csvh_out"))
    assert.equal(0, r.rc, r.err)
    assert.same({ { name = "ink", qty = "5" }, { name = "pen", qty = "2" } }, sorted_by(ks.afters(dev, "csvh_out"), "name"))
  end)

  it("Avro through the registry (python3-avro writer, Confluent framing)", function()
    local schema = { type = "record", name = "r", fields = { { name = "id", type = "long" },
      { name = "name", type = "string" }, { name = "score", type = { "null", "double" } } } }
    local id = ks.register(dev, "avro_in-value", schema)
    local vals = ks.avro(schema, id, { { id = 1, name = "one", score = 1.5 },
      { id = 2, name = "two", score = cjson.null } })
    ks.produce(dev, "avro_in", { { value = vals[1] }, { value = vals[2] } })
    local r = ks.run(dev, append_only([[sg.source.kafka { connection = kafka, topic = "avro_in",
      format = sg.avro { registry = csr } }]], "avro_out"))
    assert.equal(0, r.rc, r.err)
    assert.same({ { id = 1, name = "one", score = 1.5 }, { id = 2, name = "two", score = cjson.null } },
      sorted_by(ks.afters(dev, "avro_out"), "id"))
  end)

  it("Protobuf from a descriptor set (python3-protobuf writer)", function()
    local w = pbh.work()
    local p = io.popen(("PYTHONPATH=%s /usr/bin/python3 -c 'import sgtest_pb2; " ..
      "print(sgtest_pb2.Leaf(z=-5, tags=[\"a\", \"b\"]).SerializeToString().hex())'"):format(w))
    local hex = p:read("*l")
    p:close()
    ks.produce(dev, "pb_in", { { value = pbh.unhex(hex) } })
    local r = ks.run(dev, append_only(([[sg.source.kafka { connection = kafka, topic = "pb_in",
      format = sg.protobuf { message = "sgtest.Leaf", descriptor_set = %q } }]]):format(w .. "/all.fds"), "pb_out"))
    assert.equal(0, r.rc, r.err)
    assert.same({ { z = -5, tags = { "a", "b" } } }, ks.afters(dev, "pb_out"))
  end)

  it("Protobuf through the registry (schemaType PROTOBUF, Confluent framing with message indexes)", function()
    local proto = 'syntax = "proto3";\npackage shop;\nmessage Order { int64 id = 1; string item = 2; }\n'
    local status, body = helpers.http("POST", dev.registry .. "/subjects/pbr_in-value/versions",
      cjson.encode({ schema = proto, schemaType = "PROTOBUF" }))
    assert.equal(200, status, cjson.encode(body))
    local dir = helpers.tmpname("")
    os.execute("mkdir -p " .. dir)
    local f = io.open(dir .. "/order.proto", "w")
    f:write(proto)
    f:close()
    assert.is_true(os.execute(("protoc --python_out=%s -I%s order.proto"):format(dir, dir)) == 0 or nil)
    local p = io.popen(("PYTHONPATH=%s /usr/bin/python3 -c 'import order_pb2; " ..
      "print(order_pb2.Order(id=7, item=\"pen\").SerializeToString().hex())'"):format(dir))
    local hex = p:read("*l")
    p:close()
    local id = body.id
    local framed = string.char(0, 0, 0, math.floor(id / 256) % 256, id % 256, 0) .. pbh.unhex(hex)
    ks.produce(dev, "pbr_in", { { value = framed } })
    local r = ks.run(dev, append_only([[sg.source.kafka { connection = kafka, topic = "pbr_in",
      format = sg.protobuf { registry = csr } }]], "pbr_out"))
    assert.equal(0, r.rc, r.err)
    assert.same({ { id = 7, item = "pen" } }, ks.afters(dev, "pbr_out"))
  end)

  it("VALUE DECODING ERRORS = INLINE and START OFFSET", function()
    ks.produce(dev, "inl_in", { { key = "a", value = '{"v":1}' }, { key = "b", value = "{bad" },
      { key = "c", value = '{"v":3}' } })
    local src = [[sg.source.kafka { connection = kafka, topic = "inl_in", key_format = "text", value_format = "json",
      envelope = "upsert", value_decoding_errors = "inline" }]]
    local chk = helpers.sinkgate("check " .. helpers.write_tmp(upsert(src, "inl_out", "key"), ".lua"), dev.env)
    assert.matches("inl_in %(key text not null, data jsonb, error record%(description text%)%)", chk.out)
    local r = ks.run(dev, upsert(src, "inl_out", "key"))
    assert.equal(0, r.rc, r.err)
    local got = {}
    for _, m in ipairs(helpers.tail(dev, "inl_out")) do got[m.key.key] = m.value end
    assert.same({ key = "a", data = { v = 1 }, error = cjson.null }, got.a)
    assert.same({ key = "c", data = { v = 3 }, error = cjson.null }, got.c)
    assert.equal(cjson.null, got.b.data)
    assert.matches("invalid JSON", got.b.error.description)

    r = ks.run(dev, append_only([[sg.source.kafka { connection = kafka, topic = "inl_in", key_format = "text",
      value_format = "text", include = { key = true }, start_offset = { 1 } }]], "start_out"))
    assert.equal(0, r.rc, r.err)
    local keys = {}
    for i, a in ipairs(ks.afters(dev, "start_out")) do keys[i] = a.key end
    table.sort(keys)
    assert.same({ "b", "c" }, keys)
  end)

  it("UPSERT: state across restarts, deletes, and a null key's error state", function()
    ks.produce(dev, "up_in", { { key = "a", value = "1" }, { key = "b", value = "2" }, { key = "a", value = "3" },
      { key = "b" }, { value = "no key" } })
    local cfg = upsert([[sg.source.kafka { connection = kafka, topic = "up_in", key_format = "text",
      value_format = "text", envelope = "upsert" }]], "up_out", "key")
    local r = ks.run(dev, cfg)
    assert.equal(0, r.rc, r.err)
    assert.matches("source_error=a message with a null key %(partition 0, offset 4%)", r.err)
    local msgs = helpers.tail(dev, "up_out")
    assert.equal(1, #msgs) -- the snapshot: a = 3 (b was deleted)
    assert.same({ key = "a", text = "3" }, msgs[1].value)
    -- Restarted: the state is rebuilt from the topic, so deleting a and
    -- updating b (deleted) behave as if it had never stopped.
    ks.produce(dev, "up_in", { { key = "a" }, { key = "b", value = "4" }, { key = cjson.null } })
    r = ks.run(dev, cfg)
    assert.equal(0, r.rc, r.err)
    assert.matches("resuming at frontier", r.err)
    assert.not_matches("source_error=", r.err) -- the null/null record cleared it
    msgs = helpers.tail(dev, "up_out")
    assert.equal(3, #msgs)
    -- tail interleaves partitions as they arrive: the last message of a key
    -- is the one with the latest logical time (then offset), not the last line
    local last = {}
    for _, m in ipairs(msgs) do
      local t, k = tonumber(m.headers[1][2]), m.key.key
      if not last[k] or t > last[k].t or (t == last[k].t and m.offset > last[k].offset) then
        last[k] = { t = t, offset = m.offset, value = m.value }
      end
    end
    assert.same({ a = cjson.null, b = { key = "b", text = "4" } }, { a = last.a.value, b = last.b and last.b.value })
  end)

  it("refuses to resume offsets recorded for another source topic (a new timeline needs a new version)", function()
    ks.produce(dev, "moved_a", { { key = "a", value = "1" } })
    ks.produce(dev, "moved_b", { { key = "b", value = "2" } })
    local function cfg(topic, version, name)
      return HEAD .. ([[local src = sg.source.kafka { name = %q, connection = kafka, topic = %q, key_format = "text",
        value_format = "text", envelope = "upsert" }
      sg.sink "moved_out" { from = src, into = { connection = kafka, topic = "moved_out" }, key = { "key" },
        format = "json", envelope = "upsert", version = %d }]]):format(name or "orders", topic, version)
    end
    local r = ks.run(dev, cfg("moved_a", 1))
    assert.equal(0, r.rc, r.err)
    r = ks.run(dev, cfg("moved_b", 1)) -- same source name, another topic
    assert.equal(1, r.rc, r.err)
    assert.matches("committed progress holds offsets of topic moved_a, but the source now reads moved_b", r.err)
    r = ks.run(dev, cfg("moved_b", 1, "orders_b")) -- another input altogether
    assert.equal(1, r.rc, r.err)
    assert.matches("was written reading input orders, but this sink now reads orders_b", r.err)
    r = ks.run(dev, cfg("moved_b", 2)) -- a new version starts a new timeline: b's snapshot
    assert.equal(0, r.rc, r.err)
    local keys = {}
    for _, m in ipairs(helpers.tail(dev, "moved_out")) do keys[#keys + 1] = m.key.key end
    table.sort(keys)
    assert.same({ "a", "b" }, keys)
  end)

  it("UPSERT Avro key and value (the example's shape)", function()
    local kschema = "string"
    local vschema = { type = "record", name = "v", fields = { { name = "qty", type = "int" } } }
    local kid = ks.register(dev, "avup_in-key", kschema)
    local vid = ks.register(dev, "avup_in-value", vschema)
    local keys = ks.avro(kschema, kid, { "x", "y" })
    local vals = ks.avro(vschema, vid, { { qty = 1 }, { qty = 2 }, { qty = 3 } })
    ks.produce(dev, "avup_in", { { key = keys[1], value = vals[1] }, { key = keys[2], value = vals[2] },
      { key = keys[1], value = vals[3] } })
    local r = ks.run(dev, upsert([[sg.source.kafka { connection = kafka, topic = "avup_in",
      format = sg.avro { registry = csr }, envelope = "upsert" }]], "avup_out", "key"))
    assert.equal(0, r.rc, r.err)
    local got = {}
    for _, m in ipairs(helpers.tail(dev, "avup_out")) do got[m.key.key] = m.value end
    assert.same({ x = { key = "x", qty = 3 }, y = { key = "y", qty = 2 } }, got)
    -- A newer latest value schema (v2: an extra defaulted field) would
    -- change the columns under the sink: the resumed sink reads with the
    -- reader schema its progress record names (v1), so its columns stay,
    -- and messages written with v2 resolve against v1.
    local v2 = { type = "record", name = "v", fields = { { name = "qty", type = "int" },
      { name = "note", type = "string", default = "" } } }
    local vid2 = ks.register(dev, "avup_in-value", v2)
    assert.is_not.equal(vid, vid2)
    ks.produce(dev, "avup_in", { { key = ks.avro(kschema, kid, { "z" })[1],
      value = ks.avro(v2, vid2, { { qty = 4, note = "written with v2" } })[1] } })
    r = ks.run(dev, upsert([[sg.source.kafka { connection = kafka, topic = "avup_in",
      format = sg.avro { registry = csr }, envelope = "upsert" }]], "avup_out", "key"))
    assert.equal(0, r.rc, r.err)
    assert.matches(("the committed progress was read with avup_in%%-value id %d, not the latest"):format(vid), r.err)
    assert.matches(("reading with schema id %d, recorded in the sink's progress; the latest version is id %d")
      :format(vid, vid2), r.err)
    got = {}
    for _, m in ipairs(helpers.tail(dev, "avup_out")) do got[m.key.key] = m.value end
    assert.same({ x = { key = "x", qty = 3 }, y = { key = "y", qty = 2 }, z = { key = "z", qty = 4 } }, got)
    -- A new sink (a new timeline, as after a version bump) reads with the latest: v2's columns.
    r = ks.run(dev, upsert([[sg.source.kafka { connection = kafka, topic = "avup_in",
      format = sg.avro { registry = csr }, envelope = "upsert" }]], "avup_out2", "key"))
    assert.equal(0, r.rc, r.err)
    got = {}
    for _, m in ipairs(helpers.tail(dev, "avup_out2")) do got[m.key.key] = m.value end
    assert.same({ key = "z", qty = 4, note = "written with v2" }, got.z)
    assert.same({ key = "x", qty = 3, note = "" }, got.x)
  end)

  it("DEBEZIUM JSON: before/after, deletes, duplicates dropped by source position", function()
    local function ev(op, before, after, lsn)
      return cjson.encode({ op = op, before = before or cjson.null, after = after or cjson.null,
        source = { lsn = lsn } })
    end
    local k1, k2 = '{"id":1}', '{"id":2}'
    ks.produce(dev, "dbz_in", {
      { key = k1, value = ev("c", nil, { id = 1, name = "a" }, 10) },
      { key = k2, value = ev("c", nil, { id = 2, name = "b" }, 11) },
      { key = k1, value = ev("u", { id = 1, name = "a" }, { id = 1, name = "a2" }, 12) },
      { key = k1, value = ev("u", { id = 1, name = "a" }, { id = 1, name = "a2" }, 12) }, -- redelivered
      { key = k2, value = ev("d", { id = 2, name = "b" }, nil, 13) },
      { key = k2 }, -- the tombstone after a delete
    })
    local r = ks.run(dev, upsert([[sg.source.kafka { connection = kafka, topic = "dbz_in", key_format = "json",
      value_format = "json", envelope = "debezium", columns = { { "id", "bigint", not_null = true }, { "name", "text" } },
      keys = { { "id" } } }]], "dbz_out", "id"))
    assert.equal(0, r.rc, r.err)
    local msgs = helpers.tail(dev, "dbz_out")
    assert.equal(1, #msgs)
    assert.same({ id = 1, name = "a2" }, msgs[1].value)
  end)

  it("DEBEZIUM JSON with the schema/payload wrapper: columns from the embedded schema", function()
    local schema = { type = "struct", fields = {
      { field = "before", type = "struct", optional = true, fields = {
        { field = "id", type = "int64", optional = false }, { field = "name", type = "string", optional = true } } },
      { field = "after", type = "struct", optional = true, fields = {
        { field = "id", type = "int64", optional = false }, { field = "name", type = "string", optional = true } } },
      { field = "op", type = "string", optional = false } } }
    local function ev(op, before, after)
      return cjson.encode({ schema = schema, payload = { op = op, before = before or cjson.null,
        after = after or cjson.null } })
    end
    ks.produce(dev, "dbzw_in", { { key = '{"id":1}', value = ev("c", nil, { id = 1, name = "a" }) },
      { key = '{"id":1}', value = ev("u", { id = 1, name = "a" }, { id = 1, name = "b" }) } })
    local src = [[sg.source.kafka { connection = kafka, topic = "dbzw_in", key_format = "json", value_format = "json",
      envelope = "debezium", keys = { { "id" } } }]]
    local chk = helpers.sinkgate("check " .. helpers.write_tmp(upsert(src, "dbzw_out", "id"), ".lua"), dev.env)
    assert.matches("dbzw_in %(id bigint not null, name text%)", chk.out)
    local r = ks.run(dev, upsert(src, "dbzw_out", "id"))
    assert.equal(0, r.rc, r.err)
    local msgs = helpers.tail(dev, "dbzw_out")
    assert.equal(1, #msgs)
    assert.same({ id = 1, name = "b" }, msgs[1].value)
  end)

  it("DEBEZIUM Avro: the after record's fields, keys from the key schema, duplicates dropped", function()
    local value = { type = "record", name = "Value", fields = { { name = "id", type = "long" },
      { name = "name", type = { "null", "string" } } } }
    local env = { type = "record", name = "Envelope", fields = {
      { name = "before", type = { "null", value } }, { name = "after", type = { "null", "Value" } },
      { name = "source", type = { type = "record", name = "Source", fields = { { name = "lsn", type = { "null", "long" } } } } },
      { name = "op", type = "string" } } }
    local kschema = { type = "record", name = "Key", fields = { { name = "id", type = "long" } } }
    local kid, vid = ks.register(dev, "dbza_in-key", kschema), ks.register(dev, "dbza_in-value", env)
    local k = ks.avro(kschema, kid, { { id = 1 }, { id = 2 } })
    local function img(id, name) return { id = id, name = name } end
    local v = ks.avro(env, vid, {
      { before = cjson.null, after = img(1, "a"), source = { lsn = 10 }, op = "c" },
      { before = cjson.null, after = img(2, "b"), source = { lsn = 11 }, op = "c" },
      { before = img(1, "a"), after = img(1, "a2"), source = { lsn = 12 }, op = "u" },
      { before = img(1, "a"), after = img(1, "a2"), source = { lsn = 12 }, op = "u" },
      { before = img(2, "b"), after = cjson.null, source = { lsn = 13 }, op = "d" },
    })
    ks.produce(dev, "dbza_in", { { key = k[1], value = v[1] }, { key = k[2], value = v[2] }, { key = k[1], value = v[3] },
      { key = k[1], value = v[4] }, { key = k[2], value = v[5] } })
    local src = [[sg.source.kafka { connection = kafka, topic = "dbza_in", format = sg.avro { registry = csr },
      envelope = "debezium" }]]
    local chk = helpers.sinkgate("check " .. helpers.write_tmp(upsert(src, "dbza_out", "id"), ".lua"), dev.env)
    assert.equal(0, chk.rc, chk.err)
    assert.matches("dbza_in %(id bigint not null, name text%)", chk.out)
    local r = ks.run(dev, upsert(src, "dbza_out", "id"))
    assert.equal(0, r.rc, r.err)
    local msgs = helpers.tail(dev, "dbza_out")
    assert.equal(1, #msgs)
    assert.same({ id = 1, name = "a2" }, msgs[1].value)
  end)

  it("commits offsets to group <group_id_prefix><sink> for lag monitoring (never read back)", function()
    ks.produce(dev, "lag_in", { { value = "a" }, { value = "b" }, { value = "c", partition = 1 } })
    local r = ks.run(dev, append_only([[sg.source.kafka { connection = kafka, topic = "lag_in", format = "text",
      group_id_prefix = "mon-" }]], "lag_out"))
    assert.equal(0, r.rc, r.err)
    local p = io.popen(("/usr/bin/python3 -c '%s' %s"):format([[
import sys
from confluent_kafka import Consumer, TopicPartition
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": "mon-lag_out"})
print(",".join(str(tp.offset) for tp in c.committed([TopicPartition("lag_in", 0), TopicPartition("lag_in", 1)], timeout=10)))
c.close()
]], dev.brokers))
    local committed = p:read("*l")
    p:close()
    assert.equal("2,1", committed)
  end)

  it("a new sink without snapshot starts at the ends, with UPSERT state rebuilt from what was there", function()
    ks.produce(dev, "nosnap_in", { { key = "a", value = "1" }, { key = "b", value = "2" } })
    local cfg = HEAD .. [[
local src = sg.source.kafka { connection = kafka, topic = "nosnap_in", key_format = "text", value_format = "text",
  envelope = "upsert" }
sg.sink "nosnap_out" { from = src, into = { connection = kafka, topic = "nosnap_out" }, key = { "key" },
  format = "json", envelope = "debezium", snapshot = false }
]]
    local path = helpers.write_tmp(cfg, ".lua")
    local pid = helpers.spawn("run " .. path, dev.env)
    require("socket").sleep(2.5)
    ks.produce(dev, "nosnap_in", { { key = "a", value = "10" } })
    require("socket").sleep(2)
    os.execute("kill -TERM " .. pid)
    assert.is_true(helpers.wait_exit(pid, 15))
    os.remove(path)
    local msgs = helpers.tail(dev, "nosnap_out")
    assert.equal(1, #msgs) -- nothing of what was there; the update names the row it replaces
    assert.same({ key = "a", text = "1" }, msgs[1].value.before)
    assert.same({ key = "a", text = "10" }, msgs[1].value.after)
  end)

  it("undecodable messages: dead-lettered with their bytes and the error, or stalling the source", function()
    ks.produce(dev, "bad_in", { { key = "k", value = '{"ok":1}' }, { key = "k2", value = "{nope",
      headers = { { "h", "v" } } }, { key = "k3", value = '{"ok":3}' } })
    local r = ks.run(dev, append_only([[sg.source.kafka { connection = kafka, topic = "bad_in", format = "json",
      on_decode_error = "dead_letter", dead_letter = { topic = "bad_dlq" } }]], "bad_out"))
    assert.equal(0, r.rc, r.err)
    assert.equal(2, #ks.afters(dev, "bad_out"))
    local dl = helpers.tail(dev, "bad_dlq", "--key-format text --value-format text")
    assert.equal(1, #dl)
    assert.equal("k2", dl[1].key)
    assert.equal("{nope", dl[1].value)
    local h = {}
    for _, x in ipairs(dl[1].headers) do h[x[1]] = x[2] end
    assert.equal("v", h.h)
    assert.equal("bad_in", h["sinkgate-source-topic"])
    assert.equal("1", h["sinkgate-source-offset"])
    assert.is_string(h["sinkgate-error"])

    r = ks.run(dev, upsert([[sg.source.kafka { connection = kafka, topic = "bad_in", key_format = "text",
      value_format = "json", envelope = "upsert", upsert_state_limit = 100 }]], "limit_out", "key"))
    assert.matches("past upsert_state_limit %(100%)", r.err)
    assert.matches("stalled", r.err)

    r = ks.run(dev, append_only([[sg.source.kafka { connection = kafka, topic = "bad_in", format = "json" }]],
      "stall_out"))
    assert.matches("stalled", r.err)
    assert.matches("topic bad_in partition 0 offset 1", r.err)
    assert.same({ { data = { ok = 1 } } }, ks.afters(dev, "stall_out"))
  end)

  it("the examples run against sinkgate dev", function()
    local kid = ks.register(dev, "inventory-key", "string")
    local vschema = { type = "record", name = "item", fields = { { name = "sku", type = "string" },
      { name = "qty", type = "int" } } }
    local vid = ks.register(dev, "inventory-value", vschema)
    local keys = ks.avro("string", kid, { "s1", "s2" })
    local vals = ks.avro(vschema, vid, { { sku = "s1", qty = 5 }, { sku = "s2", qty = 7 } })
    ks.produce(dev, "inventory", { { key = keys[1], value = vals[1] }, { key = keys[2], value = vals[2] },
      { key = keys[2] } })
    local r = helpers.sinkgate("run --duration 2s examples/kafka_upsert_avro.lua", dev.env)
    assert.equal(0, r.rc, r.err)
    local msgs = helpers.tail(dev, "inventory-json")
    assert.equal(1, #msgs)
    assert.same({ key = "s1", sku = "s1", qty = 5, offset = 0 }, msgs[1].value)

    ks.produce(dev, "pg.public.orders", {
      { key = '{"id":1}', value = cjson.encode({ op = "c", before = cjson.null,
        after = { id = 1, name = "a", total = "9.50" }, source = { lsn = 10 } }) },
      { key = '{"id":1}', value = "not json" },
    })
    r = helpers.sinkgate("run --duration 2s examples/debezium_cdc.lua", dev.env)
    assert.equal(0, r.rc, r.err)
    msgs = helpers.tail(dev, "orders-current")
    assert.equal(1, #msgs)
    assert.same({ id = 1, name = "a", total = "9.50" }, msgs[1].value)
    assert.equal(1, #helpers.tail(dev, "orders-undecodable", "--value-format text"))
  end)
end)
