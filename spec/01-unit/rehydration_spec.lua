-- A Kafka source rebuilding its state (source/rehydration.lua): progress in
-- offsets from where the rebuild began, and the rebuilt updates handed to
-- a stateful view's replay in slices, with whatever is left at the end of
-- each slice. The source is a stand-in with the fields the module reads.
local core = require "sinkgate.core"
local relation = require "sinkgate.relation"
local rows = require "sinkgate.rows"
local rehydration = require "sinkgate.source.rehydration"
local log = require "sinkgate.util.log"

local C, ffi = core.C, core.ffi

local rel = assert(relation.new("t", { { "k", "bigint", not_null = true } }))

local function source(positions)
  return { positions = positions, relation = rel }
end

local function push(b, k)
  assert(rows.push(b, rel, 0, 1, { k = k }))
end

describe("rehydration", function()
  setup(function() log.quiet = true end) -- its start and end lines
  teardown(function() log.quiet = false end)

  it("counts offsets read of the target from where it began, per partition", function()
    local s = source({ 10, 0 })
    rehydration.begin(s, { 30, 20 })
    local st = rehydration.status(s)
    assert.same({ "source_state", 0, 40 }, { st.phase, st.read, st.target })
    s.positions = { 25, 5 }
    st = rehydration.status(s)
    assert.equal(20, st.read)
    -- a later slice keeps where the rebuild began
    rehydration.begin(s, { 30, 20 })
    assert.equal(40, rehydration.status(s).target)
    -- past the target (an EOF past transaction markers) counts up to it only
    s.positions = { 31, 20 }
    assert.equal(40, rehydration.status(s).read)
    assert.matches("^, 40/40 offsets %(100%%%), %d+/s, ETA", rehydration.summary(s))
  end)

  it("drops the rebuilt updates without a replay, counting messages", function()
    local s = source({ 0 })
    local b = rehydration.begin(s, { 3 })
    push(b, 1)
    assert.is_true(rehydration.taken(s, b))
    assert.equal(0, b.nrows)
    assert.equal(1, rehydration.status(s).messages)
  end)

  it("hands them to the replay in slices, and the rest at the end of each slice", function()
    local s = source({ 0 })
    local seen = {}
    local batch = ffi.gc(C.sg_batch_new(rel:c_schema(), 8), C.sg_batch_free)
    rehydration.set_replay(s, batch, function(b)
      seen[#seen + 1] = b.nrows
      return true
    end, 2)
    local b = rehydration.begin(s, { 5 })
    assert.equal(batch, b)
    assert.equal("source_and_view_state", rehydration.status(s).phase)
    for k = 1, 3 do
      push(b, k)
      assert.is_true(rehydration.taken(s, b))
    end
    assert.same({ 2 }, seen) -- a full slice of 2; the third row waits
    assert.same({ true, false }, { rehydration.flush(s, false) }) -- the slice's end: not done yet
    assert.same({ 2, 1 }, seen)
    s.positions = { 5 }
    assert.same({ true, true }, { rehydration.flush(s, true) })
    assert.same({ 2, 1 }, seen) -- nothing left to hand on
    local st = rehydration.status(s)
    assert.same({ "done", 5, 5, 0, 3 }, { st.phase, st.read, st.target, st.eta_s, st.messages })
  end)

  it("passes a view's failure on", function()
    local s = source({ 0 })
    local batch = ffi.gc(C.sg_batch_new(rel:c_schema(), 8), C.sg_batch_free)
    rehydration.set_replay(s, batch, function() return nil, "view failed" end, 100)
    local b = rehydration.begin(s, { 1 })
    push(b, 1)
    assert.is_true(rehydration.taken(s, b))
    assert.same({ nil, "view failed" }, { rehydration.flush(s, true) })
    assert.equal(0, batch.nrows)
  end)
end)
