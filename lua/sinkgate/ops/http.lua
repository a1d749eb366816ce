-- sinkgate.ops.http — the run's operations endpoint (/metrics, /health,
-- /ready, /status). The server is C (core/http/server.c) on its own
-- thread; this side builds the snapshot it serves — the exposition text,
-- the status JSON, readiness — and hands it over at most every
-- PUBLISH_MS from the run loop, so scrapes never wait on the loop and the
-- loop never waits on a scrape.
local core = require "sinkgate.core"
local metrics = require "sinkgate.ops.metrics"
local secret = require "sinkgate.secret"
local status_file = require "sinkgate.run.status_file"

local C, ffi = core.C, core.ffi
local M = {}

M.DEFAULT_LISTEN = "127.0.0.1:9644"
M.PUBLISH_MS = 500
-- /health fails when the loop has published nothing for this long.
M.STALE_MS = 30000

local S = {}
S.__index = S

-- listen "HOST:PORT"; auth nil or { username = "…", password = <secret or string> }.
-- Returns the server, or nil, err.
function M.start(listen, auth)
  local user, pass
  if auth then
    user = auth.username
    pass = auth.password
    if secret.is(pass) then
      local err
      pass, err = secret.reveal(pass)
      if not pass then return nil, "basic_auth.password: " .. err end
    end
  end
  local out = ffi.new("sg_http*[1]")
  if C.sg_http_start(listen, user, pass, M.STALE_MS, out, core.errbuf, core.ERRLEN) ~= 0 then
    return nil, core.err()
  end
  local h = ffi.gc(out[0], C.sg_http_stop)
  local port = tonumber(C.sg_http_port(h))
  local host = listen:match("^(.*):%d+$")
  return setmetatable({ h = h, listen = listen, port = port, url = ("http://%s:%d"):format(host, port),
    next_at = 0 }, S)
end

-- Every sink running or done (a run with no sink is not ready).
function M.ready(sinks)
  if #sinks == 0 then return false end
  for _, s in ipairs(sinks) do
    if s.state ~= "running" and s.state ~= "done" then return false end
  end
  return true
end

-- run = { sinks, started_ms, version, reloads }. Publishes when due or forced.
function S:publish(run, now, force)
  if not force and now < self.next_at then return end
  self.next_at = now + M.PUBLISH_MS
  local text = metrics.exposition(run, now)
  local status = status_file.text(run.sinks, run.started_ms)
  C.sg_http_publish(self.h, text, #text, status, #status, M.ready(run.sinks) and 1 or 0)
end

function S:stop()
  if self.h then
    C.sg_http_stop(ffi.gc(self.h, nil))
    self.h = nil
  end
end

return M
