-- UPSERT source state kept on disk across restarts (source/upsert_cache.lua):
-- the files are a cache checkpointed with the offsets they reflect. A
-- restart keeps them when that checkpoint fits the committed progress and
-- reads only what lies past it; the rows it then retracts must be exactly
-- those the earlier runs emitted, as if the state had been rebuilt from the
-- topic. A second process on the same state_dir keeps away from the files.
local helpers = require "helpers"
local ks = require "helpers.kafka_source"
local cjson = require "cjson"
local socket = require "socket"

local KEYS = 300

-- conn: more fields of the kafka_connection, or nil.
local function config(topic, dir, conn)
  return ([[
local sg = require "sinkgate"
local kafka = sg.kafka_connection { brokers = sg.env("SINKGATE_BROKERS"), admin_timeout = "200ms"%s }
local src = sg.source.kafka { connection = kafka, topic = %q, key_format = "text", value_format = "text",
  envelope = "upsert", include = { key = true, offset = true } }
sg.sink %q { from = src, into = { connection = kafka, topic = %q }, format = "json", envelope = "debezium",
  state_dir = %q, commit_interval = "100ms" }
]]):format(conn and ", " .. conn or "", topic, topic .. "_out", topic .. "_out", dir)
end

local function key(i) return ("k%04d"):format(i) end

local events = ks.events -- the output topics have one partition

-- Messages for keys i where pick(i), version tag, over 2 partitions.
local function batch(tag, pick)
  local out = {}
  for i = 1, KEYS do
    if pick(i) then out[#out + 1] = { key = key(i), value = ("%s-%d"):format(tag, i), partition = i % 2 } end
  end
  return out
end

-- The latest "after" row the output holds for each key.
local function latest(all)
  local rows = {}
  for _, m in ipairs(all) do
    local v = m.value
    if v.after ~= cjson.null then rows[v.after.key] = v.after end
  end
  return rows
end

-- Checks the output messages from index `from` on: each retracts exactly the
-- row emitted before for its key (known), and inserts the new value.
local function check_retractions(all, from, known, want)
  local n = 0
  for i = from, #all do
    local v = all[i].value
    local k = v.before ~= cjson.null and v.before.key or v.after.key
    assert.same(known[k], v.before, "the retraction of " .. k)
    assert.equal(want[k], v.after.text, "the new value of " .. k)
    n = n + 1
  end
  return n
end

describe("UPSERT state files kept across restarts", function()
  local dev
  setup(function() dev = helpers.dev_start() end)
  teardown(function() helpers.dev_stop(dev) end)

  it("are kept when they fit the committed offsets, and caught up from an older checkpoint", function()
    local topic, dir = "ucache", os.tmpname()
    os.remove(dir)
    local cfg = config(topic, dir)
    ks.produce(dev, topic, batch("v1", function() return true end))
    local r = ks.run(dev, cfg, "3s")
    assert.equal(0, r.rc, r.err)
    local all = events(dev, topic .. "_out")
    assert.equal(KEYS, #all)
    local kept = dir .. "/" .. topic .. "_out/source-" .. topic .. ".kept"
    local ok = os.execute("cp -a " .. kept .. " " .. dir .. "/after-run-1")
    assert.is_true(ok == true or ok == 0, "copying " .. kept)

    -- Run 2: the files fit the committed offsets (150,150,0,0): nothing is read
    -- again, and the updates retract the rows run 1 emitted.
    local v1 = latest(all)
    ks.produce(dev, topic, batch("v2", function(i) return i % 3 == 0 end))
    r = ks.run(dev, cfg, "3s")
    assert.equal(0, r.rc, r.err)
    assert.matches("state files fit the committed offsets: " .. KEYS .. " keys kept at offsets 150,150,0,0 %(committed 150,150,0,0%)",
      r.err)
    all = events(dev, topic .. "_out")
    local want = {}
    for i = 3, KEYS, 3 do want[key(i)] = "v2-" .. i end
    assert.equal(KEYS / 3, check_retractions(all, KEYS + 1, v1, want))

    -- Run 3 from run 1's files (an older checkpoint): the messages between
    -- it and the committed offsets are read again into the state, so the
    -- updates of keys run 2 changed retract run 2's rows, not run 1's.
    os.execute("rm -rf " .. kept .. " && mv " .. dir .. "/after-run-1 " .. kept)
    local v2 = latest(all)
    local before3 = #all
    ks.produce(dev, topic, batch("v3", function(i) return i % 2 == 0 end))
    r = ks.run(dev, cfg, "3s")
    assert.equal(0, r.rc, r.err)
    assert.matches("kept at offsets 150,150,0,0 %(committed 200,200,0,0%)", r.err)
    all = events(dev, topic .. "_out")
    want = {}
    for i = 2, KEYS, 2 do want[key(i)] = "v3-" .. i end
    assert.equal(KEYS / 2, check_retractions(all, before3 + 1, v2, want))
    os.execute("rm -rf '" .. dir .. "'")
  end)

  it("a rebuild killed halfway goes on from its last checkpoint after the restart", function()
    local topic, dir = "ucache3", os.tmpname()
    os.remove(dir)
    local n = 20000 -- the output (20000 messages of ~150 B) within what the dev broker keeps
    local lines = {}
    for i = 1, 2 * n do -- each key twice: the rebuild must keep the later value
      lines[i] = ('{"key":"%s","value":"v%d-%d","partition":%d}'):format(key(i % n), i <= n and 1 or 2, i % n, i % 2)
    end
    local file = helpers.write_tmp(table.concat(lines, "\n") .. "\n", ".jsonl")
    -- Batches of 100 messages and fetches of at most 4 KiB a partition (about
    -- one batch): the rebuild below takes ~200 fetches, each slowed by the
    -- broker's RTT, however much the consumer would prefetch.
    assert.is_true(os.execute(("/usr/bin/python3 spec/helpers/kafka_produce.py %s %s --batch 100 <%s >/dev/null")
      :format(dev.brokers, topic, file)) == 0)
    os.remove(file)
    local cfg = config(topic, dir, 'options = { ["max.partition.fetch.bytes"] = 4096 }')
    local r = ks.run(dev, cfg, "10s")
    assert.equal(0, r.rc, r.err)
    local v2 = latest(events(dev, topic .. "_out"))
    local before = #events(dev, topic .. "_out")
    assert.equal(n, before)
    -- The files lost, the restart rebuilds from the topic; slow small fetches
    -- make it long enough to be killed halfway (seen in the status file).
    os.execute("rm -rf " .. dir .. "/*/source-*.kept")
    helpers.ctl(dev, "rtt 1 150")
    local path = helpers.write_tmp(cfg, ".lua")
    local status = helpers.tmpname(".json")
    local pid, log = helpers.spawn(("run --status-file %s --status-interval 100ms %s"):format(status, path), dev.env)
    local halfway
    local deadline = socket.gettime() + 60
    repeat
      socket.sleep(0.05)
      local ok, doc = pcall(cjson.decode, helpers.read(status))
      local rh = ok and type(doc) == "table" and doc.sinks and doc.sinks[1] and doc.sinks[1].rehydration
      if type(rh) == "table" and rh.read > 10000 and rh.read < rh.target then halfway = rh end
    until halfway or not helpers.alive(pid) or socket.gettime() > deadline
    os.execute("kill -KILL " .. pid)
    helpers.wait_exit(pid, 10)
    helpers.ctl(dev, "rtt 1 0")
    assert.is_table(halfway, "the rebuild was not seen halfway:\n" .. helpers.read(log))
    -- The restart keeps the checkpoint the killed rebuild left (offsets
    -- above 0, below the committed ones) and reads the rest.
    ks.produce(dev, topic, batch("v3", function(i) return i % 2 == 0 end))
    r = helpers.sinkgate("run --duration 4s " .. path, dev.env)
    os.remove(path)
    assert.equal(0, r.rc, r.err)
    local at, committed = r.err:match("keys kept at offsets ([%d,]+) %(committed ([%d,]+)%)")
    assert.is_string(at, r.err)
    local sum_at, sum_c = 0, 0
    for o in at:gmatch("%d+") do sum_at = sum_at + tonumber(o) end
    for o in committed:gmatch("%d+") do sum_c = sum_c + tonumber(o) end
    assert.is_true(sum_at > 0 and sum_at < sum_c, "a checkpoint halfway: " .. at .. " of " .. committed)
    local all = events(dev, topic .. "_out")
    local want = {}
    for i = 2, KEYS, 2 do want[key(i)] = "v3-" .. i end
    assert.equal(KEYS / 2, check_retractions(all, before + 1, v2, want))
    os.execute("rm -rf '" .. dir .. "'")
  end)

  it("are not used by a second process on the same state_dir, which rebuilds in a private directory", function()
    local topic, dir = "ucache2", os.tmpname()
    os.remove(dir)
    local cfg = config(topic, dir)
    ks.produce(dev, topic, batch("v1", function() return true end))
    local r = ks.run(dev, cfg, "3s")
    assert.equal(0, r.rc, r.err)
    local path = helpers.write_tmp(cfg, ".lua")
    local pid, log = helpers.spawn("run " .. path, dev.env)
    -- the first holds the files once it has started
    local deadline = os.time() + 15
    while not helpers.read(log):find("state files fit", 1, true) and os.time() < deadline do os.execute("sleep 0.1") end
    assert.matches("state files fit", helpers.read(log))
    r = helpers.sinkgate("run --duration 2s " .. path, dev.env)
    os.execute("kill " .. pid)
    helpers.wait_exit(pid, 10)
    assert.matches("is locked by another process %(another instance of this sink%); this process rebuilds its state " ..
      "in a private directory", r.err)
    assert.matches("UPSERT state rebuilt up to offsets 150,150,0,0: " .. KEYS .. " keys", r.err)
    os.remove(path)
    os.execute("rm -rf '" .. dir .. "'")
  end)
end)
