-- sinkgate.run.kafka_conf — librdkafka properties from a validated Kafka
-- connection. Secrets are revealed here and only here, straight into the
-- property list handed to C.
local secret = require "sinkgate.secret"

local M = {}

local MAP = {
  brokers = "bootstrap.servers", security_protocol = "security.protocol", sasl_mechanisms = "sasl.mechanisms",
  sasl_username = "sasl.username", sasl_password = "sasl.password", ssl_key = "ssl.key.pem",
  ssl_certificate = "ssl.certificate.pem", ssl_certificate_authority = "ssl.ca.pem",
}

-- Returns keys, values (parallel lists) or nil, message.
function M.for_connection(conn, extra)
  local keys, vals = {}, {}
  local function put(k, v)
    keys[#keys + 1] = k
    vals[#vals + 1] = tostring(v)
  end
  for opt, prop in pairs(MAP) do
    local v = conn[opt]
    if secret.is(v) then
      local err
      v, err = secret.reveal(v)
      if not v then return nil, err end
    end
    if v ~= nil then put(prop, v) end
  end
  for k, v in pairs(extra or {}) do put(k, v) end
  for k, v in pairs(conn.options or {}) do put(k, v) end -- the user's word wins
  return keys, vals
end

return M
