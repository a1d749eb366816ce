-- The line format of `sinkgate dev --produce` (sinkgate.dev.produce), on
-- files written here: what each line becomes, and the errors it gets.
local produce = require "sinkgate.dev.produce"

local function file(text)
  local p = os.tmpname()
  local f = assert(io.open(p, "wb"))
  f:write(text)
  f:close()
  return p
end

describe("dev --produce files", function()
  it("turns JSON lines into keys, values, headers and partitions", function()
    local p = file('# comment\n\n{"key": "k", "value": "v", "headers": {"b": "2", "a": null}, "partition": 3}\r\n'
      .. '{"value": null}\n{"key_b64": "AP8=", "value_b64": ""}')
    local msgs = assert(produce.read(p))
    os.remove(p)
    assert.equal(3, #msgs)
    assert.same({ key = "k", value = "v", headers = { { "a", nil }, { "b", "2" } }, partition = 3 }, msgs[1])
    assert.same({ key = false, value = false, headers = {} }, msgs[2]) -- no key, a tombstone
    assert.same({ key = "\0\255", value = "", headers = {} }, msgs[3])
  end)

  it("reads text files one value per line, keeping empty lines", function()
    local p = file("a\n\n# not a comment here\r\nlast")
    local msgs = assert(produce.read("text:" .. p))
    os.remove(p)
    local values = {}
    for i, m in ipairs(msgs) do values[i] = m.value end
    assert.same({ "a", "", "# not a comment here", "last" }, values)
    assert.is_false(msgs[1].key)
  end)

  it("names the file and line of the first bad line", function()
    local p = file('{"value": "ok"}\n{"value": 1}\n')
    local msgs, err = produce.read(p)
    assert.is_nil(msgs)
    assert.equal(p .. ":2: value must be a string or null (use value_b64 for raw bytes), not number", err)
    os.remove(p)
    assert.matches("No such file", select(2, produce.read("/nonexistent/x")))
    assert.equal("value_b64 must be base64 text", select(2, produce.parse_line('{"value_b64": "abc"}')))
    assert.equal("partition must be an integer >= 0", select(2, produce.parse_line('{"partition": 1.5}')))
  end)
end)
