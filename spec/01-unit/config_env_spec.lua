-- ${ENV} in YAML, sg.env in Lua, --brokers/--registry overrides, and the
-- settings check now accepts (numbers in options, -1 counts, key-only
-- DEBEZIUM partition_by).
local ffi = require "ffi"
local loader = require "sinkgate.config.loader"
local plan = require "sinkgate.plan"
local secret = require "sinkgate.secret"

ffi.cdef [[
int setenv(const char *name, const char *value, int overwrite);
int unsetenv(const char *name);
]]

local YAML = [[
connections:
  kafka: { type: kafka, brokers: "${SG_T_BROKERS}", options: { linger.ms: 5, enable.idempotence: true } }
  csr: { type: registry, url: "${SG_T_URL:-http://127.0.0.1:8081}" }
sources:
  gen:
    type: load_generator
    kind: counter
    rows_per_tick: ${SG_T_ROWS}
sinks:
  s:
    from: gen
    into: { connection: kafka, topic: "t-${SG_T_SUFFIX:-x}", topic_partition_count: -1, topic_replication_factor: -1 }
    key: [counter]
    format: json
    envelope: upsert
    timestamp_header: "$${not-expanded}"
]]

describe("environment in configs", function()
  before_each(function()
    secret._reset()
    ffi.C.setenv("SG_T_BROKERS", "10.0.0.1:9092", 1)
    ffi.C.setenv("SG_T_ROWS", "7", 1)
    ffi.C.unsetenv("SG_T_URL")
    ffi.C.setenv("SG_T_SUFFIX", "", 1)
  end)

  it("YAML: ${NAME}, ${NAME:-default} (unset or empty), $${ and typed plain scalars", function()
    local decls, errs = loader.load_text(YAML, "c.yaml")
    assert.is_nil(errs)
    local by = {}
    for _, c in ipairs(decls.connections) do by[c.opts.name] = c.opts end
    assert.equal("10.0.0.1:9092", by.kafka.brokers)
    assert.equal("http://127.0.0.1:8081", by.csr.url)
    assert.same({ ["linger.ms"] = "5", ["enable.idempotence"] = "true" }, by.kafka.options)
    assert.equal(7, decls.sources[1].opts.rows_per_tick) -- a number, not "7"
    local s = decls.sinks[1].opts
    assert.equal("t-x", s.into.topic)
    assert.equal(-1, s.into.topic_partition_count)
    assert.equal("${not-expanded}", s.timestamp_header)
  end)

  it("--brokers and --registry replace every connection's address", function()
    local decls, errs = loader.load_text(YAML, "c.yaml", { brokers = "h1:1,h2:2", registry = "https://u:pw12@r:1" })
    assert.is_nil(errs)
    for _, c in ipairs(decls.connections) do
      if c.kind == "kafka_connection" then assert.equal("h1:1,h2:2", c.opts.brokers) end
      if c.kind == "registry_connection" then assert.equal("https://u:pw12@r:1", c.opts.url) end
    end
    assert.equal("see https://u:***@r:1", secret.redact("see https://u:pw12@r:1"))
    assert.is_nil(loader.check_overrides({ brokers = "a:1, b.example:9093", registry = "http://x" }))
    assert.matches("%-%-brokers", loader.check_overrides({ brokers = "a" }))
    assert.matches("%-%-registry", loader.check_overrides({ registry = "x:1" }))
  end)

  it("Lua: sg.env with and without a default; the value of a secret's name is refused", function()
    local decls, errs = loader.load_text([[
local sg = require "sinkgate"
local k = sg.kafka_connection { brokers = sg.env("SG_T_BROKERS"), name = sg.env("SG_T_UNSET_X", "kname") }
]], "c.lua")
    assert.is_nil(errs)
    assert.equal("10.0.0.1:9092", decls.connections[1].opts.brokers)
    assert.equal("kname", decls.connections[1].opts.name)
    decls, errs = loader.load_text([[
local sg = require "sinkgate"
local v = sg.env("SG_T_BROKERS")
local s = sg.secret("SG_T_" .. "BROKERS")
]], "c.lua")
    assert.is_nil(decls)
    assert.equal("c.lua:2: env.SG_T_BROKERS: SG_T_BROKERS is a secret: it is never readable as a value (use it as a secret)",
      errs[1])
  end)

  it("DEBEZIUM partition_by that reads only key columns passes check", function()
    local decls = assert(loader.load_text([[
local sg = require "sinkgate"
local k = sg.kafka_connection { brokers = "h:1", options = { ["linger.ms"] = 5, acks = "all" } }
local t = sg.source.table { columns = { { "id", "bigint", not_null = true }, { "g", "text" } }, keys = { { "id" } } }
sg.sink "s" { from = t, into = { connection = k, topic = "t",
  partition_by = function(row) return sg.hash.seahash(tostring(row.id)) end }, key = { "id" }, envelope = "debezium" }
]], "c.lua"))
    local plans, problems = plan.build(decls)
    assert.is_nil(problems)
    assert.equal(1, #plans)
  end)

  it("the probe gives up on a partition_by that never returns", function()
    local decls = assert(loader.load_text([[
local sg = require "sinkgate"
local k = sg.kafka_connection { brokers = "h:1" }
local t = sg.source.table { columns = { { "id", "bigint", not_null = true } }, keys = { { "id" } } }
sg.sink "s" { from = t, into = { connection = k, topic = "t", partition_by = function(row) while true do end end },
  key = { "id" }, envelope = "debezium" }
]], "c.lua"))
    local plans = plan.build(decls)
    assert.equal(1, #plans)
  end)
end)
