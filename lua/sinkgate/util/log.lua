-- sinkgate.util.log — everything sinkgate prints goes through here, so
-- that secret values are scrubbed from every line (secret.redact).
local secret = require "sinkgate.secret"

local M = {}

M.quiet = false

function M.out(...)
  local parts = { ... }
  for i, p in ipairs(parts) do parts[i] = secret.redact(tostring(p)) end
  io.stdout:write(table.concat(parts, "\t"), "\n")
  io.stdout:flush()
end

function M.err(...)
  local parts = { ... }
  for i, p in ipairs(parts) do parts[i] = secret.redact(tostring(p)) end
  io.stderr:write(table.concat(parts, "\t"), "\n")
  io.stderr:flush()
end

-- A JSON document on stdout: secrets are scrubbed from its string values
-- before encoding, never from the encoded text (which they could corrupt).
function M.out_json(v, encode)
  io.stdout:write(encode(secret.redact_value(v)), "\n")
  io.stdout:flush()
end

-- Timestamped log line on stderr (run, dev): "sinkgate[HH:MM:SS] msg".
function M.info(fmt, ...)
  if M.quiet then return end
  M.err(("sinkgate[%s] " .. fmt):format(os.date("!%H:%M:%S"), ...))
end

return M
