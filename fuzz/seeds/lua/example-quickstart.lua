-- The quickstart: a counter, published exactly once as JSON with the UPSERT envelope.
--   make run                  (starts the dev environment, runs this, tails the topic)
-- or by hand, with `sinkgate dev --env-file dev.env` running and `. ./dev.env`:
--   sinkgate run examples/quickstart.lua --duration 5s
--   sinkgate tail quickstart --max 5
local sg = require "sinkgate"

local kafka = sg.kafka_connection {
  brokers = sg.env("SINKGATE_BROKERS", "127.0.0.1:9092"),
}

local counter = sg.source.load_generator { kind = "counter", tick = "100ms", rows_per_tick = 10 }

sg.sink "quickstart" {
  from = counter,
  into = { connection = kafka, topic = "quickstart" },
  key = { "counter" },
  format = "json",
  envelope = "upsert",
}
