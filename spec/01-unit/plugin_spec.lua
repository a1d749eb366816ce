-- The plugin API: registry and descriptors, loading and the sandbox, and
-- the three plugins of plugins/ through sinkgate.testing (no broker).
local loader = require "sinkgate.config.loader"
local registry = require "sinkgate.plugin.registry"
local testing = require "sinkgate.testing"
local sg = require "sinkgate"

local DIR = "spec/fixtures/plugins"
local ORDERS = DIR .. "/orders.lua"

-- Loads config text as if it were a file in DIR (so DIR/plugins is searched).
local function load(text)
  return loader.load_text("local sg = require 'sinkgate'\n" ..
    "local kafka = sg.kafka_connection { brokers = '127.0.0.1:9092' }\n" .. text, DIR .. "/inline.lua")
end

describe("plugin registry", function()
  it("holds the built-in formats, header provider and partitioners as descriptors", function()
    for _, name in ipairs({ "json", "text", "bytes", "avro" }) do
      local d = registry.get("format", name)
      assert.is_table(d, name)
      assert.is_true(d.builtin)
      assert.equal(sg.version, d.version)
    end
    assert.is_table(registry.get("headers", "function"))
    assert.is_table(registry.get("partitioner", "key_hash"))
    assert.is_truthy(registry.named_format("json"))
    assert.is_nil(registry.named_format("avro")) -- sg.avro { … }, not a name
    assert.is_nil(registry.named_format("cloudevents"))
  end)

  it("checks a descriptor against its option table, every problem with its key path", function()
    local d, problems = registry.check({ kind = "filter", name = "", capabilities = { "network" },
      options = { fields = { { "x", 3 } } } }, "plugins.p")
    assert.is_nil(d)
    local text = table.concat(problems, "\n")
    assert.matches("plugins.p.kind: expected one of format, transform, headers, partitioner, source", text, 1, true)
    assert.matches("plugins.p.version: expected string, got nil", text, 1, true)
    assert.matches("plugins.p.new: expected function, got nil", text, 1, true)
    assert.matches("plugins.p.name: cannot be empty", text, 1, true)
    assert.matches("plugins.p.capabilities[1]: unknown capability \"network\"", text, 1, true)
    assert.matches("plugins.p.options.fields[1][2]: expected the option's type", text, 1, true)
    assert.matches("plugins.p.options.fields[1].doc: every option needs a doc string", text, 1, true)
  end)
end)

describe("sg.plugin", function()
  it("finds plugins/ beside the config and lists what it loaded", function()
    local decls, errs = load([[
local src = sg.source.table { columns = { { "id", "bigint" } }, updates = { { { id = 1 }, 1 } } }
sg.sink "s" { from = src, into = { connection = kafka, topic = "t" }, envelope = "debezium",
  headers = sg.plugin "tenant_headers" { tenant = "a" } }
]])
    assert.is_table(decls, errs and errs[1])
    assert.equal(1, #decls.plugins)
    assert.equal("tenant_headers", decls.plugins[1].name)
    assert.equal("0.2.0", decls.plugins[1].version)
    assert.equal(DIR .. "/plugins/tenant_headers.lua", decls.plugins[1].file)
  end)

  it("reports a missing plugin at the config line, with where it looked", function()
    local decls, errs = load('local x = sg.plugin "nope"\n')
    assert.is_nil(decls)
    assert.matches(DIR .. "/inline.lua:3: plugins.nope: plugin not found; looked for " .. DIR ..
      "/plugins/nope/init.lua", errs[1], 1, true)
  end)

  it("reports a bad descriptor at the sg.plugin line with the key path", function()
    local _, errs = load('local x = sg.plugin "bad_kind"\n')
    -- every problem of the descriptor, each its own "file:line: key.path: message"
    local text = table.concat(errs, "\n")
    assert.matches(DIR .. "/inline.lua:3: plugins.bad_kind.kind: expected one of", errs[1], 1, true)
    assert.matches(DIR .. "/inline.lua:3: plugins.bad_kind.version: expected string, got nil", text, 1, true)
    assert.matches(DIR .. "/inline.lua:3: plugins.bad_kind.capabilities[1]: unknown capability \"network\"", text, 1,
      true)
    assert.equal(3, #errs)
  end)

  it("reports bad options at the line that gives them, with the key path", function()
    local _, errs = load('local ce = sg.plugin "cloudevents"\n\nlocal f = ce { mode = "zip", sorce = "/x" }\n')
    local text = table.concat(errs, "\n")
    assert.matches(DIR .. "/inline.lua:5: plugins.cloudevents.source: expected string, got nil", text, 1, true)
    assert.matches(DIR .. "/inline.lua:5: plugins.cloudevents.mode: expected one of structured, binary", text, 1, true)
    assert.matches("plugins.cloudevents.sorce: unknown option (did you mean source?)", text, 1, true)
  end)

  it("grants a plugin only the capabilities it declares", function()
    local path = os.tmpname()
    local f = assert(io.open(path, "w"))
    f:write("from-a-file\n")
    f:close()
    local decls, errs = load(('local h = sg.plugin "reads_file" { path = %q }\n'):format(path))
    os.remove(path)
    assert.is_table(decls, errs and errs[1])
    assert.same({ "io" }, decls.plugins[1].capabilities)
    local _, errs2 = load('local h = sg.plugin "sneaky" {}\n')
    assert.matches("plugin sneaky: io.open: \"io\" is not among its capabilities", errs2[1], 1, true)
  end)

  it("keeps the config sandbox: the config itself still has no io", function()
    local _, errs = load('local h = sg.plugin "tenant_headers" { tenant = "a" }\nio.open("/etc/passwd")\n')
    assert.matches("undefined global 'io'", errs[1], 1, true)
  end)
end)

describe("sinkgate.testing.render", function()
  it("gives the runtime's own messages: keys, values, partitions, timestamp header first", function()
    local msgs = testing.render(ORDERS, "plain")
    assert.equal(4, #msgs)
    for _, m in ipairs(msgs) do
      assert.equal("sinkgate-timestamp", m.headers[1][1])
      assert.equal(tostring(m.timestamp), m.headers[1][2])
      -- the default partitioner: seahash of the encoded key % topic_partition_count (4)
      assert.equal(tonumber(sg.hash.seahash(m.key) % 4), m.partition)
    end
    local last = msgs[4]
    assert.same({ id = 1 }, testing.json(last.key))
    assert.is_nil(last.value) -- the deletion at time 3: a tombstone
    assert.equal(3, last.timestamp)
    assert.same({ id = 3, email = "cy@example.com", amount = "7.25", customer = "cy" }, testing.json(msgs[3].value))
  end)

  it("renders CloudEvents in structured mode", function()
    local msgs = testing.render(ORDERS, "events")
    local ev = testing.json(msgs[3].value)
    assert.equal("1.0", ev.specversion)
    assert.equal("/orders", ev.source)
    assert.equal("cy", ev.subject)
    assert.equal("1970-01-01T00:00:00.002Z", ev.time)
    assert.equal("events-2-1", ev.id)
    assert.same({ id = 3, email = "cy@example.com", amount = "7.25", customer = "cy" }, ev.data)
    assert.equal("application/cloudevents+json", testing.header(msgs[3], "content-type"))
    assert.is_nil(msgs[4].value) -- deletions stay tombstones
  end)

  it("renders CloudEvents in binary mode: ce_* headers beside the user's headers", function()
    local msgs = testing.render(ORDERS, "events_binary")
    local m = msgs[1]
    assert.same({ id = 2, email = "bob@example.com", amount = "3.00", customer = "bob" }, testing.json(m.value))
    assert.equal("1.0", testing.header(m, "ce_specversion"))
    assert.equal("/orders", testing.header(m, "ce_source"))
    assert.equal("events_binary-1-1", testing.header(m, "ce_id"))
    assert.is_nil(testing.header(m, "ce_time")) -- time = false
    assert.equal("t-bob", testing.header(m, "tenant"))
    assert.same({ id = 2 }, testing.json(m.key)) -- the plugin encodes values only: keys stay JSON
  end)

  it("redacts: mask, hash (SHA-256 of salt .. value) and drop", function()
    local masked = testing.render(ORDERS, "masked")
    assert.equal("***", testing.json(masked[1].value).email)
    assert.equal("bob", testing.json(masked[1].value).customer)
    local hashed = testing.render(ORDERS, "hashed_events")
    local data = testing.json(hashed[1].value).data
    -- sha256("s1bob@example.com"), computed independently
    local p = io.popen("printf '%s' 's1bob@example.com' | sha256sum")
    local want = p:read("*l"):match("^(%x+)")
    p:close()
    assert.equal(want, data.email)
    assert.equal(64, #data.customer)
    local dropped = testing.render(ORDERS, "dropped")
    local after = testing.json(dropped[1].value).after
    assert.is_nil(after.email)
    assert.equal("bob", after.customer)
    assert.is_nil(testing.json(dropped[4].value).before.email)
  end)

  it("shows the transformed relation to check: redact cannot touch key columns", function()
    local plan = require "sinkgate.plan"
    local decls = load([[
local src = sg.source.table { columns = { { "id", "bigint" }, { "email", "text" } }, keys = { { "id" } },
  updates = { { { id = 1 }, 1 } } }
sg.sink "s" { from = src, into = { connection = kafka, topic = "t" }, key = { "id" }, envelope = "upsert",
  transform = sg.plugin "redact" { columns = { "id" } } }
]])
    local plans, problems = plan.build(decls)
    assert.is_nil(plans)
    assert.matches("inline.lua:5: sinks.s.transform: plugin redact: columns() failed: redact: column \"id\" is " ..
      "part of the key", problems[1], 1, true)
  end)

  it("encodes Protobuf in Confluent framing, its schema registered as PROTOBUF (read back by protoc)", function()
    local msgs, info = testing.render(ORDERS, "proto", { value_schema_id = 77 })
    local reg = info.schemas["typed-proto-value"]
    assert.equal("PROTOBUF", reg.schema_type)
    assert.matches("message TypedRows {", reg.schema, 1, true)
    assert.matches("  int64 id = 1;\n  optional int32 small = 2;", reg.schema, 1, true)
    assert.equal(3, #msgs)
    assert.is_nil(msgs[3].value) -- the deletion: a tombstone
    local dir = os.tmpname()
    os.remove(dir)
    os.execute("mkdir -p " .. dir)
    local f = assert(io.open(dir .. "/t.proto", "w"))
    f:write(reg.schema)
    f:close()
    local function decode(bytes)
      -- magic 0, schema id 77 big-endian, message indexes [0] as one 0 byte
      assert.equal("\0\0\0\0\77\0", bytes:sub(1, 6))
      local g = assert(io.open(dir .. "/m.bin", "wb"))
      g:write(bytes:sub(7))
      g:close()
      local p = io.popen(("cd %s && protoc --decode=sgtest.out.TypedRows t.proto < m.bin 2>&1"):format(dir))
      local text = p:read("*a")
      p:close()
      return text
    end
    local first, second = decode(msgs[1].value), decode(msgs[2].value)
    os.execute("rm -rf " .. dir)
    -- zero values of nullable (optional) columns are present, NULLs absent
    assert.equal('id: 2\nsmall: 0\nflag: false\nnote: ""\n', first)
    assert.equal(table.concat({ "id: 1", "small: -3", "big: -9007199254740993", "r: 1.5", "d: -0.1", "flag: true",
      'note: "h\\303\\251llo"', 'raw: "\\000\\001\\377"', 'amount: "-12.34"', "u: 18446744073709551615",
      "ts: 1700000000123456" }, "\n") .. "\n", second)
  end)

  it("refuses columns Protobuf cannot take, when the sink prepares", function()
    local path = DIR .. "/proto_bad_tmp.lua"
    local f = assert(io.open(path, "w"))
    f:write([[local sg = require "sinkgate"
local kafka = sg.kafka_connection { brokers = "127.0.0.1:9092" }
local csr = sg.registry_connection { url = "http://127.0.0.1:1" }
local t = sg.source.table { columns = { { "id", "bigint" }, { "tags", "text list" } }, updates = { { { id = 1 }, 1 } } }
sg.sink "p" { from = t, into = { connection = kafka, topic = "p" }, envelope = "upsert", key = { "id" },
  not_enforced = true, key_format = "json", value_format = sg.plugin "protobuf" { registry = csr } }
]])
    f:close()
    local ok, err = pcall(testing.render, path, "p")
    os.remove(path)
    assert.is_false(ok)
    assert.matches("plugin protobuf: prepare failed: column \"tags\": type text list has no Protobuf mapping", err, 1,
      true)
  end)

  it("follows the sink's error policy when a plugin raises at run time", function()
    local msgs, info = testing.render(DIR .. "/errors.lua", "flaky_count")
    assert.equal(2, #msgs) -- bob's message was left out, the others went
    assert.equal("v:ann", msgs[1].value)
    assert.equal("v:cy", msgs[2].value)
    assert.equal(1, info.counters.plugin_errors)
    assert.equal("plugin_errors", info.errors[1].kind)
    assert.matches("flaky.lua:6: sinks.flaky_count.value_format: plugin flaky: cannot encode bob", info.errors[1].first_error, 1, true)
    assert.equal("a", testing.header(msgs[1], "tenant")) -- a headers plugin
    assert.equal("1", testing.header(msgs[1], "id"))
    local ok, err = pcall(testing.render, DIR .. "/errors.lua", "flaky_fail")
    assert.is_false(ok)
    assert.matches("sink flaky_fail failed: .*flaky.lua:6: sinks.flaky_fail.value_format: plugin flaky: cannot " ..
      "encode bob %(on_error = \"fail\"%)", err)
  end)

  it("leaves out (count) or fails on (fail) the rows a transform raises on, the others aligned", function()
    local msgs, info = testing.render(DIR .. "/errors.lua", "transform_count")
    assert.equal(2, #msgs)
    assert.same({ id = 1, customer = "ANN" }, testing.json(msgs[1].value))
    assert.same({ id = 3, customer = "CY" }, testing.json(msgs[2].value))
    assert.same({ id = 3 }, testing.json(msgs[2].key))
    assert.equal(1, info.counters.plugin_errors)
    assert.matches("boom.lua:6: sinks.transform_count.transform: plugin boom: boom on bob",
      info.errors[1].first_error, 1, true)
    local ok, err = pcall(testing.render, DIR .. "/errors.lua", "transform_fail")
    assert.is_false(ok)
    assert.matches("boom on bob (on_error = \"fail\")", err, 1, true)
  end)

  it("runs a plugin's C through the FFI (capability ffi) and gives key formats the key columns only", function()
    local dir = DIR .. "/plugins/c_sum"
    assert.is_true(os.execute(("cc -shared -fPIC -o %s/libc_sum.so %s/c_sum.c"):format(dir, dir)) == 0)
    local msgs, info = testing.render(DIR .. "/ffi.lua", "summed")
    os.remove(dir .. "/libc_sum.so")
    assert.equal(3, #msgs)
    local by_key = {}
    for _, m in ipairs(msgs) do by_key[m.key] = m end
    assert.equal("6", testing.header(by_key.AB, "digit_sum"))
    assert.equal("10", testing.header(by_key.EF, "digit_sum"))
    -- C reported a failure (status + message): a header error under on_error = "count"
    assert.is_nil(testing.header(by_key.CD, "digit_sum"))
    assert.equal(1, info.counters.header_errors)
    assert.matches("not a digit: 'x'", info.errors[1].first_error, 1, true)
    -- the key is the plugin's bytes; the default partitioner hashes them
    for k, m in pairs(by_key) do assert.equal(tonumber(sg.hash.seahash(k) % 8), m.partition) end
    assert.same({ code = "ab", n = "123" }, testing.json(by_key.AB.value))
  end)

  it("asks for ticks on an endless input", function()
    local path = os.tmpname() .. ".lua"
    local f = assert(io.open(path, "w"))
    f:write([[local sg = require "sinkgate"
local kafka = sg.kafka_connection { brokers = "127.0.0.1:9092" }
local c = sg.source.load_generator { kind = "counter", tick = "1s", start = 0 }
sg.sink "c" { from = c, into = { connection = kafka, topic = "c" }, key = { "counter" }, envelope = "upsert" }
]])
    f:close()
    local ok, err = pcall(testing.render, path, "c")
    assert.is_false(ok)
    assert.matches("endless input: give { ticks = N }", err, 1, true)
    local msgs = testing.render(path, "c", { ticks = 3 })
    os.remove(path)
    assert.equal(3, #msgs)
    for i, m in ipairs(msgs) do
      assert.same({ counter = i }, testing.json(m.value))
      assert.equal((i - 1) * 1000, m.timestamp)
    end
  end)
end)
