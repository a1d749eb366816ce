-- The sinkgate binary as a user meets it: help, version, check, run -e, secrets.
local helpers = require "helpers"

describe("sinkgate CLI", function()
  it("prints help for itself and every command", function()
    local r = helpers.sinkgate("--help")
    assert.equal(0, r.rc)
    assert.matches("commands:", r.out)
    for _, cmd in ipairs({ "run", "check", "dev", "tail", "version" }) do
      r = helpers.sinkgate(cmd .. " --help")
      assert.equal(0, r.rc, cmd)
      assert.matches("usage: sinkgate " .. cmd, r.out)
    end
  end)

  it("rejects unknown commands and options with status 2", function()
    assert.equal(2, helpers.sinkgate("frobnicate").rc)
    local r = helpers.sinkgate("check --nope x.lua")
    assert.equal(2, r.rc)
    assert.matches("unknown option %-%-nope", r.err)
  end)

  it("reports versions", function()
    local r = helpers.sinkgate("version")
    assert.equal(0, r.rc)
    assert.matches("^sinkgate %d+%.%d+%.%d+ %(librdkafka 2%.", r.out)
  end)

  it("runs a chunk with -e and prints what it returns", function()
    local r = helpers.sinkgate("run -e " .. helpers.q('return sg.hash.seahash("foobar"), 1 + 1, {x = "y"}'))
    assert.equal(0, r.rc, r.err)
    assert.equal('5348458858952426560\n2\n{"x":"y"}\n', r.out)
    r = helpers.sinkgate("run -e " .. helpers.q("error('boom')"))
    assert.equal(1, r.rc)
    assert.matches("boom", r.err)
  end)

  it("checks a config and prints its plan", function()
    local r = helpers.sinkgate("check examples/auction_avro.lua")
    assert.equal(0, r.rc, r.err)
    assert.matches("sink bids_out", r.out)
    assert.matches("topic:%s+bids", r.out)
    assert.matches("value schema %(subject bids%-value%)", r.out)
    r = helpers.sinkgate("check --json examples/auction_avro.lua")
    local plan = require("cjson").decode(r.out)
    assert.equal("bids", plan.sinks[1].topic)
    assert.equal("envelope", plan.sinks[1].value_schema.name)
  end)

  it("fails check with file:line and key path, status 1", function()
    local path = helpers.write_tmp([[
local sg = require "sinkgate"
local k = sg.kafka_connection { brokers = "b:1" }
local g = sg.source.load_generator { kind = "counter" }
sg.sink "orders" { from = g, into = { connection = k }, envelope = "debezium" }
]], ".lua")
    local r = helpers.sinkgate("check " .. path)
    os.remove(path)
    assert.equal(1, r.rc)
    assert.matches(path:gsub("%p", "%%%0") .. ":4: sinks%.orders%.into%.topic: expected string, got nil", r.err)
  end)

  it("never shows a secret's value in check, run or error output", function()
    local value = "hunter2-s3cr3t-value"
    local path = helpers.write_tmp([[
local sg = require "sinkgate"
local k = sg.kafka_connection { brokers = "127.0.0.1:1", sasl_username = "u", sasl_password = sg.secret "SG_TEST_PW",
  security_protocol = "sasl_plaintext", sasl_mechanisms = "PLAIN",
  options = { ["socket.timeout.ms"] = "1000" } }
local csr = sg.registry_connection { url = "http://127.0.0.1:1", password = sg.secret "SG_TEST_PW" }
local g = sg.source.load_generator { kind = "counter" }
sg.sink "s" { from = g, into = { connection = k, topic = "t" }, envelope = "debezium", mode = "at_least_once" }
]], ".lua")
    local env = { SG_TEST_PW = value }
    local outputs = {
      helpers.sinkgate("check " .. path, env),
      helpers.sinkgate("check --json " .. path, env),
      helpers.sinkgate("run --duration 1s " .. path, env),
      helpers.sinkgate("run -e " .. helpers.q('local s = sg.secret "SG_TEST_PW"; return s, tostring(s), s:reveal()'), env),
    }
    os.remove(path)
    assert.equal(0, outputs[1].rc, outputs[1].err)
    assert.equal(1, outputs[4].rc) -- config code cannot reveal a secret
    assert.matches("SG_TEST_PW: reveal%(%) is not available to config code", outputs[4].err)
    for i, r in ipairs(outputs) do
      assert.is_nil((r.out .. r.err):find(value, 1, true), "output " .. i .. " leaked the secret")
    end
  end)

  it("warns on check when a secret is not set", function()
    local path = helpers.write_tmp([[
local sg = require "sinkgate"
local k = sg.kafka_connection { brokers = "b:1", sasl_password = sg.secret "SG_SURELY_UNSET", security_protocol = "sasl_ssl" }
local g = sg.source.load_generator { kind = "counter" }
sg.sink "s" { from = g, into = { connection = k, topic = "t" }, envelope = "debezium" }
]], ".lua")
    local r = helpers.sinkgate("check " .. path)
    os.remove(path)
    assert.equal(0, r.rc)
    assert.matches("warning: .*secret SG_SURELY_UNSET is not set", r.err)
  end)
end)
