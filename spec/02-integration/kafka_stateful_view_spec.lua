-- distinct_on and group_by views over a Kafka source, through real runs
-- against `sinkgate dev`, input written by an independent producer
-- (spec/helpers/kafka_produce.py). After a restart the source's
-- rehydration (reading from its start offsets up to the committed ones)
-- must rebuild the views' state too: a view that lost it would emit a
-- "new" winner or a group restarting from zero for the first message of a
-- key after the restart, which the models below catch.
local helpers = require "helpers"
local ks = require "helpers.kafka_source"
local socket = require "socket"
local cjson = require "cjson"

local HEAD = [[
local sg = require "sinkgate"
local kafka = sg.kafka_connection { brokers = sg.env "SINKGATE_BROKERS", admin_timeout = "200ms" }
]]

-- An upsert source of orders "customer,amount" (text: CSV takes envelope
-- none only) keyed by order id, mapped to
-- typed columns, grouped per customer; %s: the sink's name and topic, then
-- extra sink options.
local GROUPS = HEAD .. [[
local src = sg.source.kafka { connection = kafka, topic = %q, key_format = "text", value_format = "text",
  envelope = "upsert", timestamp_interval = "100ms" }
local orders = sg.view { name = "orders", from = src, keys = { { "id" } },
  map = function(r)
    local c, a = r.text:match("^(%%d+),(%%d+)$")
    return { id = r.key, customer = tonumber(c), amount = tonumber(a) }
  end,
  columns = { { "id", "text", not_null = true }, { "customer", "bigint", not_null = true }, { "amount", "bigint" } } }
local per_customer = sg.view { name = "per_customer", from = orders, group_by = { "customer" },
  aggregates = { n = "count", total = { "sum", "amount" } } }
sg.sink %q { from = per_customer, into = { connection = kafka, topic = %q }, key = { "customer" }, format = "json",
  envelope = "upsert", commit_interval = "100ms"%s }
]]

local function groups_config(topic_in, sink, extra)
  return GROUPS:format(topic_in, sink, sink, extra or "")
end

-- The upsert model: messages { key, value = "customer,amount" | nil } in
-- the order of their partition (one key is always in one partition) →
-- per customer { n, total }.
local function group_model(msgs)
  local rows = {}
  for _, m in ipairs(msgs) do
    local c, a = (m.value or ""):match("^(%d+),(%d+)$")
    rows[m.key] = c and { customer = tonumber(c), amount = tonumber(a) } or nil
  end
  local g = {}
  for _, r in pairs(rows) do
    local x = g[r.customer] or { n = 0, total = 0 }
    x.n, x.total = x.n + 1, x.total + r.amount
    g[r.customer] = x
  end
  return g
end

-- The last value per key of a sink topic (JSON upsert): key → value or nil.
local function last_values(dev, topic, key_col)
  local final, n = {}, 0
  for _, m in ipairs(helpers.tail(dev, topic)) do
    final[m.key[key_col]] = m.value ~= cjson.null and m.value or nil
    n = n + 1
  end
  return final, n
end

local function assert_groups(model, final)
  for c, x in pairs(model) do
    assert.is_table(final[c], "customer " .. c .. " is missing from the output")
    assert.same({ x.n, x.total }, { final[c].n, final[c].total }, "customer " .. c)
  end
  for c in pairs(final) do assert.is_table(model[c], "customer " .. c .. " should have been deleted") end
end

-- The input as the broker holds it, key and value as text, in partition order.
local function input_of(dev, topic)
  local msgs = {}
  for _, m in ipairs(helpers.tail(dev, topic, "--key-format text --value-format text")) do
    msgs[#msgs + 1] = { key = m.key, value = m.value ~= cjson.null and m.value or nil }
  end
  return msgs
end

local function last_progress(dev, sink)
  local last
  for _, m in ipairs(helpers.tail(dev, "_sinkgate-progress", "--value-format text")) do
    if m.key == "sinkgate-sink-" .. sink then last = m.value end
  end
  return last
end

-- Waits until the log at path matches pattern (plain); true if it did.
local function wait_log(path, pattern, seconds, step)
  local deadline = socket.gettime() + seconds
  repeat
    if helpers.read(path):find(pattern, 1, true) then return true end
    socket.sleep(step or 0.05)
  until socket.gettime() > deadline
  return false
end

describe("stateful views over a Kafka source", function()
  local dev
  setup(function()
    dev = helpers.dev_start("--topics ksv_dd_in:2,ksv_dd:1,ksv_grp_in:1,ksv_grp:1,ksv_kill_in:3,ksv_kill:2,ksv_dbz_in:1,ksv_dbz:1," ..
      "ksv_rh_in:2,ksv_rh:1")
  end)
  teardown(function() helpers.dev_stop(dev) end)

  it("dedupe example: duplicate keys → distinct_on → UPSERT sink on k, state rebuilt after a restart", function()
    local path = helpers.write_tmp(HEAD .. [[
local src = sg.source.kafka { connection = kafka, topic = "ksv_dd_in", key_format = "text",
  value_format = sg.csv { header = { "k", "v" } }, timestamp_interval = "100ms" }
local rows = sg.view { name = "rows", from = src, map = function(r) return { k = r.k, v = tonumber(r.v) } end,
  columns = { { "k", "text", not_null = true }, { "v", "bigint" } } }
local deduped = sg.view { name = "deduped", from = rows, distinct_on = { "k" }, order_by = { { "v", "desc" } } }
sg.sink "ksv_dd" { from = deduped, into = { connection = kafka, topic = "ksv_dd" }, key = { "k" }, format = "json",
  envelope = "upsert", commit_interval = "100ms" }
]], ".lua")
    -- envelope none: every message an insertion, 5 keys seen 6 times each
    local msgs, best = {}, {}
    for i = 1, 30 do
      local k, v = "k" .. (i % 5), (i * 7) % 11
      msgs[i] = { key = k, value = k .. "," .. v, partition = i % 2 }
      best[k] = math.max(best[k] or -1, v)
    end
    ks.produce(dev, "ksv_dd_in", msgs)
    local r = helpers.sinkgate("check " .. path, dev.env)
    assert.equal(0, r.rc, r.err)
    assert.matches('view: +deduped %(distinct, [^)]+%): keys %("k"%)', r.out) -- no NOT ENFORCED needed
    r = helpers.sinkgate("run --duration 3s " .. path, dev.env)
    assert.equal(0, r.rc, r.err)
    local final, n1 = last_values(dev, "ksv_dd", "k")
    for k, v in pairs(best) do assert.equal(v, final[k].v, k) end
    -- more duplicates: lower values of every key (no change), a new best
    -- for k2 and a new key. Rebuilt state: only those two are sent.
    local more = {}
    for k, v in pairs(best) do more[#more + 1] = { key = k, value = k .. "," .. (v - 1), partition = #more % 2 } end
    more[#more + 1] = { key = "k2", value = "k2," .. (best.k2 + 5), partition = 1 }
    more[#more + 1] = { key = "k9", value = "k9,1", partition = 0 }
    ks.produce(dev, "ksv_dd_in", more)
    r = helpers.sinkgate("run --duration 3s " .. path, dev.env)
    os.remove(path)
    assert.equal(0, r.rc, r.err)
    assert.matches("resuming at frontier", r.err)
    assert.matches("source ksv_dd_in: state rebuilt up to offsets 15,15: 30 messages %(30 offsets%).-views included",
      r.err)
    local outs = helpers.tail(dev, "ksv_dd")
    local sent = {}
    for i = n1 + 1, #outs do sent[#sent + 1] = outs[i].key.k .. "=" .. outs[i].value.v end
    table.sort(sent)
    assert.same({ "k2=" .. (best.k2 + 5), "k9=1" }, sent)
  end)

  it("group_by count/sum over an UPSERT source follows updates and deletes, across a restart", function()
    local path = helpers.write_tmp(groups_config("ksv_grp_in", "ksv_grp"), ".lua")
    local round1 = {
      { key = "o1", value = "1,10" }, { key = "o2", value = "1,5" }, { key = "o3", value = "2,7" },
      { key = "o1", value = "1,12" }, { key = "o4", value = "3,1" }, { key = "o4", value = cjson.null },
      { key = "o2", value = "2,5" }, { key = "o5", value = "4,2" },
    }
    ks.produce(dev, "ksv_grp_in", round1)
    local r = helpers.sinkgate("run --duration 3s " .. path, dev.env)
    assert.equal(0, r.rc, r.err)
    local final = last_values(dev, "ksv_grp", "customer")
    assert_groups(group_model(input_of(dev, "ksv_grp_in")), final)
    -- after the restart: a delete that empties group 4, an update moving
    -- o3 to group 1, a new order in group 2: each needs the rebuilt state
    ks.produce(dev, "ksv_grp_in", { { key = "o5", value = cjson.null }, { key = "o3", value = "1,7" },
      { key = "o6", value = "2,1" } })
    r = helpers.sinkgate("run --duration 3s " .. path, dev.env)
    os.remove(path)
    assert.equal(0, r.rc, r.err)
    assert.matches("state rebuilt up to offsets 8:", r.err, 1, true)
    final = last_values(dev, "ksv_grp", "customer")
    local model = group_model(input_of(dev, "ksv_grp_in"))
    assert.same({ n = 2, total = 19 }, model[1]) -- the model itself: o1 at 12 and o3 moved here at 7
    assert.is_nil(model[4])
    assert_groups(model, final)
  end)

  it("group_by over a DEBEZIUM source: its diffs rebuild the groups after a restart", function()
    local path = helpers.write_tmp(HEAD .. [[
local src = sg.source.kafka { connection = kafka, topic = "ksv_dbz_in", key_format = "json", value_format = "json",
  envelope = "debezium", columns = { { "id", "bigint", not_null = true }, { "customer", "bigint", not_null = true },
  { "amount", "bigint" } }, keys = { { "id" } }, timestamp_interval = "100ms" }
local per_customer = sg.view { name = "per_customer", from = src, group_by = { "customer" },
  aggregates = { n = "count", total = { "sum", "amount" } } }
sg.sink "ksv_dbz" { from = per_customer, into = { connection = kafka, topic = "ksv_dbz" }, key = { "customer" },
  format = "json", envelope = "upsert", commit_interval = "100ms" }
]], ".lua")
    local lsn = 0
    local function event(op, before, after)
      lsn = lsn + 10
      local id = (after or before).id
      return { key = cjson.encode({ id = id }), value = cjson.encode({ op = op, before = before or cjson.null,
        after = after or cjson.null, source = { lsn = lsn } }) }
    end
    local o1, o2 = { id = 1, customer = 1, amount = 10 }, { id = 2, customer = 1, amount = 5 }
    local o2b = { id = 2, customer = 2, amount = 5 }
    ks.produce(dev, "ksv_dbz_in", { event("c", nil, o1), event("c", nil, o2), event("u", o2, o2b) })
    local r = helpers.sinkgate("run --duration 3s " .. path, dev.env)
    assert.equal(0, r.rc, r.err)
    local final = last_values(dev, "ksv_dbz", "customer")
    assert.same({ { 1, 10 }, { 1, 5 } }, { { final[1].n, final[1].total }, { final[2].n, final[2].total } })
    -- after the restart: a delete that empties customer 1 (its retraction
    -- needs the rebuilt group), a new order of customer 2
    ks.produce(dev, "ksv_dbz_in", { event("d", o1, nil), event("c", nil, { id = 3, customer = 2, amount = 1 }) })
    r = helpers.sinkgate("run --duration 3s " .. path, dev.env)
    os.remove(path)
    assert.equal(0, r.rc, r.err)
    assert.matches("state rebuilt up to offsets 3: 3 messages", r.err, 1, true)
    final = last_values(dev, "ksv_dbz", "customer")
    assert.is_nil(final[1])
    assert.same({ 2, 6 }, { final[2].n, final[2].total })
  end)

  it("killed while running and while rebuilding, state on disk, input arriving: output equals the model", function()
    local dir = helpers.tmpname(".state")
    local path = helpers.write_tmp(groups_config("ksv_kill_in", "ksv_kill",
      (", state_dir = %q, state_memory = 16384"):format(dir)), ".lua")
    -- 20000 messages up front (4000 orders of 1500 customers, every tenth a
    -- delete) so a rebuild takes a while, then 1500 more while it runs
    local function line(i)
      local v = i % 10 == 0 and cjson.null or (("%d,%d"):format((i * 7919) % 1500, i % 100))
      return cjson.encode({ key = "o" .. (i % 4000), value = v })
    end
    local seed, later = {}, {}
    for i = 1, 20000 do seed[i] = line(i) end
    for i = 20001, 21500 do later[#later + 1] = line(i) end
    local seed_file = helpers.write_tmp(table.concat(seed, "\n") .. "\n", ".jsonl")
    local later_file = helpers.write_tmp(table.concat(later, "\n") .. "\n", ".jsonl")
    assert.is_true(os.execute(("/usr/bin/python3 spec/helpers/kafka_produce.py %s ksv_kill_in <%s >/dev/null")
      :format(dev.brokers, seed_file)) == 0)
    local plog = helpers.tmpname(".log")
    local f = io.popen(("/usr/bin/python3 spec/helpers/kafka_produce.py %s ksv_kill_in --rate 250 <%s >%s 2>&1 & echo $!")
      :format(dev.brokers, later_file, plog))
    local ppid = tonumber(f:read("*l"))
    f:close()

    -- 1: killed while running, after some commits
    local pid, log = helpers.spawn("run " .. path, dev.env)
    local deadline = socket.gettime() + 30
    repeat socket.sleep(0.1) until last_progress(dev, "ksv_kill") or socket.gettime() > deadline
    socket.sleep(0.7)
    os.execute("kill -KILL " .. pid)
    assert.is_true(helpers.wait_exit(pid, 10))
    local rec = last_progress(dev, "ksv_kill")
    assert.is_string(rec, helpers.read(log))
    os.remove(log)
    -- 2 and 3: killed while rebuilding (nothing committed meanwhile)
    for _ = 1, 2 do
      -- the mock shows aborted data too, so this counts anything produced
      local sent = #helpers.tail(dev, "ksv_kill")
      pid, log = helpers.spawn("run " .. path, dev.env)
      assert.is_true(wait_log(log, "rebuilding state from offsets", 20, 0.005), helpers.read(log))
      os.execute("kill -KILL " .. pid)
      assert.is_true(helpers.wait_exit(pid, 10))
      local out = helpers.read(log)
      os.remove(log)
      assert.matches("views included", out, 1, true)
      assert.is_nil(out:find("state rebuilt up to", 1, true), "the kill came after the rebuild:\n" .. out)
      assert.equal(rec, last_progress(dev, "ksv_kill"))
      assert.equal(sent, #helpers.tail(dev, "ksv_kill"), "output was produced while rebuilding")
    end
    -- 4: killed while running again, the producer still going
    pid, log = helpers.spawn("run " .. path, dev.env)
    assert.is_true(wait_log(log, "state rebuilt up to", 30), helpers.read(log))
    socket.sleep(1)
    os.execute("kill -KILL " .. pid)
    assert.is_true(helpers.wait_exit(pid, 10))
    os.remove(log)
    assert.is_true(helpers.wait_exit(ppid, 60), "the producer did not finish")
    assert.matches("1500", helpers.read(plog))
    -- the last run goes to the end of the input
    local r = helpers.sinkgate("run --duration 8s " .. path, dev.env)
    os.remove(path)
    os.remove(seed_file)
    os.remove(later_file)
    os.remove(plog)
    os.execute("rm -rf " .. helpers.q(dir))
    assert.equal(0, r.rc, r.err)
    assert.matches("resuming at frontier", r.err)
    local on_disk
    for d in r.err:gmatch("view_state=%d+ keys %((%d+) on disk%)") do on_disk = tonumber(d) end
    assert.is_true(on_disk and on_disk > 0, "the view state did not spill to disk:\n" .. r.err)
    local input = input_of(dev, "ksv_kill_in")
    assert.equal(21500, #input)
    local final = last_values(dev, "ksv_kill", "customer")
    assert_groups(group_model(input), final)
    -- the committed offsets are the input's ends
    local offsets = last_progress(dev, "ksv_kill"):match('"offsets":%[([%d,]+)%]')
    local sum = 0
    for o in offsets:gmatch("%d+") do sum = sum + tonumber(o) end
    assert.equal(21500, sum)
  end)

  pending("no output update below the committed frontier appears twice (the 2.0.2 mock broker shows aborted " ..
    "transactions to read_committed readers, so the copies a SIGKILL leaves in an aborted transaction cannot be " ..
    "told from real duplicates; what this broker lets us assert is above: the final output equals the model, and a " ..
    "rebuild neither commits nor produces anything, aborted or not)")

  it("shows rehydration progress in the status file and on /status while it rebuilds 200k messages", function()
    local dir = helpers.tmpname(".state")
    local lines = {}
    for i = 1, 200000 do
      lines[i] = ('{"key":"o%d","value":"%d,%d","partition":%d}'):format(i % 50000, i % 3000, i % 10, i % 2)
    end
    local file = helpers.write_tmp(table.concat(lines, "\n") .. "\n", ".jsonl")
    assert.is_true(os.execute(("/usr/bin/python3 spec/helpers/kafka_produce.py %s ksv_rh_in <%s >/dev/null")
      :format(dev.brokers, file)) == 0)
    os.remove(file)
    -- a new sink without snapshot rebuilds its state up to the ends it sees
    -- at start, as a restarted one does up to its committed offsets
    local path = helpers.write_tmp(groups_config("ksv_rh_in", "ksv_rh",
      (", snapshot = false, state_dir = %q, state_memory = 65536"):format(dir)), ".lua")
    local status = helpers.tmpname(".json")
    local pid, log = helpers.spawn(("run --status-file %s --status-interval 1s --http 127.0.0.1:0 %s"):format(status,
      path), dev.env)
    local during, done, http_seen, shown
    local deadline = socket.gettime() + 120
    repeat
      socket.sleep(0.1)
      local ok, doc = pcall(cjson.decode, helpers.read(status))
      local rh = ok and type(doc) == "table" and doc.sinks and doc.sinks[1] and doc.sinks[1].rehydration
      if type(rh) == "table" then
        if rh.phase == "source_and_view_state" and rh.read < rh.target then
          if not during then
            during = rh
            shown = helpers.sinkgate("status --file " .. status, dev.env).out -- `sinkgate status` reads it too
          end
          local url = not http_seen and helpers.read(log):match("serving [^\n]* on (http://[%d%.]+:%d+)")
          if url then
            local st, body = helpers.http("GET", url .. "/status")
            local x = st == 200 and type(body) == "table" and body.sinks[1].rehydration
            if type(x) == "table" then http_seen = x end
          end
        elseif rh.phase == "done" then
          done = rh
        end
      end
    until done or socket.gettime() > deadline
    os.execute("kill -TERM " .. pid)
    assert.is_true(helpers.wait_exit(pid, 20))
    local out = helpers.read(log)
    os.remove(log)
    os.remove(path)
    os.remove(status)
    os.execute("rm -rf " .. helpers.q(dir))
    assert.is_table(during, "no rehydration in progress was seen in the status file:\n" .. out)
    assert.equal(200000, during.target)
    assert.is_true(during.read >= 0 and during.read < 200000)
    assert.is_number(during.rate)
    assert.is_true(during.eta_s == nil or during.eta_s >= 0)
    assert.is_table(done, out)
    assert.same({ 200000, 200000, 0 }, { done.read, done.target, done.eta_s })
    assert.is_true(done.rate > 0)
    assert.matches("rebuilding state %(source_and_view_state%): %d+/200000 offsets, %d+/s, ETA", shown)
    assert.is_table(http_seen, "/status did not show the rehydration")
    assert.equal(200000, http_seen.target)
    assert.matches("source ksv_rh_in: rebuilding state from offsets 0,0 up to 100000,100000 (200000 offsets), views " ..
      "included", out, 1, true)
    -- off a terminal the progress line is logged at the status interval
    -- (once the work has lasted SHOW_AFTER_MS)
    if done.elapsed_s >= 2.5 then
      assert.matches("progress: rebuilding state ksv_rh: %d+/200000 offsets %(%d+%%%), %d+/s, ETA %S+", out)
    end
    -- and the source's own line every 5 s
    if done.elapsed_s >= 6 then
      assert.matches("source ksv_rh_in: rebuilding state: still reading up to offsets 100000,100000 %(at %d+,%d+%), " ..
        "%d+/200000 offsets %(%d+%%%), %d+/s, ETA %S+", out)
    end
    assert.matches("source ksv_rh_in: state rebuilt up to offsets 100000,100000: 200000 messages (200000 offsets)",
      out, 1, true)
  end)
end)
