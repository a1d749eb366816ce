-- The seed's dedupe fix, as a view: an input with duplicate keys cannot feed
-- an UPSERT sink keyed on `k` (its key is not provably unique), so a
-- distinct_on view keeps, for each k, the row with the largest v
-- (SELECT DISTINCT ON (k) … ORDER BY k, v DESC). The view's output has k
-- as a provable unique key: the sink passes `check` without not_enforced.
-- When the winning row of a key is deleted, the next one takes its place.
--   sinkgate dev &   sinkgate run examples/dedupe_view.lua && sinkgate tail deduped
local sg = require "sinkgate"

local kafka = sg.kafka_connection { brokers = sg.env("SINKGATE_BROKERS", "127.0.0.1:9092") }

-- original_input: several rows per k, no unique key.
local original_input = sg.source.table {
  name = "original_input",
  columns = { { "k", "text", not_null = true }, { "v", "bigint", not_null = true } },
  updates = {
    { { k = "a", v = 1 }, 1 },
    { { k = "a", v = 3 }, 1 },
    { { k = "b", v = 2 }, 1 },
    { { k = "a", v = 2 }, 2 },
    { { k = "a", v = 3 }, 3, -1 }, -- the winner of "a" goes: v = 2 takes its place
  },
}

local deduped = sg.view {
  name = "deduped",
  from = original_input,
  distinct_on = { "k" },
  order_by = { { "v", "desc" } },
}

sg.sink "deduped" {
  from = deduped,
  into = { connection = kafka, topic = "deduped" },
  key = { "k" },
  format = "json",
  envelope = "upsert",
}
