-- sinkgate.sink.problems — the runtime errors of one sink, by kind (bad
-- rows, failing feed functions, partition_by and headers errors), so that
-- none is invisible: the first of each kind is logged at once with its
-- message ("file:line: …") and what was done about it; later ones are
-- summed into at most one line per kind every LOG_EVERY_MS; the status
-- (and so the status file) lists every kind with its count, its first and
-- its latest message.
local core = require "sinkgate.core"
local log = require "sinkgate.util.log"

local C = core.C
local M = {}
M.__index = M

M.LOG_EVERY_MS = 10000

function M.new(sink_name)
  return setmetatable({ sink = sink_name, kinds = {}, order = {} }, M)
end

-- One occurrence (n of them) of a problem of `kind`: message names where
-- and what, action says what happened to the data ("the row was dropped").
function M:note(kind, message, action, n)
  n = n or 1
  local k = self.kinds[kind]
  if not k then
    k = { count = 0, first = message, unlogged = 0, next_log = 0 }
    self.kinds[kind] = k
    self.order[#self.order + 1] = kind
  end
  k.count, k.last, k.action, k.unlogged = k.count + n, message, action, k.unlogged + n
  self.latest = message
  local now = tonumber(C.sg_sys_now_ms())
  if now < k.next_log then return end
  if k.unlogged == k.count then
    log.info("sink %s: %s: %s; %s", self.sink, kind, message, action)
  else
    log.info("sink %s: %s: %d more (%d in all), latest: %s; %s", self.sink, kind, k.unlogged, k.count, message, action)
  end
  k.unlogged, k.next_log = 0, now + M.LOG_EVERY_MS
end

-- Logs what the rate limit held back (at shutdown).
function M:flush()
  for _, kind in ipairs(self.order) do
    local k = self.kinds[kind]
    if k.unlogged > 0 then
      log.info("sink %s: %s: %d more (%d in all), latest: %s; %s", self.sink, kind, k.unlogged, k.count, k.last,
        k.action)
      k.unlogged = 0
    end
  end
end

-- The problems for the status: a list of { kind, count, first_error,
-- last_error, action } in order of first occurrence, or nil when none.
function M:report()
  if #self.order == 0 then return nil end
  local out = {}
  for i, kind in ipairs(self.order) do
    local k = self.kinds[kind]
    out[i] = { kind = kind, count = k.count, first_error = k.first, last_error = k.last, action = k.action }
  end
  return out
end

-- The latest message of any kind, for one-line status output.
function M:last_error()
  return self.latest and (self.latest:gsub("%s*\n%s*", " "))
end

return M
