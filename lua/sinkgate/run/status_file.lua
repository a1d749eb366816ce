-- sinkgate.run.status_file — the status file `sinkgate run` rewrites every
-- second and `sinkgate status` reads. The file operations are in C
-- (core/sys/files.c): no shell, a private directory, a mkstemp file beside
-- the target renamed over it, and a target that is not a regular file
-- (device, FIFO, directory, symlink) is never replaced. A write that fails
-- is reported once (and again only when the reason changes), never every
-- second; the run goes on without it.
local core = require "sinkgate.core"
local json = require "sinkgate.util.json"
local log = require "sinkgate.util.log"
local secret = require "sinkgate.secret"

local C, ffi = core.C, core.ffi
local M = {}

local MAX_READ = 16 * 1024 * 1024

-- $SINKGATE_STATUS_DIR, used literally (spaces, `;`: only ever a path), or
-- a per-user directory under /tmp so that users never share one.
function M.dir()
  local d = os.getenv("SINKGATE_STATUS_DIR")
  if d and d ~= "" then return d end
  return "/tmp/sinkgate-status-" .. tostring(C.sg_sys_euid())
end

function M.pid()
  return tonumber(C.sg_sys_pid())
end

local W = {}
W.__index = W

-- A writer for `path` (--status-file), or for <dir>/<pid>.json in the
-- private status directory when path is nil (that file is removed at exit).
function M.open(path)
  local self = setmetatable({ path = path, owned = not path }, W)
  if not path then
    local dir = M.dir()
    self.path = dir .. "/" .. M.pid() .. ".json"
    if C.sg_sys_private_dir(dir, core.errbuf, core.ERRLEN) ~= 0 then
      self:warn("status directory " .. core.err())
      self.disabled = true
    end
  end
  return self
end

function W:warn(msg)
  if msg == self.last_error then return end
  self.last_error = msg
  log.err("sinkgate run: warning: status file not written: " .. msg)
end

-- Writes text; returns true, or nil, err (already reported).
function W:write(text)
  if self.disabled then return nil, self.last_error end
  if C.sg_sys_write_atomic(self.path, text, #text, core.errbuf, core.ERRLEN) ~= 0 then
    local err = core.err()
    self:warn(err)
    return nil, err
  end
  if self.last_error then
    log.info("status file %s written again", self.path)
    self.last_error = nil
  end
  self.written = true
  return true
end

-- Secret values scrubbed from every string of a status (an error text may
-- quote one), before encoding: the JSON stays well-formed.
local function scrub(v)
  if type(v) == "string" then return secret.redact(v) end
  if type(v) ~= "table" or getmetatable(v) then return v end
  for k, x in pairs(v) do v[k] = scrub(x) end
  return v
end

-- The status document of a run as JSON text: every sink's status() (also
-- what the HTTP endpoint serves on /status).
function M.text(sinks, started)
  local list = {}
  for i, s in ipairs(sinks) do list[i] = scrub(s:status()) end
  local doc = json.object({ "pid", "started", "updated", "sinks" },
    { pid = M.pid(), started = started, updated = tonumber(C.sg_sys_now_ms()), sinks = list })
  return json.encode(doc) .. "\n"
end

function W:write_sinks(sinks, started)
  return self:write(M.text(sinks, started))
end

-- At exit: the file in the status directory goes (the gateway is gone);
-- a --status-file stays with the final state.
function W:close()
  if self.owned and self.written then os.remove(self.path) end
end

-- Reads a status file: the document and its text, or nil, err.
function M.read(path)
  local buf = ffi.new("sg_buf[1]")
  local rc = C.sg_sys_read_small(path, MAX_READ, buf, core.errbuf, core.ERRLEN)
  local text = rc == 0 and ffi.string(buf[0].data, buf[0].len) or nil
  C.sg_buf_free(buf)
  if not text then return nil, core.err() end
  local ok, doc = pcall(json.decode, text)
  if not ok or type(doc) ~= "table" or type(doc.sinks) ~= "table" or type(doc.pid) ~= "number"
    or type(doc.updated) ~= "number" then
    return nil, path .. ": not a sinkgate status document"
  end
  return doc, text
end

-- The status files in the status directory (a missing directory: none).
function M.list()
  local dir = M.dir()
  local buf = ffi.new("sg_buf[1]")
  local rc = C.sg_sys_list_dir(dir, ".json", buf, core.errbuf, core.ERRLEN)
  local text = rc == 0 and buf[0].len > 0 and ffi.string(buf[0].data, buf[0].len) or ""
  C.sg_buf_free(buf)
  local files = {}
  for name in text:gmatch("[^\n]+") do files[#files + 1] = dir .. "/" .. name end
  table.sort(files)
  return files
end

return M
