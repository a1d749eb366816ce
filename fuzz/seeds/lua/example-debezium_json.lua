-- A Lua-fed table published with the DEBEZIUM envelope: updates carry both
-- the old and the new row.
--   sinkgate run examples/debezium_json.lua --duration 3s && sinkgate tail orders-cdc-json --max 5
local sg = require "sinkgate"

local kafka = sg.kafka_connection { brokers = sg.env("SINKGATE_BROKERS", "127.0.0.1:9092") }

local orders = sg.source.table {
  name = "orders",
  columns = { { "id", "bigint", not_null = true }, { "status", "text", not_null = true }, { "amount", "numeric(10,2)" } },
  keys = { { "id" } },
  rows = { { id = 1, status = "new", amount = "12.50" } },
  tick = "200ms",
  feed = function(t, tick)
    local id = tick + 1
    t:insert { id = id + 1, status = "new", amount = ("%d.00"):format(10 + tick % 7) }
    t:update({ id = id, status = "new", amount = ("%d.00"):format(10 + (tick - 1) % 7) },
             { id = id, status = "paid", amount = ("%d.00"):format(10 + (tick - 1) % 7) })
  end,
}

sg.sink "orders_cdc" {
  from = orders,
  into = { connection = kafka, topic = "orders-cdc-json" },
  key = { "id" },
  format = "json",
  envelope = "debezium",
}
