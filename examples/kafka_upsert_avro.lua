-- An Avro UPSERT topic (key and value schemas in the registry) read as a
-- source and published as a JSON UPSERT topic, exactly once: the sink
-- writes the source's next offsets into its progress record in the same
-- transaction as the data, and a restart rebuilds the upsert state from the
-- topic before producing anything.
--
-- Against `sinkgate dev` (see docs/sources.md "Trying it"): register
-- `inventory-key` ("string") and `inventory-value` (a record with sku, qty),
-- produce Confluent-framed Avro to `inventory`, then
--   sinkgate run examples/kafka_upsert_avro.lua --duration 5s
--   sinkgate tail inventory-json --max 5
local sg = require "sinkgate"

local kafka = sg.kafka_connection { brokers = sg.env("SINKGATE_BROKERS", "127.0.0.1:9092") }
local csr = sg.registry_connection { url = sg.env("SINKGATE_REGISTRY", "http://127.0.0.1:8081") }

-- Columns: key (the Avro key, a string), then the value record's fields.
local inventory = sg.source.kafka {
  connection = kafka,
  topic = "inventory",
  format = sg.avro { registry = csr },
  envelope = "upsert",
  include = { offset = true },
  group_id_prefix = "sinkgate-example-", -- lag monitoring only
}

sg.sink "inventory-json" {
  from = inventory,
  into = { connection = kafka, topic = "inventory-json" },
  key = { "key" },
  format = "json",
  envelope = "upsert",
}
