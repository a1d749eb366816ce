-- The operations endpoint of a real `sinkgate run` (--http, sg.http),
-- scraped with a real HTTP client (lua-socket): /metrics values against
-- what the topic holds, the exposition checked by `promtool check
-- metrics`, /ready, /health, /status, 404, basic auth, a bad address.
local helpers = require "helpers"
local socket = require "socket"
local http = require "socket.http"
local ltn12 = require "ltn12"
local cjson = require "cjson"
local mime = require "mime"

local q = helpers.q

-- Two sinks: "fixed" publishes a known table and is done; "live" (a
-- counter) keeps the run going so the endpoint stays up to be scraped.
local function config(suffix, extra)
  return helpers.write_tmp(([[
local sg = require "sinkgate"
local kafka = sg.kafka_connection { brokers = sg.env("SINKGATE_BROKERS"), admin_timeout = "200ms",
  options = { ["statistics.interval.ms"] = 200 } }
local t = sg.source.table { name = "t", columns = { { "id", "bigint", not_null = true }, { "v", "text" } },
  keys = { { "id" } }, updates = {
    { { id = 1, v = "one" }, 1, 1 }, { { id = 2, v = "two" }, 1, 1 }, { { id = 3, v = "three" }, 2, 1 },
    { { id = 1, v = "one" }, 3, -1 }, { { id = 2, v = "two" }, 3, -1 }, { { id = 2, v = "deux" }, 3, 1 } } }
local gen = sg.source.load_generator { kind = "counter", tick = "100ms" }
sg.sink "fixed%s" { from = t, into = { connection = kafka, topic = "h-fixed%s" }, key = { "id" },
  format = "json", envelope = "upsert" }
sg.sink "live%s" { from = gen, into = { connection = kafka, topic = "h-live%s" }, envelope = "debezium" }
%s
]]):format(suffix, suffix, suffix, suffix, extra or ""), ".lua")
end

local function get(url, headers)
  local out = {}
  local _, code, hdrs = http.request({ url = url, headers = headers, sink = ltn12.sink.table(out) })
  return code, table.concat(out), hdrs
end

-- The value of one sample: name{labels} (labels as written, in order).
local function sample(text, series)
  local pat = "\n" .. series:gsub("%p", "%%%0") .. " (%S+)"
  local v = ("\n" .. text):match(pat)
  return v and tonumber(v)
end

local function wait_url(log, pid)
  local deadline = socket.gettime() + 15
  while socket.gettime() < deadline do
    local url = helpers.read(log):match("serving [^\n]* on (http://[%d%.]+:%d+)")
    if url then return url end
    if not helpers.alive(pid) then break end
    socket.sleep(0.05)
  end
  error("no http line: " .. helpers.read(log))
end

local function stop(pid, log)
  os.execute("kill -TERM " .. pid)
  assert.is_true(helpers.wait_exit(pid, 20), "run did not stop")
  local out = helpers.read(log)
  os.remove(log)
  return out
end

describe("operations endpoint", function()
  local dev
  setup(function() dev = helpers.dev_start("--topics h-fixed1:1,h-live1:2,h-fixed2:1,h-live2:2") end)
  teardown(function() helpers.dev_stop(dev) end)

  it("serves /metrics matching what was produced, /ready, /health, /status; promtool accepts it", function()
    local path = config("1")
    local pid, log = helpers.spawn("run --status-interval 1h --http 127.0.0.1:0 " .. path, dev.env)
    local url = wait_url(log, pid)
    -- until the fixed sink is done and both are ready
    local deadline = socket.gettime() + 20
    local code, text
    repeat
      socket.sleep(0.2)
      code, text = get(url .. "/metrics")
    until (code == 200 and sample(text, 'sinkgate_sink_state{sink="fixed1",state="done"}') == 1
      and sample(text, 'sinkgate_sink_state{sink="live1",state="running"}') == 1
      and sample(text, 'sinkgate_kafka_brokers_up{sink="live1"}')) or socket.gettime() > deadline
    local ready = get(url .. "/ready")
    local health = get(url .. "/health")
    local scode, status = get(url .. "/status")
    local ncode = get(url .. "/nope")
    local out = stop(pid, log)
    os.remove(path)
    assert.equal(200, code, out)
    assert.equal(1, sample(text, 'sinkgate_sink_state{sink="fixed1",state="done"}'), text .. out)

    -- what the topic holds, exactly as produced
    local msgs = helpers.tail(dev, "h-fixed1", "--key-format text --value-format text")
    local bytes = 0
    for _, m in ipairs(msgs) do
      bytes = bytes + #m.key + (m.value == cjson.null and 0 or #m.value)
    end
    -- the same producer wrote the sink's progress records: their bytes count too
    for _, m in ipairs(helpers.tail(dev, "_sinkgate-progress", "--key-format text --value-format text")) do
      if m.key == "sinkgate-sink-fixed1" then bytes = bytes + #m.key + #m.value end
    end
    assert.is_true(#msgs > 0)
    assert.equal(#msgs, sample(text, 'sinkgate_sink_messages_total{sink="fixed1"}'))
    -- updates after consolidation: ids 1, 2 at 1; id 3 at 2; at 3 id 1 deleted and id 2's delete and
    -- insert paired into one update
    assert.equal(5, sample(text, 'sinkgate_sink_rows_total{sink="fixed1"}'))
    assert.equal(bytes, sample(text, 'sinkgate_sink_bytes_total{sink="fixed1"}'))
    assert.is_true(sample(text, 'sinkgate_sink_transactions_total{sink="fixed1"}') >= 1)
    assert.equal(0, sample(text, 'sinkgate_sink_fenced{sink="fixed1"}'))
    assert.equal(0, sample(text, 'sinkgate_sink_aborts_total{sink="fixed1"}'))
    assert.equal(1, sample(text, 'sinkgate_sink_partitions{sink="fixed1"}'))
    -- every committed tick of the live sink is in its latency histogram
    local n = sample(text, 'sinkgate_sink_commit_latency_seconds_count{sink="live1"}')
    assert.is_true(n >= 1)
    assert.equal(n, sample(text, 'sinkgate_sink_commit_latency_seconds_bucket{sink="live1",le="+Inf"}'))
    assert.is_true(sample(text, 'sinkgate_sink_frontier_lag_seconds{sink="live1"}') >= 0)
    assert.is_nil(sample(text, 'sinkgate_sink_frontier_lag_seconds{sink="fixed1"}')) -- logical times: no lag
    -- librdkafka's statistics of the live sink's producer
    assert.is_true(sample(text, 'sinkgate_kafka_brokers_up{sink="live1"}') >= 1)
    assert.is_true(sample(text, 'sinkgate_kafka_requests_total{sink="live1"}') >= 1)
    assert.is_true(sample(text, 'sinkgate_kafka_request_bytes_total{sink="live1"}') > 0)
    assert.is_true(sample(text, 'sinkgate_kafka_queue_messages{sink="live1"}') >= 0)
    assert.equal(200, ready)
    assert.equal(200, health)
    assert.equal(200, scode)
    local doc = cjson.decode(status)
    assert.equal(2, #doc.sinks)
    assert.equal(404, ncode)

    local has = os.execute("command -v promtool >/dev/null 2>&1")
    if has ~= 0 and has ~= true then
      pending("promtool (Debian package prometheus) is not installed: exposition format not validated")
      return
    end
    local f = helpers.write_tmp(text, ".prom")
    local p = io.popen("promtool check metrics < " .. q(f) .. " 2>&1; echo rc=$?")
    local res = p:read("*a")
    p:close()
    os.remove(f)
    assert.matches("rc=0", res, nil, true)
  end)

  it("requires basic auth when the config says so; refuses a bad address", function()
    local path = config("2", 'sg.http { listen = "127.0.0.1:0", basic_auth = { username = "ops", ' ..
      'password = sg.secret "H14_HTTP_PW" } }')
    local env = { H14_HTTP_PW = "open-sesame-42" }
    for k, v in pairs(dev.env) do env[k] = v end
    local pid, log = helpers.spawn("run --log-format json --status-interval 1h " .. path, env)
    local url = wait_url(log, pid)
    local none = get(url .. "/metrics")
    local wrong = get(url .. "/metrics", { authorization = "Basic " .. mime.b64("ops:open-sesame-41") })
    local good, body = get(url .. "/metrics", { authorization = "Basic " .. mime.b64("ops:open-sesame-42") })
    local out = stop(pid, log)
    assert.equal(401, none)
    assert.equal(401, wrong)
    assert.equal(200, good, out)
    assert.matches("sinkgate_build_info", body, nil, true)
    assert.not_matches("open-sesame-42", out, nil, true)
    -- --log-format json: every line of the run's stderr is one object
    local n = 0
    for line in out:gmatch("[^\n]+") do
      local ok, obj = pcall(cjson.decode, line)
      assert.is_true(ok and type(obj) == "table" and type(obj.message) == "string", line)
      n = n + 1
    end
    assert.is_true(n >= 3, out)

    local r = helpers.sinkgate("run --duration 1s --http 127.0.0.1:notaport " .. path, env)
    os.remove(path)
    assert.equal(1, r.rc)
    assert.matches("http: expected HOST:PORT", r.err, nil, true)
  end)
end)
