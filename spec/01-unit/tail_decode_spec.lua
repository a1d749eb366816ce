-- sinkgate.tail_decode without a registry: the rows the CSV, TEXT, BYTES
-- and JSON source decoders make of a message, as tail prints them.
local cjson = require "cjson"
local tail_decode = require "sinkgate.tail_decode"

describe("tail with the sources' decoders", function()
  it("prints the row a source would ingest", function()
    local csv = assert(tail_decode.new { format = "csv", which = "value", topic = "t", csv = { header = { "a", "b" } } })
    assert.same({ a = "1", b = "x y" }, cjson.decode((assert(csv:decode('1,"x y"')))))
    local semi = assert(tail_decode.new { format = "csv", which = "value", topic = "t", csv = { columns = 2, delimiter = ";" } })
    assert.same({ column1 = "1", column2 = "2" }, cjson.decode((assert(semi:decode("1;2")))))
    local text = assert(tail_decode.new { format = "text", which = "key", topic = "t" })
    assert.same({ text = "héllo" }, cjson.decode((assert(text:decode("héllo")))))
    local json = assert(tail_decode.new { format = "json", which = "value", topic = "t" })
    assert.same({ data = { n = 1 } }, cjson.decode((assert(json:decode(' {"n": 1} ')))))
    local bytes = assert(tail_decode.new { format = "bytes", which = "value", topic = "t" })
    assert.same({ data = { 0, 1, 255 } }, cjson.decode((assert(bytes:decode("\0\1\255"))))) -- bytea: a byte array (semantics §4)
  end)

  it("reports what a source would count as undecodable", function()
    local csv = assert(tail_decode.new { format = "csv", which = "value", topic = "t", csv = { columns = 2 } })
    assert.equal("CSV record has 3 columns, expected 2", select(2, csv:decode("1,2,3")))
    local text = assert(tail_decode.new { format = "text", which = "value", topic = "t" })
    assert.matches("invalid UTF%-8 at byte 1", select(2, text:decode("a\255")))
    local json = assert(tail_decode.new { format = "json", which = "value", topic = "t" })
    assert.is_nil((json:decode("{")))
  end)

  it("cannot be made without what its format needs", function()
    assert.matches("no registry", select(2, tail_decode.new { format = "avro", which = "value", topic = "t" }))
    assert.matches("no registry", select(2, tail_decode.new { format = "protobuf", which = "key", topic = "t" }))
    assert.matches("csv needs columns", select(2, tail_decode.new { format = "csv", which = "value", topic = "t", csv = {} }))
    assert.matches("descriptor_set", select(2, tail_decode.new { format = "protobuf", which = "value", topic = "t",
      descriptor_set = "/nonexistent.fds", message = "a.B" }))
  end)
end)
