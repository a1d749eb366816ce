-- spec helpers: run the sinkgate binary as a real process, start and stop
-- the dev environment (`sinkgate dev`) per suite, talk to its registry and
-- control channel over real sockets.
local socket = require "socket"
local http = require "socket.http"
local ltn12 = require "ltn12"
local cjson = require "cjson"

local M = {}

M.bin = os.getenv("SINKGATE_BIN") or "build/sinkgate"

function M.q(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function slurp(path)
  local f = io.open(path, "r")
  if not f then return "" end
  local s = f:read("*a")
  f:close()
  return s
end

function M.tmpname(suffix)
  local p = os.tmpname()
  os.remove(p)
  return p .. (suffix or "")
end

-- Writes content to a fresh temporary file and returns its path.
function M.write_tmp(content, suffix)
  local p = M.tmpname(suffix)
  local f = assert(io.open(p, "w"))
  f:write(content)
  f:close()
  return p
end

local function env_prefix(env)
  local parts = {}
  for k, v in pairs(env or {}) do parts[#parts + 1] = k .. "=" .. M.q(v) end
  table.sort(parts)
  return #parts > 0 and (table.concat(parts, " ") .. " ") or ""
end

-- Runs `sinkgate <args>`; returns { rc =, out =, err = }.
function M.sinkgate(args, env)
  local out, err = M.tmpname(".out"), M.tmpname(".err")
  local cmd = ("%s%s %s >%s 2>%s"):format(env_prefix(env), M.bin, args, out, err)
  local ok, _, code = os.execute(cmd)
  local rc = type(ok) == "number" and math.floor(ok / 256) or (ok and 0 or code)
  local res = { rc = rc, out = slurp(out), err = slurp(err) }
  os.remove(out)
  os.remove(err)
  return res
end

-- Starts `sinkgate <args>` in the background; returns its pid and log path.
function M.spawn(args, env)
  local log = M.tmpname(".log")
  local f = io.popen(("%s%s %s >%s 2>&1 & echo $!"):format(env_prefix(env), M.bin, args, log))
  local pid = tonumber(f:read("*l"))
  f:close()
  return pid, log
end

function M.alive(pid)
  local r = os.execute("kill -0 " .. pid .. " 2>/dev/null")
  return r == 0 or r == true
end

-- Waits up to `seconds` for pid to exit; returns true if it did.
function M.wait_exit(pid, seconds)
  local deadline = socket.gettime() + (seconds or 10)
  while socket.gettime() < deadline do
    if not M.alive(pid) then return true end
    socket.sleep(0.05)
  end
  return false
end

function M.read(path) return slurp(path) end

-- Starts a dev environment; returns { brokers, registry, control, pid, env }.
function M.dev_start(extra)
  local env_file = M.tmpname(".env")
  local pid, log = M.spawn("dev --env-file " .. env_file .. " " .. (extra or ""))
  local deadline = socket.gettime() + 15
  while socket.gettime() < deadline do
    local text = slurp(env_file)
    if text:match("SINKGATE_CONTROL=%S+") then
      local d = { pid = pid, log = log, env_file = env_file }
      d.brokers = text:match("SINKGATE_BROKERS=(%S+)")
      d.registry = text:match("SINKGATE_REGISTRY=(%S+)")
      d.control = text:match("SINKGATE_CONTROL=(%S+)")
      d.env = { SINKGATE_BROKERS = d.brokers, SINKGATE_REGISTRY = d.registry, SINKGATE_CONTROL = d.control }
      return d
    end
    if not M.alive(pid) then error("sinkgate dev exited: " .. slurp(log)) end
    socket.sleep(0.05)
  end
  error("sinkgate dev did not become ready: " .. slurp(log))
end

function M.dev_stop(d)
  if not d then return end
  os.execute("kill " .. d.pid .. " 2>/dev/null")
  if not M.wait_exit(d.pid, 10) then os.execute("kill -9 " .. d.pid .. " 2>/dev/null") end
  os.remove(d.log)
end

-- One control command; returns the reply line.
function M.ctl(d, line)
  local host, port = d.control:match("^(.+):(%d+)$")
  local s = assert(socket.connect(host, tonumber(port)))
  s:settimeout(10)
  s:send(line .. "\n")
  local reply = s:receive("*l")
  s:close()
  return reply
end

-- HTTP request; returns status, decoded JSON body (or raw text).
function M.http(method, url, body, headers)
  local out = {}
  headers = headers or {}
  if body then
    headers["content-type"] = headers["content-type"] or "application/vnd.schemaregistry.v1+json"
    headers["content-length"] = #body
  end
  local _, status = http.request({ method = method, url = url, headers = headers, sink = ltn12.sink.table(out),
    source = body and ltn12.source.string(body) or nil })
  local text = table.concat(out)
  local ok, decoded = pcall(cjson.decode, text)
  return status, ok and decoded or text
end

-- The last status line a run printed for a sink: { state, messages,
-- transactions, frontier }, or nil.
function M.final_status(out, sink)
  local last
  for name, state, messages, txns, frontier in out:gmatch("sink (%S+): (%a+)[^;\n]*; (%d+) messages in (%d+) transactions; frontier (%S+)") do
    if not sink or name == sink then
      last = { state = state, messages = tonumber(messages), transactions = tonumber(txns), frontier = tonumber(frontier) }
    end
  end
  return last
end

-- The messages of a topic, via `sinkgate tail`, decoded.
function M.tail(d, topic, extra)
  local r = M.sinkgate("tail " .. M.q(topic) .. " --timeout 5 " .. (extra or ""), d.env)
  assert(r.rc == 0, "tail failed: " .. r.err)
  local msgs = {}
  for line in r.out:gmatch("[^\n]+") do msgs[#msgs + 1] = cjson.decode(line) end
  return msgs, r
end

-- Messages produced by an independent client (see spec/helpers/produce.lua).
function M.produce(dev, topic, messages, opts)
  return require("helpers.produce").produce(dev, topic, messages, opts)
end

return M
