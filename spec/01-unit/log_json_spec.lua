-- --log-format json: one JSON object per line (time, level, sink, event,
-- message, fields) for sinkgate's own lines and librdkafka's, with secret
-- values scrubbed exactly (the line stays valid JSON).
local core = require "sinkgate.core"
local log = require "sinkgate.util.log"
local secret = require "sinkgate.secret"
local helpers = require "helpers"
local socket = require "socket"
local cjson = require "cjson"

local C = core.C

describe("JSON log lines", function()
  local saved_stderr, written
  before_each(function()
    log.drain()
    saved_stderr = io.stderr
    written = {}
    -- luacheck: push ignore 122
    io.stderr = { write = function(_, ...) for _, s in ipairs({ ... }) do written[#written + 1] = s end end,
      flush = function() end }
    -- luacheck: pop
    log.format = "json"
  end)
  after_each(function()
    log.drain()
    io.stderr = saved_stderr -- luacheck: ignore 122
    log.format = "text"
    log.quiet = false
  end)

  local function lines()
    local out = {}
    for l in table.concat(written):gmatch("[^\n]+") do out[#out + 1] = l end
    return out
  end

  it("are one object per line, keys in order, the sink named", function()
    log.info("sink %s: running", "orders_out")
    log.err("sinkgate run: sinks.orders_out: ended stalled: x")
    log.event("warning", "reload_refused", { sink = "a", reason = "topic" }, "reload: %s", "refused")
    local ls = lines()
    assert.equal(3, #ls)
    for _, l in ipairs(ls) do
      assert.matches('^{"time":"%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%dZ","level":', l)
    end
    local a, b, c = cjson.decode(ls[1]), cjson.decode(ls[2]), cjson.decode(ls[3])
    assert.same({ "info", "orders_out", "log", "sink orders_out: running" }, { a.level, a.sink, a.event, a.message })
    assert.same({ "error", "orders_out", "error" }, { b.level, b.sink, b.event })
    assert.same({ "warning", "reload_refused", "reload: refused" }, { c.level, c.event, c.message })
    assert.same({ sink = "a", reason = "topic" }, c.fields)
  end)

  it("scrub secret values from messages and fields, quotes and all", function()
    local path = helpers.write_tmp('JPW=se"cr\\et-42\n')
    assert(secret.load_file(path))
    os.remove(path)
    local value = assert(secret.reveal(secret.new("JPW")))
    log.info("sink s: auth failed for %s", value)
    log.event("error", "auth", { detail = "password " .. value }, "x")
    local text = table.concat(written)
    assert.not_matches(value, text, 1, true)
    for _, l in ipairs(lines()) do
      local obj = cjson.decode(l) -- still valid JSON
      assert.not_matches("cr\\et", obj.message .. (obj.fields and obj.fields.detail or ""), 1, true)
    end
  end)

  it("carry librdkafka's lines as event kafka with their facility", function()
    local keys, kk = core.strings({ "bootstrap.servers", "reconnect.backoff.ms", "reconnect.backoff.max.ms" })
    local vals, kv = core.strings({ "127.0.0.1:1", "100", "100" })
    -- the logger prints a line once a minute, and other specs in this process met the same refusal
    local dedup = log.KAFKA_DEDUP_MS
    log.KAFKA_DEDUP_MS = 0
    finally(function() log.KAFKA_DEDUP_MS = dedup end)
    local p = C.sg_producer_new(keys, vals, 3, core.errbuf, core.ERRLEN)
    local _ = { kk, kv }
    assert(p ~= nil, core.err())
    local deadline = socket.gettime() + 5
    while C.sg_kafka_log_pending() == 0 and socket.gettime() < deadline do socket.sleep(0.05) end
    log.drain()
    C.sg_producer_free(p)
    local kafka
    for _, l in ipairs(lines()) do
      local obj = cjson.decode(l)
      if obj.event == "kafka" then kafka = obj end
    end
    assert.is_table(kafka, table.concat(written))
    assert.is_string(kafka.fields.facility)
    assert.is_number(kafka.fields.syslog_level)
    assert.not_matches("^%[thrd:", kafka.message)
  end)
end)
