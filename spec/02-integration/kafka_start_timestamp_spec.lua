-- start_timestamp on the dev broker: librdkafka's mock answers every
-- ListOffsets by time with "no offset" (its handler knows only the
-- beginning and the end), so the source checks the newest message of each
-- partition and, when it is at or after t, reads the partition for the
-- first message with a timestamp >= t (source/kafka_seek_time.lua).
local helpers = require "helpers"
local ks = require "helpers.kafka_source"
local socket = require "socket"

local function config(topic, out, ts)
  return ([[
local sg = require "sinkgate"
local kafka = sg.kafka_connection { brokers = sg.env("SINKGATE_BROKERS"), admin_timeout = "200ms" }
local src = sg.source.kafka { connection = kafka, topic = %q, key_format = "text", value_format = "text",
  start_timestamp = %s }
sg.sink %q { from = src, into = { connection = kafka, topic = %q }, format = "json", envelope = "debezium" }
]]):format(topic, ts, out, out)
end

local function texts(dev, topic)
  local out = {}
  for _, m in ipairs(helpers.tail(dev, topic)) do out[#out + 1] = m.value.after.text end
  table.sort(out)
  return out
end

describe("sg.source.kafka start_timestamp on the dev broker", function()
  local dev, t, t2
  setup(function()
    dev = helpers.dev_start()
    -- before t: a0..a3 in partitions 0..3; after t: b0..b3 (each partition has both)
    local before, after = {}, {}
    for p = 0, 3 do
      before[#before + 1] = { key = "k" .. p, value = "a" .. p, partition = p }
      after[#after + 1] = { key = "k" .. p, value = "b" .. p, partition = p }
    end
    ks.produce(dev, "ts_in", before)
    socket.sleep(1.2)
    t = math.floor(socket.gettime() * 1000)
    socket.sleep(0.3)
    ks.produce(dev, "ts_in", after)
    ks.produce(dev, "ts_in", { { key = "k9", value = "a-only", partition = 1 } }) -- also after t
    -- a topic with empty partitions: only partition 2 holds messages
    ks.produce(dev, "ts_sparse", { { key = "x", value = "old", partition = 2 } })
    socket.sleep(0.3)
    t2 = math.floor(socket.gettime() * 1000)
    socket.sleep(0.3)
    ks.produce(dev, "ts_sparse", { { key = "x", value = "new", partition = 2 } })
  end)
  teardown(function() helpers.dev_stop(dev) end)

  it("starts each partition at its first message at or after the timestamp", function()
    local r = ks.run(dev, config("ts_in", "ts_out", t))
    assert.equal(0, r.rc, r.err)
    assert.same({ "a-only", "b0", "b1", "b2", "b3" }, texts(dev, "ts_out"))
    assert.matches("does not look offsets up by time", r.err)
  end)

  it("empty partitions start at their ends", function()
    local r = ks.run(dev, config("ts_sparse", "ts_sparse_out", t2))
    assert.equal(0, r.rc, r.err)
    assert.same({ "new" }, texts(dev, "ts_sparse_out"))
  end)

  it("negative: relative to now", function()
    local ago = math.floor(socket.gettime() * 1000) - t + 60000 -- a minute before t: everything
    local r = ks.run(dev, config("ts_in", "ts_out_rel", -ago))
    assert.equal(0, r.rc, r.err)
    assert.same({ "a-only", "a0", "a1", "a2", "a3", "b0", "b1", "b2", "b3" }, texts(dev, "ts_out_rel"))
  end)

  it("after the newest message: the ends (the broker's answer stands)", function()
    local r = ks.run(dev, config("ts_in", "ts_out_late", math.floor(socket.gettime() * 1000) + 3600000))
    assert.equal(0, r.rc, r.err)
    assert.is_nil(r.err:match("does not look offsets up by time"))
    -- nothing was read: the sink's topic holds no message (tail of a missing topic fails)
    local tail = helpers.sinkgate("tail ts_out_late --timeout 3", dev.env)
    assert.is_true(tail.rc ~= 0 or tail.out == "", tail.out)
  end)
end)
