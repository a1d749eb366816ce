-- sinkgate.config.validate — checks a value against an option table from
-- config/options.lua and returns a normalized copy (defaults filled,
-- durations in milliseconds). Every problem is reported as
-- "<file>:<line>: <key.path>: <message>"; all problems are collected, not
-- just the first.
local options = require "sinkgate.config.options"
local secret = require "sinkgate.secret"
local timed = require "sinkgate.source.timed"

local M = {}

-- Objects made by sinkgate's constructors carry their kind here.
M.KIND = setmetatable({}, { __mode = "k" })

function M.kind_of(v)
  return type(v) == "table" and M.KIND[v] or nil
end

local function describe(v)
  if secret.is(v) then return "secret" end
  if type(v) == "string" then return ("string %q"):format(#v > 40 and v:sub(1, 40) .. "…" or v) end
  return M.kind_of(v) or type(v)
end

function M.parse_duration(s)
  if type(s) ~= "string" then return nil end
  local n, unit = s:match("^%s*(%d+%.?%d*)%s*(%a+)%s*$")
  local scale = ({ ms = 1, s = 1000, m = 60000, h = 3600000 })[unit or ""]
  if not n or not scale then return nil end
  return tonumber(n) * scale
end

-- Edit distance, for "did you mean" hints on unknown keys.
local function distance(a, b)
  local prev = {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    local cur = { [0] = i }
    for j = 1, #b do
      local cost = a:sub(i, i) == b:sub(j, j) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev = cur
  end
  return prev[#b]
end

local function suggest(key, spec)
  local best, bestd
  for _, f in ipairs(spec.fields) do
    if type(f[1]) == "string" then
      local d = distance(key, f[1])
      if not bestd or d < bestd then best, bestd = f[1], d end
    end
  end
  if best and bestd <= math.max(2, math.floor(#key / 3)) then return " (did you mean " .. best .. "?)" end
  return ""
end

local check

local function join(path, key)
  if type(key) == "number" then return path .. "[" .. key .. "]" end
  if type(key) ~= "string" then return path .. "[" .. tostring(key) .. "]" end
  return path == "" and key or path .. "." .. key
end

-- Kafka's rule for topic names (kafka.common.internals.Topic): 1–249 of
-- [a-zA-Z0-9._-], and not "." or "..".
function M.topic_problem(v)
  if v == "" then return "a topic name cannot be empty" end
  if #v > 249 then return ("a topic name is at most 249 characters, got %d"):format(#v) end
  if v == "." or v == ".." then return ("a topic name cannot be %q"):format(v) end
  local bad = v:match("[^%w%._%-]")
  if bad then
    return ("a topic name is letters, digits, '.', '_' and '-' only, got %q (%s)"):format(v,
      bad:match("%s") and "a space" or ("'" .. bad .. "'"))
  end
end

-- Value rules named by an option's `check` (config/options.lua); each
-- returns a message for a bad (already type-checked) value.
M.CHECKS = {
  topic = M.topic_problem,
  nonempty = function(v) if v == "" then return "cannot be empty" end end,
  nonempty_list = function(v) if #v == 0 then return "needs at least one entry" end end,
  positive = function(v, ty)
    if v <= 0 then return ty == "duration" and "must be longer than 0ms" or "must be at least 1" end
  end,
  nonnegative = function(v) if v < 0 then return "cannot be negative" end end,
  count = function(v)
    if v < 1 and v ~= -1 then return ("expected at least 1, or -1 for the broker's default, got %d"):format(v) end
  end,
}

-- librdkafka properties are text; numbers and booleans are accepted and
-- written the way librdkafka parses them.
local function scalar_text(v)
  if type(v) == "string" then return v end
  if type(v) == "boolean" then return tostring(v) end
  if type(v) == "number" then
    if v % 1 == 0 and math.abs(v) < 2 ^ 53 then return ("%d"):format(v) end
    if v == v and v ~= math.huge and v ~= -math.huge then return ("%.17g"):format(v) end
  end
end

-- One value against one type; returns the normalized value or nil.
local function check_type(ty, v, path, ctx)
  local function bad(msg)
    ctx.fail(path, msg or ("expected " .. ty .. ", got " .. describe(v)))
    return nil
  end
  -- A union "A|B" (Kafka sources: csv header = true | { names }): the first
  -- alternative that accepts the value. "string|secret" has its own case.
  if ty:find("|", 1, true) and ty ~= "string|secret" then
    for alt in ty:gmatch("[^|]+") do
      local quiet = { fail = function() end }
      local nv = check_type(alt, v, path, quiet)
      if nv ~= nil then return nv end
    end
    return bad()
  end
  local inner = ty:match("^list<(.+)>$")
  if inner then
    if type(v) ~= "table" or M.kind_of(v) or secret.is(v) then return bad() end
    local out = {}
    for k in pairs(v) do
      if type(k) ~= "number" then return bad("expected a list, got a table with key '" .. tostring(k) .. "'") end
    end
    for i, item in ipairs(v) do out[i] = check_type(inner, item, join(path, i), ctx) end
    return out
  end
  inner = ty:match("^map<(.+)>$")
  if inner then
    if type(v) ~= "table" or M.kind_of(v) or secret.is(v) then return bad() end
    local out = {}
    for k, item in pairs(v) do
      if type(k) ~= "string" then return bad("expected string keys, got " .. type(k)) end
      if k:find("\0", 1, true) then return bad("a key contains a NUL byte") end
      out[k] = check_type(inner, item, join(path, k), ctx)
    end
    return out
  end
  local rec = ty:match("^record:(.+)$") or (options[ty] and options[ty].fields and ty)
  if rec and not M.KIND_NAMES[ty] then
    if type(v) ~= "table" or M.kind_of(v) then return bad("expected a table, got " .. describe(v)) end
    return check(options[rec], v, path, ctx)
  end
  if ty == "row" then -- column name → value; checked against the columns when written
    if type(v) == "table" and not M.kind_of(v) then return v end
    return bad("expected a row (a table of column = value), got " .. describe(v))
  elseif ty == "update" then -- { row, time, diff }; the row is checked against the columns by plan.lua
    local err = timed.shape_error(v)
    if not err then return v end
    if err:sub(1, 1) == "[" then
      path = path .. err:match("^(%[%d%])")
      err = err:gsub("^%[%d%]: ", "")
    end
    return bad(err)
  elseif ty == "aggregate" then -- a view's aggregate; its column is checked by view/plan.lua
    if type(v) == "string" then return v end
    if type(v) == "table" and not M.kind_of(v) and type(v[1]) == "string" and (v[2] == nil or type(v[2]) == "string")
      and #v <= 2 then
      return v
    end
    return bad("expected \"count\" or {\"sum\"|\"min\"|\"max\"|\"count\", column}, got " .. describe(v))
  elseif ty == "sqltype" then -- checked in depth by types.parse when the relation is built
    if type(v) == "string" or (type(v) == "table" and not M.kind_of(v)) then return v end
    return bad("expected a SQL type (string or record table), got " .. describe(v))
  elseif ty == "string|secret" then
    if type(v) == "string" and v:find("\0", 1, true) then return bad("contains a NUL byte") end
    if type(v) == "string" or secret.is(v) then return v end
    return bad()
  elseif ty == "secret" then
    if secret.is(v) then return v end
    return bad("expected sinkgate.secret \"NAME\", got " .. describe(v))
  elseif ty == "duration" then
    local ms = M.parse_duration(v)
    if ms then return ms end
    return bad("expected a duration like \"100ms\", \"2s\" or \"1m\", got " .. describe(v))
  elseif ty == "integer" then
    if type(v) == "number" and v % 1 == 0 and math.abs(v) < 2 ^ 53 then return v end
    return bad()
  elseif ty == "scalar" then
    local s = scalar_text(v)
    if s and s:find("\0", 1, true) then return bad("contains a NUL byte") end
    if s then return s end
    return bad("expected a string, number or boolean, got " .. describe(v))
  elseif ty == "format" then
    if M.kind_of(v) == "format" then return v end
    -- plugins: a format name is one the registry holds as a built-in string format
    if type(v) == "string" and require("sinkgate.plugin.registry").named_format(v) then return v end
    return bad("expected \"json\", \"text\", \"bytes\" or sinkgate.avro{…}, got " .. describe(v))
  elseif M.KIND_NAMES[ty] then
    if M.kind_of(v) == ty then return v end
    return bad()
  elseif type(v) == ty then
    -- C takes names, topics and paths up to the first NUL: "a\0x" would
    -- quietly become "a" there (two distinct Lua names, one C name).
    if ty == "string" and v:find("\0", 1, true) then return bad("contains a NUL byte") end
    return v
  end
  return bad()
end

M.KIND_NAMES = { kafka_connection = true, registry_connection = true, source = true,
  transform = true } -- transform: a transform plugin's instance (sinkgate.plugin)

-- A table against a spec with `fields`.
check = function(spec, t, path, ctx)
  local out, known = {}, {}
  for _, f in ipairs(spec.fields) do
    local name, ty = f[1], f[2]
    known[name] = true
    -- rawget: a config's table may carry metamethods; validation reads what is there
    local v, p = rawget(t, name), join(path, name)
    if v == nil then
      if f.required then
        ctx.fail(p, "expected " .. ty .. ", got nil")
      elseif f.default ~= nil then
        out[name] = ty == "duration" and M.parse_duration(f.default) or f.default
      end
    else
      local nv = check_type(ty, v, p, ctx)
      if nv ~= nil and f.enum then
        local ok = false
        for _, e in ipairs(f.enum) do ok = ok or e == nv end
        if not ok then
          ctx.fail(p, ("expected one of %s, got %q"):format(table.concat(f.enum, ", "), tostring(nv)))
        end
      end
      local problem = nv ~= nil and f.check and M.CHECKS[f.check](nv, ty)
      if problem then ctx.fail(p, problem) end
      out[name] = nv
    end
  end
  for k in pairs(t) do
    if not known[k] then
      local p = join(path, k)
      ctx.fail(p, "unknown option" .. (type(k) == "string" and suggest(k, spec) or ""))
    end
  end
  return out
end

-- Validates `t` against the named option table. `locate(path)` gives
-- "file:line" for a key path; problems are appended to `errors`.
function M.check(spec_name, t, path, locate, errors)
  local ctx = {
    fail = function(p, msg) errors[#errors + 1] = ("%s: %s: %s"):format(locate(p), p, msg) end,
  }
  return check(options[spec_name], t, path, ctx)
end

-- plugins: the same against an option table given as a value (a plugin's
-- descriptor brings its own, in the shape of config/options.lua).
function M.check_spec(spec, t, path, locate, errors)
  local ctx = {
    fail = function(p, msg) errors[#errors + 1] = ("%s: %s: %s"):format(locate(p), p, msg) end,
  }
  return check(spec, t, path, ctx)
end

return M
