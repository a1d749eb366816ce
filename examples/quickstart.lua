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

-- The ingest side: the topic `orders` (seeded from examples/data/orders.jsonl by
-- `sinkgate dev --produce orders=examples/data/orders.jsonl`) read as an UPSERT
-- source (text key, JSON value: columns key text, data jsonb) and published
-- as the current state of each order, exactly once: the sink commits the
-- source's offsets with the data, so a restart neither repeats nor skips.
local orders = sg.source.kafka {
  connection = kafka,
  topic = "orders",
  key_format = "text",
  value_format = "json",
  envelope = "upsert",
}

sg.sink "orders-current" {
  from = orders,
  into = { connection = kafka, topic = "orders-current" },
  key = { "key" },
  format = "json",
  envelope = "upsert",
}
