-- Every Lua-fed value is checked on the way into a batch: bad values of
-- every type class are refused with "relation.column: expected …, got …"
-- (and "file:line: " of the feed's call site in front), the row is taken
-- back whole, and good values of the same types still pass.
local core = require "sinkgate.core"
local input = require "sinkgate.source.input"
local loader = require "sinkgate.config.loader"
local relation = require "sinkgate.relation"
local rows = require "sinkgate.rows"
local sg = require "sinkgate"

local C, ffi = core.C, core.ffi

local function batch_of(rel)
  return ffi.gc(C.sg_batch_new(rel:c_schema(), 4), C.sg_batch_free)
end

-- Pushes { c = v } into a one-column relation of type ty (plus a first
-- good row, so a rejected row must leave the batch exactly as it was).
local function push(ty, v, not_null)
  local rel = assert(relation.new("t", { { "c", ty, not_null = not_null } }))
  local b = batch_of(rel)
  assert(rows.push(b, rel, 1, 1, {}) or not_null)
  local nrows, arena = b.nrows, b.arena_len
  local r, err = rows.push(b, rel, 1, 1, { c = v })
  if not r then
    assert.equal(nrows, b.nrows)
    assert.equal(arena, b.arena_len)
  end
  return r, err, b, rel
end

local NaN, INF = 0 / 0, math.huge
local LONG = string.rep("x", 100)

-- { type, value, expected message after "t.c" (a Lua pattern, anchored) }
local BAD = {
  -- integers: range per type, integral, exact integer strings only
  { "smallint", 70000, ": expected smallint %(%-32768%.%.32767%), got 70000 %(out of range%)" },
  { "smallint", -32769, ": expected smallint .*, got %-32769 %(out of range%)" },
  { "smallint", 2.5, ": expected smallint .*, got 2%.5 %(not an integer%)" },
  { "smallint", "12a", ": expected smallint .*, got \"12a\" %(not an integer%)" },
  { "smallint", true, ": expected smallint .*, got true$" },
  { "integer", 2 ^ 40, ": expected integer %(%-2147483648%.%.2147483647%), got 1099511627776 %(out of range%)" },
  { "integer", NaN, ": expected integer .*, got nan %(not an integer%)" },
  { "integer", INF, ": expected integer .*, got inf %(not an integer%)" },
  { "integer", " 1", ": expected integer .*, got \" 1\" %(not an integer%)" },
  { "bigint", "9223372036854775808", ": expected bigint .*, got \"9223372036854775808\" %(out of range%)" },
  { "bigint", 2 ^ 63, ": expected bigint .*, got 9223372036854775808 %(out of range%)" },
  { "bigint", 18446744073709551615ULL, ": expected bigint .*, got 18446744073709551615ULL %(out of range%)" },
  { "bigint", "1.0", ": expected bigint .*, got \"1%.0\" %(not an integer%)" },
  { "bigint", "0x10", ": expected bigint .*, got \"0x10\" %(not an integer%)" },
  { "bigint", {}, ": expected bigint .*, got a table$" },
  { "uint2", -1, ": expected uint2 %(0%.%.65535%), got %-1 %(out of range%)" },
  { "uint2", 65536, ": expected uint2 .*, got 65536 %(out of range%)" },
  { "uint4", 4294967296, ": expected uint4 .*, got 4294967296 %(out of range%)" },
  { "uint8", -1, ": expected uint8 .*, got %-1 %(out of range%)" },
  { "uint8", -1LL, ": expected uint8 .*, got %-1LL %(out of range%)" },
  { "uint8", "-5", ": expected uint8 .*, got \"%-5\" %(out of range%)" },
  { "oid", -3, ": expected oid .*, got %-3 %(out of range%)" },
  -- booleans and floats: no coercion
  { "boolean", 1, ": expected boolean, got 1$" },
  { "boolean", "true", ": expected boolean, got \"true\"$" },
  { "real", "1.5", ": expected real %(a number%), got \"1%.5\"$" },
  { "double precision", true, ": expected double precision %(a number%), got true$" },
  -- numeric: scale, precision, form
  { "numeric(10,2)", "1.234", ": expected numeric%(10,2%), got \"1%.234\" %(3 fractional digits, scale is 2%)" },
  { "numeric(5,2)", "1234.5", ": expected numeric%(5,2%), got \"1234%.5\" %(4 integer digits, at most 3 fit%)" },
  { "numeric(10,2)", 0.125, ": expected numeric%(10,2%), got \"0%.125\" %(3 fractional digits, scale is 2%)" },
  { "numeric(4,0)", 1e20, ": expected numeric%(4,0%), got \"100000000000000000000\" %(21 integer digits" },
  { "numeric", "abc", ": expected numeric %(%[%+%-%]digits.*%), got \"abc\"$" },
  { "numeric", "1.2.3", ": expected numeric .*, got \"1%.2%.3\"$" },
  { "numeric", "NaN", ": expected numeric .*, got \"NaN\"$" },
  { "numeric", NaN, ": expected numeric %(a finite number%), got nan$" },
  { "numeric", -INF, ": expected numeric %(a finite number%), got %-inf$" },
  { "numeric", "1" .. string.rep("0", 39), ": expected numeric %(at most 39 digits%), got .* %(40 integer and 0 fractional" },
  { "numeric", true, ": expected numeric %(a decimal string or number%), got true$" },
  -- text, bytea, jsonb
  { "text", 5, ": expected text %(a string%), got 5$" },
  { "text", "ok\255\254", ": expected text %(UTF%-8%), got \"ok\\255\\254\" %(invalid UTF%-8%)" },
  { "text", "\237\160\128", ": expected text %(UTF%-8%), got .* %(invalid UTF%-8%)" }, -- a surrogate
  { "bytea", 5, ": expected bytea %(a string of bytes%), got 5$" },
  { "jsonb", "{bad", ": expected jsonb %(JSON text%), got \"{bad\" %(.+%)" },
  { "jsonb", "NaN", ": expected jsonb %(JSON text%), got \"NaN\" %(.+%)" },
  { "jsonb", "[1,]", ": expected jsonb %(JSON text%), got \"%[1,%]\" %(.+%)" },
  { "jsonb", '{"a":1} x', ": expected jsonb %(JSON text%), got .* %(.+%)" },
  { "jsonb", 5, ": expected jsonb %(JSON text%), got 5$" },
  { "jsonb", LONG, ": expected jsonb %(JSON text%), got \"x+\"… %(100 bytes%) %(.+%)" },
  -- uuid
  { "uuid", "not-a-uuid", ": expected uuid %(8%-4%-4%-4%-12 hex digits%), got \"not%-a%-uuid\"$" },
  { "uuid", "123e4567-e89b-12d3-a456-42661417400", ": expected uuid .*, got \"123e4567%-e89b%-12d3%-a456%-42661417400\"$" },
  { "uuid", "123e-4567e89b12d3a456426614174000", ": expected uuid .*, got .*$" },
  { "uuid", 5, ": expected uuid .*, got 5$" },
  -- dates, times, timestamps
  { "date", "2024-02-30", ": expected date YYYY%-MM%-DD, got \"2024%-02%-30\" %(no such day%)" },
  { "date", "2023-02-29", ": expected date YYYY%-MM%-DD, got \"2023%-02%-29\" %(no such day%)" },
  { "date", "2024-13-01", ": expected date YYYY%-MM%-DD, got \"2024%-13%-01\" %(no month 13%)" },
  { "date", "yesterday", ": expected date YYYY%-MM%-DD, got \"yesterday\" %(not YYYY%-MM%-DD%)" },
  { "date", 1.5, ": expected date %(days since 1970%-01%-01%), got 1%.5$" },
  { "time", "25:99:00", ": expected time HH:MM:SS%[%.ffffff%], got \"25:99:00\" %(no such time of day%)" },
  { "time", "24:00:00", ": expected time .*, got \"24:00:00\" %(no such time of day%)" },
  { "time", "12:00:61", ": expected time .*, got \"12:00:61\" %(no such time of day%)" },
  { "time", "12:00:00.1234567", ": expected time .*, got .* %(more than 6 fractional digits%)" },
  { "time", "noon", ": expected time .*, got \"noon\" %(not HH:MM:SS%[%.ffffff%]%)" },
  { "time", 86400000000, ": expected time %(microseconds 0%.%.86399999999%), got 86400000000$" },
  { "time", -1, ": expected time %(microseconds .*%), got %-1$" },
  { "timestamp", "yesterday", ": expected timestamp YYYY%-MM%-DD HH:MM:SS.*, got \"yesterday\"" },
  { "timestamp", "2024-02-30 00:00:00", ": expected timestamp .*, got \"2024%-02%-30 00:00:00\" %(no such day%)" },
  { "timestamp", "2024-01-01 25:00:00", ": expected timestamp .*, got .* %(no such time of day%)" },
  { "timestamp", "2024-01-01T00:00:00+02:00", ": expected timestamp .*, got .* %(bad time zone%)" },
  { "timestamptz(3)", "2024-01-01 00:00:00+2", ": expected timestamptz%(3%) .*, got .* %(bad time zone%)" },
  { "timestamp", 1.5, ": expected timestamp %(epoch microseconds%), got 1%.5$" },
  { "timestamp", true, ": expected timestamp .*, got true$" },
  -- interval
  { "interval", { months = 1.5 }, ": expected interval months %(a 32%-bit integer%), got 1%.5$" },
  { "interval", { years = 1 }, ": expected interval .*, got a table %(unknown field \"years\"%)" },
  { "interval", 5, ": expected interval .*, got 5$" },
  -- nested values: the path inside the value is named
  { "bigint list", { 1, "x" }, "%[2%]: expected bigint .*, got \"x\" %(not an integer%)" },
  { "bigint list", "x", ": expected bigint list %(a table%), got \"x\"$" },
  { "bigint list", { a = 1 }, ": expected bigint list %(an array%), got a table with key \"a\"$" },
  { "map[text=>integer]", { [1] = 2 }, ": map keys must be strings, got 1$" },
  { "map[text=>integer]", { k = "x" }, "%[\"k\"%]: expected integer .*, got \"x\"" },
  { { record = { { "x", "integer", not_null = true } } }, {}, "%.x: NULL in a NOT NULL field$" },
  { { record = { { "x", "integer" } } }, { x = 1, w = 2 }, ": no field \"w\" in record%(x integer%)$" },
  { "text list list", { { "a", 5 } }, "%[1%]%[2%]: expected text %(a string%), got 5$" },
  -- secrets are never shown
  { "text", sg.secret("KPASS"), ": expected text %(a string%), got a secret$" },
}

describe("rows_check", function()
  it(("refuses %d bad values, naming relation.column, the expectation and the value"):format(#BAD), function()
    assert.is_true(#BAD >= 40)
    for _, case in ipairs(BAD) do
      local r, err = push(case[1], case[2])
      local label = ("%s %s"):format(type(case[1]) == "table" and "record" or case[1], tostring(case[2]))
      assert.is_nil(r, label .. " was accepted")
      assert.matches("^t%.c" .. case[3], err, nil, false, label)
    end
  end)

  it("refuses NULL in a NOT NULL column, unknown columns and non-tables", function()
    local rel = assert(relation.new("t", { { "id", "bigint", not_null = true }, { "name", "text" } }))
    local b = batch_of(rel)
    local r, err = rows.push(b, rel, 1, 1, { name = "x" })
    assert.is_nil(r)
    assert.equal("t.id: NULL in a NOT NULL column", err)
    assert.same({ nil, "t.id: NULL in a NOT NULL column" }, { rows.push(b, rel, 1, 1, { id = sg.null }) })
    assert.same({ nil, 't: no column "nmae" (columns: id, name)' }, { rows.push(b, rel, 1, 1, { id = 1, nmae = "x" }) })
    assert.same({ nil, "t: expected a row (a table of column = value), got 42" }, { rows.push(b, rel, 1, 1, 42) })
    assert.equal(0, b.nrows)
    assert.equal(0, tonumber(b.arena_len))
  end)

  it("accepts good values of the same types and stores them exactly", function()
    local GOOD = {
      { "smallint", -32768, -32768 }, { "bigint", "9223372036854775807", 9223372036854775807LL },
      { "bigint", "-9223372036854775808", -9223372036854775807LL - 1 },
      { "uint8", "18446744073709551615", 18446744073709551615ULL }, { "uint8", 2 ^ 63, 9223372036854775808ULL },
      { "integer", "-42", -42 }, { "numeric(10,2)", "1.50", "1.50" }, { "numeric(10,2)", "-0.01", "-0.01" },
      { "numeric(10,2)", 0.1, "0.1" }, { "numeric(39,0)", 1e20, "100000000000000000000" },
      { "numeric", "1e-39", "1e-39" }, { "numeric(10,2)", "12345678.9", "12345678.9" },
      { "date", "2024-02-29", 19782 }, { "time", "23:59:59.999999", 86399999999 },
      { "timestamp", "1970-01-01 00:00:01.5", 1500000 }, { "timestamp", "1970-01-01T00:00:00Z", 0 },
      { "timestamptz", "1970-01-01 02:00:00+02:00", 0 }, { "timestamptz", "1970-01-01 00:00:00-01:30", 5400000000 },
      { "uuid", "123E4567-E89B-12D3-A456-426614174000", "123e4567-e89b-12d3-a456-426614174000" },
      { "uuid", "123e4567e89b12d3a456426614174000", "123e4567-e89b-12d3-a456-426614174000" },
      { "jsonb", '{"a":[1,2,{"b":null}]}', '{"a":[1,2,{"b":null}]}' }, { "text", "héllo ✓", "héllo ✓" },
      { "bytea", "\255\0", "\255\0" }, { "interval", { days = 2 }, { months = 0, days = 2, micros = 0 } },
    }
    for _, case in ipairs(GOOD) do
      local r, err, b, rel = push(case[1], case[2])
      assert.is_not_nil(r, err)
      local got = rows.get(b, r, 0, rel.columns[1].type)
      if type(case[3]) == "table" then assert.same(case[3], got) else assert.equal(case[3], got, case[1]) end
    end
  end)

  -- The feed's call site, as a config file would have it.
  local function feed_input(feed_src, columns, policy)
    local chunk = assert(loadstring(feed_src, "@cfg.lua"))
    setfenv(chunk, loader.sandbox())
    local rel = assert(relation.new("t", columns or { { "id", "bigint", not_null = true }, { "s", "smallint" } }))
    local decl = { kind = "table", path = "sources.t", where = "cfg.lua:1",
      opts = { tick = 10, start = 0, realtime = false, feed = chunk() } }
    local inp = assert(input.new(decl, rel))
    inp:set_start(0)
    local seen = {}
    if policy then
      inp:on_bad_row(function(kind, msg, _, dropped)
        seen[#seen + 1] = { kind, msg, dropped }
        return policy == "skip"
      end)
    end
    return inp, batch_of(rel), seen
  end

  it("names the feed's file:line, relation, column and value; the row never stays half-written", function()
    local inp, b = feed_input([[
return function(t, tick)
  t:insert({ id = 1, s = 1 })
  t:update({ id = 1, s = 1 },
           { id = 1, s = 70000 })
end]])
    local n, err = inp:fill(b, 10)
    assert.is_nil(n)
    assert.equal("cfg.lua:3: t.s: expected smallint (-32768..32767), got 70000 (out of range)", err)
    -- the insert stays; the update (a deletion and an insertion) is refused whole
    assert.equal(1, b.nrows)
    -- a failed input stays failed
    assert.equal(err, select(2, inp:fill(b, 20)))
  end)

  it("turns a runtime error in feed into an error with file:line, dropping the tick whole", function()
    local inp, b, seen = feed_input([[
return function(t, tick)
  t:insert({ id = tick, s = 1 })
  if tick == 1 then local x = nil; return x.y end
end]], nil, "skip")
    assert.equal(3, inp:fill(b, 30))
    assert.equal(1, #seen)
    assert.equal("feed_error", seen[1][1])
    assert.matches("^cfg%.lua:3: t: feed failed: attempt to index", seen[1][2])
    assert.equal(1, seen[1][3]) -- the tick's one insertion was dropped with it
    assert.equal(2, b.nrows)    -- ticks 0 and 2
  end)

  it("survives error values that are not strings, even ones whose __tostring fails", function()
    local inp, b = feed_input([[
return function(t, tick)
  error(setmetatable({}, { __tostring = function() error("no text") end }))
end]])
    local n, err = inp:fill(b, 10)
    assert.is_nil(n)
    assert.equal("cfg.lua:1: t: feed failed: a table error value", err)
  end)

  it("locates an error raised inside a library at the feed's definition, keeping the library's position", function()
    local lib = assert(loadstring("return function() error('lib says no') end", "@lib.lua"))()
    local inp, b = feed_input([[
return function(t, tick)
  t:insert({ id = tick })
  LIB()
end]])
    setfenv(inp.feed, setmetatable({ LIB = lib }, { __index = _G }))
    local n, err = inp:fill(b, 10)
    assert.is_nil(n)
    assert.equal("cfg.lua:1: t: feed failed: lib.lua:1: lib says no", err)
  end)

  it("skips bad rows under a policy that says so, and keeps the good ones", function()
    local inp, b, seen = feed_input([[
return function(t, tick)
  t:insert({ id = tick, s = tick == 1 and 2.5 or tick })
end]], nil, "skip")
    assert.equal(3, inp:fill(b, 30))
    assert.equal(2, b.nrows)
    assert.same({ "bad_row", "cfg.lua:2: t.s: expected smallint (-32768..32767), got 2.5 (not an integer)" },
      { seen[1][1], seen[1][2] })
  end)

  it("locates bad initial rows at the source's rows option", function()
    local rel = assert(relation.new("t", { { "d", "date" } }))
    local decl = { kind = "table", path = "sources.t", where = "cfg.lua:7",
      opts = { tick = 10, start = 0, realtime = false, rows = { { d = "2024-01-01" }, { d = "2024-02-30" } } } }
    local inp = assert(input.new(decl, rel))
    inp:set_start(0)
    local n, err = inp:fill(batch_of(rel), 10)
    assert.is_nil(n)
    assert.equal('cfg.lua:7: t.d: expected date YYYY-MM-DD, got "2024-02-30" (no such day)', err)
  end)
end)

describe("check", function()
  it("reports bad initial rows of a table source once, at the config line, without running", function()
    local plans, errs = require("helpers.config").plans([[
local sg = require "sinkgate"
local kafka = sg.kafka_connection { brokers = "127.0.0.1:1" }
local t = sg.source.table { name = "t", columns = { { "id", "bigint", not_null = true }, { "d", "date" } },
  rows = { { id = 1, d = "2024-02-29" }, { id = 2, d = "2024-02-30" }, { d = "2024-01-01" } } }
sg.sink "a" { from = t, into = { connection = kafka, topic = "a" }, format = "json", envelope = "debezium" }
sg.sink "b" { from = t, into = { connection = kafka, topic = "b" }, format = "json", envelope = "debezium" }
]])
    assert.is_nil(plans)
    assert.same({ 'FILE:3: t.d: expected date YYYY-MM-DD, got "2024-02-30" (no such day)',
      "FILE:3: t.id: NULL in a NOT NULL column" }, errs)
  end)
end)

describe("row view", function()
  it("pairs(row) yields what pairs gives on the plain table of that row, in column order", function()
    local rel = assert(relation.new("t", { { "id", "bigint" }, { "name", "text" }, { "tags", "text list" },
      { "z", "integer" } }))
    local b = batch_of(rel)
    local plain = { { id = 1, name = "a", tags = { "x", n = 1 }, z = 5 }, { id = 2, z = 7 } } -- row 2: NULLs
    for _, p in ipairs(plain) do assert(rows.push(b, rel, 1, 1, p)) end
    local view = rows.view(rel, b)
    local sandbox_pairs = loader.sandbox().pairs
    for r, p in ipairs(plain) do
      local row = view:at(r - 1)
      local got, order = {}, {}
      for k, v in sandbox_pairs(row) do
        got[k] = v
        order[#order + 1] = k
      end
      assert.same(p, got)
      local want_order = {}
      for _, c in ipairs(rel.columns) do if p[c.name] ~= nil then want_order[#want_order + 1] = c.name end end
      assert.same(want_order, order)
      -- plain tables go through the same pairs unchanged
      local n = 0
      for _ in sandbox_pairs(p) do n = n + 1 end
      assert.equal(#order, n)
      -- neither has an array part
      assert.equal(#p, #row)
    end
  end)
end)
