-- Regenerates fuzz/seeds/{lua,yaml}/case-*.{lua,yaml} from the bad-input
-- table (spec/fixtures/bad_inputs.lua) and copies the examples, so the
-- fuzzers start from every shape the specs know. Run from the repo root:
--   luajit fuzz/make_seeds.lua
package.path = "spec/?.lua;" .. package.path
local fixtures = require "fixtures.bad_inputs"

local function write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

local n = 0
for i, c in ipairs(fixtures.cases) do
  if c.lua then write(("fuzz/seeds/lua/case-%03d.lua"):format(i), c.lua) n = n + 1 end
  if c.yaml then write(("fuzz/seeds/yaml/case-%03d.yaml"):format(i), c.yaml) n = n + 1 end
end
for _, ex in ipairs({ "quickstart.lua", "auction_avro.lua", "debezium_json.lua", "orders.yaml" }) do
  local f = assert(io.open("examples/" .. ex, "rb"))
  write("fuzz/seeds/" .. (ex:match("%.lua$") and "lua/" or "yaml/") .. "example-" .. ex, f:read("*a"))
  f:close()
  n = n + 1
end
print(("fuzz seeds: %d written"):format(n))
