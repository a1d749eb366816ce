-- sinkgate.source.upsert_cache — the files of an UPSERT source's state as a
-- verified cache (issue 12): the topic is the truth, the files only save
-- re-reading it after a restart.
--
-- The state lives in a kept store (state.open_kept) at
-- <state_dir>/<sink>/source-<name>.kept. Its writes are committed only at a
-- checkpoint, together with a tag saying what the state reflects: the
-- topic, the start offsets, the offsets read up to, the null-key error
-- state, the stored layout (flags) and the boot the files were written in.
-- A checkpoint is taken only where the state is exactly that of the tag:
-- after a sink's transaction committed its progress record, if nothing was
-- written since the record was made, and when a rebuild reaches its target.
--
-- After a restart the tag is compared with the committed progress: same
-- topic, layout, start offsets and boot, and at or below the committed
-- offsets in every partition. Then the state is kept and only what lies
-- between the tag and the committed offsets is read again; otherwise
-- (another topic or layout, a tag past the committed offsets because the
-- last transaction never committed, a reboot that may have lost unsynced
-- pages, no tag at all) the files are cleared and the state is rebuilt from
-- the start offsets, as without a cache.
local cjson = require "cjson.safe"
local core = require "sinkgate.core"
local state = require "sinkgate.state"

local C = core.C
local M = {}

local boot_id
local function boot()
  if not boot_id then
    local f = io.open("/proc/sys/kernel/random/boot_id")
    boot_id = f and f:read("*l") or "unknown"
    if f then f:close() end
  end
  return boot_id
end

local function list(t)
  local out = {}
  for i, v in ipairs(t or {}) do out[i] = v end
  return out
end

-- The tag of a state at offsets `at`.
function M.encode(topic, flags, start, at, null_key)
  return cjson.encode({ v = 1, boot = boot(), topic = topic, flags = flags, start = list(start), at = list(at),
    null_key = null_key and { null_key.partition, null_key.offset } or nil })
end

-- The directory of a source's kept state under the sink's base directory.
function M.dir(base, name)
  return ("%s/source-%s.kept"):format(base, (name:gsub("[^%w_%-%.]", "_")))
end

-- The kept store of a source, and its decoded tag (nil: none or
-- unreadable). Files another version cannot open are removed and opened
-- afresh. nil, err, busy when the directory cannot be used.
function M.open(dir)
  -- ours, mode 0700, and no symlink to somewhere else
  if C.sg_sys_private_dir(dir, core.errbuf, core.ERRLEN) ~= 0 then return nil, "state_dir: " .. core.err() end
  local st, tag, busy = state.open_kept(dir)
  if not st and not busy then
    state.remove(dir)
    st, tag, busy = state.open_kept(dir)
  end
  if not st then return nil, tag, busy end
  local t = tag ~= "" and cjson.decode(tag) or nil
  return st, type(t) == "table" and t.v == 1 and t or nil
end

-- Whether tag t fits the committed progress: the offsets to go on from
-- (a list by partition, at or below target) and the null-key state
-- ({ partition, offset } or false); else nil, why.
function M.match(t, topic, flags, start, target)
  if not t then return nil, "they hold no checkpoint" end
  if t.boot ~= boot() then return nil, "they were written before the machine restarted" end
  if t.topic ~= topic then return nil, ("they hold topic %s"):format(tostring(t.topic)) end
  if t.flags ~= flags then return nil, "they were stored with other metadata columns" end
  if type(t.at) ~= "table" or type(t.start) ~= "table" or #t.at > #target then
    return nil, "they hold other partitions"
  end
  local at = {}
  for p, to in ipairs(target) do
    local s, a = start[p] or 0, t.at[p] or (start[p] or 0)
    if (t.start[p] or s) ~= s then return nil, "they were built from other start offsets" end
    if type(a) ~= "number" or a < s then return nil, "they hold offsets before the start" end
    if a > to then
      return nil, ("they are ahead of the committed offsets (partition %d: %d > %d; the last transaction " ..
        "did not commit)"):format(p - 1, a, to)
    end
    at[p] = a
  end
  local nk = type(t.null_key) == "table" and { partition = t.null_key[1], offset = t.null_key[2] } or false
  return at, nk
end

return M
