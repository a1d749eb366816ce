-- ops/progress.lua with stand-in sinks: what a snapshot and a backlog
-- show, on a terminal (one line rewritten in place) and off it (log lines
-- at the status interval), and nothing for work shorter than SHOW_AFTER_MS.
local progress = require "sinkgate.ops.progress"
local log = require "sinkgate.util.log"

describe("progress", function()
  local saved, written
  before_each(function()
    saved, written = io.stderr, {}
    -- luacheck: push ignore 122
    io.stderr = { write = function(_, ...) for _, s in ipairs({ ... }) do written[#written + 1] = s end end,
      flush = function() end }
    -- luacheck: pop
  end)
  after_each(function()
    io.stderr = saved -- luacheck: ignore 122
    log.quiet = false
  end)

  local function snap_sink(done, n) return { name = "s", state = "running", snap = { n = n }, snapshot_done = done } end

  it("shows a snapshot on a terminal with done/total, rate and ETA, after SHOW_AFTER_MS", function()
    local p = progress.new(true, 10000)
    p:update({ snap_sink(0, 1000) }, 0)
    p:update({ snap_sink(100, 1000) }, 500) -- too early: nothing
    assert.equal(0, #written)
    p:update({ snap_sink(250, 1000) }, 1000) -- 250 in 1 s: 750 left at 250/s
    local text = table.concat(written)
    assert.equal("\r\27[Ksnapshot s: 250/1000 updates (25%), 250/s, ETA 3s", text)
    p:clear()
    assert.equal("\r\27[K", written[#written])
  end)

  it("logs a backlog off a terminal at the interval, with its speed", function()
    local p = progress.new(false, 5000)
    local s = { name = "b", state = "running", input = { realtime = true }, upper = 0 }
    p:update({ s }, 60000) -- 60 s behind
    s.upper = 30000
    p:update({ s }, 70000) -- 30 s of event time in 10 s of wall time: 3x, 40 s behind, closing at 2 s/s
    local text = table.concat(written)
    assert.matches("progress: backlog b: 40s behind %(caught up 30s of 1m10s%), 3%.0x real time, ETA 20s", text)
    local n = #written
    s.upper = 31000
    p:update({ s }, 71000) -- within the interval: no new line
    assert.equal(n, #written)
  end)

  it("forgets finished work and shows nothing under --quiet", function()
    local p = progress.new(true, 10000)
    p:update({ snap_sink(0, 10) }, 0)
    p:update({ { name = "s", state = "running" } }, 2000) -- snapshot over
    assert.equal(0, #written)
    log.quiet = true
    p:update({ snap_sink(0, 10) }, 3000)
    p:update({ snap_sink(5, 10) }, 5000)
    assert.equal(0, #written)
  end)

  it("shows a Kafka source rebuilding its state, offsets read of the target, until it is done", function()
    local p = progress.new(true, 10000)
    local rh = { phase = "source_and_view_state", read = 0, target = 4000 }
    local s = { name = "r", state = "running", input = { rehydration = function() return rh end } }
    p:update({ s }, 0)
    rh.read = 1000
    p:update({ s }, 1000) -- 1000 in 1 s: 3000 left at 1000/s
    assert.equal("\r\27[Krebuilding state r: 1000/4000 offsets (25%), 1000/s, ETA 3s", table.concat(written))
    rh.phase, rh.read = "done", 4000
    written = {}
    p:update({ s }, 2000) -- done: the line goes
    assert.equal("\r\27[K", table.concat(written))
  end)
end)
