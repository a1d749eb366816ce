-- sinkgate's own examples through sinkgate.testing: the messages their
-- sinks produce (built-in formats, envelopes, partitioners, headers),
-- without a broker, checked against what docs/formats.md and
-- docs/partitioning.md promise.
local testing = require "sinkgate.testing"
local sg = require "sinkgate"

describe("sinkgate.testing on the examples", function()
  it("debezium_json: updates carry before and after, snapshot first, times in order", function()
    local msgs = testing.render("examples/debezium_json.lua", nil, { ticks = 3, start = 0 })
    assert.is_true(#msgs >= 3)
    -- the snapshot (tick 0: the initial row and the first feed, consolidated) has no before
    local snap = 0
    for _, m in ipairs(msgs) do
      if m.timestamp == 0 then
        snap = snap + 1
        assert.equal(require("cjson").null, testing.json(m.value).before)
      end
    end
    assert.equal(2, snap) -- order 1 (already paid at tick 0) and order 2
    local last_time, paid = -1, 0
    for _, m in ipairs(msgs) do
      assert.is_true(m.timestamp >= last_time)
      last_time = m.timestamp
      local v = testing.json(m.value)
      if type(v.before) == "table" and type(v.after) == "table" then
        assert.equal(v.before.id, v.after.id)
        assert.equal("new", v.before.status)
        assert.equal("paid", v.after.status)
        paid = paid + 1
      end
    end
    assert.is_true(paid >= 1, "an update with before and after")
  end)

  it("auction_avro: Confluent-framed Avro that decodes with the plan's schema, partition_by honoured", function()
    local path = "examples/auction_avro.lua"
    local plan = testing.plan(path, "bids_out")
    local msgs = testing.render(path, "bids_out", { ticks = 5, start = 0, partitions = 3, value_schema_id = 42 })
    assert.is_true(#msgs > 0)
    for _, m in ipairs(msgs) do
      local v, id = testing.avro(m.value, plan.avro.value)
      assert.equal(42, id)
      assert.is_number(v.id)
      -- into.partition_by = seahash(tostring(row.buyer)) % partitions
      assert.equal(tonumber(sg.hash.seahash(tostring(v.buyer)) % 3), m.partition)
      assert.equal("demo", testing.header(m, "source"))
      assert.equal("sinkgate-timestamp", m.headers[1][1])
    end
  end)
end)
