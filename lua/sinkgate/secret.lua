-- sinkgate.secret — secrets by name. A secret object never holds its value:
-- the value is looked up (environment, then the secrets file) only when the
-- engine builds a connection, through secret.reveal — a function of this
-- module, which config code cannot require (the sandbox only hands out the
-- `sinkgate` facade). Every revealed value is scrubbed from sinkgate's
-- output by redact(), so it cannot leak through logs, errors or `check`.
--
-- Redaction is exact: only whole occurrences of a value (not preceded or
-- followed by a letter or digit) are replaced, and only values of at least
-- MIN_LEN bytes are accepted at all — a shorter value could not be scrubbed
-- without mangling unrelated output (a secret "1" would corrupt every
-- number), so reveal refuses it with a clear error instead.
local M = {}

M.MIN_LEN = 4

local SECRET = { __name = "secret", __metatable = "secret" }
SECRET.__tostring = function(s) return "secret(" .. rawget(s, "name") .. ")" end
SECRET.__index = function(s, k)
  if k == "reveal" then
    error("secret." .. rawget(s, "name") .. ": reveal() is not available to config code: only the engine " ..
      "reveals a secret, when it connects", 2)
  end
  return nil
end

local file_values = {}
local names = {}      -- every name used as a secret: never readable as a value (sg.env)
local revealed = {}   -- value -> placeholder, for redaction
local order = {}      -- the values, longest first (a value inside another is replaced last)

local function valid_name(name)
  return type(name) == "string" and name:match("^[%w_%.%-]+$") ~= nil
end

function M.new(name)
  if not valid_name(name) then
    error("sinkgate.secret: expected a name of letters, digits, '_', '.', '-'", 2)
  end
  names[name] = names[name] or true
  return setmetatable({ name = name }, SECRET)
end

function M.is(v)
  return debug.getmetatable(v) == SECRET
end

-- Whether NAME is used as a secret (by sg.secret, {secret: NAME} or the
-- secrets file); such a variable never reads back as a value.
function M.is_secret_name(name)
  return names[name] ~= nil
end

-- Marks NAME as a secret's name before the config that uses it has run
-- (see config/loader.lua: a config may read a variable with sg.env before
-- the line that declares it a secret).
function M.add_name(name)
  if valid_name(name) then names[name] = names[name] or true end
end

-- Reads NAME=value lines (blank lines and # comments allowed).
function M.load_file(path)
  local f, err = io.open(path, "r")
  if not f then return nil, "secrets file: " .. err end
  local text, rerr = f:read("*a")
  f:close()
  if not text then return nil, "secrets file: " .. path .. ": " .. tostring(rerr) end
  local lineno = 0
  for line in (text:gsub("\n$", "") .. "\n"):gmatch("([^\n]*)\n") do
    lineno = lineno + 1
    local k, v = line:match("^%s*([%w_%.%-]+)%s*=%s*(.-)%s*$")
    if k then
      file_values[k] = v
      names[k] = true
    elseif not line:match("^%s*$") and not line:match("^%s*#") then
      return nil, ("secrets file %s:%d: expected NAME=value (NAME of letters, digits, '_', '.', '-')"):format(
        path, lineno)
    end
  end
  return true
end

local function lookup(name)
  return os.getenv(name) or file_values[name]
end

-- Registers a value that must never be printed (a secret, the password of
-- a registry URL). Values shorter than MIN_LEN are refused.
function M.protect(value, label)
  if type(value) ~= "string" or value == "" then return true end
  if #value < M.MIN_LEN then
    return nil, ("%s is %d character%s long: secrets must have at least %d, so that they can be scrubbed " ..
      "from output exactly"):format(label, #value, #value == 1 and "" or "s", M.MIN_LEN)
  end
  if not revealed[value] then
    order[#order + 1] = value
    table.sort(order, function(a, b) return #a > #b or (#a == #b and a < b) end)
  end
  revealed[value] = label
  return true
end

-- The engine's way to a secret's value; nil, message when unset or too short.
function M.reveal(s)
  if not M.is(s) then return nil, "not a secret" end
  local name = rawget(s, "name")
  local v = lookup(name)
  if v == nil then
    return nil, ("secret %s is not set (environment or --secrets file)"):format(name)
  end
  local ok, err = M.protect(v, "secret(" .. name .. ")")
  if not ok then return nil, err end
  return v
end

-- Whether the secret can be resolved, without revealing it: true, or
-- false, why.
function M.available(s)
  local v = lookup(rawget(s, "name"))
  if v == nil then return false, "is not set (environment or --secrets file)" end
  if #v > 0 and #v < M.MIN_LEN then
    return false, ("is shorter than %d characters (refused: it could not be scrubbed from output)"):format(M.MIN_LEN)
  end
  return true
end

local function boundary(s, i)
  return i < 1 or i > #s or not s:sub(i, i):match("[%w]")
end

-- Replaces every whole occurrence of a protected value in s by its label.
function M.redact(s)
  s = tostring(s)
  if next(revealed) == nil then return s end
  for _, value in ipairs(order) do
    local label = revealed[value]
    local i = 1
    while true do
      local a, b = s:find(value, i, true)
      if not a then break end
      if boundary(s, a - 1) and boundary(s, b + 1) then
        s = s:sub(1, a - 1) .. label .. s:sub(b + 1)
        i = a + #label
      else
        i = a + 1
      end
    end
  end
  return s
end

-- Redacts the string values inside a table about to be encoded as JSON, in
-- place, so the document stays valid whatever the secret looks like (text
-- redaction of the encoded document could replace a number or cut an
-- escape sequence). Keys are sinkgate's own names and stay as they are.
function M.redact_value(v, seen)
  if type(v) == "string" then return M.redact(v) end
  if type(v) ~= "table" or next(revealed) == nil then return v end
  seen = seen or {}
  if seen[v] then return v end
  seen[v] = true
  for k, x in pairs(v) do
    if type(x) == "string" or type(x) == "table" then v[k] = M.redact_value(x, seen) end
  end
  return v
end

-- A URL with the password of its userinfo replaced: for display.
function M.redact_url(url)
  if type(url) ~= "string" then return url end
  return (url:gsub("^(%a[%w+.-]*://)([^/@]*)@", function(scheme, userinfo)
    local user = userinfo:match("^([^:]*):") or userinfo
    if user == userinfo and not userinfo:find(":", 1, true) then return scheme .. userinfo .. "@" end
    return scheme .. user .. ":***@"
  end))
end

-- The password in a URL's userinfo, if any (to protect it).
function M.url_password(url)
  if type(url) ~= "string" then return nil end
  local userinfo = url:match("^%a[%w+.-]*://([^/@]*)@")
  return userinfo and userinfo:match("^[^:]*:(.+)$")
end

-- For specs: forget the secrets file and the names seen.
function M._reset()
  file_values, names, revealed, order = {}, {}, {}, {}
end

return M
