-- Views over a Kafka source: a stateless view reads the source's rows (its
-- upsert snapshot consolidated), and the sink's progress record keeps the
-- source's offsets; stateful views over Kafka sources are refused by check.
local helpers = require "helpers"

local INPUT = [[
{"key": "{\"id\": 1}", "value": "{\"id\": 1, \"v\": 10}"}
{"key": "{\"id\": 2}", "value": "{\"id\": 2, \"v\": 20}"}
{"key": "{\"id\": 1}", "value": "{\"id\": 1, \"v\": 11}"}
{"key": "{\"id\": 3}", "value": null}
]]

local function config(view, topic)
  return helpers.write_tmp(([[
local sg = require "sinkgate"
local kafka = sg.kafka_connection { brokers = sg.env("SINKGATE_BROKERS"), admin_timeout = "200ms" }
local src = sg.source.kafka { connection = kafka, topic = "kview_in", format = "json", envelope = "upsert" }
local v = sg.view { from = src, %s }
sg.sink "kview" { from = v, into = { connection = kafka, topic = %q }, key = { "k" }, format = "json",
  envelope = "upsert" }
]]):format(view, topic), ".lua")
end

describe("a view over a Kafka source", function()
  local dev, input
  setup(function()
    input = helpers.write_tmp(INPUT, ".jsonl")
    dev = helpers.dev_start("--produce kview_in=" .. input)
  end)
  teardown(function()
    helpers.dev_stop(dev)
    os.remove(input)
  end)

  it("maps the source's consolidated rows, with the source's offsets in the progress record", function()
    local path = config([[map = function(row) return { k = row.key, v = row.data } end,
  columns = { { "k", "jsonb", not_null = true }, { "v", "jsonb" } }, keys = { { "k" } }]], "kview_out")
    local r = helpers.sinkgate("run --duration 2s " .. path, dev.env)
    os.remove(path)
    assert.equal(0, r.rc, r.err)
    local got = {}
    for _, m in ipairs(helpers.tail(dev, "kview_out")) do got[m.key.k.id] = m.value.v.v end
    assert.same({ [1] = 11, [2] = 20 }, got) -- 1 replaced, 3 deleted before it existed
    assert.matches("source_offsets=", r.err)
  end)

  it("is refused when it keeps state (distinct_on, group_by)", function()
    local path = config([[group_by = { "key" }, aggregates = { n = "count" }]], "kview_grp")
    local r = helpers.sinkgate("check " .. path, dev.env)
    os.remove(path)
    assert.equal(1, r.rc)
    assert.matches("sinks%.kview%.from: view .- over Kafka source kview_in: distinct_on and group_by views over " ..
      "Kafka sources are not supported yet", r.err)
  end)
end)
