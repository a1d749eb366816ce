-- A Lua-fed table published with the DEBEZIUM envelope: updates carry both
-- the old and the new row.
--   sinkgate run examples/debezium_json.lua --duration 3s && sinkgate tail orders-cdc-json --max 5
local sg = require "sinkgate"

local kafka = sg.kafka_connection { brokers = sg.env("SINKGATE_BROKERS", "127.0.0.1:9092") }

-- Every tick inserts a new order and marks the previous one paid. The feed
-- keeps the rows it published, so an update always names the exact row
-- that exists (an update of a row that is not there would be a deletion of
-- nothing, which the sink reports as a multi-key/consistency problem).
local live = { [1] = { id = 1, status = "new", amount = "12.50" } }

local orders = sg.source.table {
  name = "orders",
  columns = { { "id", "bigint", not_null = true }, { "status", "text", not_null = true }, { "amount", "numeric(10,2)" } },
  keys = { { "id" } },
  rows = { live[1] },
  tick = "200ms",
  feed = function(t, tick)
    local id = tick + 2
    local new = { id = id, status = "new", amount = ("%d.00"):format(10 + tick % 7) }
    t:insert(new)
    live[id] = new
    local old = live[id - 1]
    if old and old.status == "new" then
      local paid = { id = old.id, status = "paid", amount = old.amount }
      t:update(old, paid)
      live[old.id] = paid
    end
  end,
}

sg.sink "orders_cdc" {
  from = orders,
  into = { connection = kafka, topic = "orders-cdc-json" },
  key = { "id" },
  format = "json",
  envelope = "debezium",
}
