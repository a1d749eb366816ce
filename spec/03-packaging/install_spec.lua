-- `make install` (what the rockspec's make build runs) installs every Lua
-- module, the core and a binary that works from the installed tree.
local helpers = require "helpers"

describe("make install", function()
  local dest
  setup(function()
    dest = helpers.tmpname(".dest")
    local rc = os.execute(("make -s install BUILD=build/pkg DESTDIR=%s PREFIX=/opt/sg > %s.log 2>&1"):format(dest, dest))
    assert.is_true(rc == 0 or rc == true, helpers.read(dest .. ".log"))
  end)
  teardown(function()
    os.execute("rm -rf " .. dest .. " " .. dest .. ".log")
  end)

  it("installs every Lua file of lua/ plus the generated cdef", function()
    local p = io.popen("cd lua && find . -name '*.lua'")
    local n = 0
    for f in p:lines() do
      n = n + 1
      assert.is_not_nil(io.open(dest .. "/opt/sg/share/lua/5.1/" .. f, "r"), f .. " not installed")
    end
    p:close()
    assert.is_true(n > 20)
    assert.is_not_nil(io.open(dest .. "/opt/sg/share/lua/5.1/sinkgate/cdef.lua", "r"))
    assert.is_not_nil(io.open(dest .. "/opt/sg/lib/lua/5.1/sinkgate_core.so", "r"))
  end)

  it("installs a binary that finds its modules beside itself", function()
    local out = io.popen(dest .. "/opt/sg/bin/sinkgate version 2>&1"):read("*a")
    assert.matches("^sinkgate %d", out)
  end)
end)
