-- Exactly-once when the world is unkind: a second instance of a sink, a
-- changed config, an older version, fencing errors injected on every
-- transactional request, a broker that stops answering. The dev broker does
-- not fence producers, so where fencing itself cannot be shown the specs
-- assert what sinkgate does: the calls it makes, in order (SINKGATE_TRACE),
-- and what it reads before producing.
local helpers = require "helpers"
local cjson = require "cjson"
local mime = require "mime"
local socket = require "socket"

local function config(name, extra, version)
  return helpers.write_tmp(([[
local sg = require "sinkgate"
local kafka = sg.kafka_connection { brokers = sg.env("SINKGATE_BROKERS"),
  admin_timeout = "200ms" }
local gen = sg.source.load_generator { kind = "counter", tick = "100ms" }
sg.sink %q { from = gen, into = { connection = kafka, topic = %q }, key = { "counter" }, format = "json",
  envelope = "upsert", commit_interval = "200ms", version = %d %s }]]):format(name, name, version or 1, extra or ""),
    ".lua")
end

-- The trace lines ("<sink> <event> [detail]") of a run, as { event, detail }.
local function trace_of(path)
  local events = {}
  for line in helpers.read(path):gmatch("[^\n]+") do
    local _, event, detail = line:match("^(%S+) (%S+) ?(.*)$")
    events[#events + 1] = { event = event, detail = detail }
  end
  return events
end

local function index_of(events, event, from)
  for i = from or 1, #events do if events[i].event == event then return i end end
end

-- Every progress record under key, decoded, in offset order.
local function records(dev, key)
  local out = {}
  for _, m in ipairs(helpers.tail(dev, "_sinkgate-progress", "--value-format bytes")) do
    if m.key == key then out[#out + 1] = cjson.decode((mime.unb64(m.value.base64))) end
  end
  return out
end

-- Like helpers.spawn, also writing the exit status to a file once it ends.
local function spawn_rc(args, env)
  local log, rcfile = helpers.tmpname(".log"), helpers.tmpname(".rc")
  local parts = {}
  for k, v in pairs(env or {}) do parts[#parts + 1] = k .. "=" .. helpers.q(v) end
  local f = io.popen(("(%s %s %s >%s 2>&1; echo $? >%s) & echo $!"):format(table.concat(parts, " "), helpers.bin, args,
    log, rcfile))
  local pid = tonumber(f:read("*l"))
  f:close()
  return pid, log, rcfile
end

local function wait_for(pred, seconds)
  local deadline = socket.gettime() + (seconds or 20)
  while socket.gettime() < deadline do
    if pred() then return true end
    socket.sleep(0.1)
  end
  return false
end

describe("exactly-once with several instances and faults", function()
  local dev
  setup(function() dev = helpers.dev_start("--topics fresh:1,two:2,chg_a:1,chg_b:1,vers:1,lv:1,rtt:1") end)
  teardown(function() helpers.dev_stop(dev) end)

  it("fences before it reads the progress it resumes from, and reads before fencing only to check the version", function()
    local path, trace = config("fresh"), helpers.tmpname(".trace")
    local env = { SINKGATE_TRACE = trace }
    for k, v in pairs(dev.env) do env[k] = v end
    local r = helpers.sinkgate("run --duration 1s " .. path, env)
    assert.equal(0, r.rc, r.err)
    local ev = trace_of(trace)
    local pre, init = index_of(ev, "read-progress"), index_of(ev, "init-transactions")
    local post, send = index_of(ev, "read-progress", (init or 0) + 1), index_of(ev, "send")
    assert.is_truthy(pre and init and post and send, helpers.read(trace))
    assert.is_true(pre < init and init < post and post < send)
    assert.equal("0", ev[init].detail) -- SG_TXN_OK
    -- A restart resumes from what it read after fencing.
    os.remove(trace)
    r = helpers.sinkgate("run --duration 500ms " .. path, env)
    assert.equal(0, r.rc, r.err)
    ev = trace_of(trace)
    init = index_of(ev, "init-transactions")
    post = index_of(ev, "read-progress", init + 1)
    local frontier = cjson.decode(ev[post].detail).frontier[1]
    assert.matches("resuming at frontier " .. frontier, r.err)
    os.remove(trace)
    os.remove(path)
  end)

  for _, case in ipairs({
    { "EndTxn", "PRODUCER_FENCED" }, { "EndTxn", "INVALID_PRODUCER_EPOCH" },
    { "AddPartitionsToTxn", "PRODUCER_FENCED" }, { "AddPartitionsToTxn", "INVALID_PRODUCER_EPOCH" },
    { "Produce", "INVALID_PRODUCER_EPOCH" }, { "InitProducerId", "PRODUCER_FENCED" },
  }) do
    it("stops a fenced instance without fencing back: " .. case[1] .. " " .. case[2], function()
      local name = ("f_%s_%d"):format(case[1]:lower(), math.random(1e6))
      local path, trace = config(name), helpers.tmpname(".trace")
      local env = { SINKGATE_TRACE = trace }
      for k, v in pairs(dev.env) do env[k] = v end
      if case[1] == "InitProducerId" then
        assert.matches("^ok", helpers.ctl(dev, "request-errors InitProducerId " .. case[2]))
      end
      local pid, log, rcfile = spawn_rc("run " .. path, env)
      if case[1] ~= "InitProducerId" then
        assert.is_true(wait_for(function() return index_of(trace_of(trace), "commit") ~= nil end))
        assert.matches("^ok", helpers.ctl(dev, ("request-errors %s %s"):format(case[1], case[2])))
      end
      assert.is_true(helpers.wait_exit(pid, 20), "the fenced instance did not stop")
      local out = helpers.read(log)
      assert.matches("sinks%." .. name .. ": fenced: fenced by another instance of sink " .. name, out)
      assert.equal("1", helpers.read(rcfile):match("%d+"))
      local ev = trace_of(trace)
      local fenced = index_of(ev, "state")
      for i = #ev, 1, -1 do if ev[i].event == "state" then fenced = i break end end
      assert.equal("fenced", ev[fenced].detail)
      -- Exactly one init_transactions: a fenced instance never re-initializes.
      local inits = 0
      for _, e in ipairs(ev) do if e.event == "init-transactions" then inits = inits + 1 end end
      assert.equal(1, inits)
      for _, p in ipairs({ trace, log, path, rcfile }) do os.remove(p) end
    end)
  end

  it("recovers from a fatal error by re-fencing and resuming from the committed record", function()
    local path, trace = config("fresh_fatal"), helpers.tmpname(".trace")
    local env = { SINKGATE_TRACE = trace }
    for k, v in pairs(dev.env) do env[k] = v end
    local pid, log = helpers.spawn("run --duration 4s " .. path, env)
    assert.is_true(wait_for(function() return index_of(trace_of(trace), "commit") ~= nil end))
    assert.matches("^ok", helpers.ctl(dev, "request-errors EndTxn INVALID_TXN_STATE"))
    assert.is_true(helpers.wait_exit(pid, 30))
    local ev = trace_of(trace)
    local rec_at
    for i, e in ipairs(ev) do if e.event == "state" and e.detail == "recovering" then rec_at = i end end
    assert.is_number(rec_at, helpers.read(log))
    -- After the failure: read (version/writer check), fence, read again, then produce.
    local pre = index_of(ev, "read-progress", rec_at)
    local init = index_of(ev, "init-transactions", rec_at)
    local post = index_of(ev, "read-progress", init)
    local send = index_of(ev, "send", rec_at)
    assert.is_true(pre < init and init < post and post < send)
    local out = helpers.read(log)
    assert.matches("resuming at frontier " .. cjson.decode(ev[post].detail).frontier[1], out)
    -- Counters count only commits this instance knows are its own.
    local st = helpers.final_status(out)
    local mine = 0
    for _, e in ipairs(ev) do if e.event == "commit" and e.detail:match("^%d+$") then mine = mine + 1 end end
    assert.is_true(st.transactions == mine or st.transactions == mine + 1) -- + the one the record proves committed
    -- No gap, no duplicate below the frontier.
    local seen = {}
    for _, m in ipairs(helpers.tail(dev, "fresh_fatal")) do
      if tonumber(m.headers[1][2]) < st.frontier then
        assert.is_nil(seen[m.key.counter], "counter " .. m.key.counter .. " twice")
        seen[m.key.counter] = true
      end
    end
    for c = 1, #seen do assert.is_true(seen[c], "counter " .. c .. " missing") end
    os.remove(trace)
    os.remove(path)
  end)

  it("lets the second of two instances win; the first stops with the fenced error", function()
    local path = config("two")
    local a, alog = helpers.spawn("run " .. path, dev.env)
    assert.is_true(wait_for(function() return #records(dev, "sinkgate-sink-two") > 0 end))
    local b, blog = helpers.spawn("run " .. path, dev.env)
    assert.is_true(helpers.wait_exit(a, 20), "the first instance kept running")
    assert.matches("sinks%.two: fenced: another instance of sink two", helpers.read(alog))
    socket.sleep(1)
    assert.is_true(helpers.alive(b), helpers.read(blog))
    os.execute("kill -TERM " .. b)
    assert.is_true(helpers.wait_exit(b, 15))
    -- The last record is the second instance's. On Kafka the second one's
    -- init_transactions fences the first at once; the dev broker does not
    -- fence, so the first stops when its progress watcher sees the second's
    -- record (read_committed fetches, one record batch per fetch on the mock):
    -- a few of its commits may follow, never an unbounded run of them.
    local recs = records(dev, "sinkgate-sink-two")
    local last_writer = recs[#recs].writer.id
    local first_b
    for i, rec in ipairs(recs) do if rec.writer.id == last_writer then first_b = first_b or i end end
    local a_after = 0
    for i = first_b, #recs do if recs[i].writer.id ~= last_writer then a_after = a_after + 1 end end
    assert.is_true(a_after <= 10, a_after .. " records of the first instance after the second's first")
    os.remove(alog)
    os.remove(blog)
    os.remove(path)
  end)

  it("refuses a changed topic and explains the choice; a version bump starts a new timeline", function()
    local a = config("chg")
    local r = helpers.sinkgate("run --duration 500ms " .. a, dev.env)
    assert.equal(0, r.rc, r.err)
    -- The same sink name, now pointed at another topic.
    local b = helpers.write_tmp((helpers.read(a):gsub('topic = "chg"', 'topic = "chg_b"')), ".lua")
    r = helpers.sinkgate("run --duration 500ms " .. b, dev.env)
    assert.equal(1, r.rc)
    assert.matches('topic was chg, now chg_b', r.err)
    assert.matches("bump this sink's version to 2", r.err)
    assert.equal(0, #helpers.tail(dev, "chg_b"))
    local c = helpers.write_tmp((helpers.read(b):gsub("version = 1", "version = 2")), ".lua")
    r = helpers.sinkgate("run --duration 500ms " .. c, dev.env)
    assert.equal(0, r.rc, r.err)
    assert.is_true(#helpers.tail(dev, "chg_b") > 0) -- its snapshot went to the new topic
    for _, p in ipairs({ a, b, c }) do os.remove(p) end
  end)

  it("never lets an older version fence or follow a newer one", function()
    local v1, v2 = config("vers", nil, 1), config("vers", nil, 2)
    local old, oldlog = helpers.spawn("run " .. v1, dev.env)
    assert.is_true(wait_for(function() return #records(dev, "sinkgate-sink-vers") > 0 end))
    local new, newlog = helpers.spawn("run " .. v2, dev.env)
    assert.is_true(helpers.wait_exit(old, 20), "the older version kept running")
    assert.matches("fenced off by newer version 2 of sink vers %(this one is version 1%)", helpers.read(oldlog))
    os.execute("kill -TERM " .. new)
    assert.is_true(helpers.wait_exit(new, 15))
    local recs = records(dev, "sinkgate-sink-vers")
    local first_v2
    for i, rec in ipairs(recs) do if rec.version == 2 then first_v2 = first_v2 or i end end
    assert.is_number(first_v2)
    local v1_after = 0
    for i = first_v2, #recs do if recs[i].version == 1 then v1_after = v1_after + 1 end end
    -- (as above: bounded on a broker that does not fence; none on Kafka)
    assert.is_true(v1_after <= 10, v1_after .. " version-1 records after version 2's first")
    -- Started after version 2 committed: refused before it fences anything.
    local trace = helpers.tmpname(".trace")
    local env = { SINKGATE_TRACE = trace }
    for k, v in pairs(dev.env) do env[k] = v end
    local r = helpers.sinkgate("run --duration 500ms " .. v1, env)
    assert.equal(1, r.rc)
    assert.matches("fenced off by newer version 2", r.err)
    assert.is_nil(index_of(trace_of(trace), "init-transactions"))
    for _, p in ipairs({ v1, v2, oldlog, newlog, trace }) do os.remove(p) end
  end)

  it("keeps status alive while the broker is down, stops within bounds, a second signal exits at once", function()
    local path, status = config("lv"), helpers.tmpname(".json")
    local pid, log = helpers.spawn("run --status-interval 1s --status-file " .. status .. " " .. path, dev.env)
    assert.is_true(wait_for(function() return helpers.read(status):find('"transactions":[1-9]') ~= nil end))
    helpers.ctl(dev, "broker-down 1")
    socket.sleep(1)
    local before = cjson.decode(helpers.read(status)).updated
    socket.sleep(7)
    local doc = cjson.decode(helpers.read(status))
    assert.is_true(doc.updated - before >= 5000, "the status file stopped updating")
    assert.equal("stalled", doc.sinks[1].state)
    assert.matches("waiting for the broker", doc.sinks[1].why)
    local t0 = socket.gettime()
    os.execute("kill -TERM " .. pid)
    assert.is_true(helpers.wait_exit(pid, 20), "SIGTERM not honoured")
    assert.is_true(socket.gettime() - t0 < 16)
    assert.matches("stopped with a transaction open", helpers.read(log))
    helpers.ctl(dev, "broker-up 1")
    -- A second SIGINT while the first one's stop is pending: out at once.
    local log2
    pid, log2 = helpers.spawn("run " .. path, dev.env)
    socket.sleep(2)
    helpers.ctl(dev, "broker-down 1")
    socket.sleep(1)
    os.execute("kill -INT " .. pid)
    socket.sleep(0.3)
    os.execute("kill -INT " .. pid)
    assert.is_true(helpers.wait_exit(pid, 3), helpers.read(log2))
    assert.matches("second signal, exiting now", helpers.read(log2))
    os.remove(log2)
    helpers.ctl(dev, "broker-up 1")
    for _, p in ipairs({ path, status, log }) do os.remove(p) end
  end)

  it("honours --duration with a slow broker and reports what it is waiting on", function()
    local path = config("rtt")
    helpers.ctl(dev, "rtt 1 300")
    local t0 = socket.gettime()
    local r = helpers.sinkgate("run --status-interval 1s --duration 3s " .. path, dev.env)
    helpers.ctl(dev, "rtt 1 0")
    -- Start-up allowance (15 s) + 3 s + the shutdown grace at most.
    assert.is_true(socket.gettime() - t0 < 32, r.err)
    assert.matches("sink rtt: %a+", r.err)
    os.remove(path)
  end)
end)

describe("permanent broker errors on topic creation", function()
  it("are told apart from transient ones", function()
    local core = require "sinkgate.core"
    local permanent = { "INVALID_REPLICATION_FACTOR", "INVALID_PARTITIONS", "INVALID_CONFIG", "TOPIC_AUTHORIZATION_FAILED",
      "CLUSTER_AUTHORIZATION_FAILED", "POLICY_VIOLATION" }
    local transient = { "REQUEST_TIMED_OUT", "NOT_CONTROLLER", "LEADER_NOT_AVAILABLE", "_TRANSPORT", "_TIMED_OUT" }
    for _, name in ipairs(permanent) do
      assert.equal(1, core.C.sg_kafka_topic_error_is_permanent(core.C.sg_kafka_err_code(name)), name)
    end
    for _, name in ipairs(transient) do
      assert.equal(0, core.C.sg_kafka_topic_error_is_permanent(core.C.sg_kafka_err_code(name)), name)
    end
  end)
  pending("fail the sink at once with the broker's message end to end: the dev broker has no Admin API " ..
    "(CreateTopics waits for a controller), so an INVALID_REPLICATION_FACTOR answer cannot be provoked there")
end)
