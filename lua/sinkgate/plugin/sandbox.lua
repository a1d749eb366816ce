-- sinkgate.plugin.sandbox — finding a plugin module and running it in its
-- own sandbox. A plugin runs without `--unsafe`: it gets the safe standard
-- library (as a config does) plus only the capabilities its descriptor
-- declares. The descriptor is known only once the module has returned it,
-- so io, os and ffi are gates checked when used (inside the plugin's
-- functions), not when the module loads.
--
-- Search order for sg.plugin "name" (first match wins):
--   1. plugins/ beside the config:   <config dir>/plugins/name/init.lua, …/plugins/name.lua
--      (a config in the plugin's own folder, e.g. its example, finds that folder)
--   2. SINKGATE_PLUGIN_PATH (':'-separated directories), same two shapes
--   3. installed rocks:               the Lua module sinkgate.plugins.name (package.path)
local core = require "sinkgate.core"
local rows = require "sinkgate.rows"

local M = {}

local SAFE = { "assert", "error", "ipairs", "next", "pcall", "select", "tonumber", "tostring", "type", "unpack",
  "xpcall", "rawget", "rawset", "rawequal", "setmetatable", "getmetatable" }

-- Pure modules any plugin may require (no file, process or memory access).
local PURE = { cjson = true, ["cjson.safe"] = true }

local function copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end

local function exists(path)
  local f = io.open(path, "r")
  if f then f:close() end
  return f ~= nil
end

local function dirname(path)
  return path:match("^(.*)/[^/]*$") or "."
end

-- The plugin's file and its folder, or nil and the places searched.
function M.find(name, config_dir)
  local dirs = {}
  if config_dir then dirs[#dirs + 1] = config_dir .. "/plugins" end
  -- a config inside the plugin's own folder (its example, its spec) finds it
  if config_dir and exists(config_dir .. "/init.lua") and (config_dir:match("([^/]+)/*$") == name
      or (config_dir == "." and (os.getenv("PWD") or ""):match("([^/]+)/*$") == name)) then
    dirs[#dirs + 1] = config_dir .. "/.."
  end
  for d in (os.getenv("SINKGATE_PLUGIN_PATH") or ""):gmatch("[^:]+") do dirs[#dirs + 1] = d end
  local tried = {}
  for _, d in ipairs(dirs) do
    for _, p in ipairs({ d .. "/" .. name .. "/init.lua", d .. "/" .. name .. ".lua" }) do
      if exists(p) then return p, dirname(p) end -- a folder plugin, or one file in its plugins/ folder
      tried[#tried + 1] = p
    end
  end
  local mod = "sinkgate.plugins." .. name
  local p = package.searchpath(mod, package.path)
  -- a rock installs sinkgate/plugins/name.lua (or name/init.lua) and its own
  -- modules (and shared object) in sinkgate/plugins/name/
  if p then return p, p:match("/init%.lua$") and dirname(p) or p:gsub("%.lua$", "") end
  tried[#tried + 1] = "module " .. mod .. " (installed rocks)"
  return nil, tried
end

-- A table whose fields are reachable only once `granted[cap]` is set.
local function gate(cap, lib, name, granted)
  return setmetatable({}, {
    __index = function(_, k)
      if not granted[cap] then
        error(("plugin %s: %s.%s: \"%s\" is not among its capabilities (declare capabilities = { \"%s\" })")
          :format(name, cap, tostring(k), cap, cap), 2)
      end
      return lib[k]
    end,
    __newindex = function() error("plugin " .. name .. ": " .. cap .. " is read-only", 2) end,
  })
end

-- The environment a plugin module (and its own submodules) runs in.
-- `granted` is filled from the descriptor once it is known.
function M.env(name, dir, granted, config_api)
  local env = {}
  for _, k in ipairs(SAFE) do env[k] = _G[k] end
  env.pairs = rows.pairs -- pairs(row) on a row view, as on a plain table
  env.string, env.table, env.math = copy(string), copy(table), copy(math)
  env.bit = rawget(_G, "bit") and copy(_G.bit)
  env.io = gate("io", io, name, granted)
  local os_gate = gate("os", os, name, granted)
  env.os = setmetatable({ time = os.time, clock = os.clock, date = os.date }, { __index = os_gate })
  env.ffi = gate("ffi", core.ffi, name, granted)
  local loaded = {}
  env.plugin = {
    name = name, dir = dir,
    -- A shared object beside the plugin (C through the FFI; status + error
    -- buffer, as the core's own functions).
    load_library = function(file)
      if not granted.ffi then
        error(("plugin %s: load_library needs the \"ffi\" capability"):format(name), 2)
      end
      if type(file) ~= "string" or file:find("/", 1, true) or file:find("..", 1, true) then
        error(("plugin %s: load_library takes a file name beside the plugin, got %s"):format(name, tostring(file)), 2)
      end
      return core.ffi.load(dir .. "/" .. file)
    end,
  }
  env.require = function(mod)
    if mod == "sinkgate" then return config_api end
    if PURE[mod] then return require(mod) end
    if mod == "ffi" and granted.ffi then return core.ffi end
    if loaded[mod] ~= nil then return loaded[mod] end
    -- the plugin's own modules, from its folder, in the same sandbox
    local path = type(mod) == "string" and mod:match("^[%w_%.]+$") and (dir .. "/" .. mod:gsub("%.", "/") .. ".lua")
    if path and exists(path) then
      local fn, err = loadfile(path)
      if not fn then error(err, 0) end
      setfenv(fn, env)
      loaded[mod] = fn(mod) or true
      return loaded[mod]
    end
    error(("plugin %s: require \"%s\": only \"sinkgate\", cjson and the plugin's own modules are available"):format(
      name, tostring(mod)), 2)
  end
  return setmetatable(env, {
    __index = function(_, k) error("plugin " .. name .. ": undefined global '" .. tostring(k) .. "'", 2) end,
    __newindex = function(_, k)
      error("plugin " .. name .. ": assignment to undeclared global '" .. tostring(k) .. "' (declare it local)", 2)
    end,
  })
end

-- Runs the plugin module at `path`; returns what it returned (the
-- descriptor) and its environment's grant table, or nil, message.
function M.run(name, path, dir, config_api)
  local fn, err = loadfile(path)
  if not fn then return nil, err end
  local granted = {}
  setfenv(fn, M.env(name, dir, granted, config_api))
  local ok, desc = pcall(fn, name)
  if not ok then return nil, tostring(desc) end
  return desc, granted
end

return M
