-- Builds sink plans from a Lua config text, for unit specs.
local loader = require "sinkgate.config.loader"
local plan = require "sinkgate.plan"
local helpers = require "helpers"

local M = {}

-- Returns plans or nil, problems (paths of the temp file replaced by FILE).
function M.plans(text)
  local path = helpers.write_tmp(text, ".lua")
  local decls, errs = loader.load(path)
  local plans
  if decls then plans, errs = plan.build(decls) end
  os.remove(path)
  if errs then
    for i, e in ipairs(errs) do errs[i] = e:gsub(path:gsub("%p", "%%%0"), "FILE") end
  end
  return plans, errs
end

-- A config with one table source of the given columns/keys and one sink.
function M.sink_config(columns, keys, sink_fields, extra)
  return ([[
local sg = require "sinkgate"
local kafka = sg.kafka_connection { brokers = "127.0.0.1:1" }
local csr = sg.registry_connection { url = "http://127.0.0.1:1" }
local t = sg.source.table { name = "t", columns = %s, keys = %s }
%s
sg.sink "s" { from = t, into = { connection = kafka, topic = "out" }, %s }
]]):format(columns, keys or "{}", extra or "", sink_fields)
end

return M
