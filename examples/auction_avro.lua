-- Bids of the auction load generator, as Avro through the Schema Registry,
-- upserted by id and partitioned by buyer.
--   sinkgate check examples/auction_avro.lua
local sg = require "sinkgate"

local kafka = sg.kafka_connection {
  brokers = sg.env("SINKGATE_BROKERS", "127.0.0.1:9092"),
  progress_topic = "_sinkgate-progress",
}
local csr = sg.registry_connection { url = sg.env("SINKGATE_REGISTRY", "http://127.0.0.1:8081") }
local bids = sg.source.load_generator { kind = "auction", relation = "bids", tick = "100ms" }

sg.sink "bids_out" {
  from = bids,
  into = {
    connection = kafka, topic = "bids", compression = "lz4",
    partition_by = function(row) return sg.hash.seahash(tostring(row.buyer)) end,
  },
  key = { "id" },
  format = sg.avro { registry = csr, null_defaults = true },
  envelope = "upsert",
  headers = function(row) return { source = "demo" } end,
}
