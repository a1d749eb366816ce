-- librdkafka's own log lines go through sinkgate's logger: prefixed with
-- sinkgate's timestamp and a level, each once (the log line and the error
-- event it repeats are one), and silent under -q. (Redaction and the
-- dedup window: spec/01-unit/kafka_log_spec.lua.)
local helpers = require "helpers"

local function config(host)
  return helpers.write_tmp(([[
local sg = require "sinkgate"
local kafka = sg.kafka_connection { brokers = %q, admin_timeout = "200ms" }
local gen = sg.source.load_generator { kind = "counter", tick = "100ms" }
sg.sink "closed" { from = gen, into = { connection = kafka, topic = "closed" }, envelope = "debezium" }
]]):format(host .. ":1"), ".lua")
end

describe("librdkafka log lines", function()
  it("are prefixed, not duplicated, and gone with -q", function()
    -- A closed port: librdkafka logs the refused connection (FAIL) and
    -- raises error events for it. Both runs at once: each waits ~10 s for
    -- metadata before it sees the SIGTERM.
    local path = config("127.0.0.1")
    local pid1, log1 = helpers.spawn("run --duration 300ms " .. path)
    local pid2, log2 = helpers.spawn("run -q --duration 300ms " .. path)
    require("socket").sleep(1.5)
    os.execute("kill -TERM " .. pid1 .. " " .. pid2)
    assert.is_true(helpers.wait_exit(pid1, 40))
    assert.is_true(helpers.wait_exit(pid2, 40))
    local plain, quiet = helpers.read(log1), helpers.read(log2)
    os.remove(path)
    os.remove(log1)
    os.remove(log2)

    local kafka_lines, seen = {}, {}
    for line in plain:gmatch("[^\n]+") do
      assert.not_matches("^%%%d|", line) -- librdkafka's own stderr format
      if line:find(" kafka ", 1, true) then
        assert.matches("^sinkgate%[%d%d:%d%d:%d%d%] kafka %a+: %u+: ", line)
        assert.not_matches("thrd:", line)
        local body = line:gsub("^sinkgate%[[^%]]*%] ", ""):gsub("%s*%(after .*$", "")
        assert.is_nil(seen[body], "duplicated: " .. line)
        seen[body] = true
        kafka_lines[#kafka_lines + 1] = line
      end
    end
    assert.is_true(#kafka_lines >= 1, plain)
    assert.matches("kafka error: FAIL: .*Connection refused", plain)
    assert.not_matches(" kafka ", quiet)
    assert.not_matches("^%%%d|", quiet)
    assert.not_matches("\n%%%d|", quiet)
  end)
end)
