-- Runtime errors through a real `sinkgate run` against `sinkgate dev`:
-- bad Lua-fed rows under each on_bad_row policy, a failing feed, partition_by
-- results that are no hash, non-text headers, on_error = "fail"; one sink's
-- error never stops another, nothing exits 70, and every error shows its
-- file:line in the log and in the status file.
local helpers = require "helpers"
local cjson = require "cjson"

local PRELUDE = [[
local sg = require "sinkgate"
local kafka = sg.kafka_connection { brokers = sg.env("SINKGATE_BROKERS"), admin_timeout = "200ms" }
local gen = sg.source.load_generator { kind = "counter", tick = "50ms", max_cardinality = 4 }
-- every third tick inserts a smallint out of range (line 5 of the config)
local bad = sg.source.table { name = "t", columns = { { "id", "bigint", not_null = true }, { "s", "smallint" } },
  keys = { { "id" } }, tick = "50ms", feed = function(t, tick)
    t:insert({ id = tick, s = tick % 3 == 1 and 70000 or tick })
  end }
]]
local BAD_LINE = 7 -- the t:insert line above

local function run(dev, body, args)
  local path = helpers.write_tmp(PRELUDE .. body, ".lua")
  local status = helpers.tmpname(".json")
  local r = helpers.sinkgate(("run %s --status-file %s %s"):format(args or "--duration 700ms --status-interval 200ms",
    status, path), dev.env)
  local text = helpers.read(status)
  r.status = text ~= "" and cjson.decode(text) or nil
  r.path = path
  os.remove(path)
  os.remove(status)
  assert.is_not.equal(70, r.rc, r.err) -- never an internal error
  return r
end

local function sink_status(r, name)
  for _, s in ipairs(r.status and r.status.sinks or {}) do
    if s.name == name then return s end
  end
end

local function error_kind(st, kind)
  for _, e in ipairs(st.errors or {}) do
    if e.kind == kind then return e end
  end
end

describe("bad rows and routing errors", function()
  local dev
  setup(function() dev = helpers.dev_start("--topics fail_t:1,good_t:2,skip_t:1,dlq_t:1,dlq_err:1,pinv:4,pfail:4,hbad:1,hfail:1") end)
  teardown(function() helpers.dev_stop(dev) end)

  it("fail (default): the sink fails with file:line, column and value; the other sink keeps producing", function()
    local r = run(dev, [[
sg.sink "fails" { from = bad, into = { connection = kafka, topic = "fail_t" }, key = { "id" }, format = "json",
  envelope = "upsert" }
sg.sink "good" { from = gen, into = { connection = kafka, topic = "good_t" }, key = { "counter" }, format = "json",
  envelope = "upsert" }]])
    assert.equal(1, r.rc, r.err)
    local msg = ("%s:%d: t.s: expected smallint (-32768..32767), got 70000 (out of range)"):format(r.path, BAD_LINE)
    assert.matches("sinkgate run: sinks.fails: " .. msg:gsub("%p", "%%%0"), r.err)
    assert.equal("failed", helpers.final_status(r.err, "fails").state)
    local good = helpers.final_status(r.err, "good")
    assert.equal("running", good.state)
    assert.is_true(good.messages > 4, r.err) -- it kept committing after the other sink failed
    assert.equal(good.messages, #helpers.tail(dev, "good_t"))
    local st = sink_status(r, "fails")
    assert.equal("failed", st.state)
    assert.equal(msg, st.why)
  end)

  it("skip: bad rows are dropped, counted and reported; the good rows are published", function()
    local r = run(dev, [[
sg.sink "skips" { from = bad, into = { connection = kafka, topic = "skip_t" }, key = { "id" }, format = "json",
  envelope = "upsert", on_bad_row = "skip" }]])
    assert.equal(0, r.rc, r.err)
    local msgs = helpers.tail(dev, "skip_t")
    assert.is_true(#msgs > 3)
    for _, m in ipairs(msgs) do assert.is_not.equal(1, m.key.id % 3) end
    local st = sink_status(r, "skips")
    local e = error_kind(st, "bad_rows")
    assert.is_true(st.bad_rows > 0)
    assert.equal(st.bad_rows, e.count)
    assert.equal(("%s:%d: t.s: expected smallint (-32768..32767), got 70000 (out of range)"):format(r.path, BAD_LINE),
      e.first_error)
    assert.equal("the row was dropped", e.action)
    -- the first one is logged at once; the rest are rate-limited into summaries
    local _, logged = r.err:gsub("sink skips: bad_rows: /", "")
    assert.equal(1, logged)
    assert.matches("bad_rows=" .. st.bad_rows, r.err)
  end)

  it("dead_letter: each bad row goes to the dead-letter topic as JSON with the error in its headers", function()
    local r = run(dev, [[
sg.sink "dlq" { from = bad, into = { connection = kafka, topic = "dlq_t" }, key = { "id" }, format = "json",
  envelope = "upsert", on_bad_row = "dead_letter", dead_letter = { topic = "dlq_err" } }]])
    assert.equal(0, r.rc, r.err)
    local st = sink_status(r, "dlq")
    local letters = helpers.tail(dev, "dlq_err")
    -- bad_rows counts rows refused, dead_letters those committed (a refused row
    -- in the transaction cut short at exit is not, and comes again on restart)
    assert.is_true(st.dead_letters > 0 and st.bad_rows >= st.dead_letters)
    assert.equal(st.dead_letters, #letters)
    for _, m in ipairs(letters) do
      assert.equal(70000, m.value.s)
      assert.equal(1, m.value.id % 3)
      local h = {}
      for _, kv in ipairs(m.headers) do h[kv[1]] = kv[2] end
      assert.equal("sinkgate-timestamp", m.headers[1][1])
      assert.equal(("%s:%d: t.s: expected smallint (-32768..32767), got 70000 (out of range)"):format(r.path, BAD_LINE),
        h["sinkgate-error"])
      assert.equal("bad_row", h["sinkgate-error-kind"])
      assert.equal("dlq", h["sinkgate-sink"])
    end
    for _, m in ipairs(helpers.tail(dev, "dlq_t")) do assert.is_not.equal(1, m.key.id % 3) end
    -- a second run resumes after the first: each refused row has exactly one dead letter
    local again = run(dev, [[
sg.sink "dlq" { from = bad, into = { connection = kafka, topic = "dlq_t" }, key = { "id" }, format = "json",
  envelope = "upsert", on_bad_row = "dead_letter", dead_letter = { topic = "dlq_err" } }]])
    assert.equal(0, again.rc, again.err)
    assert.matches("resuming at frontier", again.err)
    letters = helpers.tail(dev, "dlq_err")
    assert.equal(st.dead_letters + sink_status(again, "dlq").dead_letters, #letters)
    local seen = {}
    for _, m in ipairs(letters) do
      assert.is_nil(seen[m.value.id], "two dead letters for id " .. m.value.id)
      seen[m.value.id] = true
    end
  end)

  it("dead_letter needs a topic (check)", function()
    local path = helpers.write_tmp(PRELUDE .. [[
sg.sink "dlq" { from = bad, into = { connection = kafka, topic = "x" }, key = { "id" }, format = "json",
  envelope = "upsert", on_bad_row = "dead_letter" }]], ".lua")
    local r = helpers.sinkgate("check " .. path, dev.env)
    os.remove(path)
    assert.equal(1, r.rc)
    assert.matches(':%d+: sinks.dlq.dead_letter: on_bad_row = "dead_letter" needs dead_letter = { topic = "…" }', r.err)
  end)

  it("a runtime error in feed fails that sink with file:line, not the process", function()
    local r = run(dev, [[
local boom = sg.source.table { name = "b", columns = { { "id", "bigint" } }, tick = "50ms", feed = function(t, tick)
  if tick == 2 then error("no data for tick " .. tick) end
  t:insert({ id = tick })
end }
sg.sink "boom" { from = boom, into = { connection = kafka, topic = "fail_t" }, format = "json", envelope = "debezium" }
sg.sink "good" { from = gen, into = { connection = kafka, topic = "good_t" }, key = { "counter" }, format = "json",
  envelope = "upsert" }]])
    assert.equal(1, r.rc)
    assert.matches(("sinks.boom: %s:%d: b: feed failed: no data for tick 2"):format(r.path, 10):gsub("%.", "%%."), r.err)
    assert.equal("running", helpers.final_status(r.err, "good").state)
  end)

  it("partition_by results that are no u64 hash are counted as partition_by_invalid and reported", function()
    local r = run(dev, [[
local results = { "abc", -1, 2.5, 0 / 0, true }
sg.sink "pinv" { from = gen, into = { connection = kafka, topic = "pinv", partition_by = function(row)
  local c = row.counter
  if c % 2 == 0 then return c end
  return results[(c - 1) / 2 % #results + 1]
end }, key = { "counter" }, format = "json", envelope = "upsert" }]])
    assert.equal(0, r.rc, r.err)
    local st = sink_status(r, "pinv")
    local e = error_kind(st, "partition_by_invalid")
    assert.is_true(st.partition_by_invalid > 0)
    assert.equal(st.partition_by_invalid, e.count)
    assert.is_nil(st.partition_by_errors)
    assert.matches(("^%s:10: sinks%%.pinv%%.into%%.partition_by: returned string \"abc\", expected a u64 hash")
      :format(r.path:gsub("%p", "%%%0")), e.first_error)
    assert.equal("the message went to partition 0", e.action)
    local invalid = 0
    for _, m in ipairs(helpers.tail(dev, "pinv")) do
      local c = m.key.counter
      if c % 2 == 0 then assert.equal(c % 4, m.partition) else
        assert.equal(0, m.partition)
        invalid = invalid + 1
      end
    end
    assert.equal(st.partition_by_invalid, invalid)
    assert.matches("partition_by_invalid=" .. invalid, r.err)
  end)

  it("on_error = \"fail\": the first partition_by error fails the sink with its message and file:line", function()
    local r = run(dev, [[
sg.sink "pfail" { from = gen, into = { connection = kafka, topic = "pfail", partition_by = function(row)
  if row.counter == 3 then error("cannot hash " .. row.counter) end
  return row.counter
end }, key = { "counter" }, format = "json", envelope = "upsert", on_error = "fail" }]])
    assert.equal(1, r.rc)
    assert.matches(("sinks.pfail: %s:10: sinks.pfail.into.partition_by: error: cannot hash 3 %%(on_error = \"fail\"%%)")
      :format(r.path:gsub("%p", "%%%0")), r.err)
  end)

  it("on_error = \"fail\": a headers error fails the sink too", function()
    local r = run(dev, [[
sg.sink "hfail" { from = gen, into = { connection = kafka, topic = "hfail" }, key = { "counter" }, format = "json",
  envelope = "upsert", on_error = "fail", headers = function(row) return { n = row.counter > 2 and 1 or "x" } end }]])
    assert.equal(1, r.rc)
    assert.matches(('sinks.hfail: %s:10: sinks%%.hfail%%.headers: header "n" is number 1, expected text, bytes or ' ..
      'sinkgate%%.null %%(on_error = "fail"%%)'):format(r.path:gsub("%p", "%%%0")), r.err)
    assert.equal("failed", sink_status(r, "hfail").state)
  end)

  it("non-text header values are reported with file:line, and the header is dropped", function()
    local r = run(dev, [[
sg.sink "hbad" { from = gen, into = { connection = kafka, topic = "hbad" }, key = { "counter" }, format = "json",
  envelope = "upsert", headers = function(row) return { n = row.counter, ok = "yes" } end }]])
    assert.equal(0, r.rc, r.err)
    local st = sink_status(r, "hbad")
    local e = error_kind(st, "header_errors")
    assert.equal(st.header_errors, e.count)
    assert.matches(('^%s:10: sinks%%.hbad%%.headers: header "n" is number %%d+, expected text, bytes or sinkgate%%.null')
      :format(r.path:gsub("%p", "%%%0")), e.first_error)
    assert.equal("that header was dropped", e.action)
    for _, m in ipairs(helpers.tail(dev, "hbad")) do
      assert.equal(2, #m.headers) -- the timestamp and "ok"
      assert.equal("ok", m.headers[2][1])
    end
  end)
end)
