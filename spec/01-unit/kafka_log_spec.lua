-- librdkafka's log lines through sinkgate's logger (core/kafka/log.c ring,
-- drained by sinkgate.util.log): prefix and level, redaction of revealed
-- secrets, one line per message per window, nothing under quiet.
local core = require "sinkgate.core"
local log = require "sinkgate.util.log"
local secret = require "sinkgate.secret"
local helpers = require "helpers"
local socket = require "socket"

local C = core.C

-- A producer pointed at a closed port: librdkafka logs the refused
-- connection from its own thread. Returns it once a line is waiting.
local function failing_producer()
  local keys, kk = core.strings({ "bootstrap.servers", "reconnect.backoff.ms", "reconnect.backoff.max.ms" })
  local vals, kv = core.strings({ "127.0.0.1:1", "100", "100" })
  local p = C.sg_producer_new(keys, vals, 3, core.errbuf, core.ERRLEN)
  assert(p ~= nil, core.err())
  local _ = { kk, kv }
  local deadline = socket.gettime() + 5
  while C.sg_kafka_log_pending() == 0 and socket.gettime() < deadline do socket.sleep(0.05) end
  return core.ffi.gc(p, C.sg_producer_free)
end

describe("librdkafka log lines", function()
  local saved_stderr, written
  before_each(function()
    log.drain() -- whatever earlier specs left
    saved_stderr = io.stderr
    written = {}
    -- luacheck: push ignore 122
    io.stderr = { write = function(_, ...) for _, s in ipairs({ ... }) do written[#written + 1] = s end end,
      flush = function() end }
    -- luacheck: pop
  end)
  after_each(function()
    log.drain() -- into the fake stderr: the closed clients' last words
    io.stderr = saved_stderr -- luacheck: ignore 122
    log.quiet = false
  end)

  it("are prefixed with time and level, redacted, and printed once per message", function()
    local path = helpers.write_tmp("KHOST=127.0.0.1:1\n")
    assert(secret.load_file(path))
    os.remove(path)
    assert.equal("127.0.0.1:1", secret.reveal(secret.new("KHOST")))
    local p1 = failing_producer()
    log.drain()
    local p2 = failing_producer() -- another client, the same refused connection
    socket.sleep(0.5)
    log.drain()
    C.sg_producer_free(core.ffi.gc(p1, nil))
    C.sg_producer_free(core.ffi.gc(p2, nil))
    local text = table.concat(written)
    assert.matches("^sinkgate%[%d%d:%d%d:%d%d%] kafka error: FAIL: ", text)
    assert.matches("Connection refused", text)
    assert.not_matches("127%.0%.0%.1:1", text)
    assert.matches("secret(KHOST)", text, 1, true)
    assert.not_matches("thrd:", text)
    local fails = select(2, text:gsub("FAIL:", ""))
    assert.equal(1, fails, text)
  end)

  it("are drained but not printed when quiet", function()
    log.quiet = true
    log.KAFKA_DEDUP_MS = 0
    local p = failing_producer()
    assert.is_true(C.sg_kafka_log_pending() > 0)
    log.drain()
    assert.equal(0, C.sg_kafka_log_pending())
    C.sg_producer_free(core.ffi.gc(p, nil))
    log.KAFKA_DEDUP_MS = 60000
    assert.same({}, written)
  end)
end)
