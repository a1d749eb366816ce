-- `sinkgate tail` on bad input: a missing topic, bad --max/--timeout,
-- --follow --timeout, Avro decimals, Avro without a registry, and a format
-- that does not match the data. Each is a clear error or a defined result.
local helpers = require "helpers"
local socket = require "socket"
local cjson = require "cjson"

local function run_config(dev, body)
  local path = helpers.write_tmp([[
local sg = require "sinkgate"
local kafka = sg.kafka_connection { brokers = sg.env("SINKGATE_BROKERS"), admin_timeout = "200ms" }
local csr = sg.registry_connection { url = sg.env("SINKGATE_REGISTRY"), retries = 0 }
]] .. body, ".lua")
  local r = helpers.sinkgate("run --duration 400ms " .. path, dev.env)
  os.remove(path)
  assert.equal(0, r.rc, r.err)
end

describe("sinkgate tail", function()
  local dev
  setup(function()
    dev = helpers.dev_start("--topics tail_dec:1,tail_json:1")
    run_config(dev, [[
local t = sg.source.table {
  columns = { { "id", "bigint", not_null = true }, { "price", "numeric(12,3)", not_null = true },
    { "big", "numeric(39,0)" } }, keys = { { "id" } },
  rows = { { id = 1, price = "123.450", big = "-170141183460469231731687303715884105727" },
    { id = 2, price = "-0.5" }, { id = 3, price = "7" } },
}
sg.sink "tail_dec" { from = t, into = { connection = kafka, topic = "tail_dec" }, key = { "id" },
  format = sg.avro { registry = csr }, envelope = "upsert" }
sg.sink "tail_json" { from = t, into = { connection = kafka, topic = "tail_json" }, key = { "id" },
  format = "json", envelope = "upsert" }]])
  end)
  teardown(function() helpers.dev_stop(dev) end)

  it("fails clearly on a topic that does not exist, and does not create it", function()
    for _ = 1, 2 do
      local r = helpers.sinkgate("tail no_such_topic --timeout 2", dev.env)
      assert.equal(1, r.rc)
      assert.equal("", r.out)
      assert.matches("sinkgate tail: topic no_such_topic does not exist", r.err, 1, true)
    end
  end)

  it("rejects bad --max and --timeout with usage status 2", function()
    for _, args in ipairs({ "--max abc", "--max -1", "--max 0", "--max 1.5", "--timeout abc", "--timeout -3",
      "--timeout 0" }) do
      local r = helpers.sinkgate("tail tail_json " .. args, dev.env)
      assert.equal(2, r.rc, args .. ": " .. r.err)
      assert.matches("must be a positive", r.err, 1, true)
      assert.equal("", r.out)
    end
    local r = helpers.sinkgate("tail tail_json --max 2", dev.env)
    assert.equal(0, r.rc, r.err)
    assert.equal(2, select(2, r.out:gsub("\n", "")))
  end)

  it("--follow --timeout S ends normally after S seconds without a new message", function()
    local t0 = socket.gettime()
    local r = helpers.sinkgate("tail tail_json --follow --timeout 1.5", dev.env)
    local took = socket.gettime() - t0
    assert.equal(0, r.rc, r.err)
    assert.equal(3, select(2, r.out:gsub("\n", "")))
    assert.is_true(took >= 1.4 and took < 6, ("took %.1f s"):format(took))
  end)

  it("prints Avro decimals as decimal strings with the schema's scale", function()
    local msgs = helpers.tail(dev, "tail_dec")
    local by_id = {}
    for _, m in ipairs(msgs) do by_id[m.key.id] = m.value end
    assert.equal("123.450", by_id[1].price)
    assert.same({ bytes = "-170141183460469231731687303715884105727" }, by_id[1].big)
    assert.equal("-0.500", by_id[2].price)
    assert.equal("7.000", by_id[3].price)
    assert.equal(cjson.null, by_id[3].big)
  end)

  it("without a registry shows Avro as base64 with one warning; an unreachable one is an error", function()
    local env = { SINKGATE_BROKERS = dev.brokers }
    local r = helpers.sinkgate("tail tail_dec --timeout 5", env)
    assert.equal(0, r.rc, r.err)
    local n = 0
    for line in r.out:gmatch("[^\n]+") do
      n = n + 1
      assert.is_string(cjson.decode(line).value.base64)
    end
    assert.equal(3, n)
    assert.equal(1, select(2, r.err:gsub("looks like Confluent%-framed Avro", "")), r.err)
    r = helpers.sinkgate("tail tail_dec --timeout 5 --registry http://127.0.0.1:1", env)
    assert.equal(1, r.rc)
    assert.matches("registry http://127.0.0.1:1 unreachable", r.err, 1, true)
    assert.equal("", r.out)
    r = helpers.sinkgate("tail tail_dec --timeout 5 --value-format avro", env)
    assert.equal(1, r.rc)
    assert.matches("no registry to decode Avro", r.err, 1, true)
  end)

  it("--value-format json on non-JSON data is an error per message, never a silent base64", function()
    local r = helpers.sinkgate("tail tail_dec --timeout 5 --value-format json", dev.env)
    assert.equal(1, r.rc)
    local n = 0
    for line in r.out:gmatch("[^\n]+") do
      n = n + 1
      local m = cjson.decode(line)
      assert.matches("^not JSON", m.value.error)
      assert.is_nil(m.value.base64)
    end
    assert.equal(3, n)
    assert.matches("partition 0 offset %d+: value: not JSON", r.err)
    assert.matches("3 key%(s%)/value%(s%) could not be decoded", r.err)
    -- and JSON data under --value-format avro
    r = helpers.sinkgate("tail tail_json --timeout 5 --value-format avro", dev.env)
    assert.equal(1, r.rc)
    assert.matches("not Confluent%-framed Avro", r.err)
  end)
end)
