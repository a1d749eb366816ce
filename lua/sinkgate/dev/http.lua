-- sinkgate.dev.http — just enough HTTP/1.1 server for the dev registry:
-- one request per connection (Connection: close), bodies by Content-Length.
local socket = require "socket"
local json = require "sinkgate.util.json"

local M = {}

local REASON = { [200] = "OK", [401] = "Unauthorized", [404] = "Not Found", [409] = "Conflict",
  [422] = "Unprocessable Entity", [500] = "Internal Server Error", [503] = "Service Unavailable" }

function M.listen(host, port)
  local srv, err = socket.bind(host, port)
  if not srv then return nil, err end
  srv:settimeout(0)
  return srv
end

-- Reads one request from a connected client; nil, message on a bad one.
function M.read_request(c)
  c:settimeout(5)
  local line, err = c:receive("*l")
  if not line then return nil, err end
  local method, target = line:match("^(%u+)%s+(%S+)%s+HTTP/1%.[01]$")
  if not method then return nil, "bad request line" end
  local headers = {}
  while true do
    local h = c:receive("*l")
    if not h or h == "" then break end
    local k, v = h:match("^([^:]+):%s*(.-)%s*$")
    if k then headers[k:lower()] = v end
  end
  local body
  local n = tonumber(headers["content-length"] or "")
  if n and n > 0 then body = c:receive(n) end
  return { method = method, path = target, headers = headers, body = body }
end

function M.respond(c, status, tbl)
  local body = json.encode(tbl)
  c:send(("HTTP/1.1 %d %s\r\nContent-Type: application/vnd.schemaregistry.v1+json\r\n" ..
    "Content-Length: %d\r\nConnection: close\r\n\r\n%s"):format(status, REASON[status] or "Error", #body, body))
end

-- ---- h14: HTTPS (lua-sec), so the registry client's TLS options are tested ----
-- tls = { cert = PEM file, key = PEM file, ca = PEM file or nil }: with a
-- CA, clients must present a certificate it signed. Returns the listening
-- socket (accepted connections are wrapped in serve_one).
local tls_params = setmetatable({}, { __mode = "k" })

function M.listen_tls(host, port, tls)
  local ok, ssl = pcall(require, "ssl")
  if not ok then return nil, "HTTPS needs lua-sec (Debian package lua-sec)" end
  local params = { mode = "server", protocol = "any", certificate = tls.cert, key = tls.key,
    options = { "all", "no_sslv2", "no_sslv3", "no_tlsv1", "no_tlsv1_1" } }
  if tls.ca then params.cafile, params.verify = tls.ca, { "peer", "fail_if_no_peer_cert" } end
  local ctx, err = ssl.newcontext(params) -- certificate and key read (and checked) now, not per client
  if not ctx then return nil, "TLS: " .. tostring(err) end
  local srv
  srv, err = M.listen(host, port)
  if not srv then return nil, err end
  tls_params[srv] = ctx
  return srv
end

-- The TLS side of an accepted connection, or nil, why (a failed handshake:
-- no client certificate, an unknown CA, plain HTTP on the HTTPS port).
local function wrap(srv, c)
  local ctx = tls_params[srv]
  if not ctx then return c end
  local ssl = require "ssl"
  local s, err = ssl.wrap(c, ctx)
  if not s then c:close() return nil, err end
  s:settimeout(5)
  local ok, herr = s:dohandshake()
  if not ok then s:close() return nil, herr end
  return s
end
-- ---- end h14 ----

-- Accepts one pending connection and serves it with handler(req) → status, table.
function M.serve_one(srv, handler)
  local c = srv:accept()
  if not c then return end
  c = wrap(srv, c) -- h14
  if not c then return end
  local req, err = M.read_request(c)
  if req then
    M.respond(c, handler(req))
  elseif err ~= "closed" then
    M.respond(c, 400, { error_code = 400, message = tostring(err) })
  end
  c:close()
end

return M
