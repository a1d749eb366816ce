-- sinkgate.plugin — `sg.plugin "name"` in a config: finds the plugin
-- (plugin/sandbox.lua), runs it in its sandbox, checks its descriptor,
-- registers it (plugin/registry.lua) and returns a constructor taking the
-- plugin's options, checked against the plugin's own option table:
--   headers = sg.plugin "tenant_headers" { tenant = "a" }
--   value_format = sg.plugin "cloudevents" { source = "/orders" }
-- Problems are reported like every config problem, "file:line: key.path:
-- message": a plugin that is missing or has a bad descriptor at the
-- sg.plugin line, bad options at the line that gives them.
local registry = require "sinkgate.plugin.registry"
local sandbox = require "sinkgate.plugin.sandbox"
local validate = require "sinkgate.config.validate"

local M = {}

local function fail(where, path, msg)
  error(("%s: %s: %s"):format(where, path, msg), 0)
end

-- What each kind's runtime object must look like; nil when it fits.
local SHAPE = {
  headers = function(rt) if type(rt) ~= "function" then return "new(opts) must return function(row)" end end,
  partitioner = function(rt) if type(rt) ~= "function" then return "new(opts) must return function(row)" end end,
  format = function(rt)
    if type(rt) ~= "table" or type(rt.encode) ~= "function" then
      return "new(opts) must return { encode = function(row, meta) … }"
    end
  end,
  transform = function(rt)
    if type(rt) ~= "table" or type(rt.row) ~= "function" then
      return "new(opts) must return { row = function(row) … [, columns = function(columns) … ] }"
    end
  end,
}

-- Loads (once per config) and checks the named plugin; returns its descriptor.
local function load(name, where, ctx, config_api)
  ctx.plugin_cache = ctx.plugin_cache or {}
  if ctx.plugin_cache[name] then return ctx.plugin_cache[name] end
  local path = "plugins." .. name
  local file, dir = sandbox.find(name, ctx.config_dir)
  if not file then
    fail(where, path, "plugin not found; looked for " .. table.concat(dir, ", "))
  end
  local raw, granted = sandbox.run(name, file, dir, config_api)
  if raw == nil then fail(where, path, "loading " .. file .. " failed: " .. tostring(granted)) end
  local desc, problems = registry.check(raw, path)
  if not desc then
    -- the descriptor's file:line when the key names one of its fields
    for i, p in ipairs(problems) do problems[i] = ("%s: %s (descriptor in %s)"):format(where, p, file) end
    error(table.concat(problems, "\n"), 0)
  end
  if desc.name ~= name then
    fail(where, path .. ".name", ("the descriptor in %s is named \"%s\", loaded as \"%s\""):format(file, desc.name,
      name))
  end
  if desc.builtin then fail(where, path, "a plugin cannot claim to be built in") end
  for _, c in ipairs(desc.capabilities) do granted[c] = true end
  desc.file, desc.dir = file, dir
  local ok, err = registry.register(desc)
  if not ok then fail(where, path, err) end
  ctx.plugins = ctx.plugins or {}
  ctx.plugins[#ctx.plugins + 1] = desc
  ctx.plugin_cache[name] = desc
  return desc
end

-- sg.plugin "name" → constructor(opts). `caller(level)` gives file:line.
function M.use(name, where, ctx, config_api, caller)
  if type(name) ~= "string" or not name:match("^[%w_%-]+$") then
    fail(where, "plugins", ("sinkgate.plugin expects a plugin name (letters, digits, '_', '-'), got %s"):format(
      type(name) == "string" and ("%q"):format(name) or type(name)))
  end
  local desc = load(name, where, ctx, config_api)
  if desc.kind == "source" and not registry.adapters.source then
    fail(where, "plugins." .. name, "source plugins are registered but not wired to sinks yet (see docs/plugins.md)")
  end
  return function(opts)
    local at = caller(2)
    local path = "plugins." .. name
    if opts ~= nil and (type(opts) ~= "table" or validate.kind_of(opts)) then
      fail(at, path, "expects a table of options, got " .. type(opts))
    end
    local errors = {}
    local o = validate.check_spec(desc.options, opts or {}, path, function() return at end, errors)
    if #errors > 0 then error(table.concat(errors, "\n"), 0) end
    if desc.kind == "source" then return registry.adapters.source(desc, o, at) end
    local ok, rt = pcall(desc.new, o)
    if not ok then fail(at, path, "new() failed: " .. tostring(rt)) end
    local bad = SHAPE[desc.kind](rt)
    if bad then fail(at, path, bad .. " (" .. desc.file .. ")") end
    if desc.kind == "headers" or desc.kind == "partitioner" then return rt end
    local obj = { kind = desc.kind, plugin = desc, opts = o, runtime = rt, where = at, path = path }
    validate.KIND[obj] = desc.kind
    return obj
  end
end

-- What `sinkgate check` prints per loaded plugin.
function M.describe(desc)
  local caps = #desc.capabilities > 0 and table.concat(desc.capabilities, ", ") or "none"
  return ("plugin %s %s (%s) from %s; capabilities: %s"):format(desc.name, desc.version, desc.kind, desc.file, caps)
end

return M
