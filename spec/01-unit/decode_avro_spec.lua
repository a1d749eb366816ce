-- The Avro decoder against an independent encoder (Debian's python3-avro):
-- messages written with writer schemas that differ from the reader schema
-- are resolved the way Avro's schema resolution says, and every cell read
-- back with rows.get holds what the writer wrote.
local cjson = require "cjson"
local core = require "sinkgate.core"
local decode = require "sinkgate.decode"
local relation = require "sinkgate.relation"
local rows = require "sinkgate.rows"
local types = require "sinkgate.types"

local C, ffi = core.C, core.ffi
local PY = "/usr/bin/python3"

local function have_python_avro()
  return os.execute(PY .. " -c 'import avro.io' 2>/dev/null") == 0 or
    os.execute(PY .. " -c 'import avro.io' 2>/dev/null") == true
end

-- Encodes {schema, datum} pairs with python3-avro; returns byte strings.
local function py_encode(items)
  local inp = os.tmpname()
  local f = assert(io.open(inp, "w"))
  f:write(cjson.encode(items))
  f:close()
  local p = assert(io.popen(PY .. " spec/helpers/avro_write.py < " .. inp))
  local out = {}
  for line in p:lines() do
    assert(not line:find("^ERR"), line)
    out[#out + 1] = (line:gsub("%x%x", function(h) return string.char(tonumber(h, 16)) end))
  end
  p:close()
  os.remove(inp)
  assert.equal(#items, #out)
  return out
end

local function framed(id, body)
  return string.char(0, math.floor(id / 16777216) % 256, math.floor(id / 65536) % 256, math.floor(id / 256) % 256, id % 256) .. body
end

-- A decoder on reader, with writer schemas by id, and a one-row decode.
local function setup(reader, writers)
  local d = assert(decode.new("avro", { schema = cjson.encode(reader),
    fetch = function(id) return writers[id] and cjson.encode(writers[id]) end }))
  local rel = assert(relation.new("t", d:relation_columns()))
  local b = ffi.gc(C.sg_batch_new(rel:c_schema(), 4), C.sg_batch_free)
  local function run(bytes)
    C.sg_batch_clear(b)
    local r = C.sg_batch_push_row(b, 1, 1)
    local ok, err = d:into(b, r, 0, bytes)
    if not ok then return nil, err end
    local got = {}
    for i, c in ipairs(rel.columns) do got[c.name] = rows.get(b, r, i - 1, c.type) end
    return got
  end
  return d, rel, run
end

local function float32(x) return tonumber(ffi.new("float", x)) end

describe("Avro decoder", function()
  if not have_python_avro() then
    pending("python3-avro is not installed (scripts/deps.sh installs it)")
    return
  end

  local reader = { type = "record", name = "r", namespace = "app", fields = {
    { name = "id", type = "long" },
    { name = "name", type = "string" },
    { name = "count", type = "long" },                              -- writer: int (promoted)
    { name = "ratio", type = "double" },                            -- writer: float (promoted)
    { name = "added", type = "string", default = "dflt" },          -- writer: absent (default)
    { name = "note", type = { "null", "string" }, default = cjson.null },
    { name = "choice", type = { "null", "string", "long" }, default = cjson.null }, -- writer: reordered
  } }
  local writer = { type = "record", name = "r", namespace = "app", fields = {
    { name = "choice", type = { "long", "null", "string" } },
    { name = "gone", type = "int" },                                -- removed in the reader
    { name = "ratio", type = "float" },
    { name = "count", type = "int" },
    { name = "name", type = "string" },
    { name = "id", type = "long" },
    { name = "note", type = { "null", "string" } },
  } }

  it("maps the reader schema to columns (unions with null nullable, several types expanded)", function()
    local _, rel = setup(reader, {})
    local got = {}
    for i, c in ipairs(rel.columns) do got[i] = c.name .. " " .. types.render(c.type) .. (c.nullable and "" or " not null") end
    assert.same({ "id bigint not null", "name text not null", "count bigint not null", "ratio double precision not null",
      "added text not null", "note text", "choice1 text", "choice2 bigint" }, got)
  end)

  it("resolves evolved writer schemas: promotion, defaults, removed fields, reordered unions", function()
    local _, _, run = setup(reader, { [7] = writer, [8] = reader })
    local msgs = py_encode({
      { schema = writer, datum = { choice = 12345678901234, gone = 5, ratio = 0.1, count = -2147483648, name = "añb",
        id = -1, note = cjson.null } },
      { schema = writer, datum = { choice = "s", gone = 0, ratio = 1.5, count = 7, name = "", id = 98765432109876,
        note = "n" } },
      { schema = writer, datum = { choice = cjson.null, gone = 1, ratio = -3.25, count = 0, name = "x", id = 0, note = "" } },
      { schema = reader, datum = { id = 5, name = "same", count = 1, ratio = 0.1, added = "given", note = cjson.null,
        choice = 12 } },
    })
    local r1 = assert(run(framed(7, msgs[1])))
    assert.same({ id = -1, name = "añb", count = -2147483648, ratio = float32(0.1), added = "dflt",
      choice2 = 12345678901234 }, { id = r1.id, name = r1.name, count = r1.count, ratio = r1.ratio, added = r1.added,
      choice2 = r1.choice2 })
    assert.is_nil(r1.note)
    assert.is_nil(r1.choice1)
    local r2 = assert(run(framed(7, msgs[2])))
    assert.same({ "s", "n", 7, 1.5 }, { r2.choice1, r2.note, r2.count, r2.ratio })
    assert.equal(98765432109876, r2.id)
    assert.is_nil(r2.choice2)
    local r3 = assert(run(framed(7, msgs[3])))
    assert.same({ "", -3.25, "x" }, { r3.note, r3.ratio, r3.name })
    assert.is_nil(r3.choice1)
    assert.is_nil(r3.choice2)
    local r4 = assert(run(framed(8, msgs[4])))
    assert.same({ 5, "given", 0.1, 12 }, { r4.id, r4.added, r4.ratio, r4.choice2 })
  end)

  it("decodes logical types, enums, fixed, arrays, maps and nested records", function()
    local point = { type = "record", name = "Point", fields = { { name = "x", type = "int" },
      { name = "y", type = { "null", "double" } } } }
    local s = { type = "record", name = "l", fields = {
      { name = "ts3", type = { type = "long", logicalType = "timestamp-millis" } },
      { name = "ts6", type = { type = "long", logicalType = "timestamp-micros" } },
      { name = "day", type = { type = "int", logicalType = "date" } },
      { name = "tod", type = { type = "int", logicalType = "time-millis" } },
      { name = "todu", type = { type = "long", logicalType = "time-micros" } },
      { name = "amount", type = { type = "bytes", logicalType = "decimal", precision = 10, scale = 2 } },
      { name = "fx", type = { type = "fixed", name = "F4", size = 4, logicalType = "decimal", precision = 8, scale = 3 } },
      { name = "id", type = { type = "string", logicalType = "uuid" } },
      { name = "color", type = { type = "enum", name = "Color", symbols = { "RED", "GREEN" } } },
      { name = "raw", type = { type = "fixed", name = "F2", size = 2 } },
      { name = "blob", type = "bytes" },
      { name = "tags", type = { type = "array", items = { "null", "string" } } },
      { name = "attrs", type = { type = "map", values = "long" } },
      { name = "at", type = point },
      { name = "pts", type = { type = "array", items = "Point" } },
      { name = "maybe", type = { "null", "Point" } },
    } }
    local _, rel, run = setup(s, { [3] = s })
    local msg = py_encode({ { schema = s, datum = {
      ts3 = { ["$ts"] = "2024-01-02T03:04:05.678Z" }, ts6 = { ["$ts"] = "2024-01-02T03:04:05.678901Z" },
      day = { ["$date"] = "2024-01-02" }, tod = { ["$time"] = "01:02:03.456" }, todu = { ["$time"] = "01:02:03.456789" },
      amount = { ["$dec"] = "-1234.05" }, fx = { ["$dec"] = "-12.345" }, id = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
      color = "GREEN", raw = { ["$hex"] = "00ff" }, blob = { ["$hex"] = "" }, tags = { "a", cjson.null, "" },
      attrs = { k = -5 }, at = { x = 1, y = cjson.null }, pts = { { x = 2, y = 0.5 } }, maybe = cjson.null,
    } } })[1]
    local row = assert(run(framed(3, msg)))
    local rendered = {}
    for _, c in ipairs(rel.columns) do rendered[c.name] = types.render(c.type) end
    assert.same({ "timestamp(3)", "timestamp(6)", "date", "time", "numeric(10,2)", "numeric(8,3)", "uuid", "text", "bytea",
      "text list", "map[text=>bigint]" }, { rendered.ts3, rendered.ts6, rendered.day, rendered.tod, rendered.amount,
      rendered.fx, rendered.id, rendered.color, rendered.raw, rendered.tags, rendered.attrs })
    -- 2024-01-02T03:04:05.678Z is 1704164645678 ms after the epoch (date -u +%s%3N); 2024-01-02 is day 19724
    assert.equal(1704164645678000, row.ts3)
    assert.equal(1704164645678901, row.ts6)
    assert.equal(19724, row.day)
    assert.equal(((1 * 60 + 2) * 60 + 3) * 1000000 + 456000, row.tod)
    assert.equal(((1 * 60 + 2) * 60 + 3) * 1000000 + 456789, row.todu)
    assert.equal("-1234.05", row.amount)
    assert.equal("-12.345", row.fx)
    assert.equal("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", row.id)
    assert.equal("GREEN", row.color)
    assert.equal("\0\255", row.raw)
    assert.equal("", row.blob)
    assert.same({ "a", rows.null, "", n = 3 }, row.tags)
    assert.same({ k = -5 }, row.attrs)
    assert.same({ x = 1 }, row.at)
    assert.same({ { x = 2, y = 0.5 }, n = 1 }, row.pts)
    assert.is_nil(row.maybe)
  end)

  it("decodes a non-record key schema into one column", function()
    local d = assert(decode.new("avro", { schema = '"string"', default_name = "key", confluent = false }))
    local cols = d:relation_columns()
    assert.same({ "key", "text", true }, { cols[1][1], types.render(cols[1][2]), cols[1].not_null })
    local rel = assert(relation.new("k", cols))
    local b = ffi.gc(C.sg_batch_new(rel:c_schema(), 1), C.sg_batch_free)
    local r = C.sg_batch_push_row(b, 1, 1)
    assert(d:into(b, r, 0, py_encode({ { schema = "string", datum = "k-1" } })[1]))
    assert.equal("k-1", rows.get(b, r, 0, rel.columns[1].type))
  end)

  it("decodes a Debezium envelope in Avro and unpacks its before/after images into rows", function()
    local value = { type = "record", name = "Value", fields = { { name = "id", type = "long" },
      { name = "name", type = { "null", "string" } }, { name = "tags", type = { type = "array", items = "string" } } } }
    local env = { type = "record", name = "Envelope", namespace = "db.inv", fields = {
      { name = "before", type = { "null", value } }, { name = "after", type = { "null", "Value" } },
      { name = "source", type = { type = "record", name = "Source", fields = { { name = "lsn", type = { "null", "long" } } } } },
      { name = "op", type = "string" }, { name = "ts_ms", type = { "null", "long" } } } }
    local _, rel = setup(env, {})
    local shape = decode.avro_debezium(assert(decode.new("avro", { schema = cjson.encode(env) })):relation_columns())
    assert.same({ 1, 2, 4 }, { shape.before, shape.after, shape.op })
    local inner = assert(relation.new("v", shape.columns))
    local msg = py_encode({ { schema = env, datum = { before = { id = 1, name = "a", tags = { "x" } },
      after = { id = 1, name = cjson.null, tags = { "y", "z" } }, source = { lsn = 77 }, op = "u", ts_ms = 5 } } })[1]
    local d = assert(decode.new("avro", { schema = cjson.encode(env), fetch = function() return cjson.encode(env) end }))
    local eb = ffi.gc(C.sg_batch_new(rel:c_schema(), 2), C.sg_batch_free)
    local er = C.sg_batch_push_row(eb, 1, 1)
    assert(d:into(eb, er, 0, framed(4, msg)))
    local vb = ffi.gc(C.sg_batch_new(inner:c_schema(), 2), C.sg_batch_free)
    local rb, ra = C.sg_batch_push_row(vb, 1, -1), C.sg_batch_push_row(vb, 1, 1)
    assert(decode.unpack_record(eb, er, shape.before - 1, vb, rb, 0))
    assert(decode.unpack_record(eb, er, shape.after - 1, vb, ra, 0))
    local function get(r, i) return rows.get(vb, r, i - 1, inner.columns[i].type) end
    assert.same({ 1, "a", { "x", n = 1 } }, { get(rb, 1), get(rb, 2), get(rb, 3) })
    assert.same({ 1, { "y", "z", n = 2 } }, { get(ra, 1), get(ra, 3) })
    assert.is_nil(get(ra, 2))
    assert.equal("u", rows.get(eb, er, shape.op - 1, rel.columns[shape.op].type))
  end)

  it("rejects bad messages with a clear error instead of crashing", function()
    local s = { type = "record", name = "e", fields = { { name = "s", type = "string" }, { name = "n", type = "long" } } }
    local incompatible = { type = "record", name = "e", fields = { { name = "s", type = "long" } } }
    local _, _, run = setup(s, { [1] = s, [2] = incompatible })
    local good = py_encode({ { schema = s, datum = { s = "abc", n = 1 } } })[1]
    assert(run(framed(1, good)))
    local cases = {
      { framed(1, good .. "x"), "1 bytes left" },
      { framed(1, good:sub(1, 2)), "malformed Avro at byte" },
      { "\1" .. framed(1, good):sub(2), "magic byte" },
      { "\0\0", "shorter than the 5%-byte header" },
      { framed(1, "\200\1abc"), "length past the end" },
      { framed(2, "\2"), "cannot be read with the reader schema" },
      { framed(99, good), "fetching writer schema 99" },
      { framed(1, "\6\255\254\253\2"), "invalid UTF%-8" },
    }
    for _, c in ipairs(cases) do
      local got, err = run(c[1])
      assert.is_nil(got)
      assert.matches(c[2], err)
    end
  end)
end)
