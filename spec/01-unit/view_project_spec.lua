-- The fast path of a map that only copies columns (view/project.lua),
-- cross-checked against the plain path (the map called, its table written
-- by view/writer.lua): the same updates, the same errors with the same
-- file:line, the same counts, for the same input.
local cfg = require "helpers.config"
local check = require "sinkgate.rows_check"
local core = require "sinkgate.core"
local input = require "sinkgate.source.input"
local project = require "sinkgate.view.project"
local relation = require "sinkgate.relation"
local rows = require "sinkgate.rows"
local problems_mod = require "sinkgate.sink.problems"

local C, ffi = core.C, core.ffi

local HEAD = [[
local sg = require "sinkgate"
local kafka = sg.kafka_connection { brokers = "127.0.0.1:1" }
local t = sg.source.table { name = "t", keys = { { "id" } },
  columns = { { "id", "bigint", not_null = true }, { "name", "text" }, { "n", "bigint" }, { "f", "double precision" },
    { "b", "boolean" }, { "ts", "timestamptz" }, { "big", "bigint" } },
  updates = {
    { { id = 1, name = "one", n = 1, f = 1.5, b = true, ts = 1700000000000000, big = 1152921504606846977LL }, 1 },
    { { id = 2, n = 40000, f = -0.0, b = false, ts = 1 }, 1 },
    { { id = 3, name = "drei ü", n = -7, big = -9007199254740993LL }, 2 },
    { { id = 1, name = "one", n = 1, f = 1.5, b = true, ts = 1700000000000000, big = 1152921504606846977LL }, 3, -1 },
    { { id = 4, name = "", n = 2 ^ 53, f = 1e300, b = true, ts = -5 }, 3 },
    { { id = 2, n = 40000, f = -0.0, b = false, ts = 1 }, 4, -1 },
    { { id = 5, n = 5 }, 5 },
  } }
]]

local function plan_of(view)
  local plans, errs = cfg.plans(HEAD .. view .. [[
sg.sink "s" { from = v, into = { connection = kafka, topic = "s" }, envelope = "debezium" }
]])
  assert(plans, errs and table.concat(errs, "\n"))
  return plans[1]
end

-- Everything the view gives for the whole input: its updates (time, diff,
-- each column's value and raw cell bytes), its error count and first error.
local function run(p, fast)
  project.disabled = not fast
  local inp = assert(input.new(p.opts.from, p.relation))
  project.disabled = false
  local ctx = { opts = p.opts, name = p.name, problems = problems_mod.new(p.name), counters = {} }
  inp:attach(ctx)
  inp:origin(nil, 0)
  inp:rewind()
  local b = ffi.gc(C.sg_batch_new(p.relation:c_schema(), 4), C.sg_batch_free)
  assert(inp:fill(b, math.huge))
  local out = {}
  for r = 0, b.nrows - 1 do
    local parts = { tostring(tonumber(b.times[r])), tostring(tonumber(b.diffs[r])) }
    for i, c in ipairs(p.relation.columns) do
      local cell = r * b.ncols + i - 1
      parts[#parts + 1] = ("%s=%s[%s]"):format(c.name, tostring(rows.get(b, r, i - 1, c.type)),
        b.nulls[cell] ~= 0 and "null" or ffi.string(b.cells + cell, ffi.sizeof(b.cells[0])):gsub(".",
          function(ch) return ("%02x"):format(ch:byte()) end))
    end
    out[#out + 1] = table.concat(parts, " ")
  end
  local reports = ctx.problems:report()
  local report = reports and reports[1]
  local first = report and report.first_error:gsub("^%S+%.lua", "FILE")
  return { rows = out, errors = ctx.counters.view_errors, first = first, projected = inp.projected }
end

-- Both paths over the same input; the fast one must have been taken.
local function same_both_ways(view)
  local p = plan_of(view)
  local fast, plain = run(p, true), run(p, false)
  assert.is_true(fast.projected)
  assert.is_false(plain.projected)
  assert.same(plain, (function() fast.projected = false return fast end)())
  return plain
end

describe("a map that only copies columns", function()
  it("is recognised from its bytecode, and nothing else is", function()
    local up = 1
    assert.same({ id = "id", label = "name" }, project.projection(function(row) return { id = row.id, label = row.name } end))
    assert.same({ a = "c" }, project.projection(function(row) return { a = row.b, a = row.c } end)) -- luacheck: ignore 314
    local not_projections = {
      function(row) return { a = row.b, c = 1 } end,
      function(row) return { a = row.b + 1 } end,
      function(row) return { a = row.b .. "" } end,
      function(row) return { a = row.b, u = up } end,
      function(row) return { a = row.b, [1] = row.c } end,
      function(row) local t = {} t.a = row.b return t end,
      function(_) return {} end,
      function(row, x) return { a = row.b, x = x } end,
      function(row) print(row) return { a = row.b } end,
      function(row) return { a = row.b, b = row.a.x } end,
      function(row) if row.a then return nil end return { a = row.b } end,
      function(row) return { a = row.b }, 1 end,
      function(row) return { a = row.b, d = { row.d } } end,
      function(row) return row end,
      print,
    }
    for i, fn in ipairs(not_projections) do
      assert.is_nil(project.projection(fn), "case " .. i)
    end
  end)

  it("writes the same updates as the plain path, same types", function()
    local got = same_both_ways([[
local v = sg.view { from = t, filter = function(r) return r.id ~= 3 end,
  map = function(row) return { id = row.id, name = row.name, f = row.f, b = row.b, ts = row.ts, big = row.big } end,
  columns = { { "id", "bigint", not_null = true }, { "name", "text" }, { "f", "double precision" }, { "b", "boolean" },
    { "ts", "timestamptz" }, { "big", "bigint" } } }
]])
    assert.equal(6, #got.rows)
    assert.equal(0, got.errors)
    assert.matches("^1 1 id=1%[.-%] name=one%[.-%] f=1.5.* big=1152921504606846977LL", got.rows[1])
  end)

  it("converts and refuses values exactly as the plain path: NULL into NOT NULL, out of range, file:line", function()
    local got = same_both_ways([[
local v = sg.view { from = t,
  map = function(row) return { id = row.id, small = row.n, dbl = row.n, label = row.name } end,
  columns = { { "id", "bigint", not_null = true }, { "small", "smallint" }, { "dbl", "double precision" },
    { "label", "text", not_null = true } } }
]])
    -- id 2 (inserted, then deleted) has no name (NOT NULL) and n = 40000 (not a smallint); id 4's n is
    -- past smallint too; id 5 has no name
    assert.equal(4, got.errors)
    assert.equal(3, #got.rows)
    assert.matches("^FILE:%d+: sources%.view%d*%.map: ", got.first)
  end)

  it("keeps the key a map inherits, and renames columns", function()
    local got = same_both_ways([[
local v = sg.view { from = t, map = function(row) return { id = row.id, label = row.name, when = row.ts } end,
  columns = { { "id", "bigint", not_null = true }, { "label", "text" }, { "when", "timestamptz" } } }
]])
    assert.equal(7, #got.rows)
  end)

  it("copies the rows a filter alone keeps, as the plain path writes them", function()
    local got = same_both_ways([[
local v = sg.view { from = t, filter = function(r) return r.id ~= 4 end }
]])
    assert.equal(6, #got.rows)
    assert.equal(0, got.errors)
  end)

  it("leaves a map that computes to the plain path, its errors still located", function()
    local p = plan_of([[
local v = sg.view { from = t, map = function(row) return { id = row.id, w = "x" .. row.id } end,
  columns = { { "id", "bigint", not_null = true }, { "w", "bigint" } } }
]])
    local got = run(p, true)
    assert.is_false(got.projected)
    assert.equal(7, got.errors)
    assert.matches("^FILE:%d+: sources%.view%d*%.map: view%d*%.w: expected bigint", got.first)
  end)

  it("sends a row with invalid UTF-8 in a copied text column down the plain path", function()
    local rel = assert(relation.new("t", { { "name", "text" } }))
    local copy = assert(project.new(rel, rel, function(row) return { name = row.name } end))
    local src = ffi.gc(C.sg_batch_new(rel:c_schema(), 2), C.sg_batch_free)
    local out = ffi.gc(C.sg_batch_new(rel:c_schema(), 2), C.sg_batch_free)
    for _, bytes in ipairs({ "ok é", "bad \xff", "\xed\xa0\x80" }) do
      local r = C.sg_batch_push_row(src, 1, 1)
      assert.equal(0, C.sg_batch_set_bytes(src, r, 0, bytes, #bytes))
    end
    assert.equal(0, copy(out, 1, 1, src, 0))
    assert.equal("ok é", rows.get(out, 0, 0, rel.columns[1].type))
    assert.is_false(copy(out, 1, 1, src, 1))
    assert.is_false(copy(out, 1, 1, src, 2))
    assert.equal(1, out.nrows)
    assert.equal(#"ok é", tonumber(out.arena_len))
  end)

  it("(and the writer) use the C UTF-8 scan, which accepts exactly what rows_check does", function()
    local edges = { 0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC,
      0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF }
    local n = 0
    local function same(str)
      n = n + 1
      local c = C.sg_utf8_valid(str, #str, nil) == 1
      if c ~= check.valid_utf8(str) then error(("disagree on %q: C %s"):format(str, tostring(c))) end
    end
    for a = 0, 255 do
      same(string.char(a))
      for b = 0, 255 do same(string.char(a, b)) end
    end
    for _, a in ipairs(edges) do
      for _, b in ipairs(edges) do
        for _, c in ipairs(edges) do
          same(string.char(a, b, c))
          for _, d in ipairs(edges) do same(string.char(a, b, c, d)) end
        end
      end
    end
    math.randomseed(12)
    for _ = 1, 20000 do
      local t = {}
      for i = 1, math.random(1, 12) do t[i] = edges[math.random(#edges)] end
      same("ab" .. string.char(unpack(t)))
    end
    assert.is_true(n > 400000)
  end)
end)
