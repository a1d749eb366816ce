-- Avro sinks end to end: schemas published before data, Confluent framing,
-- partitioning without the schema id, and the stalled state on 409.
local helpers = require "helpers"
local sg = require "sinkgate"
local mime = require "mime"
local cjson = require "cjson"

local function config(topic, extra_avro, envelope)
  return helpers.write_tmp(([[
local sg = require "sinkgate"
local kafka = sg.kafka_connection { brokers = sg.env("SINKGATE_BROKERS"), admin_timeout = "200ms" }
local csr = sg.registry_connection { url = sg.env("SINKGATE_REGISTRY"), retries = 0 }
local bids = sg.source.load_generator { kind = "auction", relation = "bids", tick = "50ms", rows_per_tick = 3 }
sg.sink %q { from = bids, into = { connection = kafka, topic = %q }, key = { "id" },
  format = sg.avro { registry = csr %s }, envelope = %q }
]]):format(topic, topic, extra_avro or "", envelope or "upsert"), ".lua")
end

describe("Avro sinks", function()
  local dev
  setup(function() dev = helpers.dev_start("--topics avro_up:4,avro_stall:4,avro_dbz:4") end)
  teardown(function() helpers.dev_stop(dev) end)

  it("publish schemas first and frame every message with the registered ids", function()
    local path = config("avro_up", ', key_compatibility_level = "BACKWARD"')
    local r = helpers.sinkgate("run --duration 700ms " .. path, dev.env)
    os.remove(path)
    assert.equal(0, r.rc, r.err)
    local _, key = helpers.http("GET", dev.registry .. "/subjects/avro_up-key/versions/latest")
    local _, value = helpers.http("GET", dev.registry .. "/subjects/avro_up-value/versions/latest")
    local _, cfg = helpers.http("GET", dev.registry .. "/config/avro_up-key")
    assert.equal("BACKWARD", cfg.compatibilityLevel)
    local raw = helpers.tail(dev, "avro_up", "--key-format bytes --value-format bytes")
    local decoded = helpers.tail(dev, "avro_up")
    assert.is_true(#raw > 10)
    assert.equal(#raw, #decoded)
    local by_offset = {}
    for _, m in ipairs(decoded) do by_offset[m.partition .. ":" .. m.offset] = m end
    local tombstones = 0
    for _, m in ipairs(raw) do
      local d = by_offset[m.partition .. ":" .. m.offset]
      local k = mime.unb64(m.key.base64)
      assert.equal(string.char(0, 0, 0, 0, key.id), k:sub(1, 5))
      -- the partition hashes the key without its 5-byte header
      assert.equal(tonumber(sg.hash.seahash(k:sub(6)) % 4), m.partition)
      if m.value == cjson.null then -- bids expire: tombstones carry only the key
        tombstones = tombstones + 1
      else
        assert.equal(string.char(0, 0, 0, 0, value.id), mime.unb64(m.value.base64):sub(1, 5))
        assert.equal(d.key.id, d.value.id)
        assert.is_number(d.value.bid_time)
      end
    end
    assert.is_true(#raw - tombstones > 10)
  end)

  it("stall on an incompatible schema, produce nothing, and recover when allowed", function()
    -- An earlier, different value schema under FULL compatibility makes ours a 409.
    local old = '{"type":"record","name":"envelope","fields":[{"name":"other","type":"string"}]}'
    assert.equal(200, (helpers.http("POST", dev.registry .. "/subjects/avro_stall-value/versions",
      require("cjson").encode({ schema = old }))))
    assert.equal(200, (helpers.http("PUT", dev.registry .. "/config/avro_stall-value", '{"compatibility":"FULL"}')))
    local path = config("avro_stall")
    local pid, log = helpers.spawn("run --status-interval 200ms " .. path, dev.env)
    local socket = require "socket"
    local deadline = socket.gettime() + 10
    while not helpers.read(log):find("stalled: register avro_stall%-value: .-%(error 409%)") and socket.gettime() < deadline do
      socket.sleep(0.1)
    end
    assert.matches("stalled: register avro_stall%-value: Schema being registered is incompatible", helpers.read(log))
    assert.equal(0, #helpers.tail(dev, "avro_stall")) -- nothing produced while stalled
    assert.equal(200, (helpers.http("PUT", dev.registry .. "/config/avro_stall-value", '{"compatibility":"NONE"}')))
    deadline = socket.gettime() + 15
    while not helpers.read(log):find("schemas registered") and socket.gettime() < deadline do socket.sleep(0.1) end
    socket.sleep(0.3)
    os.execute("kill -TERM " .. pid)
    assert.is_true(helpers.wait_exit(pid, 20))
    local out = helpers.read(log)
    os.remove(path)
    local rows = helpers.final_status(out).messages
    assert.is_true(rows > 0, out)
    local _, latest = helpers.http("GET", dev.registry .. "/subjects/avro_stall-value/versions/latest")
    local raw = helpers.tail(dev, "avro_stall", "--value-format bytes")
    assert.equal(rows, #raw)
    for _, m in ipairs(raw) do
      if m.value ~= cjson.null then
        assert.equal(string.char(0, 0, 0, 0, latest.id), mime.unb64(m.value.base64):sub(1, 5))
      end
    end
  end)

  it("write Debezium envelopes avro-c decodes", function()
    local path = config("avro_dbz", nil, "debezium")
    local r = helpers.sinkgate("run --duration 800ms " .. path, dev.env)
    os.remove(path)
    assert.equal(0, r.rc, r.err)
    local msgs = helpers.tail(dev, "avro_dbz")
    assert.is_true(#msgs > 0)
    local deletes = 0
    for _, m in ipairs(msgs) do
      local side = m.value.after ~= cjson.null and m.value.after or m.value.before
      assert.equal(m.key.id, side.row.id)
      if m.value.after == cjson.null then deletes = deletes + 1 end
    end
    assert.is_true(#msgs > deletes)
  end)
end)
