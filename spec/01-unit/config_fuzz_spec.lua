-- The config fuzz target's check (fuzz/config_fuzz.lua) over every seed and
-- every input a fuzz run once failed on (fuzz/seeds/regress), in-process:
-- the loader never raises, and YAML errors always start with file:line.
package.path = "fuzz/?.lua;" .. package.path
local fuzz = require "config_fuzz"

local function files(dir)
  local p = io.popen("ls " .. dir .. " 2>/dev/null")
  local out = {}
  for f in p:lines() do out[#out + 1] = dir .. "/" .. f end
  p:close()
  return out
end

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

describe("config fuzz seeds", function()
  it("all pass the fuzz target's check (YAML and Lua seeds, regressions)", function()
    local n, bad = 0, {}
    for _, p in ipairs(files("fuzz/seeds/yaml")) do
      n = n + 1
      local problem = fuzz.one(read(p), "fuzz.yaml")
      if problem then bad[#bad + 1] = p .. ": " .. problem end
    end
    for _, p in ipairs(files("fuzz/seeds/lua")) do
      n = n + 1
      local problem = fuzz.one(read(p), "fuzz.lua")
      if problem then bad[#bad + 1] = p .. ": " .. problem end
    end
    for _, p in ipairs(files("fuzz/seeds/regress")) do
      n = n + 1
      local data = read(p)
      local problem = fuzz.one(data:sub(2), data:byte(1) % 2 == 0 and "fuzz.yaml" or "fuzz.lua")
      if problem then bad[#bad + 1] = p .. ": " .. problem end
    end
    assert.same({}, bad)
    assert.is_true(n > 100)
  end)

  it("reports a loader that raises", function()
    local loader = require "sinkgate.config.loader"
    local real = loader.load_text
    loader.load_text = function() error("boom") end
    local problem = fuzz.one("x: 1", "fuzz.yaml")
    loader.load_text = real
    assert.matches("^loader raised: .*boom", problem)
  end)
end)
