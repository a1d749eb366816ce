-- The C JSON encoder, through the FFI, against the reference's conversion table.
local core = require "sinkgate.core"
local relation = require "sinkgate.relation"

local C, ffi = core.C, core.ffi

-- Encodes one row of a one-column relation of type `ty` holding `v`
-- (set with the setter that fits the type), or NULL when v is nil.
local function encode(ty, v, setter)
  local rel = assert(relation.new("t", { { "c", ty } }))
  local b = ffi.gc(C.sg_batch_new(rel:c_schema(), 4), C.sg_batch_free)
  local r = C.sg_batch_push_row(b, 1, 1)
  if v ~= nil then
    if setter == "f64" then C.sg_batch_set_f64(b, r, 0, v)
    elseif setter == "bytes" then C.sg_batch_set_bytes(b, r, 0, v, #v)
    else C.sg_batch_set_i64(b, r, 0, v) end
  end
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
    assert.equal("true", encode("boolean", 1))
    assert.equal("false", encode("boolean", 0))
    assert.equal("-32768", encode("smallint", -32768))
    assert.equal("-9223372036854775808", encode("bigint", -9223372036854775807LL - 1))
    assert.equal("18446744073709551615", encode("uint8", -1LL)) -- all bits set
    assert.equal("4294967295", encode("oid", 4294967295LL))
  end)

  it("writes floats shortest round-trip, non-finite as null", function()
    assert.equal("0.1", encode("double precision", 0.1, "f64"))
    assert.equal("1e+300", encode("double precision", 1e300, "f64"))
    assert.equal("0.1", encode("real", 0.1, "f64"))
    assert.equal("null", encode("double precision", 0 / 0, "f64"))
    assert.equal("null", encode("real", math.huge, "f64"))
    assert.equal("null", encode("double precision", -math.huge, "f64"))
  end)

  it("writes numeric as a string", function()
    assert.equal('"123.45"', encode("numeric(10,2)", "123.45", "bytes"))
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
    assert.equal([["a\"b\\c\n\u0001é"]], encode("text", 'a"b\\c\n\1é', "bytes"))
  end)

  it("writes bytea as an array of byte numbers", function()
    assert.equal("[0,255,65]", encode("bytea", "\0\255A", "bytes"))
    assert.equal("[]", encode("bytea", "", "bytes"))
  end)

  it("embeds jsonb as JSON, not a string", function()
    assert.equal('{"a":[1,2]}', encode("jsonb", '{"a":[1,2]}', "bytes"))
  end)

  it("writes uuids hyphenated and lowercase", function()
    local u = "\x12\x3e\x45\x67\xe8\x9b\x12\xd3\xa4\x56\x42\x66\x14\x17\x40\x00"
    assert.equal('"123e4567-e89b-12d3-a456-426614174000"', encode("uuid", u, "bytes"))
  end)

  it("names the column and type of what it cannot encode", function()
    local out, err = encode("interval", 0)
    assert.is_nil(out)
    assert.equal('column "c": JSON encoding of type interval is not supported yet', err)
  end)
end)
