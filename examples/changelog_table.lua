-- A recorded change log replayed at its own logical times: each update is
-- { row, time, diff } (diff -1 deletes; an update is a delete and an insert
-- at one time). The first message header carries those times, not the
-- wall clock; the snapshot is the table as of the first time; the sink is
-- done once the last time is committed, and a restart resumes where the
-- committed frontier says (append to the log and run again: only the new
-- times are sent).
--   sinkgate run examples/changelog_table.lua && sinkgate tail accounts-changelog
local sg = require "sinkgate"

local kafka = sg.kafka_connection { brokers = sg.env("SINKGATE_BROKERS", "127.0.0.1:9092") }

-- Times as a reference system would have recorded them (epoch ms); 1, 2, 3
-- work just as well.
local T0 = 1720032185000

local accounts = sg.source.table {
  name = "accounts",
  columns = { { "id", "bigint", not_null = true }, { "owner", "text", not_null = true }, { "balance", "numeric(12,2)" } },
  keys = { { "id" } },
  updates = {
    { { id = 1, owner = "ada", balance = "100.00" }, T0, 1 },
    { { id = 2, owner = "bob", balance = "20.00" }, T0, 1 },
    -- at T0 + 1000 ada pays bob 30.00: two updates at one time, one transaction
    { { id = 1, owner = "ada", balance = "100.00" }, T0 + 1000, -1 },
    { { id = 1, owner = "ada", balance = "70.00" }, T0 + 1000, 1 },
    { { id = 2, owner = "bob", balance = "20.00" }, T0 + 1000, -1 },
    { { id = 2, owner = "bob", balance = "50.00" }, T0 + 1000, 1 },
    { { id = 3, owner = "cy", balance = "0.00" }, T0 + 2000 }, -- diff defaults to 1
    { { id = 2, owner = "bob", balance = "50.00" }, T0 + 3000, -1 }, -- bob closes his account
  },
}

sg.sink "accounts_changelog" {
  from = accounts,
  into = { connection = kafka, topic = "accounts-changelog" },
  key = { "id" },
  format = "json",
  envelope = "upsert",
  -- the reference's header name, for consumers written for it
  timestamp_header = "materialize-timestamp",
}
