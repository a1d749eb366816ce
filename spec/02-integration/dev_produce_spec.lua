-- `sinkgate dev --produce TOPIC=FILE` and the control command `produce`:
-- messages written by hand in a file, read back with `sinkgate tail`.
local helpers = require "helpers"
local cjson = require "cjson"

local SEED = table.concat({
  "# orders, written by hand",
  '{"key": "o1", "value": "{\\"qty\\":2}", "headers": {"trace-id": "t-1"}}',
  "",
  '{"key": "o2", "value": null}',
  '{"key_b64": "AP8=", "value_b64": "AQID", "partition": 2, "headers": [["h", "x"], ["h", null]]}',
  '{"value": "caf\\u00e9", "partition": 0}',
}, "\n") .. "\n"

local function values(msgs)
  local out = {}
  for _, m in ipairs(msgs) do out[#out + 1] = m.value end
  table.sort(out)
  return out
end

describe("sinkgate dev --produce", function()
  local dev, seed, text
  setup(function()
    seed = helpers.write_tmp(SEED, ".jsonl")
    text = helpers.write_tmp("first line\n\nthird line\r\n", ".txt")
    dev = helpers.dev_start("--topics orders:3 --produce orders=" .. helpers.q(seed) ..
      " --produce=lines=text:" .. helpers.q(text))
  end)
  teardown(function()
    helpers.dev_stop(dev)
    os.remove(seed)
    os.remove(text)
  end)

  it("seeds a topic at start-up with keys, values, tombstones, headers and partitions", function()
    assert.matches("%-%-produce orders: 4 message%(s%) produced to orders", helpers.read(dev.log))
    local msgs = helpers.tail(dev, "orders", "--key-format text --value-format auto")
    assert.equal(4, #msgs)
    local found = {}
    for _, m in ipairs(msgs) do found[m.key == cjson.null and "(null)" or m.key] = m end
    assert.same({ qty = 2 }, found.o1.value)
    assert.same({ { "trace-id", "t-1" } }, found.o1.headers)
    assert.equal(cjson.null, found.o2.value) -- a tombstone
    local raw
    for _, m in ipairs(msgs) do if type(m.key) == "table" then raw = m end end
    assert.same({ base64 = "AP8=" }, raw.key) -- not UTF-8: tail shows it as base64
    assert.equal(2, raw.partition)
    assert.equal("\1\2\3", raw.value)
    assert.same({ { "h", "x" }, { "h", cjson.null } }, raw.headers)
    assert.equal("café", found["(null)"].value)
    assert.equal(0, found["(null)"].partition)
  end)

  it("sends equal keys to one partition", function()
    assert.matches("^ok", helpers.ctl(dev, "produce orders " .. seed))
    local parts = {}
    for _, m in ipairs((helpers.tail(dev, "orders", "--key-format text"))) do
      if m.key == "o1" then parts[m.partition] = true end
    end
    local n = 0
    for _ in pairs(parts) do n = n + 1 end
    assert.equal(1, n)
  end)

  it("reads text files one value per line, empty lines included", function()
    assert.same({ "", "first line", "third line" }, values((helpers.tail(dev, "lines", "--value-format text"))))
  end)

  it("adds messages while running through the control channel and `dev --ctl`", function()
    local more = helpers.write_tmp('{"key": "late", "value": "v"}\n', ".jsonl")
    assert.equal("ok 1 message(s) produced to late", helpers.ctl(dev, "produce late " .. more))
    local r = helpers.sinkgate("dev --ctl " .. helpers.q("produce late text:" .. more), dev.env)
    assert.equal(0, r.rc, r.err)
    local msgs = helpers.tail(dev, "late", "--value-format text")
    os.remove(more)
    assert.same({ "v", '{"key": "late", "value": "v"}' }, values(msgs))
  end)

  it("refuses a bad file as a whole, naming the line", function()
    local bad = helpers.write_tmp('{"key": "a", "value": "1"}\n{"key": 5}\n', ".jsonl")
    local cases = {
      { bad, ":2: key must be a string or null" },
      { "/nonexistent/file", "No such file" },
    }
    for _, c in ipairs(cases) do
      assert.matches("^error .*" .. c[2]:gsub("%p", "%%%0"), helpers.ctl(dev, "produce refused " .. c[1]))
    end
    local lines = {
      { "[1]", "expected a JSON object" }, { "nope", "not JSON" },
      { '{"value": "x", "extra": 1}', 'unknown field "extra"' },
      { '{"value": "x", "value_b64": "eA=="}', "give value or value_b64, not both" },
      { '{"value_b64": "%%%"}', "value_b64 must be base64 text" },
      { '{"value": "x", "partition": -1}', "partition must be an integer >= 0" },
      { '{"value": "x", "headers": {"h": 1}}', "header h must be a string or null" },
      { '{"value": "x", "headers": [["h"]]}', "headers[1] must be a [name, value] pair" },
    }
    for _, c in ipairs(lines) do
      local f = helpers.write_tmp(c[1] .. "\n", ".jsonl")
      assert.matches(":1: " .. c[2]:gsub("%p", "%%%0"), helpers.ctl(dev, "produce refused " .. f))
      os.remove(f)
    end
    os.remove(bad)
    -- Nothing of the refused files was sent (the topic never came to exist).
    local r = helpers.sinkgate("tail refused --timeout 2", dev.env)
    assert.equal("", r.out)
    local p7 = helpers.write_tmp('{"value": "x", "partition": 7}\n', ".jsonl")
    assert.matches("^error orders: .*Unknown partition", helpers.ctl(dev, "produce orders " .. p7))
    os.remove(p7)
    assert.matches("^error usage: produce", helpers.ctl(dev, "produce onlytopic"))
    assert.matches("^error invalid topic name", helpers.ctl(dev, "produce a/b " .. seed))
  end)

  it("exits with a usage error on a malformed --produce, and 1 on a bad file", function()
    local r = helpers.sinkgate("dev --produce orders")
    assert.equal(2, r.rc)
    assert.matches("expected TOPIC=FILE", r.err)
    r = helpers.sinkgate("dev --produce orders=/nonexistent/file")
    assert.equal(1, r.rc)
    assert.matches("%-%-produce orders=/nonexistent/file: error", r.err)
  end)
end)
