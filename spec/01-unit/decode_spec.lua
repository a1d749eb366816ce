-- The TEXT, BYTES, JSON, CSV and Debezium-JSON decoders on hand-made
-- messages, valid and invalid, read back through rows.get.
local core = require "sinkgate.core"
local decode = require "sinkgate.decode"
local relation = require "sinkgate.relation"
local rows = require "sinkgate.rows"
local types = require "sinkgate.types"

local C, ffi = core.C, core.ffi

-- A decoder's relation and a function decoding one message into a row:
-- returns { column = value } or nil, message, code.
local function harness(fmt, opts)
  local d = assert(decode.new(fmt, opts))
  local rel = assert(relation.new("t", d:relation_columns()))
  local b = ffi.gc(C.sg_batch_new(rel:c_schema(), 4), C.sg_batch_free)
  return function(bytes)
    C.sg_batch_clear(b)
    local r = C.sg_batch_push_row(b, 1, 1)
    local ok, err, code = d:into(b, r, 0, bytes)
    if not ok then return nil, err, code end
    local got = {}
    for i, c in ipairs(rel.columns) do got[c.name] = rows.get(b, r, i - 1, c.type) end
    return got
  end, rel, d, b
end

local function shape(rel)
  local out = {}
  for i, c in ipairs(rel.columns) do out[i] = c.name .. " " .. types.render(c.type) end
  return out
end

describe("TEXT decoder", function()
  local run, rel = harness("text")
  it("yields one text column with the message's UTF-8", function()
    assert.same({ "text text" }, shape(rel))
    for _, s in ipairs({ "", "plain", "h\195\169llo", "\226\130\172", "\240\159\152\128", "\0nul\0", "\239\191\191" }) do
      assert.equal(s, assert(run(s)).text)
    end
  end)
  it("rejects invalid UTF-8 with the offset: overlongs, surrogates, past U+10FFFF, truncated", function()
    local bad = {
      { "ab\192\175", 2 }, { "\224\128\175", 0 }, { "\240\128\128\175", 0 },     -- overlongs
      { "x\237\160\128", 1 }, { "\237\191\191", 0 },                            -- surrogates D800, DFFF
      { "\244\144\128\128", 0 }, { "\245\128\128\128", 0 }, { "\255", 0 },      -- > U+10FFFF, bad lead bytes
      { "ok\226\130", 2 }, { "\128", 0 }, { "\195\40", 0 },                     -- truncated, stray continuation
    }
    for _, c in ipairs(bad) do
      local got, err, code = run(c[1])
      assert.is_nil(got)
      assert.equal("error", code)
      assert.matches("invalid UTF%-8 at byte " .. c[2] .. "$", err)
    end
  end)
end)

describe("BYTES decoder", function()
  it("yields one bytea column with any bytes", function()
    local run, rel = harness("bytes")
    assert.same({ "data bytea" }, shape(rel))
    local all = {}
    for i = 0, 255 do all[#all + 1] = string.char(i) end
    assert.equal(table.concat(all), assert(run(table.concat(all))).data)
    assert.equal("", assert(run("")).data)
  end)
end)

describe("JSON decoder", function()
  local run, rel = harness("json")
  it("yields one jsonb column holding the validated JSON text", function()
    assert.same({ "data jsonb" }, shape(rel))
    assert.equal('{"a":[1,-2.5e+3,true,null],"b":"\\u00e9\\ud83d\\ude00"}',
      assert(run(' \n{"a":[1,-2.5e+3,true,null],"b":"\\u00e9\\ud83d\\ude00"}\t')).data)
    assert.equal("12345678901234567890123", assert(run("12345678901234567890123")).data) -- no rounding
    assert.equal('"s"', assert(run('"s"')).data)
  end)
  it("rejects invalid JSON with the byte offset", function()
    local bad = {
      { "", "unexpected end" }, { "{", "at byte 1" }, { '{"a":1,}', "at byte 7" }, { "[1 2]", "at byte 3" },
      { "01", "trailing" }, { "1.", "fraction" }, { "-", "bad number" }, { "tru", "unexpected character" },
      { '"\\ud800"', "unpaired high surrogate" }, { '"\\udc00"', "unpaired low surrogate" }, { '"\\x"', "bad escape" },
      { '"a\nb"', "control character" }, { '"\192\175"', "invalid UTF%-8" }, { "{} {}", "trailing" },
      { "NaN", "unexpected character" }, { ("["):rep(600) .. ("]"):rep(600), "nested too deeply" },
    }
    for _, c in ipairs(bad) do
      local got, err = run(c[1])
      assert.is_nil(got, c[1])
      assert.matches(c[2], err)
    end
  end)
end)

describe("CSV decoder", function()
  it("names columns column1..N and keeps fields untrimmed, quoted fields unquoted", function()
    local run, rel = harness("csv", { columns = 3 })
    assert.same({ "column1 text", "column2 text", "column3 text" }, shape(rel))
    local r = assert(run('a,"b,c","say ""hi"""\r\n'))
    assert.same({ "a", "b,c", 'say "hi"' }, { r.column1, r.column2, r.column3 })
    r = assert(run(" a , b\t,\tc"))
    assert.same({ " a ", " b\t", "\tc" }, { r.column1, r.column2, r.column3 })
    r = assert(run(",,"))
    assert.same({ "", "", "" }, { r.column1, r.column2, r.column3 })
    r = assert(run('"multi\nline",x,y'))
    assert.equal("multi\nline", r.column1)
  end)
  it("skips records with the wrong column count (a distinct code) and errors on bad CSV", function()
    local run = harness("csv", { columns = 3 })
    for _, s in ipairs({ "a,b", "a,b,c,d", "" }) do
      local got, err, code = run(s)
      assert.is_nil(got)
      assert.equal("skip", code)
      assert.matches("CSV record has %d columns, expected 3", err)
    end
    local got, err, code = run('"open,b,c')
    assert.same({ "error" }, { code })
    assert.is_nil(got)
    assert.matches("invalid CSV", err)
    got, err = run("a,b,c\nd,e,f")
    assert.is_nil(got)
    assert.matches("holds 2 records", err)
    got, err = run("a,\255,c")
    assert.is_nil(got)
    assert.matches("column 2: invalid UTF%-8", err)
    assert(run("x,y,z")) -- the parser recovers after errors
  end)
  it("takes a delimiter and header names (from a list or a header record)", function()
    local names = assert(decode.csv_header('id;"full name";x\n', ";"))
    assert.same({ "id", "full name", "x" }, names)
    local run, rel = harness("csv", { header = true, header_line = 'id;"full name";x\n', delimiter = ";" })
    assert.same({ "id text", "full name text", "x text" }, shape(rel))
    local r = assert(run("1;a,b;z"))
    assert.same({ "1", "a,b", "z" }, { r.id, r["full name"], r.x })
    local _, rel2 = harness({ kind = "csv", header = { "a", "b" } })
    assert.same({ "a text", "b text" }, shape(rel2))
    assert.same({ nil, "csv column \"a\" appears twice" }, { decode.new("csv", { header = { "a", "a" } }) })
    assert.is_nil(decode.csv_header(""))
    assert.is_nil((decode.new("csv", { columns = 0 })))
    assert.is_nil((decode.new("csv", { columns = 2, delimiter = '"' })))
  end)
end)

describe("Debezium JSON decoder", function()
  local wrapped = [[{"schema":{"type":"struct","name":"db.inv.customers.Envelope","fields":[
    {"type":"struct","optional":true,"field":"before","name":"db.inv.customers.Value","fields":[
      {"type":"int64","optional":false,"field":"id"},
      {"type":"string","optional":true,"field":"name"},
      {"type":"bytes","optional":true,"field":"balance","name":"org.apache.kafka.connect.data.Decimal",
       "parameters":{"scale":"2","connect.decimal.precision":"10"}},
      {"type":"int64","optional":true,"field":"seen","name":"io.debezium.time.MicroTimestamp"},
      {"type":"int32","optional":true,"field":"born","name":"io.debezium.time.Date"},
      {"type":"string","optional":true,"field":"at","name":"io.debezium.time.ZonedTimestamp"},
      {"type":"int32","optional":true,"field":"alarm","name":"io.debezium.time.Time"},
      {"type":"string","optional":true,"field":"uid","name":"io.debezium.data.Uuid"},
      {"type":"string","optional":true,"field":"doc","name":"io.debezium.data.Json"},
      {"type":"boolean","optional":true,"field":"vip"},
      {"type":"int16","optional":true,"field":"level"},
      {"type":"double","optional":true,"field":"score"},
      {"type":"array","optional":true,"field":"tags","items":{"type":"string","optional":true}}]},
    {"type":"struct","optional":true,"field":"after","name":"db.inv.customers.Value","fields":[]},
    {"type":"struct","optional":false,"field":"source","fields":[]},
    {"type":"string","optional":false,"field":"op"},{"type":"int64","optional":true,"field":"ts_ms"}]},
   "payload":{"before":%s,"after":%s,
    "source":{"version":"2.1","connector":"postgresql","ts_ms":1704164645000,"snapshot":"false","lsn":9007199254740993,"txId":771},
    "op":"%s","ts_ms":1704164645999}}]]
  local row1 = [[{"id":1,"name":"Ann \"A\" \u00e9","balance":"AMg=","seen":1704164645678901,"born":19724,
    "at":"2024-01-02T04:04:05.5+01:00","alarm":3723456,"uid":"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11","doc":"{\"k\":[1]}",
    "vip":true,"level":-3,"score":2.5,"tags":["x",null]}]]
  local row2 = [[{"id":1,"name":null,"balance":"/zg=","seen":0,"born":-1,"at":"1970-01-01T00:00:00Z","alarm":0,
    "uid":null,"doc":null,"vip":false,"level":32767,"score":-0.0,"tags":[]}]]

  it("reads columns and types from the embedded connect schema", function()
    local d = assert(decode.new("debezium", { sample = wrapped:format("null", row1, "c") }))
    local rel = assert(relation.new("t", d:relation_columns()))
    assert.same({ "id bigint", "name text", "balance numeric(10,2)", "seen timestamp(6)", "born date",
      "at timestamptz", "alarm time", "uid uuid", "doc jsonb", "vip boolean", "level smallint",
      "score double precision", "tags text list" }, shape(rel))
    assert.is_false(rel.columns[1].nullable)
    assert.is_true(rel.columns[2].nullable)
  end)

  it("parses op, images and source position, and fills before and after rows", function()
    local d = assert(decode.new("debezium", { sample = wrapped:format("null", row1, "c") }))
    local rel = assert(relation.new("t", d:relation_columns()))
    local b = ffi.gc(C.sg_batch_new(rel:c_schema(), 4), C.sg_batch_free)
    local info = assert(d:parse(wrapped:format(row1, row2, "u")))
    assert.same({ "u", true, true, false, 1704164645999, 1704164645000, 771 },
      { info.op, info.has_before, info.has_after, info.snapshot, info.ts_ms, info.source_ts_ms, info.txid })
    assert.is_true(info.lsn == 9007199254740993LL) -- exact in 64 bits
    local rb = C.sg_batch_push_row(b, 1, -1)
    local ra = C.sg_batch_push_row(b, 1, 1)
    assert(d:fill("before", b, rb, 0))
    assert(d:fill("after", b, ra, 0))
    local function get(r, name) return rows.get(b, r, rel.index[name] - 1, rel.columns[rel.index[name]].type) end
    assert.same({ 1, 'Ann "A" é', "2.00", 1704164645678901, 19724, 1704164645500000, 3723456000,
      "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", '{"k":[1]}', true, -3, 2.5 },
      { get(rb, "id"), get(rb, "name"), get(rb, "balance"), get(rb, "seen"), get(rb, "born"), get(rb, "at"),
        get(rb, "alarm"), get(rb, "uid"), get(rb, "doc"), get(rb, "vip"), get(rb, "level"), get(rb, "score") })
    assert.same({ "x", rows.null, n = 2 }, get(rb, "tags"))
    assert.same({ 1, "-2.00", 0, -1, 0, false, 32767 },
      { get(ra, "id"), get(ra, "balance"), get(ra, "seen"), get(ra, "born"), get(ra, "at"), get(ra, "vip"), get(ra, "level") })
    assert.is_nil(get(ra, "name"))
    assert.is_nil(get(ra, "uid"))
    -- a delete has only a before image; sg_decode then writes that one
    info = assert(d:parse(wrapped:format(row1, "null", "d")))
    assert.same({ "d", true, false }, { info.op, info.has_before, info.has_after })
    assert.is_nil(d:fill("after", b, ra, 0))
  end)

  it("works without the wrapper on declared columns, with MySQL positions and tombstones", function()
    local run, rel, d = harness("debezium", { columns = { { "id", "bigint", not_null = true }, { "v", "numeric" },
      { "ts", "timestamp(3)" }, { "t", "timestamp" } }, keys = { { "id" } } })
    assert.same({ "id bigint", "v numeric", "ts timestamp(3)", "t timestamp" }, shape(rel))
    local msg = '{"before":null,"after":{"id":7,"v":12.50,"ts":1704164645678,"t":"2024-01-02 03:04:05.678"},' ..
      '"source":{"file":"mysql-bin.000003","pos":154,"row":1,"snapshot":true},"op":"r"}'
    local r = assert(run(msg))
    assert.same({ 7, "12.50", 1704164645678000, 1704164645678000 }, { r.id, r.v, r.ts, r.t })
    local info = assert(d:parse(msg))
    assert.same({ "r", "mysql-bin.000003", 154, 1, true }, { info.op, info.file, info.pos, info.row, info.snapshot })
    info = assert(d:parse(""))
    assert.same({ false, false }, { info.has_before, info.has_after })
    assert.is_nil(info.op)
  end)

  it("variable-scale decimals up to scale 1000 (found by the fuzzer: a stack buffer held 200 digits)", function()
    local schema = [[{"schema":{"type":"struct","fields":[{"type":"struct","optional":true,"field":"before",
      "fields":[{"type":"struct","optional":true,"field":"v","name":"io.debezium.data.VariableScaleDecimal"}]},
      {"type":"struct","optional":true,"field":"after","fields":[]},{"type":"string","field":"op"}]},
      "payload":{"before":null,"after":{"v":{"scale":%d,"value":"BNI="}},"op":"c"}}]]
    local d = assert(decode.new("debezium", { sample = schema:format(2) }))
    local rel = assert(relation.new("t", d:relation_columns()))
    local b = ffi.gc(C.sg_batch_new(rel:c_schema(), 4), C.sg_batch_free)
    for _, scale in ipairs({ 2, 250, 1000 }) do
      local msg = schema:format(scale)
      local info = assert(d:parse(msg))
      assert.is_true(info.has_after)
      C.sg_batch_clear(b)
      local r = C.sg_batch_push_row(b, 1, 1)
      assert(d:fill("after", b, r, 0))
      local want = scale == 2 and "12.34" or ("0." .. ("0"):rep(scale - 4) .. "1234")
      assert.equal(want, rows.get(b, r, 0, rel.columns[1].type))
    end
  end)

  it("rejects malformed envelopes and values with the column and byte offset", function()
    local run = harness("debezium", { columns = { { "id", "integer" }, { "d", "date" }, { "u", "uuid" },
      { "t", "timestamp" } } })
    local bad = {
      { "{", "invalid JSON" }, { "[]", "not a JSON object" }, { '{"op":"x","after":{}}', "op \"x\"" },
      { '{"after":{}}', "no one%-letter \"op\"" }, { '{"op":"c","after":null}', "without an \"after\"" },
      { '{"op":"d","before":null}', "without a \"before\"" },
      { '{"op":"c","after":{"id":2147483648}}', 'column "id": integer out of the column type\'s range at byte 24' },
      { '{"op":"c","after":{"id":1.5}}', 'column "id": expected an integer' },
      { '{"op":"c","after":{"d":"2024-13-01"}}', 'column "d": expected a date' },
      { '{"op":"c","after":{"u":"nope"}}', 'column "u": expected a UUID' },
      { '{"op":"c","after":{"id":"1"}}', 'column "id": expected an integer' },
      -- found by the fuzzer: a 7-digit year overflowed the microseconds (UBSan)
      { '{"op":"c","after":{"t":"4044048-01-02T03:04:05.69"}}', 'column "t": expected an ISO%-8601 timestamp' },
    }
    for _, c in ipairs(bad) do
      local got, err = run(c[1])
      assert.is_nil(got, c[1])
      assert.matches(c[2], err)
    end
    assert.same({ nil, "debezium needs columns = { … } (messages without the schema wrapper) or a sample wrapped message" },
      { decode.new("debezium", {}) })
  end)
end)
