-- The Protobuf decoder against an independent encoder: messages built and
-- serialized by Debian's python3-protobuf (every scalar type, packed and
-- unpacked repeated fields, nested and repeated messages, maps, enums,
-- oneof, proto3 optional, proto2 defaults, unknown fields, merged
-- concatenations), decoded by sinkgate and compared cell by cell with
-- Python's own reading of the same bytes.
local fx = require "helpers.protobuf"

describe("protobuf decoder vs python3-protobuf", function()
  local cases, dec, dec_null, dec_p2, dec_p2_null
  setup(function()
    cases = fx.cases()
    dec = fx.decoder("sgtest.All")
    dec_null = fx.decoder("sgtest.All", { optional = "null" })
    dec_p2 = fx.decoder("sgtest2.P2")
    dec_p2_null = fx.decoder("sgtest2.P2", { optional = "null" })
  end)

  local function decoder_for(c, null)
    if c.message == "sgtest2.P2" then return null and dec_p2_null or dec_p2 end
    return null and dec_null or dec
  end

  it("decodes every valid message exactly as Python reads it", function()
    local n = 0
    for _, c in ipairs(cases) do
      if not c.name:match("^mutation") then
        assert.is_true(c.ok, c.name .. ": python rejected a message it encoded")
        local got, err = fx.decode(decoder_for(c, false), fx.unhex(c.hex))
        assert(got, c.name .. ": " .. tostring(err))
        assert.same(c.expect, got, c.name)
        n = n + 1
      end
    end
    assert.is_true(n >= 240, "too few valid cases: " .. n)
  end)

  it("reads absent optional and oneof scalars as NULL with optional = \"null\"", function()
    local differ, p2_null = 0, 0
    for _, c in ipairs(cases) do
      if c.ok and not c.name:match("^mutation") then
        local got, err = fx.decode(decoder_for(c, true), fx.unhex(c.hex))
        assert(got, c.name .. ": " .. tostring(err))
        assert.same(c.expect_null, got, c.name)
        if c.message == "sgtest.All" and got.opt_int == nil then differ = differ + 1 end
        if c.message == "sgtest2.P2" and got.name == nil then p2_null = p2_null + 1 end
      end
    end
    assert.is_true(differ > 0, "no case had opt_int absent")
    assert.is_true(p2_null > 0, "no proto2 case had name absent")
  end)

  it("never crashes on mutated messages, and agrees with Python whenever both decode", function()
    local both, only_python, only_us, neither = 0, 0, 0, 0
    for _, c in ipairs(cases) do
      if c.name:match("^mutation") then
        local got = fx.decode(dec, fx.unhex(c.hex))
        if got and c.ok then
          assert.same(c.expect, got, c.name)
          both = both + 1
        elseif c.ok then
          only_python = only_python + 1
        elseif got then
          only_us = only_us + 1
        else
          neither = neither + 1
        end
      end
    end
    -- Python treats a known field with the wrong wire type as unknown and
    -- keeps unknown enum numbers; sinkgate reports both as errors.
    assert.is_true(both > 100 and neither > 100, ("both %d, neither %d"):format(both, neither))
    assert.is_true(only_us < 20, ("only sinkgate decoded %d mutations that Python rejected"):format(only_us))
    print(("\n    mutations: both decode %d, only python %d, only sinkgate %d, neither %d"):format(both, only_python,
      only_us, neither))
  end)
end)
