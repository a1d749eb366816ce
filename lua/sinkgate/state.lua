-- sinkgate.state — the Lua face of the keyed state store (core/state/store.c):
-- byte-string keys to byte-string values, in memory up to a bound and on
-- disk (LMDB, under a directory) beyond it. Stateful views keep their
-- per-key state here; the files are a cache that a restart rebuilds from
-- the input, so opening a store starts it empty. UPSERT sources open kept
-- stores instead (open_kept): their files are a cache verified by a tag.
--
--   local st = state.open(dir, mem_bound)   -- dir nil: memory only
--   st:get(k) → string | nil; st:put(k, v); st:del(k) → true | false
--   st:flush()  (commit disk writes; once per batch)   st:clear()   st:stats()
-- Failures of the store (disk full, a key too long for LMDB) raise: a view
-- cannot go on with state it could not keep.
local core = require "sinkgate.core"

local C, ffi = core.C, core.ffi
local M = {}
M.__index = M

local vp = ffi.new("const void *[1]")
local vlen = ffi.new("size_t[1]")

local function fail()
  error(core.err(), 0)
end

-- A store under dir (created if missing), or in memory only; nil, err
-- when the directory cannot be used.
function M.open(dir, mem_bound, map_size)
  local s = C.sg_state_open(dir, mem_bound or 64 * 1024 * 1024, map_size or 0, core.errbuf, core.ERRLEN)
  if s == nil then return nil, core.err() end
  return setmetatable({ s = ffi.gc(s, C.sg_state_close), dir = dir, bound = mem_bound }, M)
end

-- A kept store under dir (sg_state_open_kept: UPSERT sources): every key
-- on disk, and what an earlier run checkpointed is still there. Returns the
-- store and the tag of that checkpoint ("" when none); nil, err, busy when
-- it cannot be opened (busy: another process holds dir).
function M.open_kept(dir, map_size)
  local tag = ffi.new("sg_buf[1]")
  local s = C.sg_state_open_kept(dir, map_size or 0, tag, core.errbuf, core.ERRLEN)
  local t = tag[0].len > 0 and ffi.string(tag[0].data, tag[0].len) or ""
  C.sg_buf_free(tag)
  if s == nil then
    local err = core.err()
    return nil, err, err:sub(1, 5) == "busy:"
  end
  return setmetatable({ s = ffi.gc(s, C.sg_state_close), dir = dir, kept = true }, M), t
end

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- The directory of this process's state for a sink: <state_dir>/<sink>/,
-- holding one "<name>.<pid>.state" store per stateful view or UPSERT source
-- (path(base, name)). A process keeps to its own stores (an instance taking
-- over from another keeps away from the other's files); those of processes
-- that are gone are removed here. nil, err when it cannot be created.
function M.sink_dir(state_dir, sink_name)
  local base = state_dir .. "/" .. (sink_name or "sink"):gsub("[^%w_%-%.]", "_")
  if os.execute("mkdir -p " .. q(base) .. " 2>/dev/null") ~= 0 then return nil, "state_dir: cannot create " .. base end
  local buf = ffi.new("sg_buf[1]")
  if C.sg_sys_list_dir(base, ".state", buf, core.errbuf, core.ERRLEN) == 0 and buf[0].len > 0 then
    local me = tostring(C.sg_sys_pid())
    for name in ffi.string(buf[0].data, buf[0].len):gmatch("[^\n]+") do
      local pid = name:match("%.(%d+)%.state$")
      local f = pid and pid ~= me and io.open("/proc/" .. pid .. "/stat")
      if f then f:close() elseif pid and pid ~= me then os.execute("rm -rf " .. q(base .. "/" .. name)) end
    end
  end
  C.sg_buf_free(buf)
  return base
end

-- Removes a store's directory (files an older version wrote).
function M.remove(dir)
  os.execute("rm -rf " .. q(dir))
end

-- This process's store directory for name under base (M.sink_dir).
function M.path(base, name)
  return ("%s/%s.%d.state"):format(base, name:gsub("[^%w_%-%.]", "_"), C.sg_sys_pid())
end

function M:get(k)
  local rc = C.sg_state_get(self.s, k, #k, vp, vlen, core.errbuf, core.ERRLEN)
  if rc == 1 then return ffi.string(vp[0], vlen[0]) end
  if rc < 0 then fail() end
  return nil
end

function M:put(k, v)
  if C.sg_state_put(self.s, k, #k, v, #v, core.errbuf, core.ERRLEN) ~= 0 then fail() end
end

function M:del(k)
  local rc = C.sg_state_del(self.s, k, #k, core.errbuf, core.ERRLEN)
  if rc < 0 then fail() end
  return rc == 1
end

function M:flush()
  if C.sg_state_flush(self.s, core.errbuf, core.ERRLEN) ~= 0 then fail() end
end

-- Kept stores: commits what was written with tag (what the state reflects).
function M:checkpoint(tag)
  if C.sg_state_checkpoint(self.s, tag, #tag, core.errbuf, core.ERRLEN) ~= 0 then fail() end
end

-- Puts and deletes since opening: whether the state changed between two points.
function M:writes()
  local st = ffi.new("sg_state_stats")
  C.sg_state_stats_get(self.s, st)
  return tonumber(st.writes)
end

function M:clear()
  if C.sg_state_clear(self.s, core.errbuf, core.ERRLEN) ~= 0 then fail() end
end

-- { keys, keys_in_memory, keys_on_disk, bytes_in_memory, bytes_on_disk }
function M:stats()
  local st = ffi.new("sg_state_stats")
  C.sg_state_stats_get(self.s, st)
  local km, kd = tonumber(st.keys_mem), tonumber(st.keys_disk)
  return { keys = km + kd, keys_in_memory = km, keys_on_disk = kd, bytes_in_memory = tonumber(st.bytes_mem),
    bytes_on_disk = tonumber(st.bytes_disk) }
end

function M:close()
  if self.s then
    C.sg_state_close(ffi.gc(self.s, nil))
    self.s = nil
  end
end

return M
