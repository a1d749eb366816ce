-- partition_by and headers over a batch, without a broker: every kind of
-- result that is no u64 hash is its own counted, reported error; on_error =
-- "fail" stops at the first; pairs() works on the views they see.
local core = require "sinkgate.core"
local loader = require "sinkgate.config.loader"
local problems = require "sinkgate.sink.problems"
local relation = require "sinkgate.relation"
local route = require "sinkgate.sink.route"
local rows = require "sinkgate.rows"

local C, ffi = core.C, core.ffi

-- A route over n rows { id = i, g = "g<i>" } (i = 0 .. n-1), with fn
-- compiled as config line 1 of "cfg.lua".
local function make_route(kind, src, n, extra)
  local rel = assert(relation.new("t", { { "id", "bigint", not_null = true }, { "g", "text" } }))
  local b = ffi.gc(C.sg_batch_new(rel:c_schema(), 8), C.sg_batch_free)
  for i = 0, n - 1 do assert(rows.push(b, rel, 1, 1, { id = i, g = "g" .. i })) end
  local u = ffi.new("sg_updates")
  local items = ffi.new("sg_update[?]", n)
  for i = 0, n - 1 do items[i].time, items[i].before, items[i].after = 1, -1, i end
  u.items, u.n = items, n
  local chunk = assert(loadstring("return " .. src, "@cfg.lua"))
  setfenv(chunk, loader.sandbox())
  local opts = { into = {}, timestamp_header = "sinkgate-timestamp", on_error = extra and extra.on_error }
  if kind == "partition_by" then opts.into.partition_by = chunk() else opts.headers = chunk() end
  local plan = { name = "s", opts = opts, relation = rel, envelope = extra and extra.envelope or "upsert",
    key = extra and extra.key }
  local counters = { partition_by_nil = 0, partition_by_errors = 0, header_errors = 0, headers_dropped = 0 }
  local probs = problems.new("s")
  return route.new(plan, b, counters, probs), u, counters, probs, { items, b }
end

describe("route", function()
  local quiet
  before_each(function()
    quiet = require("sinkgate.util.log").quiet
    require("sinkgate.util.log").quiet = true
  end)
  after_each(function() require("sinkgate.util.log").quiet = quiet end)

  it("counts each result that is no u64 hash as partition_by_invalid and sends it to partition 0", function()
    local results = '{ "abc", -1, 2.5, 0 / 0, true, 2 ^ 64, -1LL, {}, 12345678901234567890ULL, 7 }'
    local r, u, c, probs, keep = make_route("partition_by", ("function(row) return (%s)[row.id + 1] end"):format(results), 10)
    local parts = assert(r:partitions(u, 0, 10, 4))
    for i = 0, 7 do assert.equal(0, parts[i]) end
    assert.equal(tonumber(12345678901234567890ULL % 4), parts[8])
    assert.equal(3, parts[9])
    assert.equal(8, c.partition_by_invalid)
    assert.equal(0, c.partition_by_errors)
    local rep = probs:report()
    assert.equal("partition_by_invalid", rep[1].kind)
    assert.equal(8, rep[1].count)
    assert.equal('cfg.lua:1: sinks.s.into.partition_by: returned string "abc", expected a u64 hash ' ..
      "(a non-negative integer below 2^64, or uint64 cdata) or nil", rep[1].first_error)
    assert.matches("returned table a table, expected", rep[1].last_error)
    assert.equal("the message went to partition 0", rep[1].action)
    local _ = keep
  end)

  it("reports a raised error at the config line that raised it", function()
    local r, u, c, probs = make_route("partition_by", [[function(row)
  if row.id == 1 then error("no hash for " .. row.g) end
  return row.id
end]], 3)
    local parts = assert(r:partitions(u, 0, 3, 4))
    assert.same({ 0, 0, 2 }, { parts[0], parts[1], parts[2] })
    assert.equal(1, c.partition_by_errors)
    assert.equal("cfg.lua:2: sinks.s.into.partition_by: error: no hash for g1", probs:report()[1].first_error)
  end)

  it("on_error = \"fail\" stops at the first error", function()
    local r, u = make_route("partition_by", "function(row) return row.id == 2 and 'x' or row.id end", 4, { on_error = "fail" })
    local parts, err = r:partitions(u, 0, 4, 4)
    assert.is_nil(parts)
    assert.equal('cfg.lua:1: sinks.s.into.partition_by: returned string "x", expected a u64 hash ' ..
      '(a non-negative integer below 2^64, or uint64 cdata) or nil (on_error = "fail")', err)
  end)

  it("reports header values that are not text, and results that are not tables", function()
    local r, u, c, probs, keep = make_route("headers", [[function(row)
  if row.id == 0 then return 5 end
  return { n = row.id, ok = row.g, [1] = "x", ["sinkgate-x"] = "y" }
end]], 2)
    local h, vals = r:message_headers(u, 0, 2)
    assert.is_not_nil(h, vals)
    assert.equal(3, c.header_errors) -- 5; n = 1; [1]
    assert.equal(1, c.headers_dropped)
    local rep = {}
    for _, e in ipairs(probs:report()) do rep[e.kind] = e end
    assert.equal("cfg.lua:1: sinks.s.headers: returned number 5, expected a table of name = text/bytes",
      rep.header_errors.first_error)
    assert.equal('cfg.lua:1: sinks.s.headers: header "sinkgate-x" uses the reserved prefix "sinkgate-"',
      rep.headers_dropped.first_error)
    assert.equal(1, h.first[2] - h.first[1]) -- row 1 keeps "ok" only
    assert.equal("ok", ffi.string(h.names[h.first[1]]))
    local _ = keep
  end)

  it("gives partition_by a view pairs() can walk; under DEBEZIUM the key columns only", function()
    local src = [[function(row)
  local n = 0
  for k, v in pairs(row) do n = n + 1 end
  return n
end]]
    local r, u = make_route("partition_by", src, 1)
    assert.equal(2, r:partitions(u, 0, 1, 10)[0])
    r, u = make_route("partition_by", src, 1, { envelope = "debezium", key = { "id" } })
    assert.equal(1, r:partitions(u, 0, 1, 10)[0])
  end)
end)
