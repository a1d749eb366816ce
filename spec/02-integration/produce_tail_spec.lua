-- Messages produced by an independent client (spec/helpers/produce.py:
-- python3-confluent-kafka, python3-avro, python3-protobuf, Confluent
-- framing written by hand), read back with `sinkgate tail` and its
-- source decoders, and compared with what was sent.
local helpers = require "helpers"
local cjson = require "cjson"

local AVRO = {
  type = "record", name = "order", namespace = "shop",
  fields = {
    { name = "id", type = "long" },
    { name = "item", type = "string" },
    { name = "note", type = { "null", "string" }, default = cjson.null },
    { name = "ok", type = "boolean" },
  },
}

local PROTO = [[
syntax = "proto3";
package shop;
message Order {
  message Line { string sku = 1; int32 qty = 2; }
  int64 id = 1;
  string item = 2;
  repeated Line lines = 3;
  bool rush = 4;
}
]]

-- The messages of a topic as tail prints them, in (partition, offset) order.
local function tail(dev, topic, args)
  local r = helpers.sinkgate("tail " .. helpers.q(topic) .. " --timeout 5 " .. (args or ""), dev.env)
  local msgs = {}
  for line in r.out:gmatch("[^\n]+") do msgs[#msgs + 1] = cjson.decode(line) end
  table.sort(msgs, function(a, b) return a.partition * 1e9 + a.offset < b.partition * 1e9 + b.offset end)
  return msgs, r
end

-- tail's messages keyed by their (decoded) key.
local function by_key(msgs)
  local out = {}
  for _, m in ipairs(msgs) do out[type(m.key) == "table" and cjson.encode(m.key) or tostring(m.key)] = m end
  return out
end

describe("an independent producer read back by sinkgate tail", function()
  local dev
  setup(function() dev = helpers.dev_start() end)
  teardown(function() helpers.dev_stop(dev) end)

  it("Avro (registry, Confluent framing by hand): keys, values, nulls, tombstones, headers", function()
    local sent = {
      { key = "a", value = { id = 1, item = "pen", note = "blue", ok = true }, headers = { src = "py" } },
      { key = "b", value = { id = -1234567890123, item = "caf\195\169", note = cjson.null, ok = false } },
      { key = "a", value = cjson.null },
    }
    local res = helpers.produce(dev, "py_avro", sent, { key_format = "text", value_format = { type = "avro", schema = AVRO } })
    assert.equal(3, res.produced)
    assert.is_number(res.value_id)
    -- Default tail: the writer schema, by the id in each message's header.
    local msgs, r = tail(dev, "py_avro", "--key-format text")
    assert.equal(0, r.rc, r.err)
    assert.equal(3, #msgs)
    for i, m in ipairs(msgs) do
      local pos = res.positions
      local j -- the sent message at this partition/offset
      for k = 1, #pos do if pos[k][1] == m.partition and pos[k][2] == m.offset then j = k end end
      assert.is_number(j, "message " .. i .. " was not sent")
      assert.equal(sent[j].key, m.key)
      assert.same(sent[j].headers and { { "src", "py" } } or {}, m.headers)
      if sent[j].value == cjson.null then
        assert.equal(cjson.null, m.value)
      else
        -- Avro's JSON encoding: a non-null union branch is wrapped in its type name.
        local want = {}
        for k, v in pairs(sent[j].value) do want[k] = v end
        if want.note ~= cjson.null then want.note = { string = want.note } end
        assert.same(want, m.value)
      end
    end
    -- The sources' decoder: the columns of the latest shop.order schema.
    msgs, r = tail(dev, "py_avro", "--key-format text --value-format avro --as-source")
    assert.equal(0, r.rc, r.err)
    local rows = {}
    for _, m in ipairs(msgs) do if m.value ~= cjson.null then rows[m.value.id] = m.value end end
    assert.same({ id = 1, item = "pen", note = "blue", ok = true }, rows[1])
    assert.same({ id = -1234567890123, item = "café", note = cjson.null, ok = false }, rows[-1234567890123])
    for _, m in ipairs(msgs) do assert.is_string(m.key.text) end -- keys as the TEXT decoder's row
  end)

  it("Protobuf via the registry (schemaType PROTOBUF, message indexes)", function()
    local sent = {
      { key = "k1", value = { id = "7", item = "box", lines = { { sku = "x", qty = 2 }, { sku = "y" } }, rush = true } },
      { key = "k2", value = { id = "-3", item = "" } },
    }
    local res = helpers.produce(dev, "py_pb", sent, { key_format = "text",
      value_format = { type = "protobuf", proto = PROTO, message = "shop.Order" } })
    assert.equal(2, res.produced)
    local msgs, r = tail(dev, "py_pb", "--key-format text --value-format protobuf")
    assert.equal(0, r.rc, r.err)
    local got = by_key(msgs)
    assert.same({ id = 7, item = "box", lines = { { sku = "x", qty = 2 }, { sku = "y", qty = 0 } }, rush = true },
      got.k1.value)
    assert.same({ id = -3, item = "", lines = {}, rush = false }, got.k2.value)
  end)

  it("Protobuf with an inline descriptor set (no framing)", function()
    local dir = helpers.tmpname()
    assert(os.execute("mkdir -p " .. dir))
    local f = assert(io.open(dir .. "/order.proto", "w"))
    f:write(PROTO)
    f:close()
    local fds = dir .. "/order.fds"
    assert(os.execute(("protoc --include_imports --descriptor_set_out=%s -I%s order.proto"):format(fds, dir)))
    helpers.produce(dev, "py_pb_inline", { { value = { id = "42", item = "lamp", lines = { { sku = "z", qty = -1 } } } } },
      { value_format = { type = "protobuf", proto = PROTO, message = "shop.Order", registry = false } })
    local msgs, r = tail(dev, "py_pb_inline",
      "--value-format protobuf --descriptor-set " .. helpers.q(fds) .. " --message shop.Order")
    os.execute("rm -rf " .. helpers.q(dir))
    assert.equal(0, r.rc, r.err)
    assert.same({ { id = 42, item = "lamp", lines = { { sku = "z", qty = -1 } }, rush = false } }, { msgs[1].value })
    -- The registry framing on the same bytes is an error, not a silent misread.
    r = helpers.sinkgate("tail py_pb --timeout 5 --value-format protobuf --descriptor-set " .. helpers.q(fds)
      .. " --message shop.Order", dev.env)
    assert.equal(1, r.rc)
  end)

  it("CSV, JSON and text values, with partitions chosen", function()
    helpers.produce(dev, "py_csv", { { value = "1,pen", partition = 2 }, { value = "2,ink,extra", partition = 2 } })
    local msgs, r = tail(dev, "py_csv", "--value-format csv --csv-header id,item")
    assert.same({ { id = "1", item = "pen" }, 2 }, { msgs[1].value, msgs[1].partition })
    assert.matches("CSV record has 3 columns, expected 2", msgs[2].value.error or "")
    assert.equal(1, r.rc) -- a row a source would skip is reported
    helpers.produce(dev, "py_json", { { key = { n = 1 }, value = { a = { 1, 2 }, s = "x" } } },
      { key_format = "json", value_format = "json" })
    msgs, r = tail(dev, "py_json", "--key-format json --value-format json --as-source")
    assert.equal(0, r.rc, r.err)
    assert.same({ data = { n = 1 } }, msgs[1].key)
    assert.same({ data = { a = { 1, 2 }, s = "x" } }, msgs[1].value)
    msgs = tail(dev, "py_json", "--value-format text --as-source")
    assert.is_string(msgs[1].value.text) -- the JSON text as sent (key order is the producer's)
    assert.same({ a = { 1, 2 }, s = "x" }, cjson.decode(msgs[1].value.text))
  end)

  it("refuses bad decoder options with usage errors", function()
    local cases = {
      { "--value-format csv", "csv needs --csv-columns N or --csv-header" },
      { "--csv-columns 2", "need --key-format/--value-format csv" },
      { "--value-format csv --csv-columns 0", "must be an integer 1..10000" },
      { "--value-format protobuf --message shop.Order", "go together" },
      { "--value-format xml", "must be auto, json, text, bytes, avro, protobuf or csv" },
    }
    for _, c in ipairs(cases) do
      local r = helpers.sinkgate("tail py_csv --timeout 2 " .. c[1], dev.env)
      assert.equal(2, r.rc, c[1])
      assert.matches(c[2], r.err, 1, true)
    end
    local r = helpers.sinkgate("tail py_csv --timeout 2 --value-format protobuf", dev.env)
    assert.equal(1, r.rc)
    assert.matches("py_csv%-value", r.err)
  end)
end)
