-- sg.source.kafka declarations: validation with file:line and key paths,
-- the relation a source yields (semantics §10 names, types and order), the
-- keys sinks check UPSERT keys against, and the progress record's offsets.
local cfg = require "helpers.config"
local progress = require "sinkgate.sink.progress"
local types = require "sinkgate.types"

local function config(src, sink)
  return ([[
local sg = require "sinkgate"
local kafka = sg.kafka_connection { brokers = "127.0.0.1:1" }
local csr = sg.registry_connection { url = "http://127.0.0.1:1" }
local src = sg.source.kafka { connection = kafka, topic = "in", %s }
sg.sink "s" { from = src, into = { connection = kafka, topic = "out" }, %s }
]]):format(src, sink or [[format = "json", envelope = "debezium"]])
end

local function columns(plan)
  local out = {}
  for i, c in ipairs(plan.relation.columns) do
    out[i] = c.name .. " " .. types.render(c.type) .. (c.nullable and "" or " not null")
  end
  return table.concat(out, ", ")
end

local function problems(src, sink)
  local plans, errs = cfg.plans(config(src, sink))
  assert.is_nil(plans)
  return table.concat(errs, "\n")
end

describe("sg.source.kafka", function()
  it("yields the reference's columns: key, value, then metadata in order", function()
    local plans = assert(cfg.plans(config([[key_format = "text", value_format = "json",
      include = { key = true, partition = true, offset = true, timestamp = true, headers = true,
        header = { { "trace-id", as = "trace_id" }, { "raw", as = "raw", bytes = true } } }]])))
    assert.equal("key text, data jsonb, partition integer not null, offset uint8 not null, timestamp timestamp(3), " ..
      "headers record(key text, value bytea) list not null, trace_id text not null, raw bytea not null", columns(plans[1]))
  end)

  it("names single-column values as the reference and renames included metadata", function()
    assert.equal("text text", columns(assert(cfg.plans(config([[format = "text"]])))[1]))
    assert.equal("data bytea", columns(assert(cfg.plans(config([[format = "bytes"]])))[1]))
    assert.equal("k text, column1 text, column2 text, p integer not null",
      columns(assert(cfg.plans(config([[key_format = "text", value_format = sg.csv { columns = 2 },
        include = { key = "k", partition = "p" }]])))[1]))
    assert.equal("a text, b text",
      columns(assert(cfg.plans(config([[format = sg.csv { header = { "a", "b" }, delimiter = ";" }]])))[1]))
  end)

  it("UPSERT: the key columns are the relation's unique key (sinks can key on them)", function()
    local plans = assert(cfg.plans(config([[key_format = "text", value_format = "json", envelope = "upsert"]],
      [[key = { "key" }, format = "json", envelope = "upsert"]])))
    assert.equal("key text not null, data jsonb not null", columns(plans[1]))
    assert.same({ { "key" } }, plans[1].relation.keys)
    assert.matches("upsert key could not be validated as unique", problems([[format = "json"]],
      [[key = { "data" }, format = "json", envelope = "upsert"]]))
  end)

  it("include.key = \"name\" on a record key: one record column of its fields (the reference's INCLUDE KEY AS)", function()
    local core = require "sinkgate.core"
    local rows = require "sinkgate.rows"
    local envelope = require "sinkgate.source.kafka_envelope"
    local plans = assert(cfg.plans(config([[key_format = sg.csv { header = { "a", "b" } }, value_format = "json",
      envelope = "upsert", include = { key = "k" }]], [[key = { "k" }, format = "json", envelope = "upsert"]])))
    assert.equal("k record(a text, b text) not null, data jsonb not null", columns(plans[1]))
    assert.same({ { "k" } }, plans[1].relation.keys)
    -- a message becomes a row whose k holds the key's fields
    local src = plans[1].opts.from
    local rel = plans[1].relation
    local env = envelope.new(src.kafka_layout, src.opts)
    local b = core.ffi.gc(core.C.sg_batch_new(rel:c_schema(), 4), core.C.sg_batch_free)
    assert.is_true(env:message(b, 1, { key = "x,y", value = '{"n":1}', partition = 0, offset = 0, timestamp = 0,
      headers = {} }))
    assert.equal(1, b.nrows)
    assert.same({ a = "x", b = "y" }, rows.get(b, 0, 0, rel.columns[1].type))
    -- without a name the fields stay columns; a one-field record key is renamed
    assert.equal("a text not null, b text not null, data jsonb not null", columns(assert(cfg.plans(config(
      [[key_format = sg.csv { header = { "a", "b" } }, value_format = "json", envelope = "upsert"]],
      [[key = { "a", "b" }, format = "json", envelope = "upsert"]])))[1]))
    assert.equal("id text, data jsonb", columns(assert(cfg.plans(config(
      [[key_format = sg.csv { header = { "a" } }, value_format = "json", include = { key = "id" }]])))[1]))
  end)

  it("DEBEZIUM: declared columns and keys", function()
    local plans = assert(cfg.plans(config([[key_format = "json", value_format = "json", envelope = "debezium",
      columns = { { "id", "bigint", not_null = true }, { "name", "text" } }, keys = { { "id" } }]],
      [[key = { "id" }, format = "json", envelope = "upsert"]])))
    assert.equal("id bigint not null, name text", columns(plans[1]))
    assert.matches("columns: declare the columns, or produce a wrapped Debezium message first", problems([[key_format = "json", value_format = "json",
      envelope = "debezium"]]))
  end)

  it("refuses inconsistent options with file:line and the option's path", function()
    assert.matches("FILE:4: sources%.kafka1: give either format or key_format %+ value_format, not both",
      problems([[format = "json", key_format = "text", value_format = "text"]]))
    assert.matches("sources%.kafka1%.key_format: ENVELOPE UPSERT needs a key format",
      problems([[value_format = "json", envelope = "upsert"]]))
    assert.matches("sources%.kafka1%.dead_letter: needed with on_decode_error", problems([[format = "json",
      on_decode_error = "dead_letter"]]))
    assert.matches("sources%.kafka1%.value_decoding_errors: only with ENVELOPE UPSERT", problems([[format = "json",
      value_decoding_errors = "inline"]]))
    assert.matches("sources%.kafka1%.envelope: CSV values take ENVELOPE NONE only", problems([[key_format = "text",
      value_format = sg.csv { columns = 2 }, envelope = "upsert"]]))
    assert.matches("FILE:4: sources%.kafka1%.envelope: expected one of none, upsert, debezium",
      problems([[format = "json", envelope = "append"]]))
    assert.matches("sources%.kafka1%.topc: unknown option", problems([[format = "json", topc = "x"]]))
    assert.matches("sources%.kafka1%.format%.header: expected boolean|list<string>", problems([[format = sg.csv {
      header = 3 }]]))
    assert.matches("sources%.kafka1%.include%.header%[1%]%.as: expected string, got nil",
      problems([[format = "json", include = { header = { { "h" } } }]]))
    assert.matches('column "data" is declared twice', problems([[key_format = "json", value_format = "json",
      include = { key = "data" }]]))
  end)

  it("keeps offsets per partition in the progress record", function()
    local text = progress.encode({ frontier = 10, version = 1,
      sources = { ["in"] = { start = 5, start_offsets = { 0, 3 }, offsets = { 7, 12 } } } })
    assert.matches('"sources":{"in":{"offsets":%[7,12%],"start":5,"start_offsets":%[0,3%]}}', text)
    local rec = assert(progress.decode(text))
    assert.same({ 7, 12 }, rec.sources["in"].offsets)
    assert.same({ 0, 3 }, rec.sources["in"].start_offsets)
  end)
  it("is declared from YAML too", function()
    local helpers = require "helpers"
    local loader = require "sinkgate.config.loader"
    local plan = require "sinkgate.plan"
    local path = helpers.write_tmp([[
connections:
  kafka: { type: kafka, brokers: "127.0.0.1:1" }
sources:
  orders:
    type: kafka
    connection: kafka
    topic: orders
    key_format: text
    value_format: { csv: { header: [id, item] } }
    include: { key: true, offset: off }
sinks:
  out:
    from: orders
    into: { connection: kafka, topic: out }
    format: json
    envelope: debezium
]], ".yaml")
    local decls, errs = loader.load(path)
    assert.is_table(decls, errs and errs[1])
    local plans = assert(plan.build(decls))
    assert.equal("key text, id text, item text, off uint8 not null", columns(plans[1]))
    assert.equal("orders", plans[1].relation.name)
    local bad = helpers.write_tmp([[
connections:
  kafka: { type: kafka, brokers: "127.0.0.1:1" }
sources:
  orders: { type: kafka, connection: kafka, topic: orders, format: { xml: {} } }
sinks:
  out: { from: orders, into: { connection: kafka, topic: out }, format: json, envelope: debezium }
]], ".yaml")
    decls, errs = loader.load(bad)
    assert.is_nil(decls)
    assert.matches(":4: sources%.orders%.format: expected json, text, bytes or one of", errs[1])
    os.remove(path)
    os.remove(bad)
  end)
end)
