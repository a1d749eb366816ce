-- Reference docs are generated from the code; examples must stay valid.
local helpers = require "helpers"

describe("docs and examples", function()
  it("docs/configuration.md and docs/cli.md match the code", function()
    local rc = os.execute("luajit tools/gen-docs.lua --check >/dev/null 2>&1")
    assert.is_true(rc == 0 or rc == true, "run `luajit tools/gen-docs.lua`")
  end)

  it("every example config passes check", function()
    local p = io.popen("ls examples/*.lua examples/*.yaml 2>/dev/null")
    local n = 0
    for f in p:lines() do
      n = n + 1
      local r = helpers.sinkgate("check " .. f)
      assert.equal(0, r.rc, f .. ": " .. r.err)
    end
    p:close()
    assert.is_true(n >= 3)
  end)
end)
