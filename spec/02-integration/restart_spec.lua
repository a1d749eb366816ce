-- Exactly-once under kills and faults, as far as the dev broker can show it.
-- The 2.0.2 mock keeps aborted and still-open transactions visible to
-- read_committed consumers, so a transaction cut by SIGKILL (or aborted and
-- re-sent after an injected error) leaves copies behind that a real broker
-- would hide. What these specs check: nothing below the committed frontier
-- is missing, and every extra copy is byte-for-byte the same message (the
-- input regenerates identically), so a real broker's read_committed view is
-- exactly once. The exactness itself is `pending` below, with that reason.
local helpers = require "helpers"
local socket = require "socket"

local BODY = [[
local sg = require "sinkgate"
local kafka = sg.kafka_connection { brokers = sg.env("SINKGATE_BROKERS"), admin_timeout = "200ms" }
local gen = sg.source.load_generator { kind = "counter", tick = "20ms", rows_per_tick = 5, start = %d }
sg.sink %q { from = gen, into = { connection = kafka, topic = %q }, key = { "counter" }, format = "json",
  envelope = "upsert", commit_interval = "100ms" }
]]

-- Checks a topic against a final frontier: every counter of a tick before
-- the frontier is there, and copies are identical. Returns the number of
-- extra copies.
local function check_topic(dev, topic, start, frontier)
  local msgs = helpers.tail(dev, topic)
  local first, extra = {}, 0
  for _, m in ipairs(msgs) do
    local c = m.key.counter
    local sig = require("cjson").encode(m.value) .. "@" .. m.headers[1][2]
    if first[c] then
      assert.equal(first[c], sig, "a second copy of counter " .. c .. " differs")
      extra = extra + 1
    else
      first[c] = sig
    end
    -- counter c belongs to tick floor((c-1)/5): its timestamp is that tick's,
    -- or the as_of of the first start for what the snapshot carried
    assert.is_true(tonumber(m.headers[1][2]) >= start + math.floor((c - 1) / 5) * 20)
  end
  local ticks = math.floor((frontier - start) / 20)
  for c = 1, ticks * 5 do assert.is_not_nil(first[c], "counter " .. c .. " is missing below the frontier") end
  return extra, #msgs
end

describe("exactly-once under failures", function()
  local dev
  setup(function() dev = helpers.dev_start("--topics killed:4,faults:4,late:4") end)
  teardown(function() helpers.dev_stop(dev) end)

  it("survives SIGKILL between and inside transactions, with no gaps", function()
    local start = math.floor(socket.gettime() * 1000 / 20) * 20
    local path = helpers.write_tmp(BODY:format(start, "killed", "killed"), ".lua")
    math.randomseed(42)
    for i = 1, 4 do
      -- slow commits in half the rounds make a kill inside a transaction likely
      helpers.ctl(dev, "rtt 1 " .. (i % 2 == 0 and 150 or 0))
      local pid = helpers.spawn("run " .. path, dev.env)
      socket.sleep(0.8 + math.random() * 0.8)
      os.execute("kill -KILL " .. pid)
      helpers.wait_exit(pid, 10)
    end
    helpers.ctl(dev, "rtt 1 0")
    local r = helpers.sinkgate("run --duration 500ms " .. path, dev.env)
    os.remove(path)
    assert.equal(0, r.rc, r.err)
    assert.matches("resuming at frontier", r.err)
    local st = helpers.final_status(r.err)
    local extra, total = check_topic(dev, "killed", start, st.frontier)
    print(("\n    after 4 kills: %d messages, %d extra copies (aborted data the mock shows)"):format(total, extra))
  end)

  it("retries, aborts and re-sends through injected transaction errors and a broker outage", function()
    local start = math.floor(socket.gettime() * 1000 / 20) * 20
    local path = helpers.write_tmp(BODY:format(start, "faults", "faults"), ".lua")
    local pid, log = helpers.spawn("run --status-interval 200ms " .. path, dev.env)
    socket.sleep(1.0)
    assert.matches("^ok", helpers.ctl(dev, "request-errors EndTxn CONCURRENT_TRANSACTIONS CONCURRENT_TRANSACTIONS"))
    socket.sleep(0.5)
    assert.matches("^ok", helpers.ctl(dev, "request-errors AddPartitionsToTxn INVALID_TXN_STATE"))
    socket.sleep(0.5)
    assert.equal("ok", helpers.ctl(dev, "broker-down 1"))
    socket.sleep(1.5)
    assert.equal("ok", helpers.ctl(dev, "broker-up 1"))
    socket.sleep(2.5)
    os.execute("kill -TERM " .. pid)
    assert.is_true(helpers.wait_exit(pid, 60))
    os.remove(path)
    local out = helpers.read(log)
    local st = helpers.final_status(out)
    assert.equal("running", st.state, out)
    local extra, total = check_topic(dev, "faults", start, st.frontier)
    print(("\n    after faults: %d messages, %d extra copies; %s"):format(total, extra,
      out:match("aborts=%d+") or "no aborts"))
  end)

  it("waits for a broker that is down at start-up, then runs", function()
    local start = math.floor(socket.gettime() * 1000 / 20) * 20
    local path = helpers.write_tmp(BODY:format(start, "late", "late"), ".lua")
    assert.equal("ok", helpers.ctl(dev, "broker-down 1"))
    local pid, log = helpers.spawn("run --status-interval 300ms " .. path, dev.env)
    socket.sleep(2.0)
    assert.equal("ok", helpers.ctl(dev, "broker-up 1"))
    local deadline = socket.gettime() + 20
    repeat socket.sleep(0.2) until helpers.read(log):find("sink late: running") or socket.gettime() > deadline
    socket.sleep(0.5)
    os.execute("kill -TERM " .. pid)
    assert.is_true(helpers.wait_exit(pid, 30))
    os.remove(path)
    local out = helpers.read(log)
    assert.matches("Connection refused", out) -- the broker really was down while it started
    local st = helpers.final_status(out)
    assert.equal("running", st.state, out)
    check_topic(dev, "late", start, st.frontier)
  end)

  pending("exactly once under kills and aborts, as a read_committed consumer sees it: the 2.0.2 mock broker " ..
    "shows aborted and still-open transactions to read_committed consumers, so the copies above stay visible " ..
    "there; on Kafka they are hidden by the transaction markers")
end)
