-- sinkgate.source.generate — running load generators. Each tick's rows
-- depend only on (seed, tick index), so a restarted sink regenerates the
-- same data. Rows go straight into C batches through the FFI setters; no
-- Lua table is made per row.
local bit = require "bit"
local core = require "sinkgate.core"

local C = core.C
local M = {}

-- A small deterministic PRNG per (seed, tick, stream): xorshift on a u64
-- seeded by SeaHash, returning integers in [1, n].
local function rng(seed, tick, stream)
  local key = ("%d:%d:%s"):format(seed, tick, stream)
  local s = C.sg_hash_seahash(key, #key)
  if s == 0 then s = 0x9e3779b97f4a7c15ULL end
  return function(n)
    s = bit.bxor(s, bit.lshift(s, 13))
    s = bit.bxor(s, bit.rshift(s, 7))
    s = bit.bxor(s, bit.lshift(s, 17))
    return tonumber(s % n) + 1
  end
end

local ITEMS = { "Signed Memorabilia", "City Bar Crawl", "Best Pizza in Town", "Gift Basket", "Custom Art" }
local ORGS, USERS = 20, 100

local function set_text(b, r, col, s)
  if C.sg_batch_set_bytes(b, r, col, s, #s) ~= 0 then error("batch arena full") end
end

local function push(b, time, diff)
  local r = C.sg_batch_push_row(b, time, diff)
  if r < 0 then error("out of memory filling a batch") end
  return tonumber(r)
end

-- Relation fillers: fill(self, batch, tick, time_ms).
local FILL = {}

function FILL.counter(g, b, tick, time)
  local n = g.opts.rows_per_tick
  local first = tick * n + 1
  if C.sg_gen_counter_fill(b, first, n, time) ~= 0 then error("out of memory filling a batch") end
  local max = g.opts.max_cardinality
  if max then -- retract the values that fell out of the window
    for v = math.max(1, first - max), first + n - 1 - max do
      C.sg_batch_set_i64(b, push(b, time, -1), 0, v)
    end
  end
end

local function snapshot_once(fill)
  return function(g, b, tick, time)
    if tick == 0 then fill(g, b, time) end
  end
end

FILL.organizations = snapshot_once(function(_, b, time)
  for id = 1, ORGS do
    local r = push(b, time, 1)
    C.sg_batch_set_i64(b, r, 0, id)
    set_text(b, r, 1, "org-" .. id)
  end
end)

FILL.users = snapshot_once(function(_, b, time)
  for id = 1, USERS do
    local r = push(b, time, 1)
    C.sg_batch_set_i64(b, r, 0, id)
    C.sg_batch_set_i64(b, r, 1, (id - 1) % ORGS + 1)
    set_text(b, r, 2, "user-" .. id)
  end
end)

-- Changes are stateless per tick: everything a tick inserts, updates or
-- deletes is computed from (seed, tick) alone, so an input positioned at
-- any tick produces exactly what a run from tick 0 would have there.
local BALANCE_PERIOD, AUCTION_LIFE, BID_LIFE = 5, 10, 10

-- An account's balance during balance period `period`.
local function balance(seed, id, period)
  return rng(seed, period, "balance" .. id)(10000)
end

local function account_row(b, time, diff, id, bal)
  local r = push(b, time, diff)
  C.sg_batch_set_i64(b, r, 0, id)
  C.sg_batch_set_i64(b, r, 1, id)
  C.sg_batch_set_i64(b, r, 2, bal)
end

-- accounts: inserted at tick 0, every balance updated every 5 ticks.
function FILL.accounts(g, b, tick, time)
  local seed = g.opts.seed
  if tick % BALANCE_PERIOD ~= 0 then return end
  local period = tick / BALANCE_PERIOD
  for id = 1, ORGS do
    if tick > 0 then account_row(b, time, -1, id, balance(seed, id, period - 1)) end
    account_row(b, time, 1, id, balance(seed, id, period))
  end
end

local function auction_row(g, b, tick, time, diff)
  local rand = rng(g.opts.seed, tick, "auctions")
  local r = push(b, time, diff)
  local tick_time = g.start_time and g.start_time(tick) or time
  C.sg_batch_set_i64(b, r, 0, tick + 1)
  C.sg_batch_set_i64(b, r, 1, rand(USERS))
  set_text(b, r, 2, ITEMS[rand(#ITEMS)])
  C.sg_batch_set_i64(b, r, 3, (tick_time + 10000) * 1000)
end

-- auctions: one per tick, deleted when it ends AUCTION_LIFE ticks later.
function FILL.auctions(g, b, tick, time)
  auction_row(g, b, tick, time, 1)
  if tick >= AUCTION_LIFE then auction_row(g, b, tick - AUCTION_LIFE, time, -1) end
end

local function bid_rows(g, b, tick, time, diff)
  local rand = rng(g.opts.seed, tick, "bids")
  local n = g.opts.rows_per_tick
  local tick_time = g.start_time and g.start_time(tick) or time
  for i = 1, n do
    local r = push(b, time, diff)
    C.sg_batch_set_i64(b, r, 0, tick * n + i)
    C.sg_batch_set_i64(b, r, 1, rand(USERS))
    C.sg_batch_set_i64(b, r, 2, math.max(1, tick + 1 - rand(10) + 1))
    C.sg_batch_set_i64(b, r, 3, rand(1000))
    C.sg_batch_set_i64(b, r, 4, tick_time * 1000)
  end
end

-- bids: rows_per_tick per tick, each deleted BID_LIFE ticks later.
function FILL.bids(g, b, tick, time)
  bid_rows(g, b, tick, time, 1)
  if tick >= BID_LIFE then bid_rows(g, b, tick - BID_LIFE, time, -1) end
end

-- bench rows: filled in C (core/gen/bench.c); the previous tick's time is
-- what its deleted rows were inserted with.
function FILL.rows(g, b, tick, time)
  local prev = g.start_time and g.start_time(tick - 1) or time
  if C.sg_gen_bench_fill(b, tick, g.opts.rows_per_tick, time, prev) ~= 0 then error("out of memory filling a batch") end
end

-- A generator for a load_generator source's validated options.
function M.new(opts, relation_name)
  local fill = FILL[relation_name]
  if not fill then return nil, "no generator for relation " .. relation_name end
  return { opts = opts, fill = fill, tick_ms = opts.tick }
end

-- Appends the rows of tick `tick` (logical time `time`) to batch b.
function M.fill(g, b, tick, time)
  g.fill(g, b, tick, time)
end

return M
