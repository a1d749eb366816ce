-- sinkgate.sink.topics — creating the data and progress topics when a sink
-- starts without progress. One place for the Admin API and its fallback:
-- a broker without a usable Admin API (the dev broker) is told about once
-- per connection, and auto-creation takes over.
local core = require "sinkgate.core"
local log = require "sinkgate.util.log"

local C = core.C
local M = {}

local no_admin = setmetatable({}, { __mode = "k" }) -- connection → true once seen

-- Ensures topic exists; returns true, or nil, message, hard (hard: a
-- permanent broker error such as an invalid replication factor, partition
-- count or config, or missing authorization: retrying cannot help).
function M.ensure(conn_decl, conf, topic, partitions, replication, config)
  if no_admin[conn_decl] then return true end
  local names, values = {}, {}
  for k, v in pairs(config or {}) do
    names[#names + 1] = k
    values[#values + 1] = v
  end
  local ck, keep1 = core.strings(conf.keys)
  local cv, keep2 = core.strings(conf.values)
  local cn, keep3 = core.strings(names)
  local cval, keep4 = core.strings(values)
  local rc = C.sg_kafka_ensure_topic(ck, cv, #conf.keys, topic, partitions or -1, replication or -1, cn, cval,
    #names, conn_decl.opts.admin_timeout, core.errbuf, core.ERRLEN)
  local _ = { keep1, keep2, keep3, keep4 }
  if rc == 1 then
    log.info("created topic %s (%s partitions)", topic, tostring(partitions or "default"))
  elseif rc == 2 then
    no_admin[conn_decl] = true
    log.info("connection %s: the broker offers no usable Admin API (%s); relying on topic auto-creation",
      conn_decl.opts.name, core.err())
  elseif rc < 0 then
    return nil, core.err(), rc == -2
  end
  return true
end

return M
