local cfg = require "helpers.config"

local COLS = [[{ {"col1","bigint"}, {"col2","bigint",not_null=true}, {"col3","text"}, {"col4","text"}, {"l","text list"} }]]

local function problems(keys, fields)
  local plans, errs = cfg.plans(cfg.sink_config(COLS, keys, fields))
  assert.is_nil(plans)
  return errs
end

describe("sink plans", function()
  it("give the seed's error when no unique key is known", function()
    local errs = problems("{}", [[key = {"col1"}, format = "json", envelope = "upsert"]])
    assert.equal([[FILE:6: sinks.s.key: upsert key could not be validated as unique
DETAIL: sinkgate could not prove that the specified upsert envelope key
("col1") is a unique key of the upstream relation. There are no known
valid unique keys for the upstream relation.]], errs[1])
  end)

  it("list the known unique keys in the DETAIL", function()
    local errs = problems([[{ {"col2"}, {"col3","col4"} }]], [[key = {"col1"}, format = "json", envelope = "upsert"]])
    assert.equal([[FILE:6: sinks.s.key: upsert key could not be validated as unique
DETAIL: sinkgate could not prove that the specified upsert envelope key
("col1") is a unique key of the upstream relation. The following keys
are known to be unique for the upstream relation:
  ("col2")
  ("col3", "col4")]], errs[1])
  end)

  it("accept a key that contains a unique key, or NOT ENFORCED", function()
    assert.is_table(cfg.plans(cfg.sink_config(COLS, [[{ {"col2"} }]],
      [[key = {"col1","col2"}, format = "json", envelope = "upsert"]])))
    assert.is_table(cfg.plans(cfg.sink_config(COLS, "{}",
      [[key = {"col1"}, not_enforced = true, format = "json", envelope = "upsert"]])))
  end)

  it("require a key for UPSERT and existing key columns", function()
    assert.matches("sinks.s.key: ENVELOPE UPSERT requires a key", problems("{}", [[envelope = "upsert"]])[1])
    assert.matches('sinks.s.key%[1%]: no column "nope" in t',
      problems("{}", [[key = {"nope"}, not_enforced = true, envelope = "upsert"]])[1])
  end)

  it("allow DEBEZIUM without a key", function()
    local plans = cfg.plans(cfg.sink_config(COLS, "{}", [[format = "json", envelope = "debezium"]]))
    assert.equal("debezium", plans[1].envelope)
    assert.is_nil(plans[1].key)
  end)

  it("need a single scalar column for TEXT and BYTES", function()
    assert.matches("value format TEXT requires a single column, got 5 columns",
      problems("{}", [[format = "text", envelope = "debezium"]])[1])
    local plans, errs = cfg.plans(cfg.sink_config([[{ {"l","text list"} }]], "{}",
      [[value_format = "bytes", key_format = "json", key = {"l"}, not_enforced = true, envelope = "upsert"]]))
    assert.is_nil(plans)
    assert.matches('value format BYTES cannot encode column "l" of type text list', errs[1])
  end)

  it("keep key and value formats independent", function()
    local plans = cfg.plans(cfg.sink_config([[{ {"id","bigint",not_null=true} }]], [[{ {"id"} }]],
      [[key = {"id"}, key_format = "text", value_format = "json", envelope = "upsert"]]))
    assert.equal("text", plans[1].key_format)
    assert.equal("json", plans[1].value_format)
    assert.matches("give either format or key_format", problems("{}",
      [[format = "json", key_format = "json", value_format = "json", key = {"col2"}, not_enforced = true, envelope = "upsert"]])[1])
  end)

  it("refuse two sinks that would share a progress key or a transactional.id", function()
    local text = [[
local sg = require "sinkgate"
local kafka = sg.kafka_connection { brokers = "127.0.0.1:1" }
local gen = sg.source.load_generator { kind = "counter" }
sg.sink "a-sink-b" { from = gen, into = { connection = kafka, topic = "t1", transactional_id_prefix = "x" },
  envelope = "debezium" }
sg.sink "b" { from = gen, into = { connection = kafka, topic = "t2", transactional_id_prefix = "x-sink-a" },
  envelope = "debezium" }
sg.sink "a-c" { from = gen, into = { connection = kafka, topic = "t3", transactional_id_prefix = "x" },
  envelope = "debezium" }
sg.sink "c" { from = gen, into = { connection = kafka, topic = "t4", transactional_id_prefix = "x-a" },
  envelope = "debezium" }
]]
    local plans, errs = cfg.plans(text)
    assert.is_nil(plans)
    assert.equal([[FILE:6: sinks.b: its progress key "x-sink-a-sink-b" is also sink a-sink-b's: give one of them ]] ..
      [[another name or transactional_id_prefix]], errs[1])
    assert.equal([[FILE:10: sinks.c: its transactional.id "x-a-c" is also sink a-c's: give one of them ]] ..
      [[another name or transactional_id_prefix]], errs[2])
    assert.equal(2, #errs)
    -- Distinct prefixes or connections keep them apart.
    assert.is_table(cfg.plans((text:gsub('"x%-sink%-a"', '"y"'):gsub('"x%-a"', '"z"'))))
  end)
end)
