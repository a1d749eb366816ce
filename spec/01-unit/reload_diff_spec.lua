-- run/reload.lua's decisions on real configs (loaded and planned, no
-- broker): keep, restart, refuse (identity change without a version
-- bump), add, remove.
local loader = require "sinkgate.config.loader"
local plan = require "sinkgate.plan"
local reload = require "sinkgate.run.reload"

local function plans(body)
  local decls, problems = loader.load_text([[
local sg = require "sinkgate"
local kafka = sg.kafka_connection { brokers = "127.0.0.1:1" }
local gen = sg.source.load_generator { kind = "counter", tick = "100ms" }
]] .. body, "reload.lua")
  assert(decls, problems and table.concat(problems, "\n"))
  local p, perr = plan.build(decls)
  assert(p, perr and table.concat(perr, "\n"))
  return p
end

local function sink(opts)
  opts = opts or {}
  return ([[sg.sink %q { from = gen, into = { connection = kafka, topic = %q%s }, key = %s, format = %q,
  envelope = %q, version = %d%s }
]]):format(opts.name or "a", opts.topic or "t", opts.into or "", opts.key or '{ "counter" }', opts.format or "json",
    opts.envelope or "upsert", opts.version or 1, opts.extra or "")
end

local function actions(old, new)
  local out = {}
  for _, a in ipairs(reload.diff(plans(old), plans(new))) do out[a.name] = a.action .. ": " .. a.why end
  return out
end

describe("reload decisions", function()
  it("keeps an unchanged sink, even with its lines moved", function()
    assert.matches("^keep", actions(sink(), sink()).a)
    assert.matches("^keep", actions(sink(), "\n\n-- a comment\n" .. sink()).a)
  end)

  it("restarts a sink whose options changed", function()
    local pby = ", partition_by = function(row) return %d end"
    assert.matches("^restart: options changed",
      actions(sink({ into = pby:format(0) }), sink({ into = pby:format(1) })).a)
    assert.matches("^keep", actions(sink({ into = pby:format(0) }), sink({ into = pby:format(0) })).a)
    assert.matches("^restart", actions(sink(), sink({ extra = ', commit_interval = "2s"' })).a)
  end)

  it("refuses identity changes without a version bump, naming them", function()
    local a = actions(sink(), sink({ topic = "t2" })).a
    assert.matches("^refuse: topic t %-> t2 needs a version bump %(version 1 %-> 2%)", a)
    assert.matches("^refuse: key_format json %-> text, value_format json %-> text", actions(sink(), sink({ format = "text" })).a)
    assert.matches("^refuse: envelope upsert %-> debezium", actions(sink(), sink({ envelope = "debezium" })).a)
  end)

  it("restarts on a version bump, identity change or not", function()
    assert.matches("^restart: version 1 %-> 2", actions(sink(), sink({ topic = "t2", version = 2 })).a)
  end)

  it("adds new sinks and removes the ones no longer declared", function()
    local r = actions(sink({ name = "a" }) .. sink({ name = "b", topic = "tb" }),
      sink({ name = "a" }) .. sink({ name = "c", topic = "tc" }))
    assert.matches("^keep", r.a)
    assert.matches("^remove", r.b)
    assert.matches("^add", r.c)
  end)
end)
