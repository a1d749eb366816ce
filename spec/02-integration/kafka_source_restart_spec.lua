-- A Kafka source → sink pipeline (JSON upsert in and Avro upsert in, JSON
-- upsert out) killed with SIGKILL several times while an independent
-- producer (python3-confluent-kafka; Avro by python3-avro) keeps writing:
-- every input message's effect must be in the output, below the committed
-- offsets, and the final state must be the input's.
--
-- What the 2.0.2 mock cannot show: it keeps aborted transactions visible to
-- read_committed consumers, so a transaction cut by a kill leaves copies
-- behind that a real broker hides. The spec counts those copies and checks
-- that each is a copy of a real input message (same key and value as the
-- input message at that partition/offset); that no input message appears
-- twice within the committed progress is the `pending` test below.
local helpers = require "helpers"
local ks = require "helpers.kafka_source"
local socket = require "socket"
local cjson = require "cjson"

local N, RATE = 800, 80

local CONFIG = [[
local sg = require "sinkgate"
local kafka = sg.kafka_connection { brokers = sg.env("SINKGATE_BROKERS"), admin_timeout = "200ms" }
local csr = sg.registry_connection { url = sg.env("SINKGATE_REGISTRY") }
local src = sg.source.kafka { connection = kafka, topic = %q, %s,
  envelope = "upsert", include = { partition = true, offset = true }, timestamp_interval = "100ms" }
sg.sink %q { from = src, into = { connection = kafka, topic = %q }, key = { "key" }, format = "json",
  envelope = "upsert", commit_interval = "100ms"%s }
]]

-- The messages. Odd i: a key of its own ("k<i>"), so its effect must
-- appear in the output whatever was consolidated. Even i: one of 40 keys
-- updated again and again ("u<i % 40>"), every third one a delete (null
-- value): after a restart these need the rebuilt state (a delete of a key
-- the state lost would produce nothing), and updates of one key read at one
-- logical time consolidate to the last one, as they should.
local function messages()
  local out = {}
  for i = 1, N do
    local key = i % 2 == 1 and ("k" .. i) or ("u" .. (i % 40))
    out[i] = { key = key, seq = not (i % 2 == 0 and i % 6 == 0) and i or nil }
  end
  return out
end

-- Producer input lines: JSON values, or Avro key ("string") and value
-- (record {seq long}) with the Confluent framing.
local function input_file(dev, fmt, topic)
  local msgs, lines = messages(), {}
  local keys, vals = {}, {}
  if fmt == "avro" then
    local vschema = { type = "record", name = "v", fields = { { name = "seq", type = "long" } } }
    local kid, vid = ks.register(dev, topic .. "-key", "string"), ks.register(dev, topic .. "-value", vschema)
    local kd, vd, at = {}, {}, {}
    for i, m in ipairs(msgs) do
      kd[i] = m.key
      if m.seq then vd[#vd + 1], at[#vd + 1] = { seq = m.seq }, i end
    end
    keys = ks.avro("string", kid, kd)
    for j, bytes in ipairs(ks.avro(vschema, vid, vd)) do vals[at[j]] = bytes end
  end
  for i, m in ipairs(msgs) do
    local line
    if fmt == "avro" then
      line = { key_b64 = ks.b64(keys[i]), value = cjson.null }
      if vals[i] then line.value, line.value_b64 = nil, ks.b64(vals[i]) end
    else
      line = { key = m.key, value = m.seq and cjson.encode({ seq = m.seq }) or cjson.null }
    end
    lines[i] = cjson.encode(line)
  end
  return helpers.write_tmp(table.concat(lines, "\n") .. "\n", ".jsonl")
end

-- state_dir: the UPSERT state in files kept across the kills
-- (source/upsert_cache.lua), which each restart checks against the
-- committed offsets; else in memory, rebuilt from the topic each time.
local function run_case(dev, fmt, state_dir)
  local name = fmt .. (state_dir and "_kept" or "")
  local topic, out = "src_" .. name, "out_" .. name
  local formats = fmt == "avro" and "format = sg.avro { registry = csr }" or 'key_format = "text", value_format = "json"'
  local sink_opts = state_dir and (", state_dir = %q"):format(state_dir) or ""
  local path = helpers.write_tmp(CONFIG:format(topic, formats, out, out, sink_opts), ".lua")
  local input = input_file(dev, fmt, topic)
  local plog = helpers.tmpname(".log")
  local producer = io.popen(("/usr/bin/python3 spec/helpers/kafka_produce.py %s %s --rate %d <%s >%s 2>&1 & echo $!")
    :format(dev.brokers, topic, RATE, input, plog))
  local ppid = tonumber(producer:read("*l"))
  producer:close()
  math.randomseed(7)
  local kills = 0
  for i = 1, 5 do
    -- slow broker round trips in some rounds make a kill inside a transaction likely
    helpers.ctl(dev, "rtt 1 " .. (i % 2 == 0 and 150 or 0))
    local pid = helpers.spawn("run " .. path, dev.env)
    socket.sleep(1.2 + math.random() * 1.5) -- past startup: kills land between and inside transactions
    os.execute("kill -KILL " .. pid)
    helpers.wait_exit(pid, 10)
    kills = kills + 1
  end
  helpers.ctl(dev, "rtt 1 0")
  assert.is_true(helpers.wait_exit(ppid, 30), "the producer did not finish")
  assert.matches(tostring(N), helpers.read(plog))
  local r = helpers.sinkgate("run --duration 2500ms " .. path, dev.env)
  os.remove(path)
  os.remove(input)
  assert.equal(0, r.rc, r.err)
  assert.matches("resuming at frontier", r.err)
  -- the last kill came after the restart before it had checkpointed its state
  if state_dir then assert.matches("state files fit the committed offsets", r.err) end

  -- The input as the broker holds it (partition/offset of every message);
  -- the value's seq (or nil for a delete).
  local ins = helpers.tail(dev, topic)
  assert.equal(N, #ins)
  local by_pos, last = {}, {}
  for _, m in ipairs(ins) do
    m.seq = m.value ~= cjson.null and m.value.seq or nil
    by_pos[m.partition .. "@" .. m.offset] = m
    last[m.key] = m -- tail gives each partition in offset order
  end
  -- The output: every input message is there, each copy true to its input.
  local outs = helpers.tail(dev, out)
  local seen, extra, final = {}, 0, {}
  local times = {}
  for _, o in ipairs(outs) do
    local v = o.value
    -- Logical times: the wall clock quantized to timestamp_interval (100 ms).
    local ts = tonumber(o.headers[1][2])
    assert.equal(0, ts % 100, "a logical time off the 100 ms grid: " .. ts)
    times[ts] = true
    if v ~= cjson.null then
      local pos = v.partition .. "@" .. v.offset
      local m = by_pos[pos]
      assert.is_not_nil(m, "output names an input message that does not exist: " .. pos)
      assert.equal(m.key, v.key)
      assert.equal(m.seq, fmt == "avro" and v.seq or v.data.seq)
      if seen[pos] then extra = extra + 1 end
      seen[pos] = true
    end
    final[o.key.key] = v
  end
  for pos, m in pairs(by_pos) do
    if m.key:sub(1, 1) == "k" then assert.is_true(seen[pos], "input message " .. pos .. " (" .. m.key .. ") is missing") end
  end
  -- The final state: the last value of every key (a delete: a tombstone
  -- last, or nothing at all when the key was born and deleted before a
  -- transaction: a snapshot holds only what exists).
  for k, m in pairs(last) do
    if not m.seq then
      assert.is_true(final[k] == nil or final[k] == cjson.null, "the delete of " .. k .. " is missing")
    else
      assert.equal(m.seq, fmt == "avro" and final[k].seq or final[k].data.seq, "final value of " .. k)
    end
  end
  -- The committed offsets of the last record are the input's ends.
  local recs = helpers.tail(dev, "_sinkgate-progress")
  local rec
  for _, x in ipairs(recs) do if x.key == "sinkgate-sink-" .. out then rec = x.value end end
  local ends = {}
  for _, m in ipairs(ins) do ends[m.partition + 1] = math.max(ends[m.partition + 1] or 0, m.offset + 1) end
  for p = 1, 4 do assert.equal(ends[p] or 0, rec.sources[topic].offsets[p]) end
  local ntimes = 0
  for _ in pairs(times) do ntimes = ntimes + 1 end
  print(("\n    %s: %d kills, %d input messages, %d output messages at %d logical times, %d copies from cut " ..
    "transactions (the mock shows them)"):format(name, kills, N, #outs, ntimes, extra))
end

describe("Kafka source → sink, exactly once under SIGKILL", function()
  local dev
  setup(function()
    dev = helpers.dev_start("--topics src_json:4,out_json:4,src_avro:4,out_avro:4,src_json_kept:4,out_json_kept:4")
  end)
  teardown(function() helpers.dev_stop(dev) end)

  it("JSON upsert in: loses nothing and resumes from the committed offsets while messages keep arriving", function()
    run_case(dev, "json")
  end)

  it("Avro upsert in (key and value from the registry): the same", function()
    run_case(dev, "avro")
  end)

  it("JSON upsert in with state_dir (state files kept across the kills): the same", function()
    local dir = os.tmpname()
    os.remove(dir)
    run_case(dev, "json", dir)
    os.execute("rm -rf '" .. dir .. "'")
  end)

  pending("no input message below the committed offsets appears twice in the read_committed output " ..
    "(needs a broker that hides aborted transactions; the 2.0.2 mock shows them)")
end)
