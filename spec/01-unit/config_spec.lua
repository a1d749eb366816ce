local loader = require "sinkgate.config.loader"
local helpers = require "helpers"

local GOOD = [[
local sg = require "sinkgate"
local kafka = sg.kafka_connection { brokers = "127.0.0.1:9092" }
local gen = sg.source.load_generator { kind = "counter", tick = "100ms" }
sg.sink "counts" {
  from = gen,
  into = { connection = kafka, topic = "counts" },
  key = { "counter" }, format = "json", envelope = "upsert",
}
]]

local function load(text, suffix, opts)
  local path = helpers.write_tmp(text, suffix or ".lua")
  local decls, errs = loader.load(path, opts)
  os.remove(path)
  return decls, errs, path
end

local function only_error(text, suffix)
  local decls, errs, path = load(text, suffix)
  assert.is_nil(decls)
  assert.equal(1, #errs, table.concat(errs or {}, "\n"))
  return errs[1]:gsub(path:gsub("%p", "%%%0"), "FILE")
end

describe("Lua configs", function()
  it("load with defaults filled in", function()
    local decls, errs = load(GOOD)
    assert.is_nil(errs)
    local s = decls.sinks[1]
    assert.equal("counts", s.name)
    assert.equal("none", s.opts.into.compression)
    assert.equal(true, s.opts.snapshot)
    assert.equal("sinkgate-timestamp", s.opts.timestamp_header)
    assert.equal(100, decls.sources[1].opts.tick)
    assert.equal("_sinkgate-progress", decls.connections[1].opts.progress_topic)
  end)

  it("name file, line and key path of a missing option", function()
    local e = only_error(GOOD:gsub('topic = "counts" ', ""))
    assert.equal("FILE:4: sinks.counts.into.topic: expected string, got nil", e)
  end)

  it("reject unknown options with a suggestion", function()
    local e = only_error(GOOD:gsub("envelope =", "envelop = 'upsert', envelope ="))
    assert.equal("FILE:4: sinks.counts.envelop: unknown option (did you mean envelope?)", e)
  end)

  it("reject wrong types and bad enum values", function()
    assert.equal('FILE:3: sources.counter.tick: expected a duration like "100ms", "2s" or "1m", got number',
      only_error(GOOD:gsub('"100ms"', "100")))
    assert.equal('FILE:4: sinks.counts.envelope: expected one of upsert, debezium, got "upsrt"',
      only_error(GOOD:gsub('"upsert"', '"upsrt"')))
    assert.equal("FILE:4: sinks.counts.key[1]: expected string, got number",
      only_error(GOOD:gsub('{ "counter" }', "{ 1 }")))
  end)

  -- C takes names up to the first NUL: "a\0b" and "a" would be one column
  -- there (found by the config fuzzer: a C error escaped plan.build).
  it("refuse NUL bytes in names, topics and properties", function()
    assert.equal("FILE:4: sinks.counts.into.topic: contains a NUL byte",
      only_error(GOOD:gsub('topic = "counts"', 'topic = "co\\0unts"')))
    assert.equal("FILE:4: sinks.counts.key[1]: contains a NUL byte",
      only_error(GOOD:gsub('{ "counter" }', '{ "coun\\0ter" }')))
    local e = only_error([[
sources:
  t:
    type: table
    columns:
      - ["a\0b", text]
      - [a, text]
]], ".yaml")
    assert.equal("FILE:5: sources.t.columns[1][1]: contains a NUL byte", e)
  end)

  it("report every problem, not just the first", function()
    local _, errs = load(GOOD:gsub('topic = "counts" ', ""):gsub('"upsert"', '"x"'))
    assert.equal(2, #errs)
  end)

  it("refuse a sink declared twice", function()
    local e = only_error(GOOD .. 'sg.sink "counts" { from = gen, into = { connection = kafka, topic = "x" }, envelope = "debezium" }')
    assert.matches("sinks.counts: declared twice %(first at FILE:4%)", e)
  end)

  describe("sandbox", function()
    it("refuses assignments to undeclared globals", function()
      assert.matches("FILE:1: assignment to undeclared global 'x'", only_error("x = 1"))
    end)
    it("refuses reads of undefined globals (typos)", function()
      assert.matches("FILE:2: undefined global 'kafak'", only_error("local sg = require 'sinkgate'\nreturn kafak"))
    end)
    it("offers no os.execute, io or foreign modules unless unsafe", function()
      assert.matches("os.execute: not available in a config", only_error("os.execute('true')"))
      assert.matches("undefined global 'io'", only_error("io.open('/etc/passwd')"))
      assert.matches('require: "socket" is not allowed', only_error("require 'socket'"))
      local decls = load("local ok = os.execute('true')", ".lua", { unsafe = true })
      assert.is_table(decls)
    end)
  end)
end)

describe("YAML configs", function()
  local YAML = [[
connections:
  kafka:
    type: kafka
    brokers: "127.0.0.1:9092"
    sasl_password: { secret: KAFKA_PW }
    security_protocol: sasl_ssl
sources:
  gen: { type: load_generator, kind: counter, tick: 100ms }
sinks:
  counts:
    from: gen
    into:
      connection: kafka
      topic: counts
      partition_by: "return sg.hash.crc32(tostring(row.counter))"
    key: [counter]
    format: json
    envelope: upsert
]]

  it("load the same model as Lua, with Lua bodies as strings", function()
    local decls, errs = load(YAML, ".yaml")
    assert.is_nil(errs)
    local s = decls.sinks[1]
    assert.equal("counts", s.opts.into.topic)
    assert.is_function(s.opts.into.partition_by)
    assert.equal("KAFKA_PW", decls.connections[1].opts.sasl_password.name)
    -- the compiled body runs in the sandbox with `sg` (the config API) as a global
    assert.is_number(s.opts.into.partition_by({ counter = 1 }))
  end)

  it("point at the line of the offending key", function()
    assert.equal("FILE:14: sinks.counts.into.topic: expected string, got number",
      only_error(YAML:gsub("topic: counts", "topic: 12"), ".yaml"))
    assert.equal("FILE:12: sinks.counts.into.topic: expected string, got nil",
      only_error(YAML:gsub("      topic: counts\n", ""), ".yaml"))
    assert.equal('FILE:11: sinks.counts.from: no source named "nope"',
      only_error(YAML:gsub("from: gen", "from: nope"), ".yaml"))
  end)

  describe("views", function()
    local VIEWS = io.open("examples/orders_views.yaml"):read("*a")
    local plan = require "sinkgate.plan"

    local function plan_errors(text)
      local decls, errs, path = load(text, ".yaml")
      if decls then
        local plans
        plans, errs = plan.build(decls)
        if plans then return nil end
      end
      for i, e in ipairs(errs) do errs[i] = e:gsub(path:gsub("%p", "%%%0"), "FILE") end
      return table.concat(errs, "\n")
    end

    it("declare views from sources and other views, in any order, with Lua bodies as text", function()
      local decls, errs = loader.load("examples/orders_views.yaml")
      assert.is_nil(errs)
      local plans = assert(plan.build(decls))
      local byname = {}
      for _, s in ipairs(decls.sources) do byname[s.opts.name] = s end
      -- big_orders comes first in the file but reads paid: paid was declared for it
      assert.equal(byname.paid, byname.big_orders.opts.from)
      assert.equal(byname.orders, byname.paid.opts.from)
      assert.is_function(byname.paid.opts.map)
      assert.same({ id = 3, customer_id = 7, cents = 9900 },
        byname.paid.opts.map({ id = 3, customer_id = 7, amount = "99.00", status = "paid" }))
      assert.is_false(byname.paid.opts.filter({ status = "cancelled" }))
      -- a runtime error in a `map: |` block names the body's own line
      local ok, err = pcall(byname.paid.opts.map, { id = 1 })
      assert.is_false(ok)
      assert.matches("orders_views%.yaml:33: attempt to perform arithmetic", err)
      assert.same({ { "cents", "desc" } }, byname.one_per_id.opts.order_by)
      assert.same({ "sum", "cents" }, byname.customer_totals.opts.aggregates.total_cents)
      assert.equal("customer_totals", plans[1].relation.name)
      assert.same({ { "customer_id" } }, plans[1].relation.keys)
    end)

    it("report errors with file:line and the key path", function()
      assert.equal('FILE:27: views.big_orders.from: no source named "nope"',
        plan_errors(VIEWS:gsub("from: paid", "from: nope")))
      assert.equal("FILE:40: views.one_per_id.distinct_on: expected list<string>, got number",
        plan_errors(VIEWS:gsub("distinct_on: %[id%]", "distinct_on: 3")))
      assert.equal("FILE:28: views.big_orders.filter: unexpected symbol near '>'",
        plan_errors(VIEWS:gsub("return row.cents >= 1000", "return row.cents >=>")))
      assert.equal('FILE:47: views.customer_totals.aggregates.total_cents: no column "nope" in one_per_id',
        plan_errors(VIEWS:gsub("total_cents: %[sum, cents%]", "total_cents: [sum, nope]")))
      assert.matches('FILE:39: views.one_per_id.from: a cycle of views: "big_orders"',
        plan_errors(VIEWS:gsub("from: paid", "from: customer_totals")))
      assert.matches('FILE:38: views.orders: the name "orders" is taken by a source',
        plan_errors(VIEWS:gsub("  one_per_id:", "  orders:")))
      assert.matches("^FILE:24: views: expected a map of name → definition, got a list\n",
        plan_errors(VIEWS:gsub("\nviews:\n.*\nsinks:", "\nviews: [1]\nsinks:")))
    end)
  end)

  it("report syntax errors with a line", function()
    assert.matches("^FILE:%d+: ", only_error("sinks: [1,\n", ".yaml"))
  end)
end)
