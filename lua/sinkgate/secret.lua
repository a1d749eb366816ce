-- sinkgate.secret — secrets by name. A secret object never holds its value:
-- the value is looked up (environment, then the secrets file) only when a
-- connection is built, and every known value is scrubbed from sinkgate's
-- output by redact(), so it cannot leak through logs, errors or `check`.
local M = {}

local SECRET = { __name = "secret" }
SECRET.__index = SECRET
SECRET.__tostring = function(s) return "secret(" .. s.name .. ")" end

local file_values = {}
local revealed = {}   -- value -> name, for redaction

function M.new(name)
  if type(name) ~= "string" or not name:match("^[%w_%.%-]+$") then
    error("sinkgate.secret: expected a name of letters, digits, '_', '.', '-'", 2)
  end
  return setmetatable({ name = name }, SECRET)
end

function M.is(v)
  return getmetatable(v) == SECRET
end

-- Reads NAME=value lines (blank lines and # comments allowed).
function M.load_file(path)
  local f, err = io.open(path, "r")
  if not f then return nil, "secrets file: " .. err end
  local n = 0
  for line in f:lines() do
    local k, v = line:match("^%s*([%w_%.%-]+)%s*=%s*(.-)%s*$")
    if k then
      file_values[k] = v
      n = n + 1
    elseif not line:match("^%s*$") and not line:match("^%s*#") then
      f:close()
      return nil, ("secrets file %s: line %d is not NAME=value"):format(path, n + 1)
    end
  end
  f:close()
  return true
end

function SECRET:reveal()
  local v = os.getenv(self.name) or file_values[self.name]
  if v == nil then
    return nil, ("secret %s is not set (environment or --secrets file)"):format(self.name)
  end
  if #v > 0 then revealed[v] = self.name end
  return v
end

-- Whether the secret can be resolved, without revealing it.
function SECRET:available()
  return (os.getenv(self.name) or file_values[self.name]) ~= nil
end

-- Replaces every revealed secret value in s by its placeholder.
function M.redact(s)
  s = tostring(s)
  for value, name in pairs(revealed) do
    local i = 1
    while true do
      local a, b = s:find(value, i, true)
      if not a then break end
      local mark = "secret(" .. name .. ")"
      s = s:sub(1, a - 1) .. mark .. s:sub(b + 1)
      i = a + #mark
    end
  end
  return s
end

return M
