-- Views (lua/sinkgate/view/) through the input interface a sink uses, over
-- Lua-fed tables (feed) and tables with explicit times: each kind with
-- retractions, chains, keys proved or refused when the config loads, Lua
-- errors under on_error, and a restart (rewind + seek) that rebuilds state
-- larger than the memory bound from the input.
local cfg = require "helpers.config"
local core = require "sinkgate.core"
local input = require "sinkgate.source.input"
local rows = require "sinkgate.rows"
local problems_mod = require "sinkgate.sink.problems"

local C, ffi = core.C, core.ffi

local HEAD = [[
local sg = require "sinkgate"
local kafka = sg.kafka_connection { brokers = "127.0.0.1:1" }
]]

-- Plans of a config (HEAD + body), by sink name.
local function plans_of(body)
  local plans, errs = cfg.plans(HEAD .. body)
  assert(plans, errs and table.concat(errs, "\n"))
  local by = {}
  for _, p in ipairs(plans) do by[p.name] = p end
  return by
end

local function errors_of(body)
  local plans, errs = cfg.plans(HEAD .. body)
  assert.is_nil(plans)
  return table.concat(errs, "\n")
end

local function sink(name, from, extra)
  return ([[sg.sink "%s" { from = %s, into = { connection = kafka, topic = "%s" }, %s }
]]):format(name, from, name, extra or [[envelope = "debezium"]])
end

-- A started input of a plan; ctx (optional) stands for the sink.
local function start(p, ctx)
  local inp = assert(input.new(p.opts.from, p.relation))
  if inp.attach then
    inp:attach(ctx or { opts = p.opts, name = p.name, problems = problems_mod.new(p.name), counters = {} })
  end
  inp:origin(nil, 0)
  inp:rewind()
  return inp
end

local function new_batch(p)
  return ffi.gc(C.sg_batch_new(p.relation:c_schema(), 16), C.sg_batch_free)
end

-- "time diff col=value …" per update of b, in batch order.
local function contents(p, b)
  local out = {}
  for r = 0, b.nrows - 1 do
    local parts = { tostring(tonumber(b.times[r])), tostring(tonumber(b.diffs[r])) }
    for i, c in ipairs(p.relation.columns) do
      parts[#parts + 1] = c.name .. "=" .. tostring(rows.get(b, r, i - 1, c.type))
    end
    out[#out + 1] = table.concat(parts, " ")
  end
  return out
end

-- Fills everything below until; the updates as contents() lines.
local function drain(p, inp, until_time)
  local b = new_batch(p)
  assert(inp:fill(b, until_time or math.huge))
  return contents(p, b)
end

-- The collection the updates add up to: "col=value …" → multiplicity,
-- without the zeros.
local function net(lines)
  local t = {}
  for _, l in ipairs(lines) do
    local diff, row = l:match("^%d+ (%-?%d+) (.*)$")
    t[row] = (t[row] or 0) + tonumber(diff)
    if t[row] == 0 then t[row] = nil end
  end
  return t
end

-- A table with explicit times: k has duplicates; (a,3) goes at time 3.
local TIMED = [[
local t = sg.source.table { name = "t", columns = { { "k", "text", not_null = true }, { "v", "bigint" } },
  updates = {
    { { k = "a", v = 1 }, 1 }, { { k = "a", v = 3 }, 1 }, { { k = "b", v = 2 }, 1 },
    { { k = "a", v = 2 }, 2 }, { { k = "c", v = 5 }, 2 },
    { { k = "a", v = 3 }, 3, -1 }, { { k = "c", v = 5 }, 4, -1 }, { { k = "c", v = 6 }, 4 },
  } }
]]

-- A Lua-fed table: tick i inserts (k = i % 3, v = i) and deletes the row of tick i - 4.
local FED = [[
local t = sg.source.table { name = "t", tick = "1s", start = 0,
  columns = { { "k", "bigint", not_null = true }, { "v", "bigint", not_null = true } },
  keys = { { "v" } },
  feed = function(t, i)
    t:insert { k = i % 3, v = i }
    if i >= 4 then t:delete { k = (i - 4) % 3, v = i - 4 } end
  end }
]]

describe("stateless views", function()
  it("map, filter and flat_map apply to retractions too (diff -1)", function()
    local by = plans_of(TIMED .. [[
local m = sg.view { from = t, filter = function(r) return r.k ~= "b" end,
  map = function(r) return { k = r.k, w = r.v * 10 } end, columns = { { "k", "text" }, { "w", "bigint" } } }
local f = sg.view { from = t, flat_map = function(r) return { { x = r.v }, { x = -r.v } } end,
  columns = { { "x", "bigint" } } }
]] .. sink("m", "m") .. sink("f", "f"))
    assert.same({ "1 1 k=a w=10", "1 1 k=a w=30", "2 1 k=a w=20", "2 1 k=c w=50", "3 -1 k=a w=30",
      "4 -1 k=c w=50", "4 1 k=c w=60" }, drain(by.m, start(by.m)))
    local f = drain(by.f, start(by.f))
    assert.equal(16, #f)
    assert.same({ ["x=-5"] = nil, ["x=1"] = 1, ["x=-1"] = 1, ["x=3"] = nil, ["x=-3"] = nil, ["x=2"] = 2,
      ["x=-2"] = 2, ["x=6"] = 1, ["x=-6"] = 1 }, net(f))
  end)

  it("over a Lua-fed table, a view of a view runs as one pass and retracts what it emitted", function()
    local by = plans_of(FED .. [[
local evens = sg.view { from = t, filter = function(r) return r.v % 2 == 0 end }
local doubled = sg.view { from = evens, map = function(r) return { k = r.k, v = r.v, d = r.v * 2 } end,
  columns = { { "k", "bigint" }, { "v", "bigint", not_null = true }, { "d", "bigint" } } }
]] .. sink("d", "doubled", [[key = { "v" }, envelope = "upsert"]]))
    local p = by.d
    assert.equal(2, #p.views)
    local got = drain(p, start(p), 8000)
    assert.same({ "0 1 k=0 v=0 d=0", "2000 1 k=2 v=2 d=4", "4000 1 k=1 v=4 d=8", "4000 -1 k=0 v=0 d=0",
      "6000 1 k=0 v=6 d=12", "6000 -1 k=2 v=2 d=4" }, got)
  end)

  it("inherit keys a map keeps, show where they come from, and refuse a map that changes them", function()
    local by = plans_of(FED .. [[
local m = sg.view { from = t, map = function(r) return { v = r.k == 2 and r.v + 100 or r.v } end,
  columns = { { "v", "bigint", not_null = true } } }
local fm = sg.view { from = t, flat_map = function(r) return { r } end,
  columns = { { "k", "bigint", not_null = true }, { "v", "bigint", not_null = true } } }
]] .. sink("m", "m", [[key = { "v" }, envelope = "upsert"]]))
    local p = by.m
    assert.same({ { "v" } }, p.relation.keys)
    assert.matches("inherited from t", p.views[1].plan.keys_note)
    local ctx = { opts = p.opts, name = "m", problems = problems_mod.new("m"), counters = {} }
    local got = drain(p, start(p, ctx), 3000)
    assert.same({ "0 1 v=0", "1000 1 v=1" }, got) -- tick 2 (k = 2) changed its key: dropped, counted
    assert.equal(1, ctx.counters.view_errors)
    local report = ctx.problems:report()[1]
    assert.equal("view_errors", report.kind)
    assert.matches(':%d+: sources%.view%d*%.map: the map changed key column "v" %(2 → 102%)', report.first_error)
    assert.matches("flat_map may emit several rows",
      errors_of(FED .. [[local fm = sg.view { from = t, flat_map = function(r) return { r } end,
  columns = { { "k", "bigint", not_null = true }, { "v", "bigint", not_null = true } } }
]] .. sink("s", "fm", [[key = { "v" }, envelope = "upsert"]])) .. "flat_map may emit several rows")
  end)

  it("report a raising function with file:line and fail the sink under on_error = fail", function()
    local body = FED .. [[
local m = sg.view { from = t, map = function(r)
  if r.v == 1 then error("no ones") end
  return { v = r.v }
end, columns = { { "v", "bigint", not_null = true } } }
]]
    local p = plans_of(body .. sink("m", "m", [[key = { "v" }, envelope = "upsert", on_error = "fail"]])).m
    local inp = start(p)
    local b = new_batch(p)
    local n, err = inp:fill(b, 5000)
    assert.is_nil(n)
    assert.matches('^FILE:%d+: sources%.view%d*%.map: no ones %(on_error = "fail"%)$', (err:gsub("^%S+%.lua", "FILE")))
    -- a row that does not fit the columns: counted, named by the function's line
    p = plans_of(FED .. [[
local m = sg.view { from = t, map = function(r) return { w = "x" .. r.v } end, columns = { { "w", "bigint" } } }
]] .. sink("m", "m")).m
    local ctx = { opts = p.opts, name = "m", problems = problems_mod.new("m"), counters = {} }
    assert.same({}, drain(p, start(p, ctx), 2000))
    assert.equal(2, ctx.counters.view_errors)
    assert.matches(":%d+: sources%.view%d*%.map: view%d*%.w: expected bigint", ctx.problems:report()[1].first_error)
  end)
end)

describe("config checks of views", function()
  it("type-check declared columns, and need them for map", function()
    assert.matches("sources%.view%d*%.columns%[1%]: ", errors_of(TIMED .. [[
local m = sg.view { from = t, map = function(r) return r end, columns = { { "k", "nosuchtype" } } }
]] .. sink("m", "m")))
    assert.matches("a map view declares its columns", errors_of(TIMED .. [[
local m = sg.view { from = t, map = function(r) return r end }
]] .. sink("m", "m")))
  end)

  it("check distinct_on, order_by, group_by and aggregates against the input", function()
    local e = errors_of(TIMED .. [[
local d = sg.view { from = t, distinct_on = { "nope" }, order_by = { { "v", "sideways" } } }
]] .. sink("d", "d"))
    assert.matches('distinct_on%[1%]: no column "nope" in t', e)
    assert.matches('order_by%[1%]: expected {column, "asc"|"desc"}', e)
    e = errors_of(TIMED .. [[
local g = sg.view { from = t, group_by = { "k" }, aggregates = { s = { "sum", "k" }, m = { "median", "v" } } }
]] .. sink("g", "g"))
    assert.matches('aggregates%.s: cannot sum "k" of type text', e)
    assert.matches('aggregates%.m: unknown aggregate "median"', e)
    assert.matches("^FILE:%d+: ", e)
  end)

  it("prove the dedupe key: UPSERT on k passes over distinct_on, fails over the input", function()
    assert.matches("upsert key could not be validated as unique", errors_of(TIMED .. sink("s", "t",
      [[key = { "k" }, envelope = "upsert"]])))
    local by = plans_of(TIMED .. [[
local d = sg.view { from = t, distinct_on = { "k" }, order_by = { { "v", "desc" } } }
local g = sg.view { from = t, group_by = { "k" }, aggregates = { n = "count" } }
]] .. sink("d", "d", [[key = { "k" }, envelope = "upsert"]]) .. sink("g", "g", [[key = { "k" }, envelope = "upsert"]]))
    assert.is_false(by.d.opts.not_enforced)
    assert.same({ "k", "v" }, { by.d.relation.columns[1].name, by.d.relation.columns[2].name })
    assert.same({ "k", "n" }, { by.g.relation.columns[1].name, by.g.relation.columns[2].name })
  end)
end)

describe("distinct_on", function()
  it("keeps the first row per key by order_by, retracting and inserting as the winner changes", function()
    local by = plans_of(TIMED .. [[
local d = sg.view { from = t, distinct_on = { "k" }, order_by = { { "v", "desc" } } }
local lo = sg.view { from = t, distinct_on = { "k" }, order_by = { { "v", "asc" } } }
]] .. sink("d", "d") .. sink("lo", "lo"))
    local got = drain(by.d, start(by.d))
    assert.same({ "1 1 k=a v=1", "1 -1 k=a v=1", "1 1 k=a v=3", "1 1 k=b v=2", "2 1 k=c v=5",
      "3 -1 k=a v=3", "3 1 k=a v=2", "4 -1 k=c v=5", "4 1 k=c v=6" }, got)
    assert.same({ ["k=a v=2"] = 1, ["k=b v=2"] = 1, ["k=c v=6"] = 1 }, net(got))
    assert.same({ ["k=a v=1"] = 1, ["k=b v=2"] = 1, ["k=c v=6"] = 1 }, net(drain(by.lo, start(by.lo))))
  end)

  it("over a Lua-fed table: the net output is the newest row per k, through deletes", function()
    local by = plans_of(FED .. [[
local d = sg.view { from = t, distinct_on = { "k" }, order_by = { { "v", "desc" } } }
]] .. sink("d", "d", [[key = { "k" }, envelope = "upsert"]]))
    local got = net(drain(by.d, start(by.d), 10000)) -- ticks 0..9: rows 6..9 remain
    assert.same({ ["k=0 v=9"] = 1, ["k=1 v=7"] = 1, ["k=2 v=8"] = 1 }, got)
  end)
end)

describe("group_by", function()
  it("maintains count, sum, min and max under insert, update and delete", function()
    local by = plans_of([[
local t = sg.source.table { name = "orders", columns = { { "id", "bigint", not_null = true },
  { "customer_id", "bigint" }, { "amount", "bigint" }, { "ts", "timestamp" } },
  keys = { { "id" } },
  updates = {
    { { id = 1, customer_id = 7, amount = 10, ts = 100 }, 1 },
    { { id = 2, customer_id = 7, amount = 5, ts = 300 }, 1 },
    { { id = 3, customer_id = 8, amount = 1, ts = 200 }, 1 },
    { { id = 2, customer_id = 7, amount = 5, ts = 300 }, 2, -1 },
    { { id = 2, customer_id = 7, amount = 50, ts = 150 }, 2 },
    { { id = 4, customer_id = 7 }, 2 },
    { { id = 1, customer_id = 7, amount = 10, ts = 100 }, 3, -1 },
    { { id = 3, customer_id = 8, amount = 1, ts = 200 }, 3, -1 },
  } }
local g = sg.view { from = t, group_by = { "customer_id" }, aggregates = { n = "count",
  total = { "sum", "amount" }, last = { "max", "ts" }, first = { "min", "ts" }, priced = { "count", "amount" } } }
]] .. sink("g", "g", [[key = { "customer_id" }, envelope = "upsert"]]))
    local p = by.g
    local names = {}
    for i, c in ipairs(p.relation.columns) do names[i] = c.name end
    assert.same({ "customer_id", "first", "last", "n", "priced", "total" }, names)
    local inp = start(p)
    local at1 = net(drain(p, inp, 2))
    assert.same({ ["customer_id=7 first=100 last=300 n=2 priced=2 total=15"] = 1,
      ["customer_id=8 first=200 last=200 n=1 priced=1 total=1"] = 1 }, at1)
    local at2 = drain(p, inp, 3)
    assert.same({ "2 -1 customer_id=7 first=100 last=300 n=2 priced=2 total=15",
      "2 1 customer_id=7 first=100 last=150 n=3 priced=2 total=60" }, { at2[1], at2[#at2] })
    local at3 = drain(p, inp, 4)
    assert.same({ "3 -1 customer_id=7 first=100 last=150 n=3 priced=2 total=60",
      "3 1 customer_id=7 first=150 last=150 n=2 priced=1 total=50",
      "3 -1 customer_id=8 first=200 last=200 n=1 priced=1 total=1" }, at3)
    assert.equal(1, inp:state_stats().keys) -- customer 8 is forgotten
  end)
end)

describe("group_by over a Lua-fed table", function()
  it("counts and sums the rows present per key as ticks insert and delete them", function()
    local by = plans_of(FED .. [[
local g = sg.view { from = t, group_by = { "k" }, aggregates = { n = "count", total = { "sum", "v" },
  lo = { "min", "v" } } }
]] .. sink("g", "g", [[key = { "k" }, envelope = "upsert"]]))
    -- after ticks 0..9 the rows of ticks 6..9 remain: k 0: 6, 9; k 1: 7; k 2: 8
    local got = net(drain(by.g, start(by.g), 10000))
    assert.same({ ["k=0 lo=6 n=2 total=15"] = 1, ["k=1 lo=7 n=1 total=7"] = 1, ["k=2 lo=8 n=1 total=8"] = 1 }, got)
  end)
end)

describe("view state across a restart", function()
  local function tmpdir()
    local d = os.tmpname()
    os.remove(d)
    return d .. ".views"
  end

  it("rebuilds state larger than the memory bound from the input: the output after the frontier is the same", function()
    local dir = tmpdir()
    local body = [[
local t = sg.source.table { name = "t", tick = "1s", start = 0,
  columns = { { "k", "bigint", not_null = true }, { "v", "bigint", not_null = true } },
  feed = function(t, i)
    for j = 0, 99 do t:insert { k = (i * 37 + j * 11) % 1000, v = i * 100 + j } end
    if i >= 10 then for j = 0, 99 do t:delete { k = ((i - 10) * 37 + j * 11) % 1000, v = (i - 10) * 100 + j } end end
  end }
local d = sg.view { from = t, distinct_on = { "k" }, order_by = { { "v", "desc" } } }
local g = sg.view { from = d, group_by = { "k" }, aggregates = { n = "count", hi = { "max", "v" } } }
]] .. sink("g", "g", ([[key = { "k" }, envelope = "upsert", state_dir = %q, state_memory = 20000]]):format(dir))
    local p = plans_of(body).g
    local whole = start(p)
    local all = drain(p, whole, 40000)
    local st = whole:state_stats()
    assert.is_true(st.keys_on_disk > 0, "state went to disk")
    assert.is_true(st.bytes_on_disk > 0)
    assert.is_true(st.keys > st.keys_on_disk, "some keys stayed in memory")
    assert.is_true(st.bytes_in_memory <= 2 * 20000, "two stores, each within its bound: " .. st.bytes_in_memory)
    whole:close()
    -- a second instance resumes at frontier 25000: seek replays into state
    local again = assert(input.new(p.opts.from, p.relation))
    again:attach({ opts = p.opts, name = "g", problems = problems_mod.new("g"), counters = {} })
    again:origin(0, 0)
    again:rewind()
    again:seek(25000)
    local rest = drain(p, again, 40000)
    local expected = {}
    for _, l in ipairs(all) do
      if tonumber(l:match("^%d+")) >= 25000 then expected[#expected + 1] = l end
    end
    assert.is_true(#expected > 100)
    assert.same(expected, rest)
    -- each process keeps its own files under <state_dir>/<sink>/; those of a process that is gone are removed
    local pid = tostring(C.sg_sys_pid())
    local listing = io.popen("ls " .. dir .. "/g"):read("*a")
    assert.matches("view%d*%-1%." .. pid .. "%.state", listing)
    assert.matches("view%d*%-2%." .. pid .. "%.state", listing)
    local st2 = again:state_stats()
    again:close()
    os.execute("mkdir -p " .. dir .. "/g/old-1.4194999.state")
    local third = assert(input.new(p.opts.from, p.relation))
    third:attach({ opts = p.opts, name = "g", problems = problems_mod.new("g"), counters = {} })
    third:origin(0, 0)
    third:rewind()
    third:seek(1000)
    assert.is_nil(io.popen("ls " .. dir .. "/g"):read("*a"):find("old%-1"))
    third:close()
    assert.same({ st.keys, st.keys_on_disk, st.bytes_in_memory }, { st2.keys, st2.keys_on_disk, st2.bytes_in_memory })
    os.execute("rm -rf '" .. dir .. "'")
  end)
end)

describe("a view over an unbounded input", function()
  it("reads at most max_rows source rows per fill, even when it drops them all", function()
    local p = plans_of([[
local gen = sg.source.load_generator { kind = "counter", tick = "1ms", rows_per_tick = 10, realtime = false,
  start = 0 }
local none = sg.view { from = gen, filter = function() return false end }
]] .. sink("n", "none")).n
    local inp = start(p)
    local b = new_batch(p)
    assert(inp:fill(b, math.huge, 1000))
    assert.equal(0, b.nrows)
    local t = inp:next_time()
    assert.is_true(t >= 100 and t <= 200, "stopped after about 1000 rows: " .. t)
  end)
end)

describe("a view whose state store fails", function()
  it("fails the sink whatever on_error says, naming the view", function()
    local dir = os.tmpname()
    os.remove(dir)
    local p = plans_of(([[
local t = sg.source.table { name = "t", columns = { { "k", "text", not_null = true } },
  updates = { { { k = ("x"):rep(600) }, 1 } } }
local d = sg.view { from = t, distinct_on = { "k" } }
]]) .. sink("d", "d", ([[envelope = "debezium", state_dir = %q, state_memory = 1]]):format(dir))).d
    local inp = start(p)
    local n, err = inp:fill(new_batch(p), math.huge)
    assert.is_nil(n)
    assert.matches("^%S+:%d+: sources%.view%d*: state: a key of %d+ bytes is longer than the disk store takes", err)
    inp:close()
    os.execute("rm -rf '" .. dir .. "'")
  end)
end)
