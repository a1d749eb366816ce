-- sinkgate.core — the one place the C core is bound through the FFI.
-- Inside the sinkgate binary the core is linked in (ffi.C); under plain
-- LuaJIT (busted, LuaRocks) it is loaded from sinkgate_core.so.
local ffi = require "ffi"

ffi.cdef(require "sinkgate.cdef")

local function load_core()
  if pcall(function() return ffi.C.sg_core_version end) then return ffi.C end
  local path = os.getenv("SINKGATE_CORE") or package.searchpath("sinkgate_core", package.cpath)
  if not path then
    error("sinkgate: cannot find sinkgate_core.so (set SINKGATE_CORE or LUA_CPATH)", 0)
  end
  return ffi.load(path)
end

local C = load_core()
local ERRLEN = 1024
local errbuf = ffi.new("char[?]", ERRLEN)

local M = { C = C, ffi = ffi, ERRLEN = ERRLEN, errbuf = errbuf }

-- The message of the last failed core call that wrote into errbuf.
function M.err()
  return ffi.string(errbuf)
end

-- A C string array (const char **) from a Lua list; `keep` anchors the
-- strings for as long as the caller holds the returned array.
function M.strings(list)
  local arr = ffi.new("const char *[?]", #list + 1)
  local keep = {}
  for i, s in ipairs(list) do
    keep[i] = s
    arr[i - 1] = s
  end
  return arr, keep
end

function M.version()
  return ffi.string(C.sg_core_version()), ffi.string(C.sg_core_rdkafka_version())
end

return M
