-- sg.source.kafka's stop_at_end: a bounded read (benchmarks, backfills)
-- ends at the high watermarks the source saw, and `sinkgate run` exits by
-- itself once that is committed, with every message's effect in the sink.
local helpers = require "helpers"
local ks = require "helpers.kafka_source"

local CONFIG = [[
local sg = require "sinkgate"
local kafka = sg.kafka_connection { brokers = sg.env("SINKGATE_BROKERS"), admin_timeout = "200ms" }
local src = sg.source.kafka { connection = kafka, topic = "stop_in", key_format = "text", value_format = "json",
  envelope = "upsert", stop_at_end = true }
sg.sink "stop_out" { from = src, into = { connection = kafka, topic = "stop_out" }, key = { "key" }, format = "json",
  envelope = "upsert" }
]]

describe("sg.source.kafka stop_at_end", function()
  local dev
  setup(function() dev = helpers.dev_start() end)
  teardown(function() helpers.dev_stop(dev) end)

  it("ends once everything up to the high watermarks is committed, and run exits 0", function()
    ks.produce(dev, "stop_in", {
      { key = "a", value = '{"v":1}', partition = 0 }, { key = "b", value = '{"v":2}', partition = 1 },
      { key = "a", value = '{"v":3}', partition = 0 }, { key = "b", partition = 1 }, -- b deleted
      { key = "c", value = '{"v":4}', partition = 2 },
    })
    local t0 = os.time()
    -- --duration only as a safety net: without stop_at_end this run would last all of it
    local r = ks.run(dev, CONFIG, "120s")
    assert.equal(0, r.rc, r.err)
    assert.is_true(os.time() - t0 < 60, "the run should end by itself, long before --duration")
    assert.matches("sink stop_out: done", r.err)
    local got = {}
    for _, m in ipairs(helpers.tail(dev, "stop_out")) do got[m.key.key] = m.value.data and m.value.data.v end
    assert.same({ a = 3, c = 4 }, got)
  end)
end)
