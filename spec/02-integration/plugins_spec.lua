-- Plugins end to end: `sinkgate check` lists and refuses, `sinkgate run`
-- against `sinkgate dev` produces what sinkgate.testing renders, and a
-- plugin that raises fails only its own sink.
local helpers = require "helpers"
local testing = require "sinkgate.testing"
local cjson = require "cjson"

local DIR = "spec/fixtures/plugins"

-- Messages per partition, in order, as comparable tables.
local function by_partition(msgs, decode)
  local out = {}
  for _, m in ipairs(msgs) do
    local p = m.partition
    out[p + 1] = out[p + 1] or {}
    local list = out[p + 1]
    list[#list + 1] = { key = decode(m.key), value = decode(m.value), headers = m.headers }
  end
  for i = 1, 4 do out[i] = out[i] or {} end
  return out
end

local function json_or_null(s)
  if s == nil then return cjson.null end
  return cjson.decode(s)
end

local function same_value(v) return v end

describe("plugins", function()
  local dev
  setup(function()
    dev = helpers.dev_start("--topics order-events:4,order-events-bin:4,orders-masked:4,orders-hashed:4," ..
      "orders-dropped:4,orders-plain:4,typed-proto:4,flaky-count:1,flaky-fail:1,transform-count:1,transform-fail:1")
  end)
  teardown(function() helpers.dev_stop(dev) end)

  it("check lists each plugin with its version and capabilities", function()
    local r = helpers.sinkgate("check " .. DIR .. "/orders.lua")
    assert.equal(0, r.rc, r.err)
    assert.matches("plugin cloudevents 1.0.0 (format) from " .. DIR .. "/plugins/cloudevents/init.lua; " ..
      "capabilities: none", r.out, 1, true)
    assert.matches("plugin redact 1.0.0 (transform)", r.out, 1, true)
    local j = helpers.sinkgate("check --json " .. DIR .. "/orders.lua")
    local doc = cjson.decode(j.out)
    assert.equal("cloudevents", doc.plugins[1].name)
    assert.equal("cloudevents (plugin 1.0.0)", doc.sinks[1].value_format)
  end)

  it("check fails on bad plugin options with file:line and the key path", function()
    local path = DIR .. "/bad_options_tmp.lua"
    local f = assert(io.open(path, "w"))
    f:write('local sg = require "sinkgate"\nlocal r = sg.plugin "redact"\nlocal t = r { columns = "email", ' ..
      'mode = "shred" }\n')
    f:close()
    local r = helpers.sinkgate("check " .. path)
    os.remove(path)
    assert.equal(1, r.rc)
    assert.matches(path .. ":3: plugins.redact.columns: expected list<string>, got string", r.err, 1, true)
    assert.matches(path .. ":3: plugins.redact.mode: expected one of mask, hash, drop", r.err, 1, true)
    assert.matches("2 problems", r.err, 1, true) -- one per key path, also in check --json
  end)

  it("runs against sinkgate dev and produces what sinkgate.testing renders", function()
    local r = helpers.sinkgate("run " .. DIR .. "/orders.lua", dev.env)
    assert.equal(0, r.rc, r.err)
    for sink, topic in pairs({ events = "order-events", events_binary = "order-events-bin", masked = "orders-masked",
      hashed_events = "orders-hashed", dropped = "orders-dropped", plain = "orders-plain" }) do
      local rendered = testing.render(DIR .. "/orders.lua", sink, { partitions = 4 })
      local got = helpers.tail(dev, topic)
      assert.equal(#rendered, #got, sink)
      assert.same(by_partition(rendered, json_or_null), by_partition(got, same_value), sink)
    end
  end)

  it("registers the Protobuf schema as PROTOBUF and produces the rendered bytes under its id", function()
    local status, latest = helpers.http("GET", dev.registry .. "/subjects/typed-proto-value/versions/latest")
    assert.equal(200, status)
    assert.equal("PROTOBUF", latest.schemaType)
    local rendered, info = testing.render(DIR .. "/orders.lua", "proto", { partitions = 4, value_schema_id = latest.id })
    assert.equal(info.schemas["typed-proto-value"].schema, latest.schema)
    local mime = require "mime"
    local got = helpers.tail(dev, "typed-proto", "--value-format bytes")
    assert.equal(#rendered, #got)
    for i, m in ipairs(got) do
      local want = rendered[i]
      assert.equal(want.partition, m.partition)
      if want.value == nil then
        assert.equal(cjson.null, m.value)
      else
        assert.equal(want.value, (mime.unb64(m.value.base64)))
      end
    end
  end)

  it("an unreachable registry stalls a Protobuf sink (retried), a column it cannot map fails it", function()
    local path = DIR .. "/proto_stall_tmp.lua"
    local f = assert(io.open(path, "w"))
    f:write([[local sg = require "sinkgate"
local kafka = sg.kafka_connection { brokers = sg.env("SINKGATE_BROKERS"), admin_timeout = "200ms" }
local down = sg.registry_connection { url = "http://127.0.0.1:1", retries = 0, timeout = "200ms" }
local up = sg.registry_connection { url = sg.env("SINKGATE_REGISTRY") }
local t = sg.source.table { columns = { { "id", "bigint" }, { "tags", "text list" } }, keys = { { "id" } },
  updates = { { { id = 1 }, 1 } } }
local ok = sg.source.table { columns = { { "id", "bigint" } }, keys = { { "id" } }, updates = { { { id = 1 }, 1 } } }
sg.sink "stalls" { from = ok, into = { connection = kafka, topic = "proto-stall" }, key = { "id" }, envelope = "upsert",
  key_format = "json", value_format = sg.plugin "protobuf" { registry = down, message = "X" } }
sg.sink "unmappable" { from = t, into = { connection = kafka, topic = "proto-bad" }, key = { "id" }, envelope = "upsert",
  key_format = "json", value_format = sg.plugin "protobuf" { registry = up } }
]])
    f:close()
    local r = helpers.sinkgate("run --duration 2s " .. path, dev.env)
    os.remove(path)
    assert.equal("stalled", helpers.final_status(r.err, "stalls").state)
    assert.matches("sink stalls: stalled %(sinks.stalls: plugin protobuf: prepare failed: register proto%-stall%-value", r.err)
    assert.equal("failed", helpers.final_status(r.err, "unmappable").state)
    assert.matches("column \"tags\": type text list has no Protobuf mapping", r.err, 1, true)
  end)

  it("a plugin that raises fails only its sink (on_error = fail) or is counted (count)", function()
    local r = helpers.sinkgate("run " .. DIR .. "/errors.lua", dev.env)
    assert.equal(1, r.rc) -- one sink failed: the run says so, the other sink finished
    assert.matches("sink flaky_fail: failed", r.err, 1, true)
    local st = helpers.final_status(r.err, "flaky_count")
    assert.equal("done", st.state)
    assert.equal(2, st.messages)
    assert.matches("plugin_errors=1", r.err, 1, true)
    local msgs = helpers.tail(dev, "flaky-count")
    assert.equal(2, #msgs)
    -- a transform that raises, with one update per transaction (ranges that start past 0)
    st = helpers.final_status(r.err, "transform_count")
    assert.equal("done", st.state)
    assert.equal(2, st.messages)
    local got = helpers.tail(dev, "transform-count")
    local want = testing.render(DIR .. "/errors.lua", "transform_count", { partitions = 1 })
    assert.equal(2, #got)
    for i, m in ipairs(got) do
      assert.same(testing.json(want[i].value), m.value)
      assert.same(testing.json(want[i].key), m.key)
    end
    assert.equal("failed", helpers.final_status(r.err, "transform_fail").state)
  end)
end)
