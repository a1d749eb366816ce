-- The status file from a real `sinkgate run`: the private status directory
-- (named literally, however odd), `sinkgate status` over it, nothing left
-- behind at exit, and a status file that cannot be written costing one
-- warning, never the run.
local helpers = require "helpers"
local socket = require "socket"

local q = helpers.q

local function config(topic)
  return helpers.write_tmp(([[
local sg = require "sinkgate"
local kafka = sg.kafka_connection { brokers = sg.env("SINKGATE_BROKERS"), admin_timeout = "200ms" }
local gen = sg.source.load_generator { kind = "counter", tick = "100ms" }
sg.sink %q { from = gen, into = { connection = kafka, topic = %q }, envelope = "debezium" }
]]):format(topic, topic), ".lua")
end

local function ls(dir)
  local p = io.popen("ls -A " .. q(dir) .. " 2>/dev/null")
  local list = {}
  for name in p:lines() do list[#list + 1] = name end
  p:close()
  return list
end

describe("status file (run)", function()
  local dev, base
  setup(function()
    dev = helpers.dev_start("--topics st1:2,st2:2")
    base = helpers.tmpname(".sgst")
    assert(os.execute("mkdir -p " .. q(base)))
  end)
  teardown(function()
    helpers.dev_stop(dev)
    os.execute("rm -rf " .. q(base))
  end)

  it("lives in a private SINKGATE_STATUS_DIR named literally, is listed by status, goes at exit", function()
    local marker = base .. "/injected"
    local dir = base .. "/st dir;touch " .. marker
    local env = { SINKGATE_STATUS_DIR = dir }
    for k, v in pairs(dev.env) do env[k] = v end
    local path = config("st1")
    local pid, log = helpers.spawn("run --status-interval 1h " .. path, env)
    local deadline = socket.gettime() + 15
    local s
    repeat
      socket.sleep(0.2)
      s = helpers.sinkgate("status", env)
    until (s.rc == 0 and s.out:find("sink st1: running", 1, true)) or socket.gettime() > deadline
    local during = ls(dir)
    os.execute("kill -TERM " .. pid)
    assert.is_true(helpers.wait_exit(pid, 20))
    local out = helpers.read(log)
    os.remove(path)
    os.remove(log)
    assert.equal(0, s.rc, s.err)
    assert.matches("gateway pid " .. pid, s.out)
    assert.same({ pid .. ".json" }, during)
    assert.same({}, ls(dir)) -- removed at exit, no temporary file left
    assert.is_nil(io.open(marker, "r"))
    assert.not_matches("warning", out)
    local p = io.popen("stat -c %a " .. q(dir))
    assert.equal("700", p:read("*l"))
    p:close()
  end)

  it("warns once when --status-file cannot be written, and the run goes on", function()
    local path = config("st2")
    local target = base .. "/nodir/status.json"
    local r = helpers.sinkgate("run --duration 2500ms --status-file " .. q(target) .. " " .. path, dev.env)
    os.remove(path)
    assert.equal(0, r.rc, r.err)
    local n = select(2, r.err:gsub("warning: status file not written", ""))
    assert.equal(1, n, r.err)
    assert.matches("status.json: cannot create a temporary file beside it: No such file or directory", r.err, 1, true)
    assert.is_true(helpers.final_status(r.err).messages > 0)
  end)

  it("status says why a named file cannot be read", function()
    local fifo = base .. "/fifo.json"
    assert(os.execute("mkfifo " .. q(fifo)))
    local r = helpers.sinkgate("status --file " .. q(fifo))
    assert.equal(1, r.rc)
    assert.matches("fifo.json is a FIFO", r.err, 1, true)
    r = helpers.sinkgate("status 'x;y'")
    assert.equal(2, r.rc)
    assert.matches("PID must be a process id", r.err, 1, true)
  end)
end)
