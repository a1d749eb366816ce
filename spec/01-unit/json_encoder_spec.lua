-- The C JSON encoder, through the FFI, against the reference's conversion table.
local core = require "sinkgate.core"
local relation = require "sinkgate.relation"
local rows = require "sinkgate.rows"
local sg = require "sinkgate"

local C, ffi = core.C, core.ffi

-- Encodes one row of a one-column relation of type `ty` holding the Lua
-- value `v` (nil = NULL), through rows.set and the C encoder.
local function encode(ty, v)
  local rel = assert(relation.new("t", { { "c", ty } }))
  local b = ffi.gc(C.sg_batch_new(rel:c_schema(), 4), C.sg_batch_free)
  local r = C.sg_batch_push_row(b, 1, 1)
  rows.set(b, r, 0, rel.columns[1].type, v)
  local buf = ffi.new("sg_buf[1]")
  local cols = ffi.new("int[1]", 0)
  local rc = C.sg_encode_json_row(b, 0, cols, 1, buf, core.errbuf, core.ERRLEN)
  local out = rc == 0 and ffi.string(buf[0].data, buf[0].len):match('^{"c":(.*)}$') or nil
  C.sg_buf_free(buf)
  if rc ~= 0 then return nil, core.err() end
  return out
end

describe("JSON encoding", function()
  it("writes NULL as null", function()
    assert.equal("null", encode("text", nil))
  end)

  it("writes integers of every width as numbers", function()
    assert.equal("true", encode("boolean", true))
    assert.equal("false", encode("boolean", false))
    assert.equal("-32768", encode("smallint", -32768))
    assert.equal("-9223372036854775808", encode("bigint", -9223372036854775807LL - 1))
    assert.equal("18446744073709551615", encode("uint8", 18446744073709551615ULL))
    assert.equal("4294967295", encode("oid", 4294967295LL))
  end)

  it("writes floats shortest round-trip, non-finite as null", function()
    assert.equal("0.1", encode("double precision", 0.1))
    assert.equal("1e+300", encode("double precision", 1e300))
    assert.equal("0.1", encode("real", 0.1))
    assert.equal("null", encode("double precision", 0 / 0))
    assert.equal("null", encode("real", math.huge))
    assert.equal("null", encode("double precision", -math.huge))
  end)

  it("writes every double so it reads back exactly, as the shortest %g text", function()
    local random = require("helpers.random").new(7)
    local function shortest(v)
      for p = 15, 17 do
        local t = string.format("%." .. p .. "g", v)
        if tonumber(t) == v then return t end
      end
    end
    for i = 1, 3000 do
      -- a mix of short decimals (the fast path) and arbitrary bit patterns
      local v = i % 2 == 0 and random.int(-1e9, 1e9) / 10 ^ random.int(0, 8)
        or (random.int(-1e6, 1e6) + random.int(0, 1e6) / 1e6) * 10 ^ random.int(-20, 20)
      local out = encode("double precision", v)
      assert.equal(v, tonumber(out), out)
      assert.equal(shortest(v), out)
    end
    assert.equal("-0", encode("double precision", -0.0))
    assert.equal("1e+15", encode("double precision", 1e15))
    assert.equal("0.0001", encode("double precision", 0.0001))
  end)

  it("writes numeric as a string", function()
    assert.equal('"123.45"', encode("numeric(10,2)", "123.45"))
  end)

  it("writes timestamps as \"<millis>.<micros>\" strings", function()
    assert.equal('"1321009871123.450"', encode("timestamp", 1321009871123450LL))
    assert.equal('"1720032185312.000"', encode("timestamptz", 1720032185312000LL))
    -- Before the epoch the millis are floored and the micros stay positive
    -- (-1001 µs = -2 ms + 999 µs), as chrono's timestamp_millis/subsec do.
    assert.equal('"-2.999"', encode("timestamp", -1001LL))
  end)

  it("writes dates and times", function()
    assert.equal('"1970-01-01"', encode("date", 0))
    assert.equal('"2024-02-29"', encode("date", 19782))
    assert.equal('"1969-12-31"', encode("date", -1))
    assert.equal('"12:34:56"', encode("time", (12 * 3600 + 34 * 60 + 56) * 1000000LL))
    assert.equal('"00:00:01.500"', encode("time", 1500000LL))
    assert.equal('"00:00:01.000001"', encode("time", 1000001LL))
  end)

  it("escapes text", function()
    assert.equal([["a\"b\\c\n\u0001é"]], encode("text", 'a"b\\c\n\1é'))
  end)

  it("writes bytea as an array of byte numbers", function()
    assert.equal("[0,255,65]", encode("bytea", "\0\255A"))
    assert.equal("[]", encode("bytea", ""))
  end)

  it("embeds jsonb as JSON, not a string", function()
    assert.equal('{"a":[1,2]}', encode("jsonb", '{"a":[1,2]}'))
  end)

  it("writes uuids hyphenated and lowercase", function()
    assert.equal('"123e4567-e89b-12d3-a456-426614174000"', encode("uuid", "123E4567-E89B-12D3-A456-426614174000"))
  end)

  it("accepts dates, times and timestamps as text", function()
    assert.equal('"2024-02-29"', encode("date", "2024-02-29"))
    assert.equal('"12:34:56.500"', encode("time", "12:34:56.5"))
    assert.equal('"1321009871123.450"', encode("timestamp", "2011-11-11 11:11:11.12345"))
  end)

  it("writes intervals as their text", function()
    assert.equal('"1 year 2 months 3 days 04:05:06.5"',
      encode("interval", { months = 14, days = 3, micros = ((4 * 60 + 5) * 60 + 6) * 1000000 + 500000 }))
    assert.equal('"00:00:00"', encode("interval", {}))
    assert.equal('"-1 days -00:00:01"', encode("interval", { days = -1, micros = -1000000 }))
    assert.equal('"1 month"', encode("interval", { months = 1 }))
  end)

  it("writes lists and arrays as (nested) arrays with nulls", function()
    assert.equal("[1,null,3]", encode("bigint list", { 1, sg.null, 3 }))
    assert.equal('[["a"],[],null]', encode("text[] list", { { "a" }, {}, sg.null }))
    assert.equal("[]", encode("integer[]", {}))
  end)

  it("writes maps as objects", function()
    assert.equal('{"a":1,"b":null}', encode("map[text=>bigint]", { a = 1, b = sg.null }))
    assert.equal('{"k":{"x":[1]}}', encode("map[text=>map[text=>int list]]", { k = { x = { 1 } } }))
  end)

  it("writes records as objects in field order", function()
    local point = { record = { { "y", "integer" }, { "x", "double precision" }, { "tags", "text list" } } }
    assert.equal('{"y":2,"x":0.5,"tags":["a"]}', encode(point, { x = 0.5, y = 2, tags = { "a" } }))
    assert.equal('{"y":null,"x":null,"tags":null}', encode(point, {}))
  end)

  it("writes records inside lists, arrays and maps, nested deeper", function()
    local point = { record = { { "x", "integer", not_null = true }, { "y", "text" } } }
    assert.equal('[{"x":1,"y":"a"},null,{"x":2,"y":null}]',
      encode({ list = point }, { { x = 1, y = "a" }, sg.null, { x = 2 }, n = 3 }))
    assert.equal('{"a":{"x":-1,"y":null},"b":null}', encode({ map = point }, { a = { x = -1 }, b = sg.null }))
    assert.equal('[{"k":[{"x":3,"y":"q"}]}]', encode({ array = { map = { list = point } } }, { { k = { { x = 3, y = "q" } } } }))
    local outer = { record = { { "pts", { list = point } }, { "n", "bigint" } } }
    assert.equal('{"pts":[{"x":4,"y":null}],"n":5}', encode(outer, { pts = { { x = 4 } }, n = 5 }))
  end)

  it("writes character types as strings, char(n) blank-padded", function()
    assert.equal('"ab "', encode("char(3)", "ab"))
    assert.equal('"abc"', encode("char(3)", "abc   ")) -- trailing blanks beyond n are cut, as PostgreSQL
    assert.equal('"é "', encode("character(2)", "é"))  -- n counts characters, not bytes
    assert.equal('"a"', encode("char", "a"))
    assert.equal('"ab"', encode("varchar(3)", "ab"))    -- varchar is not padded
    assert.equal('"ab "', encode("character varying(3)", "ab   ")) -- cut to n, not padded
    assert.equal('"long text"', encode("varchar", "long text"))
    assert.has_error(function() encode("char(3)", "abcd") end, "value too long for type character(3)")
    assert.has_error(function() encode("varchar(2)", "abc") end, "value too long for type character varying(2)")
    assert.has_error(function() encode({ list = "char(1)" }, { "ab" }) end, "[1]: value too long for type character(1)")
    assert.equal('["a ",null]', encode("char(2) list", { "a", sg.null }))
  end)

  it("refuses values that do not fit the column type", function()
    assert.has_error(function() encode("bigint", "x") end,
      'expected bigint (-9223372036854775808..9223372036854775807), got "x" (not an integer)')
    assert.has_error(function() encode("uuid", "nope") end)
  end)
end)
