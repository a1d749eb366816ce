-- sinkgate.dev.env — the embedded dev environment behind `sinkgate dev`:
-- librdkafka's mock cluster (in-process, on random loopback ports), the dev
-- Schema Registry, and a line-based control channel through which tests in
-- other processes inject faults. Nothing here is durable.
local socket = require "socket"
local core = require "sinkgate.core"
local http = require "sinkgate.dev.http"
local produce = require "sinkgate.dev.produce"
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
  help                                  the command names
  ping                                  liveness
  info                                  the addresses, as key=value words
  request-errors API ERR [ERR …]        fail the next requests of API (name or number)
                                        with librdkafka errors (NOT_LEADER_FOR_PARTITION, 6, …)
  broker-down ID | broker-up ID         take a broker off or back on the network
  rtt ID MS                             add round-trip latency (0..60000 ms) to a broker
  topic-create TOPIC PARTITIONS [RF]    create a topic with 1..10000 partitions (RF 1..brokers)
  produce TOPIC FILE | TOPIC text:FILE  produce a file's messages (one per line: a JSON object
                                        {"key","value","headers","partition"}, or with text:
                                        each line a value); nothing is sent if a line is bad
  registry-fail COUNT STATUS            fail the next COUNT (1..1000) registry requests with
                                        HTTP STATUS (100..599)
  registry-auth USER:PASSWORD | off     require basic auth on the registry
  shutdown                              stop the dev environment]]

-- Bounds of control arguments: the mock asserts (aborting the process) or
-- allocates without limit on values beyond these.
M.MAX_PARTITIONS = 10000
M.MAX_RTT_MS = 60000
M.MAX_QUEUED = 1000

local function err_code(s)
  local n = s:match("^%-?%d+$") and tonumber(s)
  if n then return n >= -200 and n <= 200 and n or nil end
  local c = C.sg_kafka_err_code((s:gsub("^RD_KAFKA_RESP_ERR_", "")))
  return c ~= -9999 and c or nil
end

-- An integer argument within [lo, hi], or nil, message.
local function int_arg(w, what, lo, hi)
  local n = w and w:match("^%-?%d+$") and tonumber(w)
  if not n then return nil, ("%s must be an integer, not %s"):format(what, w and ("'" .. w .. "'") or "missing") end
  if n < lo or n > hi then return nil, ("%s must be %d..%d, not %s"):format(what, lo, hi, w) end
  return n
end

-- Kafka's rule for topic names: 1..249 of [a-zA-Z0-9._-], not "." or "..".
local function topic_arg(w)
  if not w then return nil, "TOPIC missing" end
  if #w > 249 or not w:match("^[%w._%-]+$") or w == "." or w == ".." then
    return nil, ("invalid topic name '%s' (1..249 of letters, digits, '.', '_', '-')"):format(w)
  end
  return w
end

-- name → { usage, minimum and maximum word count (command included), run }.
local COMMANDS = {}

COMMANDS.help = { "help", 1, 1, function()
  local names = {}
  for name in pairs(COMMANDS) do names[#names + 1] = name end
  table.sort(names)
  return "ok commands: " .. table.concat(names, " ")
end }
COMMANDS.ping = { "ping", 1, 1, function() return "ok pong" end }
COMMANDS.info = { "info", 1, 1, function(self)
  return ("ok bootstrap.servers=%s registry.url=%s control=%s"):format(self.bootstrap, self.registry_url, self.control)
end }
COMMANDS["request-errors"] = { "request-errors API ERR [ERR ...]", 3, 2 + M.MAX_QUEUED, function(self, w)
  local api = M.API_KEYS[w[2]] or (w[2]:match("^%d+$") and tonumber(w[2]))
  if not api or api > 100 then return "error unknown API " .. w[2] end
  local errs = {}
  for i = 3, #w do
    errs[#errs + 1] = err_code(w[i])
    if not errs[#errs] then return "error unknown error name " .. w[i] end
  end
  C.sg_dev_push_request_errors(self.cluster, api, #errs, ffi.new("int[?]", #errs, errs))
  return ("ok %d error(s) queued for API %d"):format(#errs, api)
end }
local function set_up(up)
  return function(self, w)
    local id, err = int_arg(w[2], "broker ID", 1, self.brokers)
    if not id then return "error " .. err end
    if C.sg_dev_broker_set_up(self.cluster, id, up) ~= 0 then return "error no broker " .. w[2] end
    return "ok"
  end
end
COMMANDS["broker-down"] = { "broker-down ID", 2, 2, set_up(0) }
COMMANDS["broker-up"] = { "broker-up ID", 2, 2, set_up(1) }
COMMANDS.rtt = { "rtt ID MS", 3, 3, function(self, w)
  local id, err = int_arg(w[2], "broker ID", 1, self.brokers)
  if not id then return "error " .. err end
  local ms
  ms, err = int_arg(w[3], "MS", 0, M.MAX_RTT_MS)
  if not ms then return "error " .. err end
  return C.sg_dev_broker_set_rtt(self.cluster, id, ms) == 0 and "ok" or ("error no broker " .. w[2])
end }
COMMANDS["topic-create"] = { "topic-create TOPIC PARTITIONS [RF]", 3, 4, function(self, w)
  local topic, err = topic_arg(w[2])
  if not topic then return "error " .. err end
  local n, rf
  n, err = int_arg(w[3], "PARTITIONS", 1, M.MAX_PARTITIONS)
  if not n then return "error " .. err end
  rf, err = int_arg(w[4] or "1", "RF", 1, self.brokers)
  if not rf then return "error " .. err end
  if C.sg_dev_topic_create(self.cluster, topic, n, rf, core.errbuf, core.ERRLEN) ~= 0 then
    return "error " .. core.err()
  end
  return "ok"
end }
COMMANDS.produce = { "produce TOPIC FILE | produce TOPIC text:FILE", 3, 3, function(self, w)
  local topic, err = topic_arg(w[2])
  if not topic then return "error " .. err end
  return self:produce(topic, w[3])
end }
COMMANDS["registry-fail"] = { "registry-fail COUNT STATUS", 3, 3, function(self, w)
  local count, err = int_arg(w[2], "COUNT", 1, M.MAX_QUEUED)
  if not count then return "error " .. err end
  local status
  status, err = int_arg(w[3], "STATUS", 100, 599)
  if not status then return "error " .. err end
  if #self.registry.failures + count > M.MAX_QUEUED then
    return ("error at most %d failures may be queued"):format(M.MAX_QUEUED)
  end
  for _ = 1, count do table.insert(self.registry.failures, status) end
  return "ok"
end }
COMMANDS["registry-auth"] = { "registry-auth USER:PASSWORD | off", 2, 2, function(self, w)
  if w[2] ~= "off" and not w[2]:find(":", 1, true) then return "error expected USER:PASSWORD or off" end
  self.registry.auth = w[2] ~= "off" and w[2] or nil
  return "ok"
end }
COMMANDS.shutdown = { "shutdown", 1, 1, function(self)
  self.stopping = true
  return "ok"
end }

-- Produces the messages of file `spec` (see sinkgate.dev.produce) to
-- topic; returns the reply line. The producer is made on first use.
function M:produce(topic, spec)
  local msgs, err = produce.read(spec)
  if not msgs then return "error " .. err end
  if not self.producer then
    self.producer, err = produce.producer(self.bootstrap)
    if not self.producer then return "error " .. err end
  end
  local n
  n, err = produce.send(self.producer, topic, msgs)
  if not n then return "error " .. topic .. ": " .. err end
  return ("ok %d message(s) produced to %s"):format(n, topic)
end

-- Runs one control command; returns the reply line. A bad command never
-- takes the environment down: arguments are checked before the mock sees
-- them, and anything else that raises becomes an "error internal" reply.
function M:command(line)
  local ok, reply = pcall(self.run_command, self, line)
  return ok and reply or ("error internal: " .. tostring(reply))
end

function M:run_command(line)
  local w = {}
  for word in line:gmatch("%S+") do w[#w + 1] = word end
  if not w[1] then return "error empty command (try: help)" end
  local c = COMMANDS[w[1]]
  if not c then return "error unknown command " .. w[1] .. " (try: help)" end
  if #w < c[2] or #w > c[3] then return "error usage: " .. c[1] end
  return c[4](self, w)
end

function M.start(opts)
  local self = setmetatable({ clients = {}, brokers = opts.brokers or 1 }, { __index = M })
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
  if opts.registry_tls then -- h14: the same registry over HTTPS as well
    self.registry_tls_srv, err = http.listen_tls("127.0.0.1", 0, opts.registry_tls)
    if not self.registry_tls_srv then return nil, "registry HTTPS: " .. tostring(err) end
    local _, tport = self.registry_tls_srv:getsockname()
    self.registry_https_url = "https://127.0.0.1:" .. tport
  end
  return self
end

-- Shell lines a caller can source: SINKGATE_BROKERS, _REGISTRY, _CONTROL.
function M:env_text()
  return ("export SINKGATE_BROKERS=%s\nexport SINKGATE_REGISTRY=%s\nexport SINKGATE_CONTROL=%s\n"):format(
    self.bootstrap, self.registry_url, self.control) ..
    (self.registry_https_url and ("export SINKGATE_REGISTRY_HTTPS=%s\n"):format(self.registry_https_url) or "") -- h14
end

M.MAX_LINE = 4096

-- Reads what a control client sent without ever blocking the loop (a
-- half-sent line waits in the client's buffer for the rest); a line longer
-- than MAX_LINE is refused and the client dropped, so no client can grow
-- the environment's memory.
local function serve_control_client(self, cl)
  cl:settimeout(0)
  local line, err, partial = cl:receive("*l")
  local pending = self.clients[cl]
  if line then
    self.clients[cl] = true
    cl:send(self:command((pending ~= true and pending or "") .. line) .. "\n")
    return
  end
  if partial and #partial > 0 then
    pending = (pending ~= true and pending or "") .. partial
    if #pending > M.MAX_LINE then
      cl:send(("error line longer than %d bytes\n"):format(M.MAX_LINE))
      err = "closed"
    else
      self.clients[cl] = pending
    end
  end
  if err == "closed" then
    self.clients[cl] = nil
    cl:close()
  end
end

-- Serves registry and control requests until a signal or `shutdown`.
function M:loop()
  while not self.stopping and C.sg_sys_signal_pending() == 0 do
    local watch = { self.registry_srv, self.control_srv, self.registry_tls_srv } -- h14: HTTPS last (may be nil)
    for cl in pairs(self.clients) do watch[#watch + 1] = cl end
    log.drain()
    local ready = socket.select(watch, nil, 0.2)
    for _, s in ipairs(ready or {}) do
      if s == self.registry_srv or (s == self.registry_tls_srv and s ~= nil) then
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
  if self.producer then -- before the cluster it sends to goes away
    local p = self.producer
    self.producer = nil
    C.sg_producer_free(ffi.gc(p, nil))
  end
  self.registry_srv:close()
  self.control_srv:close()
  if self.registry_tls_srv then self.registry_tls_srv:close() end -- h14
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
