-- sinkgate.dev.env — the embedded dev environment behind `sinkgate dev`:
-- librdkafka's mock cluster (in-process, on random loopback ports), the dev
-- Schema Registry, and a line-based control channel through which tests in
-- other processes inject faults. Nothing here is durable.
local socket = require "socket"
local core = require "sinkgate.core"
local http = require "sinkgate.dev.http"
local registry = require "sinkgate.dev.registry"
local log = require "sinkgate.util.log"

local C, ffi = core.C, core.ffi
local M = {}

-- Kafka protocol API keys, by name, for `request-errors`.
M.API_KEYS = {
  Produce = 0, Fetch = 1, ListOffsets = 2, Metadata = 3, OffsetCommit = 8, OffsetFetch = 9,
  FindCoordinator = 10, JoinGroup = 11, Heartbeat = 12, LeaveGroup = 13, SyncGroup = 14,
  ApiVersions = 18, CreateTopics = 19, DeleteTopics = 20, InitProducerId = 22,
  AddPartitionsToTxn = 24, AddOffsetsToTxn = 25, EndTxn = 26, TxnOffsetCommit = 28,
  DescribeConfigs = 32, AlterConfigs = 33, CreatePartitions = 37,
}

M.HELP = [[
control commands (one per line; each answers "ok …" or "error …"):
  ping                                  liveness
  info                                  the addresses, as key=value words
  request-errors API ERR [ERR …]        fail the next requests of API (name or number)
                                        with librdkafka errors (NOT_LEADER_FOR_PARTITION, 6, …)
  broker-down ID | broker-up ID         take a broker off or back on the network
  rtt ID MS                             add round-trip latency to a broker
  topic-create TOPIC PARTITIONS [RF]    create a topic with a partition count
  registry-fail COUNT STATUS            fail the next COUNT registry requests with STATUS
  registry-auth USER:PASSWORD | off     require basic auth on the registry
  shutdown                              stop the dev environment]]

local function err_code(s)
  local n = tonumber(s)
  if n then return n end
  local c = C.sg_kafka_err_code((s:gsub("^RD_KAFKA_RESP_ERR_", "")))
  return c ~= -9999 and c or nil
end

-- Runs one control command; returns the reply line. A bad command never
-- takes the environment down.
function M:command(line)
  local ok, reply = pcall(self.run_command, self, line)
  return ok and reply or ("error internal: " .. tostring(reply))
end

function M:run_command(line)
  local w = {}
  for word in line:gmatch("%S+") do w[#w + 1] = word end
  local cmd, c = w[1], self.cluster
  if cmd == "ping" then return "ok pong" end
  if cmd == "info" then
    return ("ok bootstrap.servers=%s registry.url=%s control=%s"):format(self.bootstrap, self.registry_url, self.control)
  end
  if cmd == "request-errors" and #w >= 3 then
    local api = M.API_KEYS[w[2]] or tonumber(w[2])
    if not api then return "error unknown API " .. w[2] end
    local errs = {}
    for i = 3, #w do
      errs[#errs + 1] = err_code(w[i])
      if not errs[#errs] then return "error unknown error name " .. w[i] end
    end
    C.sg_dev_push_request_errors(c, api, #errs, ffi.new("int[?]", #errs, errs))
    return ("ok %d error(s) queued for API %d"):format(#errs, api)
  end
  if (cmd == "broker-down" or cmd == "broker-up") and tonumber(w[2]) then
    if C.sg_dev_broker_set_up(c, tonumber(w[2]), cmd == "broker-up" and 1 or 0) ~= 0 then
      return "error no broker " .. w[2]
    end
    return "ok"
  end
  if cmd == "rtt" and tonumber(w[2]) and tonumber(w[3]) then
    return C.sg_dev_broker_set_rtt(c, tonumber(w[2]), tonumber(w[3])) == 0 and "ok" or ("error no broker " .. w[2])
  end
  if cmd == "topic-create" and w[2] and tonumber(w[3]) then
    if C.sg_dev_topic_create(c, w[2], tonumber(w[3]), tonumber(w[4] or 1), core.errbuf, core.ERRLEN) ~= 0 then
      return "error " .. core.err()
    end
    return "ok"
  end
  if cmd == "registry-fail" and tonumber(w[2]) and tonumber(w[3]) then
    for _ = 1, tonumber(w[2]) do table.insert(self.registry.failures, tonumber(w[3])) end
    return "ok"
  end
  if cmd == "registry-auth" and w[2] then
    self.registry.auth = w[2] ~= "off" and w[2] or nil
    return "ok"
  end
  if cmd == "shutdown" then
    self.stopping = true
    return "ok"
  end
  return "error unknown or malformed command (try: help)"
end

function M.start(opts)
  local self = setmetatable({ clients = {} }, { __index = M })
  local cluster = C.sg_dev_cluster_new(opts.brokers or 1, core.errbuf, core.ERRLEN)
  if cluster == nil then return nil, core.err() end
  self.cluster = ffi.gc(cluster, C.sg_dev_cluster_free)
  self.bootstrap = ffi.string(C.sg_dev_cluster_bootstraps(cluster))
  self.registry = registry.new({ auth = opts.registry_auth })
  local err
  self.registry_srv, err = http.listen("127.0.0.1", opts.registry_port or 0)
  if not self.registry_srv then return nil, "registry port: " .. tostring(err) end
  self.control_srv, err = http.listen("127.0.0.1", opts.control_port or 0)
  if not self.control_srv then return nil, "control port: " .. tostring(err) end
  local _, rport = self.registry_srv:getsockname()
  local _, cport = self.control_srv:getsockname()
  self.registry_url = "http://127.0.0.1:" .. rport
  self.control = "127.0.0.1:" .. cport
  return self
end

-- Shell lines a caller can source: SINKGATE_BROKERS, _REGISTRY, _CONTROL.
function M:env_text()
  return ("export SINKGATE_BROKERS=%s\nexport SINKGATE_REGISTRY=%s\nexport SINKGATE_CONTROL=%s\n"):format(
    self.bootstrap, self.registry_url, self.control)
end

local function serve_control_client(self, cl)
  cl:settimeout(0)
  local line, err, partial = cl:receive("*l")
  if line then
    cl:send(self:command(line) .. "\n")
  elseif err == "closed" then
    self.clients[cl] = nil
    cl:close()
  elseif partial and #partial > 0 then
    cl:settimeout(1)
    local rest = cl:receive("*l")
    if rest then cl:send(self:command(partial .. rest) .. "\n") end
  end
end

-- Serves registry and control requests until a signal or `shutdown`.
function M:loop()
  while not self.stopping and C.sg_sys_signal_pending() == 0 do
    local watch = { self.registry_srv, self.control_srv }
    for cl in pairs(self.clients) do watch[#watch + 1] = cl end
    local ready = socket.select(watch, nil, 0.2)
    for _, s in ipairs(ready or {}) do
      if s == self.registry_srv then
        http.serve_one(s, function(req)
          return self.registry:handle(req.method, req.path, req.headers, req.body)
        end)
      elseif s == self.control_srv then
        local cl = s:accept()
        if cl then self.clients[cl] = true end
      else
        serve_control_client(self, s)
      end
    end
  end
  for cl in pairs(self.clients) do cl:close() end
  self.registry_srv:close()
  self.control_srv:close()
  log.info("dev environment stopped")
end

-- Sends one control command to a running dev environment ("host:port").
function M.send(control, line)
  local host, port = control:match("^(.+):(%d+)$")
  if not host then return nil, "control address must be host:port" end
  local s, err = socket.connect(host, tonumber(port))
  if not s then return nil, "control " .. control .. ": " .. tostring(err) end
  s:settimeout(10)
  s:send(line .. "\n")
  local reply, rerr = s:receive("*l")
  s:close()
  if not reply then return nil, "control: " .. tostring(rerr) end
  return reply
end

return M
