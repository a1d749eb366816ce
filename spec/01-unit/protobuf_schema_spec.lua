-- The Protobuf decoder's schema side and its error paths: the SQL mapping of
-- a descriptor, descriptor sets it refuses, registry schemas compiled by
-- protoc, the Confluent framing, and malformed messages (each an error with
-- a message, never a crash).
local fx = require "helpers.protobuf"
local pb = require "sinkgate.decode.protobuf"
local types = require "sinkgate.types"

local function column_types(d)
  local out = {}
  for _, c in ipairs(d.columns) do out[c[1]] = types.render(c[2]) .. (c.not_null and " not null" or "") end
  return out
end

local function varint(n)
  local out = {}
  repeat
    local b = n % 128
    n = math.floor(n / 128)
    out[#out + 1] = string.char(n > 0 and b + 128 or b)
  until n == 0
  return table.concat(out)
end

local function tag(field, wt) return varint(field * 8 + wt) end

describe("protobuf schema mapping", function()
  it("maps every field type as the reference does (and unsigned/maps beyond it)", function()
    local t = column_types(fx.decoder("sgtest.All"))
    assert.same({
      f_double = "double precision not null", f_float = "real not null", f_int32 = "integer not null",
      f_int64 = "bigint not null", f_uint32 = "uint4 not null", f_uint64 = "uint8 not null",
      f_sint32 = "integer not null", f_sint64 = "bigint not null", f_fixed32 = "uint4 not null",
      f_fixed64 = "uint8 not null", f_sfixed32 = "integer not null", f_sfixed64 = "bigint not null",
      f_bool = "boolean not null", f_string = "text not null", f_bytes = "bytea not null", f_enum = "text not null",
      f_msg = "record(a integer, b text, leaves record(z bigint, tags text list) list, leaf record(z bigint, tags text list))",
      r_packed = "integer list not null", r_unpacked = "bigint list not null", r_string = "text list not null",
      r_msg = "record(a integer, b text, leaves record(z bigint, tags text list) list, leaf record(z bigint, tags text list)) list not null",
      r_enum = "text list not null", r_double = "double precision list not null",
      m_str = "map[text=>bigint] not null",
      m_int = "map[text=>record(a integer, b text, leaves record(z bigint, tags text list) list, leaf record(z bigint, tags text list))] not null",
      m_bool = "map[text=>text] not null", o_text = "text not null", o_num = "bigint not null",
      o_msg = "record(a integer, b text, leaves record(z bigint, tags text list) list, leaf record(z bigint, tags text list))",
      opt_int = "integer not null", ts = "record(seconds bigint, nanos integer)", r_sint = "integer list not null",
      r_fixed = "uint8 list not null", m_u64 = "map[text=>text] not null", r_float = "real list not null",
      r_bool = "boolean list not null",
    }, t)
  end)

  it("keeps declaration order for columns", function()
    local d = fx.decoder("sgtest.All")
    assert.equal("f_double", d.columns[1][1])
    assert.equal("r_bool", d.columns[#d.columns][1])
    assert.equal(36, #d.columns)
  end)

  it("makes optional and oneof scalars nullable with optional = \"null\"", function()
    local t = column_types(fx.decoder("sgtest.All", { optional = "null" }))
    assert.equal("integer", t.opt_int)
    assert.equal("text", t.o_text)
    assert.equal("bigint", t.o_num)
    assert.equal("integer not null", t.f_int32)
    local p2 = column_types(fx.decoder("sgtest2.P2", { optional = "null" }))
    assert.equal("integer not null", p2.id) -- required: never NULL
    assert.equal("text", p2.name)
  end)

  it("gives a relation usable as a source's columns", function()
    local rel = assert(fx.decoder("sgtest.Inner"):relation("inner"))
    assert.equal("inner", rel.name)
    assert.equal(4, #rel.columns)
  end)

  it("refuses what it cannot map", function()
    local fds = fx.fds()
    local d, err = pb.new { descriptor_set = fds, message = "sgtest2.Rec" }
    assert.is_nil(d)
    assert.matches("recursive types are not supported: sgtest2.Rec", err, 1, true)
    d, err = pb.new { descriptor_set = fds, message = "sgtest2.WithGroup" }
    assert.is_nil(d)
    assert.matches("groups are not supported", err, 1, true)
    d, err = pb.new { descriptor_set = fds, message = "sgtest.Nope" }
    assert.is_nil(d)
    assert.matches('message "sgtest.Nope" not found', err, 1, true)
    d, err = pb.new { descriptor_set = "\255\255garbage", message = "sgtest.All" }
    assert.is_nil(d)
    assert.matches("not a FileDescriptorSet", err, 1, true)
    d, err = pb.new { descriptor_set = fds, message = "sgtest.All", optional = "maybe" }
    assert.is_nil(d)
    assert.matches("optional:", err, 1, true)
  end)

  it("accepts a leading dot in the message name and reads a descriptor set file", function()
    local d = assert(pb.from_file { descriptor_set = fx.work() .. "/all.fds", message = ".sgtest.Leaf" })
    assert.equal("sgtest.Leaf", d.message)
    local none, err = pb.from_file { descriptor_set = "/nonexistent.fds", message = "x.Y" }
    assert.is_nil(none)
    assert.matches("descriptor_set:", err, 1, true)
  end)
end)

describe("protobuf registry schemas", function()
  local one = [[
syntax = "proto3";
package shop;
import "google/protobuf/timestamp.proto";
message Order {
  int64 id = 1;
  string item = 2;
  google.protobuf.Timestamp at = 3;
  message Line { int32 qty = 1; }
  repeated Line lines = 4;
}
]]

  it("compiles .proto text with protoc and decodes framed messages", function()
    local d = assert(pb.from_registry(one))
    assert.equal("shop.Order", d.message)
    -- id = 7, item = "pen", lines = [{qty = 2}] after the header 0, id 42, indexes [0].
    local body = tag(1, 0) .. varint(7) .. tag(2, 2) .. varint(3) .. "pen" .. tag(4, 2) .. varint(2) .. tag(1, 0) .. varint(2)
    local got = assert(fx.decode(d, "\0\0\0\0\42\0" .. body))
    assert.same({ id = "7", item = "pen", lines = { { qty = "2" } } }, got)
    assert.equal(42, d:last_id())
    -- The long form of the index array ([0] as count 1, index 0) is accepted too.
    assert.truthy(fx.decode(d, "\0\0\0\0\42\2\0" .. body))
  end)

  it("refuses framing errors and other schemas' ids", function()
    local d = assert(pb.from_registry(one, { schema_id = 42 }))
    local got, err, code = fx.decode(d, "\0\0\0\0\43\0")
    assert.is_nil(got)
    assert.equal(-2, code)
    assert.matches("schema id 43", err, 1, true)
    got, err = fx.decode(d, "\1\0\0\0\42\0")
    assert.is_nil(got)
    assert.matches("wire header", err, 1, true)
    got, err = fx.decode(d, "\0\0\0")
    assert.is_nil(got)
    assert.matches("wire header", err, 1, true)
    got, err = fx.decode(d, "\0\0\0\0\42\2\2") -- indexes [1]: not the only message
    assert.is_nil(got)
    assert.matches("message index", err, 1, true)
    got, err = fx.decode(d, "\0\0\0\0\42\255")
    assert.is_nil(got)
    assert.matches("message%-index count", err)
    d:accept(43)
    assert.truthy(fx.decode(d, "\0\0\0\0\43\0"))
  end)

  it("requires exactly one message, as the reference does", function()
    local d, err = pb.from_registry('syntax = "proto3"; message A { int32 x = 1; } message B { int32 y = 1; }')
    assert.is_nil(d)
    assert.matches("exactly one message, it defines 2 (A, B)", err, 1, true)
    d, err = pb.from_registry('syntax = "proto3"; enum E { Z = 0; }')
    assert.is_nil(d)
    assert.matches("defines 0", err, 1, true)
  end)

  it("reports protoc's own error for invalid .proto text", function()
    local d, err = pb.from_registry('syntax = "proto3"; message A { int32 x = ; }')
    assert.is_nil(d)
    assert.matches("protoc rejected the schema: schema.proto:1", err, 1, true)
    d, err = pb.from_registry('syntax = "proto3"; message A { int32 x = 1; }', { protoc = "/nonexistent/protoc" })
    assert.is_nil(d)
    assert.matches("cannot run /nonexistent/protoc", err, 1, true)
  end)
end)

describe("protobuf malformed input", function()
  local d, p2
  setup(function()
    d = fx.decoder("sgtest.All")
    p2 = fx.decoder("sgtest2.P2")
  end)

  local function fails(dec, bytes, pattern)
    local got, err, code = fx.decode(dec, bytes)
    assert.is_nil(got)
    assert.equal(-1, code)
    assert.matches(pattern, err)
  end

  it("errors on truncated and overlong varints", function()
    fails(d, tag(3, 0) .. "\255", "truncated varint")
    fails(d, tag(3, 0) .. ("\255"):rep(11) .. "\1", "truncated varint")
    fails(d, "\255", "truncated tag")
  end)

  it("errors on bad lengths", function()
    fails(d, tag(14, 2) .. varint(10) .. "abc", "bad length")
    fails(d, tag(14, 2) .. ("\255"):rep(9) .. "\1", "bad length")
    fails(d, tag(18, 2) .. varint(1) .. "\128", "truncated packed varint")
    fails(d, tag(23, 2) .. varint(3) .. "abc", "truncated packed value")
  end)

  it("errors on wire types that do not match the field", function()
    fails(d, tag(14, 0) .. varint(1), "f_string: wire type varint, expected length%-delimited")
    fails(d, tag(3, 5) .. "\1\2\3\4", "f_int32: wire type fixed32, expected varint")
    fails(d, tag(1, 0) .. varint(1), "f_double: wire type varint, expected fixed64")
    fails(d, tag(17, 0) .. varint(1), "f_msg: wire type varint")
    fails(d, tag(3, 7) .. varint(1), "bad wire type 7")
    fails(d, tag(3, 3), "wire type start%-group")
  end)

  it("errors on bad field numbers and stray group ends", function()
    fails(d, "\0\1", "bad field number 0")
    fails(d, tag(5, 4), "unexpected end%-group")
    fails(d, tag(100, 3) .. tag(1, 0) .. varint(1), "group 100 is not closed")
    fails(d, tag(100, 3) .. tag(101, 4), "mismatched end%-group")
  end)

  it("limits nesting of unknown groups instead of recursing without bound", function()
    fails(d, tag(100, 3):rep(200), "nest deeper than")
  end)

  it("errors on invalid UTF-8 in strings and map keys", function()
    fails(d, tag(14, 2) .. varint(2) .. "\255a", "f_string: invalid UTF%-8")
    fails(d, tag(14, 2) .. varint(3) .. "\237\160\128", "invalid UTF%-8") -- a surrogate
    fails(d, tag(24, 2) .. varint(4) .. tag(1, 2) .. varint(2) .. "\192\128", "map key: invalid UTF%-8")
  end)

  it("errors on enum numbers the schema does not define (as the reference)", function()
    fails(d, tag(16, 0) .. varint(99), "f_enum: unknown enum value 99 of sgtest.Color")
  end)

  it("errors on a missing proto2 required field", function()
    fails(p2, tag(2, 2) .. varint(1) .. "x", "sgtest2.P2: missing required field id")
  end)

  it("errors inside nested messages and map entries too", function()
    fails(d, tag(17, 2) .. varint(2) .. tag(1, 0) .. "\255", "sgtest.Inner: truncated varint")
    fails(d, tag(25, 2) .. varint(2) .. tag(2, 0) .. varint(1), "value: wire type varint")
  end)

  it("decodes proto2 defaults and protobuf's last-one-wins rules", function()
    local got = assert(fx.decode(p2, tag(1, 0) .. varint(5)))
    assert.same({ id = "5", name = "anon", n = "-7", raw = "x:610162" .. "2263", level = "HIGH", d = "1.5", flag = true,
      big = "18446744073709551615", plain_level = "LOW", nums = {} }, got)
    -- A repeated scalar field: the last value wins; a repeated map key: the last entry wins.
    local all = assert(fx.decode(d, tag(3, 0) .. varint(1) .. tag(3, 0) .. varint(2)
      .. tag(24, 2) .. varint(5) .. tag(1, 2) .. varint(1) .. "k" .. tag(2, 0) .. varint(1)
      .. tag(24, 2) .. varint(5) .. tag(1, 2) .. varint(1) .. "k" .. tag(2, 0) .. varint(9)))
    assert.equal("2", all.f_int32)
    assert.same({ k = "9" }, all.m_str)
  end)

  it("refuses a batch whose columns do not match the message", function()
    local rel = assert(fx.decoder("sgtest.Leaf"):relation())
    local ffi = require("sinkgate.core").ffi
    local C = require("sinkgate.core").C
    local b = ffi.gc(C.sg_batch_new(rel:c_schema(), 1), C.sg_batch_free)
    local r = C.sg_batch_push_row(b, 1, 1)
    local ok, err = d:decode(b, r, 0, "")
    assert.is_nil(ok)
    assert.matches("has no room for the 36 fields", err, 1, true)
    local leaf = fx.decoder("sgtest.Leaf")
    local wrong = assert(require("sinkgate.relation").new("w", { { "z", "text" }, { "tags", "text list" } }))
    local b2 = ffi.gc(C.sg_batch_new(wrong:c_schema(), 1), C.sg_batch_free)
    ok, err = leaf:decode(b2, C.sg_batch_push_row(b2, 1, 1), 0, "")
    assert.is_nil(ok)
    assert.matches("column z does not have the type of field sgtest.Leaf.z", err, 1, true)
    assert.truthy(leaf:decode(b, r, 0, "")) -- its own relation fits
  end)
end)

describe("protobuf schema ids", function()
  local v1 = 'syntax = "proto3"; package s; message M { int64 id = 1; string name = 2; }'

  it("accepts another id whose schema defines the same message, refuses a changed one", function()
    local d = assert(pb.from_registry(v1, { schema_id = 1 }))
    local framed = "\0\0\0\0\2\0\8\5"
    local got, _, code = fx.decode(d, framed)
    assert.is_nil(got)
    assert.equal(-2, code)
    -- The same message under another id (e.g. re-registered in another subject), comments aside.
    assert.is_true(d:accept_schema(2, "// copy\n" .. v1))
    got = assert(fx.decode(d, framed))
    assert.equal("5", got.id)
    local ok, err = d:accept_schema(3, 'syntax = "proto3"; package s; message M { int64 id = 1; int32 name = 2; }')
    assert.is_nil(ok)
    assert.matches("schema id 3 defines s.M differently", err, 1, true)
    ok, err = d:accept_schema(4, 'syntax = "proto3"; package t; message M { int64 id = 1; }')
    assert.is_nil(ok)
    assert.matches('schema id 4: protobuf message "s.M" not found', err, 1, true)
  end)
end)
