-- fuzz/config_fuzz.lua — the Lua half of the config fuzz target
-- (fuzz/config_fuzz.c): one input through the whole config path, the way
-- `sinkgate check` takes it: loader.load_text, then plan.build. Returns nil
-- when the input ended in declarations or in clear errors, or a message
-- when something escaped (a Lua error: `sinkgate check` would exit 70) or
-- an error lacks its file:line. Also usable from plain LuaJIT:
--   luajit fuzz/config_fuzz.lua FILE…   (replays inputs, e.g. a crash)
local script = arg and arg[0] and arg[0]:match("config_fuzz%.lua$")
if script then -- replaying from the repo root under plain LuaJIT
  package.path = "lua/?.lua;build/lua/?.lua;" .. package.path
  package.cpath = "build/?.so;" .. package.cpath
end
local loader = require "sinkgate.config.loader"
local plan = require "sinkgate.plan"
local secret = require "sinkgate.secret"

local M = {}

local function traceback(e) return debug.traceback(tostring(e), 2) end

-- A config may loop forever or allocate without end (that is the user's
-- code, not a loader bug): an instruction budget stops the first. The JIT
-- is off meanwhile so the count hook fires in every loop.
local BUDGET = 2e6

function M.one(text, name)
  secret._reset()
  jit.off()
  debug.sethook(function() error("fuzz: instruction budget exhausted", 2) end, "", BUDGET)
  local ok, decls, errs = xpcall(loader.load_text, traceback, text, name, {})
  local problem
  if not ok then
    problem = "loader raised: " .. tostring(decls)
  elseif decls then
    local pok, plans, perrs = xpcall(plan.build, traceback, decls)
    if not pok then problem = "plan.build raised: " .. tostring(plans)
    elseif not plans then errs = perrs end
  end
  debug.sethook()
  jit.on()
  if problem then
    if problem:find("instruction budget exhausted", 1, true) then return nil end
    return problem
  end
  for _, e in ipairs(errs or {}) do
    if type(e) ~= "string" then return "error of type " .. type(e) end
    if e:find("instruction budget exhausted", 1, true) then return nil end
    -- YAML errors are sinkgate's own: always file:line first
    if name:match("%.yaml$") and not e:match("^" .. name:gsub("%p", "%%%0") .. ":%d+: ") then
      return "YAML error without file:line: " .. e
    end
  end
  return nil
end

if script then
  local failed = 0
  for _, path in ipairs(arg) do
    local f = assert(io.open(path, "rb"))
    local data = f:read("*a")
    f:close()
    local kind, text = data:byte(1) or 0, data:sub(2)
    local problem = M.one(text, kind % 2 == 0 and "fuzz.yaml" or "fuzz.lua")
    if problem then
      failed = failed + 1
      print(path .. ": " .. problem)
    end
  end
  os.exit(failed == 0 and 0 or 1)
end

return M
