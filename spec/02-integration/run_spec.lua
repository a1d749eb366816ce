-- `sinkgate run` against the dev broker, checked with `sinkgate tail`.
local helpers = require "helpers"
local sg = require "sinkgate"
local cjson = require "cjson"

-- A config with one sink, named after its topic: a sink's identity (its
-- progress) is its name, so every test gets its own.
local function config(fields, gen)
  local name = fields:match('topic = "([^"]+)"')
  return helpers.write_tmp(([[
local sg = require "sinkgate"
local kafka = sg.kafka_connection { brokers = sg.env("SINKGATE_BROKERS"), admin_timeout = "200ms" }
local gen = sg.source.load_generator { %s }
sg.sink %q { from = gen, %s }
]]):format(gen or 'kind = "counter", tick = "50ms", rows_per_tick = 7', name, fields), ".lua")
end

describe("sinkgate run", function()
  local dev
  setup(function() dev = helpers.dev_start("--topics upserts:4,dbz:4,texts:4,sigterm:4,retried:4") end)
  teardown(function() helpers.dev_stop(dev) end)

  it("publishes every generated row once, key-hashed, timestamp header first", function()
    local path = config([[into = { connection = kafka, topic = "upserts" }, key = { "counter" },
      format = "json", envelope = "upsert"]])
    local r = helpers.sinkgate("run --duration 1s " .. path, dev.env)
    os.remove(path)
    assert.equal(0, r.rc, r.err)
    local st = helpers.final_status(r.err)
    local msgs = helpers.tail(dev, "upserts")
    assert.equal(st.messages, #msgs)
    local seen, times = {}, {}
    for _, m in ipairs(msgs) do
      local c = m.key.counter
      assert.is_nil(seen[c], "duplicate counter " .. c)
      seen[c] = true
      assert.same({ counter = c }, m.value)
      assert.equal(tonumber(sg.hash.seahash('{"counter":' .. c .. '}') % 4), m.partition)
      assert.equal("sinkgate-timestamp", m.headers[1][1])
      assert.matches("^%d+$", m.headers[1][2])
      assert.is_true(tonumber(m.headers[1][2]) < st.frontier)
      times[m.headers[1][2]] = (times[m.headers[1][2]] or 0) + 1
    end
    for c = 1, #msgs do assert.is_true(seen[c], "missing counter " .. c) end
    for t, n in pairs(times) do assert.equal(7, n, "rows at time " .. t) end
  end)

  it("writes retractions as DEBEZIUM before/after, never tombstones", function()
    local path = config([[into = { connection = kafka, topic = "dbz" }, format = "json", envelope = "debezium"]],
      'kind = "counter", tick = "50ms", max_cardinality = 3')
    local r = helpers.sinkgate("run --duration 800ms " .. path, dev.env)
    os.remove(path)
    assert.equal(0, r.rc, r.err)
    local live, ninserts, ndeletes = {}, 0, 0
    for _, m in ipairs(helpers.tail(dev, "dbz")) do
      assert.equal(0, m.partition) -- no key: partition 0
      assert.equal(cjson.null, m.key)
      assert.is_table(m.value) -- never a tombstone
      if m.value.after ~= cjson.null then
        assert.equal(cjson.null, m.value.before)
        live[m.value.after.counter] = true
        ninserts = ninserts + 1
      else
        assert.is_true(live[m.value.before.counter], "retraction of a row never inserted")
        live[m.value.before.counter] = nil
        ndeletes = ndeletes + 1
      end
    end
    assert.is_true(ndeletes > 0)
    assert.equal(3, ninserts - ndeletes) -- max_cardinality rows stay live
  end)

  it("uses TEXT for a single-column key and value", function()
    local path = config([[into = { connection = kafka, topic = "texts" }, key = { "counter" },
      format = "text", envelope = "upsert"]])
    local r = helpers.sinkgate("run --duration 300ms " .. path, dev.env)
    os.remove(path)
    assert.equal(0, r.rc, r.err)
    local msgs = helpers.tail(dev, "texts", "--key-format text --value-format text")
    assert.is_true(#msgs > 0)
    for _, m in ipairs(msgs) do assert.equal(m.key, m.value) assert.matches("^%d+$", m.key) end
  end)

  it("finishes cleanly on SIGTERM: what it committed is all there, once", function()
    local path = config([[into = { connection = kafka, topic = "sigterm" }, key = { "counter" },
      format = "json", envelope = "upsert"]])
    local pid, log = helpers.spawn("run " .. path, dev.env)
    require("socket").sleep(1.0)
    os.execute("kill -TERM " .. pid)
    assert.is_true(helpers.wait_exit(pid, 30))
    local out = helpers.read(log)
    os.remove(path)
    local st = helpers.final_status(out)
    assert.equal("running", st.state, out)
    assert.equal(st.messages, #helpers.tail(dev, "sigterm"))
  end)

  it("retries through injected produce errors without losing rows (one request in flight)", function()
    assert.matches("^ok", helpers.ctl(dev, "request-errors Produce NOT_LEADER_FOR_PARTITION NOT_LEADER_FOR_PARTITION REQUEST_TIMED_OUT"))
    local path = config([[into = { connection = sg.kafka_connection { brokers = sg.env("SINKGATE_BROKERS"),
      options = { ["max.in.flight.requests.per.connection"] = "1" } }, topic = "retried" }, key = { "counter" },
      format = "json", envelope = "upsert", mode = "at_least_once"]])
    local r = helpers.sinkgate("run --duration 500ms " .. path, dev.env)
    os.remove(path)
    assert.equal(0, r.rc, r.err)
    local st = helpers.final_status(r.err)
    local seen = {}
    for _, m in ipairs(helpers.tail(dev, "retried")) do seen[m.key.counter] = true end
    for c = 1, st.messages do assert.is_true(seen[c], "lost counter " .. c) end
  end)

  pending("retries through injected errors with several requests in flight: the 2.0.2 mock broker " ..
    "accepts a batch whose earlier sequence numbers it never wrote (a real broker answers " ..
    "OUT_OF_ORDER_SEQUENCE_NUMBER), so librdkafka implicitly acks the failed batch and the mock loses it")
end)
