-- Views over a Kafka source: a stateless view reads the source's rows (its
-- upsert snapshot consolidated), and the sink's progress record keeps the
-- source's offsets; a stateful view over a Kafka source passes check.
local helpers = require "helpers"

local INPUT = [[
{"key": "{\"id\": 1}", "value": "{\"id\": 1, \"v\": 10}"}
{"key": "{\"id\": 2}", "value": "{\"id\": 2, \"v\": 20}"}
{"key": "{\"id\": 1}", "value": "{\"id\": 1, \"v\": 11}"}
{"key": "{\"id\": 3}", "value": null}
]]

local function config(view, topic, key)
  return helpers.write_tmp(([[
local sg = require "sinkgate"
local kafka = sg.kafka_connection { brokers = sg.env("SINKGATE_BROKERS"), admin_timeout = "200ms" }
local src = sg.source.kafka { connection = kafka, topic = "kview_in", format = "json", envelope = "upsert" }
local v = sg.view { from = src, %s }
sg.sink %q { from = v, into = { connection = kafka, topic = %q }, key = { %q }, format = "json",
  envelope = "upsert" }
]]):format(view, topic, topic, key or "k"), ".lua")
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

  it("shows the source's offsets and lag per partition on /metrics", function()
    local socket, http, ltn12 = require "socket", require "socket.http", require "ltn12"
    local path = config([[filter = function(row) return row.data ~= nil end]], "kview_metrics", "key")
    local pid, log = helpers.spawn("run --status-interval 1h --http 127.0.0.1:0 " .. path, dev.env)
    local url, body
    local deadline = socket.gettime() + 20
    repeat
      socket.sleep(0.2)
      url = url or helpers.read(log):match("serving [^\n]* on (http://[%d%.]+:%d+)")
      if url then
        local out = {}
        http.request({ url = url .. "/metrics", sink = ltn12.sink.table(out) })
        body = table.concat(out)
      end
    until (body and body:find('sinkgate_source_offset{sink="kview_metrics",partition="', 1, true)) or socket.gettime() > deadline
    os.execute("kill -TERM " .. pid)
    assert.is_true(helpers.wait_exit(pid, 20))
    os.remove(path)
    assert.is_string(body, helpers.read(log))
    -- the 4 input messages, spread over the topic's partitions: next offsets sum to 4
    local sum = 0
    for v in body:gmatch('sinkgate_source_offset{sink="kview_metrics",partition="%d+"} (%d+)') do sum = sum + tonumber(v) end
    assert.equal(4, sum, helpers.read(log) .. "\n" .. body)
    assert.matches('sinkgate_source_decode_errors_total{sink="kview_metrics"} 0', body, nil, true)
    os.remove(log)
  end)

  it("keeps state (distinct_on, group_by): check passes and proves the group key", function()
    -- end to end runs and restarts: kafka_stateful_view_spec.lua
    local path = config([[group_by = { "key" }, aggregates = { n = "count" }]], "kview_grp", "key")
    local r = helpers.sinkgate("check " .. path, dev.env)
    os.remove(path)
    assert.equal(0, r.rc, r.err)
    assert.matches('view: +view%d* %(group, [^)]+%): keys %("key"%)', r.out)
  end)
end)
