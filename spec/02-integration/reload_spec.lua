-- Config reload on a real `sinkgate run` (SIGHUP, --watch): a changed
-- partition_by applies without duplicates or gaps; a topic change (an
-- identity change without a version bump) is refused and the old sink
-- keeps producing; `check --diff` says the same beforehand.
local helpers = require "helpers"
local socket = require "socket"
local http = require "socket.http"

local function config(topic, partition, extra, name)
  return ([[
local sg = require "sinkgate"
local kafka = sg.kafka_connection { brokers = sg.env("SINKGATE_BROKERS"), admin_timeout = "200ms" }
local gen = sg.source.load_generator { kind = "counter", tick = "50ms" }
sg.sink %q { from = gen, into = { connection = kafka, topic = %q,
  partition_by = function(row) return %d end }, key = { "counter" }, format = "json", envelope = "upsert" }
%s]]):format(name or "rl", topic, partition, extra or "")
end

local function write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

local function wait_log(log, pattern, seconds)
  local deadline = socket.gettime() + (seconds or 20)
  repeat
    local text = helpers.read(log)
    if text:find(pattern) then return text end
    socket.sleep(0.1)
  until socket.gettime() > deadline
  error("never logged " .. pattern .. ":\n" .. helpers.read(log))
end

local function metric(url, series)
  local body = http.request(url .. "/metrics")
  local v = body and ("\n" .. body):match("\n" .. series:gsub("%p", "%%%0") .. " (%S+)")
  return v and tonumber(v)
end

local function stop(pid, log)
  os.execute("kill -TERM " .. pid)
  assert.is_true(helpers.wait_exit(pid, 20), "run did not stop")
  local out = helpers.read(log)
  os.remove(log)
  return out
end

describe("reload", function()
  local dev
  setup(function() dev = helpers.dev_start("--topics rl-a:2,rl-b:2,rl-d:1,rl-x:1,rl-y:1") end)
  teardown(function() helpers.dev_stop(dev) end)

  it("applies a changed partition_by on SIGHUP without duplicates or gaps", function()
    local path = helpers.tmpname(".lua")
    write(path, config("rl-a", 0))
    local pid, log = helpers.spawn("run --status-interval 1h " .. path, dev.env)
    wait_log(log, "sink rl: running")
    socket.sleep(1)
    write(path, config("rl-a", 1))
    os.execute("kill -HUP " .. pid)
    wait_log(log, "reload: sink rl: restart")
    wait_log(log, "resuming at frontier")
    socket.sleep(1.5)
    local out = stop(pid, log)
    os.remove(path)
    local seen, max_p0, min_p1, n, dups = {}, -1, math.huge, 0, 0
    for _, m in ipairs(helpers.tail(dev, "rl-a")) do
      local k = m.key.counter
      if seen[k] then dups = dups + 1 end
      seen[k], n = true, n + 1
      if m.partition == 0 then max_p0 = math.max(max_p0, k) else min_p1 = math.min(min_p1, k) end
    end
    assert.equal(0, dups, out)
    for k = 1, n do assert.is_true(seen[k], "gap at " .. k) end -- counter starts at 1
    assert.is_true(max_p0 >= 1 and min_p1 < math.huge, "both partitions used: " .. out)
    assert.is_true(max_p0 < min_p1, "every message after the reload went to the new partition")
  end)

  it("refuses a topic change (--watch); the old sink keeps producing", function()
    local path = helpers.tmpname(".lua")
    write(path, config("rl-b", 0, nil, "rlb"))
    local pid, log = helpers.spawn("run --watch --http 127.0.0.1:0 --status-interval 1h " .. path, dev.env)
    local url = wait_log(log, "sink rlb: running"):match("on (http://[%d%.]+:%d+)")
    write(path, config("rl-c", 0, nil, "rlb"))
    wait_log(log, "reload: sink rlb: refuse")
    local at_refusal = metric(url, 'sinkgate_sink_messages_total{sink="rlb"}')
    socket.sleep(1.5)
    local later = metric(url, 'sinkgate_sink_messages_total{sink="rlb"}')
    local refused = metric(url, 'sinkgate_reloads_total{result="refused"}')
    local running = metric(url, 'sinkgate_sink_state{sink="rlb",state="running"}')
    local out = stop(pid, log)
    os.remove(path)
    assert.matches("topic rl%-b %-> rl%-c needs a version bump", out)
    assert.is_true(later > at_refusal, ("still producing: %s then %s"):format(at_refusal, later))
    assert.equal(1, refused)
    assert.equal(1, running)
    assert.is_true(#helpers.tail(dev, "rl-b") >= later)
  end)

  it("stops a removed sink cleanly and starts an added one; the others run on", function()
    local path = helpers.tmpname(".lua")
    local other = 'sg.sink "rlx" { from = gen, into = { connection = kafka, topic = "rl-x" }, envelope = "debezium" }\n'
    local added = 'sg.sink "rly" { from = gen, into = { connection = kafka, topic = "rl-y" }, envelope = "debezium" }\n'
    write(path, config("rl-d", 0, other, "rld"))
    local pid, log = helpers.spawn("run --http 127.0.0.1:0 --status-interval 1h " .. path, dev.env)
    local url = wait_log(log, "sink rlx: running"):match("on (http://[%d%.]+:%d+)")
    wait_log(log, "sink rld: running")
    write(path, config("rl-d", 0, added, "rld"))
    os.execute("kill -HUP " .. pid)
    wait_log(log, "reload: sink rly: add")
    wait_log(log, "sink rly: running")
    local before = metric(url, 'sinkgate_sink_messages_total{sink="rld"}')
    local gone = metric(url, 'sinkgate_sink_messages_total{sink="rlx"}')
    local sinks = metric(url, "sinkgate_sinks")
    require("socket").sleep(1)
    local after = metric(url, 'sinkgate_sink_messages_total{sink="rld"}')
    local out = stop(pid, log)
    os.remove(path)
    assert.matches("reload: sink rlx: remove", out, 1, true)
    assert.matches("reload: sink rld: keep", out, 1, true)
    assert.is_nil(gone, "a removed sink leaves /metrics")
    assert.equal(2, sinks)
    assert.is_true(after > before, "the kept sink runs on")
    -- the removed sink committed what it had: its topic holds each counter value once, no gap
    local seen, n = {}, 0
    for _, m in ipairs(helpers.tail(dev, "rl-x")) do
      local k = m.value.after.counter
      assert.is_nil(seen[k], "duplicate " .. k)
      seen[k], n = true, n + 1
    end
    assert.is_true(n > 0)
    for k = 1, n do assert.is_true(seen[k], "gap at " .. k) end
  end)

  it("check --diff shows what a reload would do", function()
    local old = helpers.write_tmp(config("t1", 0), ".lua")
    local same = helpers.write_tmp(config("t1", 0), ".lua")
    local moved = helpers.write_tmp("\n\n" .. config("t1", 0), ".lua") -- lines moved, nothing changed
    local part = helpers.write_tmp(config("t1", 1), ".lua")
    local topic = helpers.write_tmp(config("t2", 0,
      'sg.sink "more" { from = gen, into = { connection = kafka, topic = "m" }, envelope = "debezium" }'), ".lua")
    local env = { SINKGATE_BROKERS = "127.0.0.1:1" }
    local r1 = helpers.sinkgate("check --diff " .. old .. " " .. same, env)
    local r2 = helpers.sinkgate("check --diff " .. old .. " " .. moved, env)
    local r3 = helpers.sinkgate("check --diff " .. old .. " " .. part, env)
    local r4 = helpers.sinkgate("check --diff " .. old .. " " .. topic, env)
    local r5 = helpers.sinkgate("check --diff " .. old, env)
    for _, p in ipairs({ old, same, moved, part, topic }) do os.remove(p) end
    assert.equal(0, r1.rc, r1.err)
    assert.matches("^keep +rl: unchanged", r1.out)
    assert.matches("^keep +rl: unchanged", r2.out)
    assert.equal(0, r3.rc)
    assert.matches("^restart +rl: options changed", r3.out)
    assert.equal(1, r4.rc)
    assert.matches("refuse +rl: topic t1 %-> t2 needs a version bump", r4.out)
    assert.matches("add +more: new sink", r4.out)
    assert.equal(2, r5.rc)
  end)
end)
