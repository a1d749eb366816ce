-- bench/view_path.lua — CPU ns per row of a view's per-row path alone: the
-- bench relation's load generator read by a sink's input with no view
-- (a), behind (g)'s map + filter view (a map that only copies columns: the
-- fast path of view/project.lua), and behind the same view whose map
-- computes one value (m: the plain path, a Lua table and strings per row).
-- No broker, no encoding: what make bench's (g) / (a) ratio owes to the
-- view. `luajit bench/view_path.lua [rows] [which] [rounds]`, e.g.
-- `luajit bench/view_path.lua 1000000 agm 3`; rounds interleave the inputs.
package.path = "lua/?.lua;build/lua/?.lua;" .. package.path
package.cpath = "build/?.so;" .. package.cpath

local core = require "sinkgate.core"
local loader = require "sinkgate.config.loader"
local plan = require "sinkgate.plan"
local input = require "sinkgate.source.input"
local problems_mod = require "sinkgate.sink.problems"

local C, ffi = core.C, core.ffi
local ROWS = tonumber(arg[1]) or 1000000
local WHICH = arg[2] or "agm"
local ROUNDS = tonumber(arg[3]) or 3
local BATCH = 65536

local COLUMNS = [[
  columns = { { "id", "bigint", not_null = true }, { "name", "text" }, { "price", "double precision" },
    { "qty", "integer", not_null = true }, { "ts", "timestamptz(6)", not_null = true }, { "active", "boolean" } } }
]]
local CONFIG = [[
local sg = require "sinkgate"
local kafka = sg.kafka_connection { brokers = "127.0.0.1:1" }
local gen = sg.source.load_generator { kind = "bench", tick = "1ms", rows_per_tick = 1000, ticks = %d,
  start = 1700000000000 }
local g = sg.view { from = gen, filter = function(row) return row.qty >= 0 end,
  map = function(row) return { id = row.id, name = row.name, price = row.price, qty = row.qty, ts = row.ts,
    active = row.active } end,
]] .. COLUMNS .. [[
local m = sg.view { from = gen, filter = function(row) return row.qty >= 0 end,
  map = function(row) return { id = row.id, name = row.name, price = row.price, qty = row.qty + 0, ts = row.ts,
    active = row.active } end,
]] .. COLUMNS .. [[
local function sink(name, from)
  sg.sink(name) { from = from, into = { connection = kafka, topic = name }, key = { "id" }, format = "json",
    envelope = "upsert" }
end
sink("a", gen) sink("g", g) sink("m", m)
]]

local path = os.tmpname()
local f = assert(io.open(path, "w"))
f:write(CONFIG:format(math.ceil(ROWS / 1000)))
f:close()
local decls, errs = loader.load(path)
local plans
if decls then plans, errs = plan.build(decls) end
os.remove(path)
assert(plans, errs and table.concat(errs, "\n"))
local by = {}
for _, p in ipairs(plans) do by[p.name] = p end

-- CPU ns per output row of one pass over the whole input.
local function run(name)
  local p = by[name]
  local inp = assert(input.new(p.opts.from, p.relation))
  if inp.attach then inp:attach({ opts = p.opts, name = p.name, problems = problems_mod.new(p.name), counters = {} }) end
  inp:origin(nil, 0)
  inp:rewind()
  local b = ffi.gc(C.sg_batch_new(p.relation:c_schema(), BATCH), C.sg_batch_free)
  local total, t0 = 0, os.clock()
  while not inp:exhausted() do
    C.sg_batch_clear(b)
    local n = assert(inp:fill(b, math.huge, BATCH))
    total = total + b.nrows
    if n == 0 then break end
  end
  return (os.clock() - t0) / total * 1e9, total
end

local results = {}
for round = 1, ROUNDS do
  local line = {}
  for w in WHICH:gmatch(".") do
    local ns, total = run(w)
    results[w] = results[w] or {}
    results[w][round] = ns
    line[#line + 1] = ("%s %.0f ns/row (%d rows)"):format(w, ns, total)
  end
  io.stderr:write(table.concat(line, "  "), "\n")
end
local function median(xs)
  table.sort(xs)
  return #xs % 2 == 1 and xs[(#xs + 1) / 2] or (xs[#xs / 2] + xs[#xs / 2 + 1]) / 2
end
for w in WHICH:gmatch(".") do
  io.stdout:write(("%s: median %.0f CPU ns/row over %d rounds\n"):format(w, median(results[w]), ROUNDS))
end
