-- sinkgate.plugin.scaffold — the files of a new plugin (`sinkgate plugin
-- new NAME`): its descriptor with an option table, a config that uses it, a
-- busted spec through sinkgate.testing, a README and its rockspec
-- (sinkgate-plugin-NAME-scm-1.rockspec), one template per file.
local M = {}

-- The `new` function of each kind, as a starting point that works.
local BODY = {
  headers = [[
  -- headers: function(row) → { name = text, … } for every message
  new = function(opts)
    return function(row) return { greeting = opts.greeting } end
  end,]],
  partitioner = [[
  -- partitioner: function(row) → a u64 hash (partition = hash % count) or nil
  new = function(opts)
    local sg = require "sinkgate"
    return function(row) return sg.hash.crc32(opts.greeting .. tostring(row.id)) end
  end,]],
  format = [[
  -- format: encode(row, meta) → bytes [, headers]; meta = { time, op, topic, sink }
  new = function(opts)
    return {
      encode = function(row, meta) return opts.greeting .. " " .. tostring(row.id) .. " at " .. tostring(meta.time) end,
    }
  end,]],
  transform = [[
  -- transform: columns(columns, info) → the published columns; row(row) → a table of them
  new = function(opts)
    local names
    return {
      columns = function(columns)
        names = {}
        for i, c in ipairs(columns) do names[i] = c.name end
        return columns
      end,
      row = function(row)
        local out = {}
        for _, n in ipairs(names) do out[n] = row[n] end
        return out
      end,
    }
  end,]],
}

local USE = {
  headers = [[into = { connection = kafka, topic = "NAME" }, format = "json", headers = NAME { greeting = "hello" },]],
  partitioner = [[format = "json",
  into = { connection = kafka, topic = "NAME", partition_by = NAME { greeting = "hello" } },]],
  format = [[into = { connection = kafka, topic = "NAME" }, value_format = NAME { greeting = "hello" },
  key_format = "json",]],
  transform = [[into = { connection = kafka, topic = "NAME" }, format = "json", transform = NAME { greeting = "hello" },]],
}

M.KINDS = { "headers", "partitioner", "format", "transform" }

local function fill(text, vars)
  return (text:gsub("NAME", vars.name):gsub("KIND", vars.kind))
end

local INIT = [[
-- NAME — a KIND plugin for sinkgate (docs/plugins.md in sinkgate).
return {
  kind = "KIND",
  name = "NAME",
  version = "0.1.0",
  doc = "What NAME does, in one line.",
  options = {
    doc = "sg.plugin \"NAME\" { greeting = \"hello\" }",
    fields = {
      { "greeting", "string", default = "hello", check = "nonempty", doc = "A word it uses." },
    },
  },
  capabilities = {}, -- "io", "os", "ffi": only what it needs
BODY
}
]]

local EXAMPLE = [[
-- A config using NAME: `sinkgate check example.lua` lists the plugin.
local sg = require "sinkgate"
local kafka = sg.kafka_connection { brokers = sg.env("SINKGATE_BROKERS", "127.0.0.1:9092") }
local rows = sg.source.table {
  columns = { { "id", "bigint", not_null = true }, { "name", "text" } },
  keys = { { "id" } },
  updates = { { { id = 1, name = "a" }, 1 }, { { id = 2, name = "b" }, 2 } },
}
local NAME = sg.plugin "NAME"
sg.sink "NAME_out" {
  from = rows, key = { "id" }, envelope = "upsert",
  USE
}
]]

local SPEC = [[
-- busted spec for NAME: the exact messages the sink produces, no broker.
--   busted --lua=luajit spec/NAME_spec.lua   (sinkgate's lua/ on LUA_PATH)
local testing = require "sinkgate.testing"

describe("NAME", function()
  it("is used by example.lua and shapes its messages", function()
    local msgs = testing.render("example.lua", "NAME_out")
    assert.equal(2, #msgs)
    assert.same({ id = 1 }, testing.json(msgs[1].key))
    assert.equal(1, msgs[1].timestamp)
  end)
end)
]]

local README = [[
# NAME

A `KIND` plugin for sinkgate.

    local NAME = sg.plugin "NAME"
    USE

Options (checked by `sinkgate check`):

| option | type | default | description |
|---|---|---|---|
| `greeting` | string | `hello` | A word it uses. |

Found in `plugins/NAME/` beside a config, in a directory of `SINKGATE_PLUGIN_PATH`, or installed as the rock
`sinkgate-plugin-NAME` (`luarocks make`). Test: `busted --lua=luajit spec/NAME_spec.lua`.
]]

-- The rockspec template: the module sinkgate.plugins.NAME and its own
-- modules under sinkgate.plugins.NAME.* (where the loader looks for them).
function M.rockspec(name, modules)
  local lines = {}
  for _, m in ipairs(modules or { "init" }) do
    local mod = m == "init" and ("sinkgate.plugins." .. name) or ("sinkgate.plugins." .. name .. "." .. m)
    lines[#lines + 1] = ("    [%q] = %q,"):format(mod, m .. ".lua")
  end
  return (([[
rockspec_format = "3.0"
package = "sinkgate-plugin-NAME"
version = "scm-1"
source = { url = "git+https://example.invalid/sinkgate-plugin-NAME.git" }
description = {
  summary = "The NAME plugin for sinkgate.",
  license = "MIT",
}
-- sinkgate itself (the binary and its Lua modules) is installed separately.
dependencies = { "lua >= 5.1, < 5.2" }
build = {
  type = "builtin",
  modules = {
MODULES
  },
}
]]):gsub("NAME", name):gsub("MODULES", function() return table.concat(lines, "\n") end))
end

-- The files of a new plugin: { { relative path, text }, … }.
function M.files(name, kind)
  local vars = { name = name, kind = kind }
  local use = fill(USE[kind], vars)
  return {
    { "init.lua", fill(INIT, vars):gsub("BODY", function() return BODY[kind] end) },
    { "example.lua", fill(EXAMPLE, vars):gsub("USE", function() return use end) },
    { "spec/" .. name .. "_spec.lua", fill(SPEC, vars) },
    { "README.md", fill(README, vars):gsub("USE", function() return use end) },
    { "sinkgate-plugin-" .. name .. "-scm-1.rockspec", M.rockspec(name) },
  }
end

return M
