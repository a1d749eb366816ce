-- Progress of a real snapshot: log lines off a terminal, one line
-- rewritten in place on a terminal (a pty from script(1)).
local helpers = require "helpers"

local function config(name)
  return helpers.write_tmp(([[
local sg = require "sinkgate"
local kafka = sg.kafka_connection { brokers = sg.env("SINKGATE_BROKERS"), admin_timeout = "200ms" }
local ups = {}
for i = 1, 60000 do ups[i] = { { id = i, v = "row" }, 1, 1 } end
ups[#ups + 1] = { { id = 1, v = "row" }, 2, -1 }
local t = sg.source.table { name = "t", columns = { { "id", "bigint", not_null = true }, { "v", "text" } },
  keys = { { "id" } }, updates = ups }
sg.sink %q { from = t, into = { connection = kafka, topic = %q }, key = { "id" }, format = "json",
  envelope = "upsert", max_transaction_rows = 200 } -- some 300 transactions: seconds of work
]]):format(name, name), ".lua")
end

describe("progress of a snapshot", function()
  local dev
  setup(function() dev = helpers.dev_start("--topics pg1:1,pg2:1") end)
  teardown(function() helpers.dev_stop(dev) end)

  it("is logged at the status interval off a terminal", function()
    local path = config("pg1")
    local r = helpers.sinkgate("run --status-interval 200ms " .. path, dev.env)
    os.remove(path)
    assert.equal(0, r.rc, r.err)
    local last_done, lines = -1, 0
    for done, total in r.err:gmatch("progress: snapshot pg1: (%d+)/(%d+) updates %(%d+%%%), %d+/s, ETA %S+") do
      assert.equal(60000, tonumber(total))
      assert.is_true(tonumber(done) >= last_done)
      last_done, lines = tonumber(done), lines + 1
    end
    assert.is_true(lines >= 1, r.err)
    assert.not_matches("\r", r.err, 1, true)
  end)

  it("is one line rewritten in place on a terminal", function()
    local has = os.execute("command -v script >/dev/null 2>&1")
    if has ~= 0 and has ~= true then
      pending("script(1) (bsdutils) is not installed: no pty to run under")
      return
    end
    local path = config("pg2")
    local env = ""
    for k, v in pairs(dev.env) do env = env .. k .. "=" .. helpers.q(v) .. " " end
    local out = helpers.tmpname(".tty")
    os.execute(("%sscript -qec %s /dev/null > %s 2>&1"):format(env,
      helpers.q(helpers.bin .. " run --status-interval 1h " .. path), helpers.q(out)))
    local text = helpers.read(out)
    os.remove(out)
    os.remove(path)
    assert.matches("\r\27%[Ksnapshot pg2: %d+/60000 updates %(%d+%%%), %d+/s, ETA %S+", text)
    assert.not_matches("progress: snapshot", text, 1, true) -- no log lines for it on a terminal
    assert.matches("sink pg2: done", text, 1, true)
  end)
end)
