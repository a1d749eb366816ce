-- Tables with updates at explicit logical times, through a real `sinkgate
-- run` against `sinkgate dev`: the timestamp header carries the given
-- times, the snapshot is the contents consolidated at the first time, the
-- frontier ends one past the last time, and a restart resumes from the
-- committed frontier (and snapshot position) without duplicates.
local helpers = require "helpers"
local socket = require "socket"

local HEAD = [[
local sg = require "sinkgate"
local kafka = sg.kafka_connection { brokers = sg.env("SINKGATE_BROKERS"), admin_timeout = "200ms" }
]]

-- The change log of the first specs: inserts at 1 (id 3 inserted and
-- deleted there), an update at 2, a delete at 3, given out of order.
local LOG = [[
local log = {
  { { id = 2, v = "b" }, 3, -1 },
  { { id = 1, v = "a" }, 1, 1 },
  { { id = 2, v = "b" }, 1, 1 },
  { { id = 3, v = "c" }, 1, 1 },
  { { id = 3, v = "c" }, 1, -1 },
  { { id = 1, v = "a" }, 2, -1 },
  { { id = 1, v = "a2" }, 2, 1 },
}
local t = sg.source.table { name = "t", columns = { { "id", "bigint", not_null = true }, { "v", "text" } },
  keys = { { "id" } }, updates = log }
]]

local function run(dev, body, args)
  local path = helpers.write_tmp(HEAD .. body, ".lua")
  local r = helpers.sinkgate("run " .. (args or "") .. " " .. path, dev.env)
  os.remove(path)
  return r
end

-- The messages of a one-partition topic, in offset order, as
-- "time key value" lines of their exact bytes.
local function lines(dev, topic)
  local out = {}
  for _, m in ipairs(helpers.tail(dev, topic, "--key-format text --value-format text")) do
    assert.equal("materialize-timestamp", m.headers[1][1])
    local value = m.value == require("cjson").null and "null" or m.value
    out[#out + 1] = ("%s %s %s"):format(m.headers[1][2], m.key, value)
  end
  return out
end

-- Sorted within each timestamp (the order of keys at one time is not part
-- of the contract); times must already be non-decreasing in offset order.
local function by_time(ls)
  local last = -1
  for _, l in ipairs(ls) do
    local t = tonumber(l:match("^%d+"))
    assert.is_true(t >= last, "times go backwards: " .. table.concat(ls, "\n"))
    last = t
  end
  local sorted = { unpack(ls) }
  table.sort(sorted)
  return sorted
end

local function last_progress(dev, key)
  local last
  for _, m in ipairs(helpers.tail(dev, "_sinkgate-progress", "--value-format text")) do
    if m.key == key then last = m.value end
  end
  return last
end

describe("a table with explicit logical times", function()
  local dev
  setup(function() dev = helpers.dev_start("--topics tt_upsert:1,tt_dbz:1,tt_nosnap:1,tt_grow:1,tt_kill:1") end)
  teardown(function() helpers.dev_stop(dev) end)

  it("emits each time as its own timestamp, the snapshot consolidated at the first one, and ends done", function()
    local r = run(dev, LOG .. [[
sg.sink "tt_upsert" { from = t, into = { connection = kafka, topic = "tt_upsert" }, key = { "id" }, format = "json",
  envelope = "upsert", timestamp_header = "materialize-timestamp" }
sg.sink "tt_dbz" { from = t, into = { connection = kafka, topic = "tt_dbz" }, key = { "id" }, format = "json",
  envelope = "debezium", timestamp_header = "materialize-timestamp" }
]], "--duration 10s")
    assert.equal(0, r.rc, r.err)
    for _, name in ipairs({ "tt_upsert", "tt_dbz" }) do
      local st = helpers.final_status(r.err, name)
      assert.equal("done", st.state, r.err) -- a bounded input: finished without waiting for --duration
      assert.equal(4, st.frontier) -- one past the last time
      assert.matches('^{"frontier":%[4%],"version":1,', last_progress(dev, "sinkgate-sink-" .. name))
    end
    assert.same({
      '1 {"id":1} {"id":1,"v":"a"}',
      '1 {"id":2} {"id":2,"v":"b"}',
      '2 {"id":1} {"id":1,"v":"a2"}',
      '3 {"id":2} null',
    }, by_time(lines(dev, "tt_upsert")))
    assert.same({
      '1 {"id":1} {"before":null,"after":{"id":1,"v":"a"}}',
      '1 {"id":2} {"before":null,"after":{"id":2,"v":"b"}}',
      '2 {"id":1} {"before":{"id":1,"v":"a"},"after":{"id":1,"v":"a2"}}',
      '3 {"id":2} {"before":{"id":2,"v":"b"},"after":null}',
    }, by_time(lines(dev, "tt_dbz")))
  end)

  it("without a snapshot, starts after the first time", function()
    local r = run(dev, LOG .. [[
sg.sink "tt_nosnap" { from = t, into = { connection = kafka, topic = "tt_nosnap" }, key = { "id" }, format = "json",
  envelope = "upsert", timestamp_header = "materialize-timestamp", snapshot = false }
]], "--duration 10s")
    assert.equal(0, r.rc, r.err)
    assert.equal("done", helpers.final_status(r.err, "tt_nosnap").state)
    assert.same({ '2 {"id":1} {"id":1,"v":"a2"}', '3 {"id":2} null' }, by_time(lines(dev, "tt_nosnap")))
  end)

  it("resumes a grown change log at the committed frontier", function()
    local body = [[
local log = {
  { { id = 1, v = "a" }, 10, 1 }, { { id = 1, v = "a" }, 20, -1 }, { { id = 1, v = "b" }, 20, 1 },
%s}
local t = sg.source.table { name = "t", columns = { { "id", "bigint" }, { "v", "text" } }, keys = { { "id" } },
  updates = log }
sg.sink "tt_grow" { from = t, into = { connection = kafka, topic = "tt_grow" }, key = { "id" }, format = "json",
  envelope = "upsert", timestamp_header = "materialize-timestamp" }
]]
    local r = run(dev, body:format(""), "--duration 10s")
    assert.equal(0, r.rc, r.err)
    assert.equal(21, helpers.final_status(r.err, "tt_grow").frontier)
    -- The same log with more recorded since: only the new times are sent.
    r = run(dev, body:format([[
  { { id = 1, v = "b" }, 30, -1 }, { { id = 2, v = "x" }, 30, 1 }, { { id = 2, v = "x" }, 40, -1 },
]]), "--duration 10s")
    assert.equal(0, r.rc, r.err)
    assert.matches("resuming at frontier 21", r.err)
    local st = helpers.final_status(r.err, "tt_grow")
    assert.equal("done", st.state)
    assert.equal(41, st.frontier)
    assert.equal(3, st.messages) -- this run's messages only
    assert.same({
      '10 {"id":1} {"id":1,"v":"a"}',
      '20 {"id":1} {"id":1,"v":"b"}',
      '30 {"id":1} null',
      '30 {"id":2} {"id":2,"v":"x"}',
      '40 {"id":2} null',
    }, by_time(lines(dev, "tt_grow")))
    -- Once everything is committed, another start sends nothing.
    r = run(dev, body:format([[
  { { id = 1, v = "b" }, 30, -1 }, { { id = 2, v = "x" }, 30, 1 }, { { id = 2, v = "x" }, 40, -1 },
]]), "--duration 10s")
    assert.equal(0, r.rc, r.err)
    assert.equal(0, helpers.final_status(r.err, "tt_grow").messages)
    assert.equal(5, #lines(dev, "tt_grow"))
  end)

  it("resumes after a stop inside the snapshot and another after it, with no gaps and no duplicates", function()
    -- 100 rows at time 1000 (the snapshot, 10 transactions of 10), then an
    -- update of one row at each of the times 1001 … 1150 (5 per transaction).
    local path = helpers.write_tmp(HEAD .. [[
local log = {}
for id = 1, 100 do log[#log + 1] = { { id = id, v = "v0" }, 1000 } end
for i = 1, 150 do
  local id = (i - 1) % 100 + 1
  log[#log + 1] = { { id = id, v = "v" .. (i - 1 < 100 and 0 or i - 100) }, 1000 + i, -1 }
  log[#log + 1] = { { id = id, v = "v" .. i }, 1000 + i, 1 }
end
local t = sg.source.table { name = "t", columns = { { "id", "bigint" }, { "v", "text" } }, keys = { { "id" } },
  updates = log }
sg.sink "tt_kill" { from = t, into = { connection = kafka, topic = "tt_kill" }, key = { "id" }, format = "json",
  envelope = "upsert", timestamp_header = "materialize-timestamp", max_transaction_rows = 10 }
]], ".lua")
    -- Stops once the progress record matches `pattern`, with slow commits
    -- so that the stop lands where it is meant to.
    local function run_until(pattern)
      helpers.ctl(dev, "rtt 1 100")
      local pid, log = helpers.spawn("run " .. path, dev.env)
      local deadline = socket.gettime() + 20
      repeat socket.sleep(0.02) until (last_progress(dev, "sinkgate-sink-tt_kill") or ""):find(pattern)
        or socket.gettime() > deadline
      os.execute("kill -TERM " .. pid)
      assert.is_true(helpers.wait_exit(pid, 30))
      helpers.ctl(dev, "rtt 1 0")
      local out = helpers.read(log)
      os.remove(log)
      return last_progress(dev, "sinkgate-sink-tt_kill"), out
    end
    local mid, out1 = run_until('"snapshot"')
    local done = tonumber(mid:match('"snapshot":{"done":(%d+)}'))
    assert.is_number(done, mid .. "\n" .. out1)
    assert.is_true(done > 0 and done < 100 and done % 10 == 0, mid)
    local rec, out2 = run_until('"frontier":%[10[1-9]%d%]')
    assert.matches("snapshot: " .. done .. " updates committed", out2)
    local frontier = tonumber(rec:match('"frontier":%[(%d+)%]'))
    assert.is_nil(rec:find('"snapshot"'), rec)
    assert.is_true(frontier > 1001 and frontier < 1151, rec)
    local r = helpers.sinkgate("run --duration 10s " .. path, dev.env)
    os.remove(path)
    assert.equal(0, r.rc, r.err)
    assert.matches("resuming at frontier " .. frontier, r.err)
    assert.equal("done", helpers.final_status(r.err, "tt_kill").state)
    assert.equal(1151, helpers.final_status(r.err, "tt_kill").frontier)
    -- Exactly the expected messages: the 40 snapshot rows at 1000, then one
    -- update per time, each once.
    local expected = {}
    for id = 1, 100 do expected[#expected + 1] = ('1000 {"id":%d} {"id":%d,"v":"v0"}'):format(id, id) end
    for i = 1, 150 do
      local id = (i - 1) % 100 + 1
      expected[#expected + 1] = ('%d {"id":%d} {"id":%d,"v":"v%d"}'):format(1000 + i, id, id, i)
    end
    table.sort(expected)
    assert.same(expected, by_time(lines(dev, "tt_kill")))
  end)
end)
