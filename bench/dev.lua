-- bench/dev.lua — shared by the bench scripts: running a command, and a
-- `sinkgate dev` of their own (dofile'd, like bench/decode.lua).
local socket = require "socket"

local M = {}

-- A command's stdout and stderr.
function M.sh(cmd)
  local f = io.popen(cmd .. " 2>&1")
  local out = f:read("*a")
  f:close()
  return out
end

-- "LD_PRELOAD=<path> " for the malloc library bin links (tcmalloc, see the
-- Makefile's ALLOCATOR), or "" when it uses the C library's. Baselines run
-- with it, so a ratio compares sinkgate and raw librdkafka on the same
-- allocator rather than crediting sinkgate with the allocator's gain.
function M.allocator(bin)
  local path = M.sh("ldd " .. bin):match("lib%w*malloc[%w_]*%.so[%.%d]*%s+=>%s+(%S+)")
  return path and ("LD_PRELOAD=" .. path .. " ") or "", path
end

-- Starts `bin dev` with topics ("name:partitions,…") and waits for its
-- env file; returns the exported variables and a function that stops it.
function M.start(bin, topics)
  local env_file = os.tmpname()
  os.remove(env_file)
  local pid = tonumber(M.sh(("%s dev --env-file %s --topics %s > /dev/null 2>&1 & echo $!"):format(bin, env_file,
    topics)))
  for _ = 1, 100 do
    local f = io.open(env_file)
    local text = f and f:read("*a") or ""
    if f then f:close() end
    if text:find("SINKGATE_CONTROL") then
      local env = {}
      for k, v in text:gmatch("export (%S+)=(%S+)") do env[k] = v end
      return env, function() os.execute("kill " .. pid .. " 2>/dev/null") end
    end
    socket.sleep(0.1)
  end
  os.execute("kill " .. pid .. " 2>/dev/null")
  error("sinkgate dev did not start")
end

return M
