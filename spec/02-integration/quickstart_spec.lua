-- `make run`'s quickstart (scripts/quickstart.sh) on a built tree: the topic
-- `orders` seeded by `sinkgate dev --produce`, read as an UPSERT source and
-- sunk exactly once to `orders-current`, input and output printed; then two
-- more messages and a second run that adds only their effect.
local cjson = require "cjson"

-- The JSON lines of the section whose title starts with `title` (each
-- section starts with a line "== title…").
local function section(out, title, nth)
  local lines, seen, inside = {}, 0, false
  for line in out:gmatch("[^\n]+") do
    if line:sub(1, 3) == "== " then
      inside = false
      if line:sub(4, 3 + #title) == title then
        seen = seen + 1
        inside = seen == (nth or 1)
      end
    elseif inside and line:sub(1, 1) == "{" then
      lines[#lines + 1] = cjson.decode(line)
    end
  end
  return lines
end

-- key → list of values (nil value: cjson.null) in topic order per partition.
local function by_key(msgs, field)
  local r = {}
  for _, m in ipairs(msgs) do
    local k = field and m.key[field] or m.key
    r[k] = r[k] or {}
    table.insert(r[k], m.value == cjson.null and "null" or (m.value.data or m.value).status or m.value)
  end
  return r
end

describe("make run's quickstart", function()
  local out, rc, secs
  setup(function()
    local t0 = os.time()
    local p = io.popen("sh scripts/quickstart.sh 2>&1; echo \"rc=$?\"")
    out = p:read("*a")
    p:close()
    secs = os.time() - t0
    rc = tonumber(out:match("rc=(%d+)%s*$"))
  end)

  it("exits 0 within 30 s on a built tree", function()
    assert.equal(0, rc, out)
    assert.is_true(secs < 30, "took " .. secs .. " s")
  end)

  it("prints the seeded input: every line of examples/data/orders.jsonl", function()
    local n = 0
    for line in io.lines("examples/data/orders.jsonl") do
      if line:match("^{") then n = n + 1 end
    end
    local input = section(out, "input: topic orders")
    assert.equal(n, #input)
    assert.same({ "placed", "null" }, by_key(input).o2)
  end)

  it("sinks the source's current state once: updates folded, the deleted key absent", function()
    local first = by_key(section(out, "output: sinkgate tail orders-current", 1), "key")
    assert.same({ o1 = { "shipped" }, o3 = { "placed" }, o4 = { "placed" } }, first)
  end)

  it("resumes from the committed offsets: the second run adds only the new messages' effect", function()
    local second = by_key(section(out, "output: sinkgate tail orders-current", 2), "key")
    assert.same({ o1 = { "shipped" }, o3 = { "placed", "null" }, o4 = { "placed" }, o5 = { "placed" } }, second)
  end)

  it("still shows the counter sink", function()
    assert.equal(5, #section(out, "output: sinkgate tail quickstart"))
  end)
end)
