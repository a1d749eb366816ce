-- The keyed state store (core/state/store.c through sinkgate.state): memory
-- up to the bound, disk beyond it, one place per key, against a plain Lua
-- table as the model under random puts, deletes and overwrites.
local state = require "sinkgate.state"
local random = math.random

local function tmpdir()
  local p = os.tmpname()
  os.remove(p)
  return p .. ".state"
end

local function rm(dir)
  os.execute("rm -rf '" .. dir .. "'")
end

describe("state store", function()
  it("keeps everything in memory below the bound", function()
    local st = assert(state.open(nil, 1048576))
    st:put("a", "1")
    st:put("b", "22")
    assert.equal("1", st:get("a"))
    assert.equal("22", st:get("b"))
    assert.is_nil(st:get("c"))
    st:put("a", "333")
    assert.equal("333", st:get("a"))
    assert.is_true(st:del("a"))
    assert.is_false(st:del("a"))
    assert.is_nil(st:get("a"))
    local s = st:stats()
    assert.equal(1, s.keys)
    assert.equal(0, s.keys_on_disk)
    assert.is_true(s.bytes_in_memory > 0)
  end)

  it("spills past the bound to disk and agrees with a model under random changes", function()
    local dir = tmpdir()
    math.randomseed(7)
    local st = assert(state.open(dir, 64 * 1024))
    local model = {}
    for i = 1, 20000 do
      local k = "key" .. random(1, 3000)
      local op = random(1, 10)
      if op <= 6 then
        local v = ("v%d:"):format(i) .. ("x"):rep(random(0, 200))
        st:put(k, v)
        model[k] = v
      elseif op <= 8 then
        assert.equal(model[k] ~= nil, st:del(k))
        model[k] = nil
      else
        assert.equal(model[k], st:get(k))
      end
      if i % 500 == 0 then st:flush() end
    end
    st:flush()
    local n = 0
    for k, v in pairs(model) do
      n = n + 1
      assert.equal(v, st:get(k))
    end
    local s = st:stats()
    assert.equal(n, s.keys)
    assert.is_true(s.keys_on_disk > 0, "some keys went to disk")
    assert.is_true(s.bytes_in_memory <= 64 * 1024, "memory stays under the bound: " .. s.bytes_in_memory)
    assert.is_true(s.bytes_on_disk > 0)
    st:close()
    rm(dir)
  end)

  it("starts empty over files an earlier run left (they are a cache)", function()
    local dir = tmpdir()
    local st = assert(state.open(dir, 0))
    st:put("k", "v")
    st:flush()
    assert.equal(1, st:stats().keys_on_disk)
    st:close()
    local again = assert(state.open(dir, 0))
    assert.is_nil(again:get("k"))
    assert.equal(0, again:stats().keys)
    again:put("k", "w")
    again:clear()
    assert.is_nil(again:get("k"))
    again:close()
    rm(dir)
  end)

  it("refuses a directory it cannot create", function()
    local st, err = state.open("/proc/nope/state", 0)
    assert.is_nil(st)
    assert.matches("cannot create /proc/nope/state", err)
  end)
end)
