-- sinkgate.source.generators — the relations each load generator offers.
-- Shapes follow the reference's load generators, so configs written for it
-- read the same columns.
local M = {}

M.counter = {
  counter = {
    columns = { { "counter", "bigint", not_null = true } },
    keys = { { "counter" } },
  },
}

M.auction = {
  organizations = {
    columns = { { "id", "bigint", not_null = true }, { "name", "text", not_null = true } },
    keys = { { "id" } },
  },
  users = {
    columns = { { "id", "bigint", not_null = true }, { "org_id", "bigint", not_null = true },
      { "name", "text", not_null = true } },
    keys = { { "id" } },
  },
  accounts = {
    columns = { { "id", "bigint", not_null = true }, { "org_id", "bigint", not_null = true },
      { "balance", "bigint", not_null = true } },
    keys = { { "id" } },
  },
  auctions = {
    columns = { { "id", "bigint", not_null = true }, { "seller", "bigint", not_null = true },
      { "item", "text", not_null = true }, { "end_time", "timestamptz", not_null = true } },
    keys = { { "id" } },
  },
  bids = {
    columns = { { "id", "bigint", not_null = true }, { "buyer", "bigint", not_null = true },
      { "auction_id", "bigint", not_null = true }, { "amount", "integer", not_null = true },
      { "bid_time", "timestamptz", not_null = true } },
    keys = { { "id" } },
  },
}

-- bench: a 6-column relation with ~10% deletes, generated in C at full speed.
M.bench = {
  rows = {
    columns = { { "id", "bigint", not_null = true }, { "name", "text" }, { "price", "double precision" },
      { "qty", "integer", not_null = true }, { "ts", "timestamptz(6)", not_null = true }, { "active", "boolean" } },
    keys = { { "id" } },
  },
}

-- The default relation of each generator.
M.default_relation = { counter = "counter", auction = "bids", bench = "rows" }

return M
