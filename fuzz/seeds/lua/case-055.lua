local sg = require "sinkgate"
local kafka = sg.kafka_connection { brokers = "127.0.0.1:9092" }
local t = sg.source.table { name = "orders", columns = { { "id", "bigint", not_null = true },
  { "customer", "bigint" }, { "total", "numeric(10,2)" } }, keys = { { "id" } } }
sg.sink "s" { from = t, into = { connection = kafka, topic = "t"  },
  key = { "customer" }, format = "json", envelope = "upsert" }
