-- The Avro → JSON decoder behind `sinkgate tail`: decimals as decimal
-- strings with the schema's scale, everything else as avro-c prints it
-- (checked on random rows of every type), errors instead of garbage.
local core = require "sinkgate.core"
local relation = require "sinkgate.relation"
local rows = require "sinkgate.rows"
local decode = require "sinkgate.avro.decode"
local random = require "helpers.random"
local cfg = require "helpers.config"
local cjson = require "cjson"

local C, ffi = core.C, core.ffi

-- "-0012.3400" → "-12.34"; "0.000" → "0".
local function norm(s)
  local sign, int, frac = s:match("^(%-?)(%d*)%.?(%d*)$")
  assert(int, "not a plain decimal: " .. s)
  int = int:gsub("^0+", "")
  frac = frac:gsub("0+$", "")
  local v = (int == "" and "0" or int) .. (frac ~= "" and ("." .. frac) or "")
  if v == "0" then return v end
  return sign .. v
end

local function encode_one(ty, v)
  local rel = assert(relation.new("t", { { "c", ty, not_null = true } }))
  local b = ffi.gc(C.sg_batch_new(rel:c_schema(), 1), C.sg_batch_free)
  local r = C.sg_batch_push_row(b, 1, 1)
  rows.set(b, r, 0, rel.columns[1].type, v)
  local buf = ffi.new("sg_buf[1]")
  assert(C.sg_encode_avro_row(b, 0, ffi.new("int[1]", 0), 1, -1, buf, core.errbuf, core.ERRLEN) == 0, core.err())
  local out = ffi.string(buf[0].data, buf[0].len)
  C.sg_buf_free(buf)
  return out
end

describe("Avro decoder", function()
  it("prints decimals as decimal strings with the schema's scale", function()
    local cases = {
      { "numeric(10,2)", "123.45", 2, "123.45" }, { "numeric(10,2)", "1", 2, "1.00" },
      { "numeric(10,2)", "-0.05", 2, "-0.05" }, { "numeric(10,0)", "-1", 0, "-1" },
      { "numeric(39,0)", "170141183460469231731687303715884105727", 0, "170141183460469231731687303715884105727" },
      { "numeric", "1e-39", 39, "0." .. ("0"):rep(38) .. "1" }, { "numeric(10,2)", "0", 2, "0.00" },
    }
    for _, c in ipairs(cases) do
      local bytes = encode_one(c[1], c[2])
      local schema = ('{"type":"record","name":"row","fields":[{"name":"c","type":{"type":"bytes",'
        .. '"logicalType":"decimal","precision":%d,"scale":%d}}]}'):format(c[1] == "numeric" and 81 or 39, c[3])
      local text = assert(decode.to_json(assert(decode.compile(schema)), bytes))
      assert.equal('{"c":"' .. c[4] .. '"}', text, c[1] .. " " .. c[2])
    end
    assert.equal("-128", decode.decimal("\128", 0))
    assert.equal("-0.01", decode.decimal("\255", 2))
    assert.equal("2.55", decode.decimal("\0\255", 2))
  end)

  it("agrees with avro-c on random rows of every type, and decimals match the values", function()
    local cols, colsrc = {}, {}
    -- The type strings, and the one record type of the first table entry
    -- (records inside lists and maps: spec/01-unit/tail_records_spec.lua).
    local record_seen = false
    for i, ty in ipairs(random.TYPES) do
      local record = type(ty) == "table" and ty.record ~= nil
      if type(ty) == "string" or (record and not record_seen) then
        record_seen = record_seen or record
        cols[#cols + 1] = { "n" .. i, ty }
        cols[#cols + 1] = { "c" .. i, ty, not_null = true }
      end
    end
    local rel = assert(relation.new("t", cols))
    for i, c in ipairs(cols) do
      local ty = type(c[2]) == "table"
        and [[{ record = { {"x","integer",not_null=true}, {"y","text"}, {"z","map[text=>bytea]"} }, name = "pt" }]]
        or ("%q"):format(c[2])
      colsrc[i] = ("{ %q, %s%s }"):format(c[1], ty, c.not_null and ", not_null = true" or "")
    end
    local plans = assert(cfg.plans(cfg.sink_config("{ " .. table.concat(colsrc, ", ") .. " }", "{}",
      [[envelope = "debezium", value_format = sg.avro { registry = csr }, key_format = "json", key = { "c1" }]])))
    local row_schema_t = cjson.decode(plans[1].avro.value).fields[1].type[2]
    local row_schema = cjson.encode(row_schema_t)
    local dec = assert(decode.compile(row_schema))
    local n = 80
    local b = ffi.gc(C.sg_batch_new(rel:c_schema(), n), C.sg_batch_free)
    local r = random.new(777)
    for _ = 1, n do
      local row = C.sg_batch_push_row(b, 1, 1)
      for ci, c in ipairs(rel.columns) do
        rows.set(b, row, ci - 1, c.type, (c.nullable and r.chance(0.25)) and nil or random.value(r, c.type))
      end
    end
    local all = ffi.new("int[?]", #rel.columns)
    for i = 0, #rel.columns - 1 do all[i] = i end
    local buf, ref = ffi.new("sg_buf[1]"), ffi.new("sg_buf[1]")
    local decimals = 0
    for row = 0, n - 1 do
      buf[0].len, ref[0].len = 0, 0
      assert.equal(0, C.sg_encode_avro_row(b, row, all, #rel.columns, -1, buf, core.errbuf, core.ERRLEN))
      local bytes = ffi.string(buf[0].data, buf[0].len)
      assert.equal(0, C.sg_avro_decode_json(row_schema, #row_schema, bytes, #bytes, ref, core.errbuf, core.ERRLEN))
      local theirs = cjson.decode(ffi.string(ref[0].data, ref[0].len))
      local text, derr = decode.to_json(dec, bytes)
      assert.is_string(text, derr)
      local mine = cjson.decode(text)
      for ci, f in ipairs(row_schema_t.fields) do
        local t = type(f.type) == "table" and f.type[1] == "null" and f.type[2] or f.type
        local a, z = mine[f.name], theirs[f.name]
        if type(t) == "table" and t.logicalType == "decimal" then
          local v = a ~= cjson.null and (type(a) == "table" and a.bytes or a) or nil
          local want = rows.get(b, row, ci - 1, rel.columns[ci].type)
          if want == nil then
            assert.equal(cjson.null, a)
          else
            decimals = decimals + 1
            if tostring(want):find("[eE]") then
              assert.near(tonumber(want), tonumber(v), math.abs(tonumber(want)) * 1e-12 + 1e-300)
            else
              assert.equal(norm(tostring(want)), norm(v), f.name .. " row " .. row)
            end
          end
        elseif t == "bytes" or (type(t) == "string" and t:find(".", 1, true)) or (type(t) == "table" and (t.type == "fixed" or t.type == "bytes"
          or t.type == "map" or t.type == "record")) then
          -- avro-c prints bytes through jansson, which drops invalid UTF-8:
          -- no reference for these beyond the shape.
          assert.equal(type(z), type(a), f.name)
        else
          assert.same(z, a, f.name .. " row " .. row)
        end
      end
    end
    assert.is_true(decimals > 100)
    C.sg_buf_free(buf)
    C.sg_buf_free(ref)
  end)

  it("reports truncated or trailing data instead of printing garbage", function()
    local dec = assert(decode.compile('{"type":"record","name":"r","fields":[{"name":"a","type":"long"},'
      .. '{"name":"s","type":"string"}]}'))
    assert.equal('{"a":-1,"s":"hi"}', decode.to_json(dec, "\1\4hi"))
    local v, err = decode.to_json(dec, "\1\10hi")
    assert.is_nil(v)
    assert.matches("truncated data", err)
    v, err = decode.to_json(dec, "\1\4hi!")
    assert.is_nil(v)
    assert.matches("1 trailing bytes", err)
    assert.equal('{"a":9223372036854775807,"s":""}', decode.to_json(dec, "\254\255\255\255\255\255\255\255\255\1\0"))
    v, err = decode.compile("{nope")
    assert.is_nil(v)
    assert.matches("invalid schema JSON", err)
  end)
end)
