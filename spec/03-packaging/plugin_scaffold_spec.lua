-- `sinkgate plugin new`, the rockspec template and the three ways a plugin
-- is found (plugins/ beside the config, SINKGATE_PLUGIN_PATH, a rock's
-- module path), through the real binary.
local helpers = require "helpers"
local scaffold = require "sinkgate.plugin.scaffold"

local ROOT = io.popen("pwd"):read("*l")

local function sh(cmd)
  local p = io.popen(cmd .. " 2>&1; echo \"rc=$?\"")
  local out = p:read("*a")
  p:close()
  return out, tonumber(out:match("rc=(%d+)%s*$"))
end

describe("sinkgate plugin new", function()
  local dir
  setup(function() dir = helpers.tmpname(".plugins") end)
  teardown(function() os.execute("rm -rf " .. helpers.q(dir)) end)

  for _, kind in ipairs(scaffold.KINDS) do
    it("scaffolds a " .. kind .. " plugin whose example passes check", function()
      local name = "my_" .. kind
      local r = helpers.sinkgate(("plugin new %s --kind %s --dir %s"):format(name, kind, helpers.q(dir)))
      assert.equal(0, r.rc, r.err)
      for _, f in ipairs({ "init.lua", "example.lua", "README.md", "spec/" .. name .. "_spec.lua",
        "sinkgate-plugin-" .. name .. "-scm-1.rockspec" }) do
        assert.is_not_nil(io.open(dir .. "/" .. name .. "/" .. f), f)
      end
      local out, rc = sh(("cd %s/%s && %s/%s check example.lua"):format(helpers.q(dir), name, ROOT, helpers.bin))
      assert.equal(0, rc, out)
      assert.matches("plugin " .. name .. " 0.1.0 (" .. kind .. ")", out, 1, true)
    end)
  end

  it("scaffolds a spec that passes under busted through sinkgate.testing", function()
    helpers.sinkgate(("plugin new my_fmt --kind format --dir %s"):format(helpers.q(dir)))
    -- SINKGATE_CORE (the ASan leg's, a relative path) would not resolve from the plugin's folder
    local out, rc = sh(("cd %s/my_fmt && env -u SINKGATE_CORE LUA_PATH='%s/lua/?.lua;%s/build/lua/?.lua;;' LUA_CPATH='%s/build/?.so;;' " ..
      "busted --lua=luajit spec/my_fmt_spec.lua"):format(helpers.q(dir), ROOT, ROOT, ROOT))
    assert.equal(0, rc, out)
    assert.matches("1 success / 0 failures", out, 1, true)
  end)

  it("shows a plugin's option table (its --help) and refuses an unknown one", function()
    local r = helpers.sinkgate("plugin show redact")
    assert.equal(0, r.rc, r.err)
    assert.matches("redact 1.0.0 (transform) from ./plugins/redact/init.lua", r.out, 1, true)
    assert.matches("  columns            list<string>         required. Columns to redact.", r.out, 1, true)
    assert.matches("One of: mask, hash, drop.", r.out, 1, true)
    assert.equal(1, helpers.sinkgate("plugin show nope").rc)
  end)

  it("refuses to overwrite and refuses bad names and kinds", function()
    helpers.sinkgate(("plugin new twice --dir %s"):format(helpers.q(dir)))
    assert.equal(1, helpers.sinkgate(("plugin new twice --dir %s"):format(helpers.q(dir))).rc)
    assert.equal(2, helpers.sinkgate("plugin new 'a-b'").rc)
    assert.equal(2, helpers.sinkgate("plugin new ok --kind nope").rc)
    assert.equal(2, helpers.sinkgate("plugin old x").rc)
  end)

  it("finds a plugin in SINKGATE_PLUGIN_PATH and as an installed rock's module", function()
    helpers.sinkgate(("plugin new found_me --dir %s"):format(helpers.q(dir)))
    local cfg = helpers.write_tmp([[
local sg = require "sinkgate"
local kafka = sg.kafka_connection { brokers = "127.0.0.1:9092" }
local rows = sg.source.table { columns = { { "id", "bigint" } }, updates = { { { id = 1 }, 1 } } }
sg.sink "s" { from = rows, into = { connection = kafka, topic = "t" }, envelope = "debezium",
  headers = sg.plugin "found_me" { greeting = "hi" } }
]], ".lua")
    local r = helpers.sinkgate("check " .. cfg, { SINKGATE_PLUGIN_PATH = dir })
    assert.equal(0, r.rc, r.err)
    assert.matches("from " .. dir .. "/found_me/init.lua", r.out, 1, true)
    -- what the rockspec's builtin build installs: sinkgate/plugins/found_me.lua
    local tree = dir .. "/tree/share/lua/5.1/sinkgate/plugins"
    os.execute(("mkdir -p %s && cp %s/found_me/init.lua %s/found_me.lua"):format(helpers.q(tree), helpers.q(dir),
      helpers.q(tree)))
    r = helpers.sinkgate("check " .. cfg, { LUA_PATH = dir .. "/tree/share/lua/5.1/?.lua;;" })
    os.remove(cfg)
    assert.equal(0, r.rc, r.err)
    assert.matches("from " .. tree .. "/found_me.lua", r.out, 1, true)
  end)

  it("ships a rockspec for each plugin of plugins/ listing every Lua file it has", function()
    for _, name in ipairs({ "cloudevents", "redact" }) do
      local text = helpers.read(("plugins/%s/sinkgate-plugin-%s-scm-1.rockspec"):format(name, name))
      local p = io.popen(("cd plugins/%s && ls *.lua"):format(name))
      for f in p:lines() do
        local mod = f == "init.lua" and ("sinkgate.plugins." .. name) or ("sinkgate.plugins." .. name .. "." ..
          f:gsub("%.lua$", ""))
        assert.matches(('["%s"] = "%s"'):format(mod, f), text, 1, true)
      end
      p:close()
    end
  end)
end)
