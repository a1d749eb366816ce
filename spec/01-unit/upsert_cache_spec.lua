-- When kept UPSERT state files may be used (source/upsert_cache.lua): their
-- tag against the committed progress of a restart.
local cache = require "sinkgate.source.upsert_cache"
local cjson = require "cjson"

local function tag(over)
  local t = cjson.decode(cache.encode("orders", 1, { 0, 0 }, { 5, 7 }, nil))
  for k, v in pairs(over or {}) do t[k] = v end
  return t
end

describe("upsert_cache.match", function()
  it("goes on from the tag's offsets when they are at or below the committed ones", function()
    local at, nk = cache.match(tag(), "orders", 1, { 0, 0 }, { 5, 9 })
    assert.same({ 5, 7 }, at)
    assert.is_false(nk)
  end)

  it("reads a partition the tag does not know from its start offset", function()
    assert.same({ 5, 7, 2 }, (cache.match(tag(), "orders", 1, { 0, 0, 2 }, { 5, 7, 4 })))
  end)

  it("keeps the null-key error state of the tag", function()
    local t = cjson.decode(cache.encode("orders", 1, { 0 }, { 3 }, { partition = 0, offset = 2 }))
    local _, nk = cache.match(t, "orders", 1, { 0 }, { 3 })
    assert.same({ partition = 0, offset = 2 }, nk)
  end)

  for _, c in ipairs({
    { "no tag", nil, "hold no checkpoint" },
    { "ahead of the committed offsets", tag(), "ahead of the committed offsets %(partition 1: 7 > 6" },
    { "another topic", tag({ topic = "other" }), "hold topic other" },
    { "other metadata columns", tag({ flags = 3 }), "other metadata columns" },
    { "another boot", tag({ boot = "x" }), "before the machine restarted" },
    { "other start offsets", tag({ start = { 1, 0 } }), "other start offsets" },
    { "more partitions than the topic has", tag({ at = { 1, 1, 1 } }), "other partitions" },
  }) do
    it("refuses files with " .. c[1], function()
      local at, why = cache.match(c[2], "orders", 1, { 0, 0 }, { 5, 6 })
      assert.is_nil(at)
      assert.matches(c[3], why)
    end)
  end
end)
