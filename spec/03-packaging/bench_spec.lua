-- The benchmark's own tools work (their speed is `make bench`'s business,
-- never a test's): the raw baseline sends what it says it sends, the
-- encoder bench agrees with avro-c.
local helpers = require "helpers"
local cjson = require "cjson"

describe("benchmark tools", function()
  local dev
  setup(function() dev = helpers.dev_start("--topics bench_spec:4") end)
  teardown(function() helpers.dev_stop(dev) end)

  it("the raw librdkafka baseline produces the bench relation's messages, transactionally", function()
    local out = io.popen("build/baseline " .. dev.brokers .. " bench_spec 5000 --rows-per-tick 100 2>&1"):read("*a")
    local r = cjson.decode(out)
    assert.equal(5000 - 10, r.messages) -- 50 ticks of 90 inserts + 10 deletes (none at tick 0)
    assert.is_true(r.bytes > 0 and r.seconds > 0)
    local msgs = helpers.tail(dev, "bench_spec")
    assert.equal(r.messages, #msgs)
    local tombstones = 0
    for _, m in ipairs(msgs) do
      if m.value == cjson.null then tombstones = tombstones + 1 else assert.equal(m.key.id, m.value.id) end
      assert.equal("sinkgate-timestamp", m.headers[1][1])
    end
    assert.equal(490, tombstones)
  end)

  it("the decode bench measures every source format, Protobuf on bytes it checks first", function()
    assert(os.execute("make --no-print-directory -s build/decode_bench >/dev/null"))
    local out = io.popen("build/decode_bench 2000 2>&1"):read("*a")
    for _, f in ipairs({ "avro", "avro%-c", "json", "text", "bytes", "csv", "debezium" }) do
      assert.matches("decode " .. f .. "%s+[%d.]+ ns/msg", out)
    end
    -- In its own process, as make bench runs it.
    local pb = io.popen([[luajit -e 'package.path = "lua/?.lua;build/lua/?.lua;" .. package.path
      package.cpath = "build/?.so;" .. package.cpath
      print(dofile("bench/decode.lua").protobuf(1000))' 2>&1; echo "rc=$?"]]):read("*a")
    assert.matches("^[%d.]+\t35\nrc=0\n$", pb)
    local decode_bench = dofile("bench/decode.lua")
    local lines = decode_bench.section({ { format = "avro", ns = 20, note = "x" }, { format = "avro-c", ns = 10, note = "y" } })
    assert.matches("| avro | 20.0 | x; 2.0× avro-c's generic reader |", table.concat(lines, "\n"), 1, true)
  end)

  it("the encoder bench checks its Avro bytes against avro-c and reports ns/row", function()
    local out = io.popen("build/encode_bench 2>&1"):read("*a")
    assert.matches("sinkgate JSON%s+[%d.]+ ns/row", out)
    assert.matches("sinkgate Avro %(with wire header%)%s+[%d.]+ ns/row", out)
    assert.matches("avro%-c generic value API%s+[%d.]+ ns/row", out)
  end)

  it("the decode bench reports ns/message for every source format and avro-c's reader", function()
    local rc = os.execute("make -s build/decode_bench >/dev/null 2>&1")
    assert.is_true(rc == 0 or rc == true)
    local out = io.popen("build/decode_bench 20000 2>&1"):read("*a")
    for _, f in ipairs({ "avro", "avro%-resol", "avro%-c", "json", "text", "bytes", "csv", "debezium" }) do
      assert.matches("decode " .. f .. "%s+[%d.]+ ns/msg", out)
    end
  end)
end)
