-- A Debezium change topic (JSON, without the schema wrapper) read as a
-- source: before images become retractions and after images insertions;
-- events Debezium delivers twice (same key, same source position) are
-- dropped. Published as a JSON UPSERT topic keyed by the primary key.
--
-- Against `sinkgate dev`: produce Debezium events
--   key {"id": 1}   value {"op":"c","before":null,"after":{"id":1,"name":"a","total":"9.50"},"source":{"lsn":10}}
-- to `pg.public.orders`, then
--   sinkgate run examples/debezium_cdc.lua --duration 5s
--   sinkgate tail orders-current --max 5
local sg = require "sinkgate"

local kafka = sg.kafka_connection { brokers = sg.env("SINKGATE_BROKERS", "127.0.0.1:9092") }

local orders = sg.source.kafka {
  connection = kafka,
  topic = "pg.public.orders",
  key_format = "json",
  value_format = "json",
  envelope = "debezium",
  -- without the schema/payload wrapper the source declares its columns
  columns = {
    { "id", "bigint", not_null = true },
    { "name", "text" },
    { "total", "numeric(10,2)" },
  },
  keys = { { "id" } },
  on_decode_error = "dead_letter",
  dead_letter = { topic = "orders-undecodable" },
}

sg.sink "orders-current" {
  from = orders,
  into = { connection = kafka, topic = "orders-current" },
  key = { "id" },
  format = "json",
  envelope = "upsert",
}
