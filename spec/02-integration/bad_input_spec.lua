-- Issue 9: every bad input a newcomer tried ends in a clear error with the
-- shape `file:line: key.path: message` and exit status 1 (usage: 2) —
-- never 70, which is reserved for sinkgate's own bugs. The cases live in
-- spec/fixtures/bad_inputs.lua.
local helpers = require "helpers"
local fixtures = require "fixtures.bad_inputs"

local results = {} -- case → result: the sweep below reuses the runs of the cases above

local function run_case(c)
  if results[c] then return results[c] end
  local path, secrets
  if c.lua or c.yaml then path = helpers.write_tmp(c.lua or c.yaml, c.lua and ".lua" or ".yaml") end
  path = path or c.file
  local args = c.cmd or "check"
  if c.secrets then
    secrets = helpers.write_tmp(c.secrets, ".secrets")
    args = args .. " --secrets " .. secrets
  end
  if c.args then args = args .. " " .. c.args end
  if c.e then args = args .. " -e " .. helpers.q(c.e) else args = args .. " " .. helpers.q(path) end
  local r = helpers.sinkgate(args, c.env)
  if path and path ~= c.file then os.remove(path) end
  if secrets then os.remove(secrets) end
  r.path = path
  r.first = r.err:match("^[^\n]*")
  results[c] = r
  return r
end

describe("bad input", function()
  assert.is_true(#fixtures.cases >= 60)

  for _, c in ipairs(fixtures.cases) do
    it(c[1], function()
      local r = run_case(c)
      assert.are_not.equal(70, r.rc, r.err)
      assert.equal(c.rc or 1, r.rc, r.err)
      assert.is_nil(r.err:find("stack traceback", 1, true), r.err)
      if c.err then
        local want = r.path .. ":" .. c.err
        assert.equal(want, r.first:sub(1, #want), "first line of stderr:\n" .. r.err)
        if not c.match_only then
          -- file:line: key.path: message, with a key path of option names, indices and quoted keys
          assert.matches("^.+:%d+: [%w_%.%[%]\"%- ()]+: .+$", r.first)
        end
      else
        assert.matches(c.match:gsub("FILE", (r.path or ""):gsub("%p", "%%%0")), r.first)
      end
    end)
  end

  it("odd but valid: run -e returning a table with a cycle prints it, status 0", function()
    local r = helpers.sinkgate("run -e " .. helpers.q("local t = {} t.t = t return t, 1"))
    assert.equal(0, r.rc, r.err)
    assert.matches("^table: 0x%x+\n1\n$", r.out)
  end)

  it("never ends in exit status 70 (internal error), over every case (" .. #fixtures.cases .. ")", function()
    local bad = {}
    for _, c in ipairs(fixtures.cases) do
      local r = run_case(c)
      if r.rc == 70 or r.err:find("internal error", 1, true) then bad[#bad + 1] = c[1] .. ": " .. r.first end
    end
    assert.same({}, bad)
  end)
end)
