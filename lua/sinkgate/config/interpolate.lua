-- sinkgate.config.interpolate — ${NAME} and ${NAME:-default} in YAML string
-- values, so one YAML config runs against `sinkgate dev` (SINKGATE_BROKERS,
-- SINKGATE_REGISTRY) and production alike. `$${` is a literal `${`.
-- Never applied to secrets (a {secret: NAME} stays a secret, resolved by
-- the engine), nor to Lua bodies (partition_by, headers: text that is code
-- must not change with the environment). A variable used as a secret
-- anywhere is refused (config/loader.lua checks the recorded reads).
local secret = require "sinkgate.secret"

local M = {}

-- Keys whose string values are never expanded.
local function skipped(path)
  return path:match("%.secret$") or path:match("%.partition_by$") or path:match("%.headers$")
end

-- Expands s; reads are appended to `reads`. Returns the text or nil, err.
function M.expand(s, reads, where, path)
  if not s:find("$", 1, true) then return s end
  local out, i = {}, 1
  while true do
    local a = s:find("$", i, true)
    if not a then
      out[#out + 1] = s:sub(i)
      break
    end
    out[#out + 1] = s:sub(i, a - 1)
    if s:sub(a, a + 2) == "$${" then
      out[#out + 1] = "${"
      i = a + 3
    elseif s:sub(a + 1, a + 1) ~= "{" then
      out[#out + 1] = "$"
      i = a + 1
    else
      local close = s:find("}", a + 2, true)
      if not close then return nil, "unterminated ${ (write $${ for a literal ${)" end
      local inner = s:sub(a + 2, close - 1)
      local name, default = inner:match("^([%a_][%w_]*):%-(.*)$")
      if not name then name = inner:match("^([%a_][%w_]*)$") end
      if not name then
        return nil, ("${%s}: expected ${NAME} or ${NAME:-default} (NAME of letters, digits, '_')"):format(inner)
      end
      if secret.is_secret_name(name) then
        return nil, ("${%s}: %s is a secret: use { secret: %s }, it is never readable as a value"):format(
          inner, name, name)
      end
      reads[#reads + 1] = { name = name, where = where, path = path }
      local v = os.getenv(name)
      if v == nil or (v == "" and default) then
        if not default then
          return nil, ("environment variable %s is not set (give a default: ${%s:-…})"):format(name, name)
        end
        v = default
      end
      out[#out + 1] = v
      i = close + 1
    end
  end
  return table.concat(out)
end

-- The hook yaml.decode calls for every scalar value: (text, path, line).
function M.expander(reads, file)
  return function(s, path, line)
    if skipped(path) then return s end
    return M.expand(s, reads, file .. ":" .. line, path)
  end
end

return M
