-- Tables with updates at explicit logical times (source/timed.lua) through
-- the input interface the sink uses: order, whole timestamps, consolidation
-- at a time, seek/rewind, the frontier, and validation of the triples.
local core = require "sinkgate.core"
local input = require "sinkgate.source.input"
local relation = require "sinkgate.relation"
local rows = require "sinkgate.rows"
local timed = require "sinkgate.source.timed"

local C, ffi = core.C, core.ffi

local rel = assert(relation.new("t", { { "id", "bigint", not_null = true }, { "v", "text" } }, { { "id" } }))

local function new_input(updates)
  return assert(input.new({ kind = "table", opts = { updates = updates, tick = 1000 } }, rel))
end

local function new_batch()
  return ffi.gc(C.sg_batch_new(rel:c_schema(), 4), C.sg_batch_free)
end

-- The batch as "time:diff:id=v" strings, in batch order.
local function contents(b)
  local out = {}
  for r = 0, b.nrows - 1 do
    out[#out + 1] = ("%d:%d:%s=%s"):format(tonumber(b.times[r]), tonumber(b.diffs[r]),
      tostring(rows.get(b, r, 0, rel.columns[1].type)), tostring(rows.get(b, r, 1, rel.columns[2].type)))
  end
  return out
end

-- Consolidated updates of batch b in [since, …), times advanced to as_of
-- (-1: none), as "time:before>after" strings, sorted.
local function consolidated(b, since, as_of)
  local u = ffi.gc(ffi.new("sg_updates[1]"), C.sg_updates_free)
  local cols = ffi.new("int[1]", 0)
  assert(C.sg_consolidate(b, cols, 1, since, as_of, u, core.errbuf, core.ERRLEN) == 0, core.err())
  local function show(r)
    if r < 0 then return "-" end
    return rows.get(b, r, 0, rel.columns[1].type) .. "=" .. tostring(rows.get(b, r, 1, rel.columns[2].type))
  end
  local out = {}
  for i = 0, u[0].n - 1 do
    local it = u[0].items[i]
    out[#out + 1] = ("%d:%s>%s"):format(tonumber(it.time), show(it.before), show(it.after))
  end
  table.sort(out)
  return out
end

local LOG = {
  { { id = 2, v = "b" }, 3, -1 }, -- out of order on purpose
  { { id = 1, v = "a" }, 1, 1 },
  { { id = 2, v = "b" }, 1 }, -- diff defaults to 1
  { { id = 1, v = "a" }, 2, -1 },
  { { id = 1, v = "a2" }, 2, 1 },
  { { id = 3, v = "c" }, 1, 1 },
  { { id = 3, v = "c" }, 1, -1 }, -- cancels within time 1
}

describe("an input with explicit times", function()
  it("is not realtime: its as_of is its first time, whatever the wall clock", function()
    local inp = new_input(LOG)
    assert.is_false(inp.realtime)
    assert.equal(1, inp:origin(nil, 1700000000000))
    assert.equal(1, inp:new_as_of(1700000000000))
    assert.equal(math.huge, inp:due(1700000000000))
    assert.equal(1, inp:next_time())
  end)

  it("fills updates in time order, stably within a time, and moves its frontier past the last time", function()
    local inp, b = new_input(LOG), new_batch()
    assert.equal(3, inp:fill(b, math.huge))
    assert.same({ "1:1:1=a", "1:1:2=b", "1:1:3=c", "1:-1:3=c", "2:-1:1=a", "2:1:1=a2", "3:-1:2=b" }, contents(b))
    assert.is_true(inp:exhausted())
    assert.equal(4, inp:next_time())
  end)

  it("fills only times below the bound and never part of a timestamp", function()
    local inp, b = new_input(LOG), new_batch()
    assert.equal(1, inp:fill(b, 2))
    assert.equal(4, b.nrows)
    assert.equal(2, inp:next_time())
    C.sg_batch_clear(b)
    -- max_rows 1 stops between timestamps, not inside time 2 (two rows)
    assert.equal(1, inp:fill(b, math.huge, 1))
    assert.same({ "2:-1:1=a", "2:1:1=a2" }, contents(b))
    assert.equal(3, inp:next_time())
    assert.is_false(inp:exhausted())
  end)

  it("consolidates the snapshot at the first time and pairs later changes into updates", function()
    local inp, b = new_input(LOG), new_batch()
    inp:fill(b, inp:new_as_of() + 1)
    assert.same({ "1:->1=a", "1:->2=b" }, consolidated(b, 0, 1)) -- id 3 came and went at time 1
    C.sg_batch_clear(b)
    inp:seek(2)
    inp:fill(b, math.huge)
    assert.same({ "2:1=a>1=a2", "3:2=b>-" }, consolidated(b, 2, -1))
  end)

  it("consolidates everything up to a later as_of into one snapshot time", function()
    local inp, b = new_input(LOG), new_batch()
    inp:fill(b, 3)
    assert.same({ "2:->1=a2", "2:->2=b" }, consolidated(b, 0, 2))
  end)

  it("seeks past committed times (resume) and rewinds for a snapshot", function()
    local inp, b = new_input(LOG), new_batch()
    inp:seek(3)
    assert.equal(3, inp:next_time())
    inp:fill(b, math.huge)
    assert.same({ "3:-1:2=b" }, contents(b))
    -- a frontier beyond the last time: nothing left, the frontier stays there
    inp:rewind()
    inp:seek(10)
    assert.is_true(inp:exhausted())
    assert.equal(10, inp:next_time())
    C.sg_batch_clear(b)
    assert.equal(0, inp:fill(b, math.huge))
    inp:rewind()
    assert.equal(1, inp:next_time())
    assert.is_false(inp:exhausted())
    -- cursor 0 is the start, as for the tick-based input
    inp:seek(3)
    inp.cursor = 0
    assert.equal(1, inp:next_time())
  end)

  it("takes int64 and uint64 times and diffs, and large epoch-ms times", function()
    local inp, b = new_input({ { { id = 1 }, 1720032185312LL, 2LL }, { { id = 1 }, 1720032185313ULL, -1LL } }), new_batch()
    assert.equal(1720032185312, inp:new_as_of())
    inp:fill(b, math.huge)
    assert.same({ "1720032185312:2:1=nil", "1720032185313:-1:1=nil" }, contents(b))
    assert.equal(1720032185314, inp:next_time())
  end)

  it("is empty and exhausted without updates", function()
    local inp = new_input({})
    assert.is_true(inp:exhausted())
    assert.equal(0, inp:new_as_of())
    assert.equal(0, inp:next_time())
  end)

  it("refuses malformed triples and rows that do not fit the columns", function()
    assert.is_nil(timed.shape_error({ {}, 0 }))
    assert.matches("%[2%]: expected a time", timed.shape_error({ {}, -1 }))
    assert.matches("%[2%]: expected a time", timed.shape_error({ {}, 1.5 }))
    assert.matches("%[2%]: expected a time", timed.shape_error({ {}, 2 ^ 53 + 2 }))
    assert.matches("%[2%]: expected a time", timed.shape_error({ {}, -1LL }))
    assert.matches("%[3%]: expected a diff", timed.shape_error({ {}, 1, 0 }))
    assert.matches("%[1%]: expected a row", timed.shape_error({ "x", 1 }))
    assert.matches("with key 'time'", timed.shape_error({ {}, time = 1 }))
    local inp, err = input.new({ kind = "table", opts = { updates = { { { id = 1 }, 1 }, { { id = "x" }, 2 } } } }, rel)
    assert.is_nil(inp)
    assert.matches('updates%[2%]: t.id: expected bigint %(.-%), got "x" %(not an integer%)', err)
    local problems = timed.check_rows({ { { id = 1, w = 2 }, 1 } }, rel)
    assert.same({ { 1, 't: no column "w"' } }, problems)
  end)
end)

describe("a table's updates in a config", function()
  local cfg = require "helpers.config"
  local helpers = require "helpers"
  local loader = require "sinkgate.config.loader"
  local plan = require "sinkgate.plan"

  local function config(updates, extra)
    return ([[
local sg = require "sinkgate"
local kafka = sg.kafka_connection { brokers = "127.0.0.1:1" }
local t = sg.source.table { name = "t", columns = { { "id", "bigint" }, { "v", "text" } }, keys = { { "id" } },
  updates = %s%s }
sg.sink "s" { from = t, into = { connection = kafka, topic = "out" }, key = { "id" }, envelope = "upsert" }
]]):format(updates, extra or "")
  end

  it("are accepted as { row, time, diff } with numbers or int64 cdata", function()
    local plans, errs = cfg.plans(config("{ { { id = 1, v = 'a' }, 1 }, { { id = 1 }, 2ULL, -1LL } }"))
    assert.is_nil(errs)
    assert.equal(2, #plans[1].opts.from.opts.updates)
  end)

  it("name each malformed entry by its key path", function()
    local _, errs = cfg.plans(config("{ { { id = 1 }, 1.5 }, { { id = 1 }, 2, 0 }, { row = {}, time = 1 }, 7 }"))
    assert.same({
      "FILE:3: sources.t.updates[1][2]: expected a time (an integer from 0 to 2^53), got number 1.5",
      "FILE:3: sources.t.updates[2][3]: expected a diff (a non-zero integer), got number 0",
      "FILE:3: sources.t.updates[3]: expected an update { row, time, diff }, got a table with key 'row'",
      "FILE:3: sources.t.updates[4]: expected an update { row, time, diff }, got number",
    }, (function() table.sort(errs) return errs end)())
  end)

  it("check rows against the columns and refuse tick-based options beside them", function()
    local _, errs = cfg.plans(config("{ { { id = 'x' }, 1 }, { { id = 2, w = 1 }, 2 } }", ", tick = '1s', rows = {}"))
    table.sort(errs)
    assert.same({
      "FILE:3: sources.t.rows: a table with updates has explicit times; rows belongs to tick-based tables",
      "FILE:3: sources.t.tick: a table with updates has explicit times; tick belongs to tick-based tables",
      'FILE:3: sources.t.updates[1][1]: t.id: expected bigint (-9223372036854775808..9223372036854775807), got "x" ' ..
        "(not an integer)",
      'FILE:3: sources.t.updates[2][1]: t: no column "w"',
    }, errs)
  end)

  it("in YAML are flow lists, and a bad row is reported at its own line", function()
    local path = helpers.write_tmp([==[
connections:
  kafka: { type: kafka, brokers: "127.0.0.1:1" }
sources:
  t:
    type: table
    columns: [{ name: id, type: bigint }, { name: v, type: text }]
    keys: [[id]]
    updates:
      - [{ id: 1, v: a }, 1, 1]
      - [{ id: 1, v: a }, 2, -1]
      - [{ id: one, v: b }, 2]
sinks:
  s: { from: t, into: { connection: kafka, topic: out }, key: [id], envelope: upsert }
]==], ".yaml")
    local decls, errs = loader.load(path)
    assert.is_nil(errs)
    assert.same({ { id = 1, v = "a" }, 2, -1 }, decls.sources[1].opts.updates[2])
    local plans, problems = plan.build(decls)
    os.remove(path)
    assert.is_nil(plans)
    assert.same({ path .. ':11: sources.t.updates[3][1]: t.id: expected bigint ' ..
      '(-9223372036854775808..9223372036854775807), got "one" (not an integer)' }, problems)
  end)
end)
