-- Random values of every SQL type sinkgate knows, in the Lua forms
-- sinkgate.rows accepts, from a seeded generator (reproducible failures).
local ffi = require "ffi"
local sg = require "sinkgate"

local M = {}

-- Every column type, nested ones included; each appears nullable and NOT NULL.
M.TYPES = {
  "boolean", "smallint", "integer", "bigint", "uint2", "uint4", "uint8", "oid", "real", "double precision",
  "numeric(10,2)", "numeric(39,0)", "numeric", "text", "bytea", "date", "time", "timestamp(3)", "timestamptz(6)",
  "timestamp", "interval", "uuid", "jsonb", "bigint list", "text[]", "map[text=>integer]", "integer list list",
  "char(4)", "varchar(6)",
  { record = { { "x", "integer", not_null = true }, { "y", "text" }, { "z", "map[text=>bytea]" } }, name = "pt" },
  -- records inside lists, maps and arrays, nested deeper
  { list = { record = { { "x", "integer", not_null = true },
    { "tags", { list = { record = { { "k", "text" }, { "v", "bigint", not_null = true } } } } } }, name = "pt2" } },
  { map = { record = { { "a", "double precision" }, { "b", "uuid", not_null = true }, { "c", "numeric(10,2)" } } } },
  { array = { map = { record = { { "d", "date" }, { "e", "interval list" } } } } },
}

-- Lua source text of a type (string or table), for config texts in specs.
function M.type_source(ty)
  if type(ty) == "string" then return ("%q"):format(ty) end
  if type(ty) == "number" or type(ty) == "boolean" then return tostring(ty) end
  local parts, keys = {}, {}
  for i, v in ipairs(ty) do parts[i] = M.type_source(v) end
  for k in pairs(ty) do
    if type(k) == "string" then keys[#keys + 1] = k end
  end
  table.sort(keys)
  for _, k in ipairs(keys) do parts[#parts + 1] = ("[%q] = %s"):format(k, M.type_source(ty[k])) end
  return "{ " .. table.concat(parts, ", ") .. " }"
end

function M.new(seed)
  local state = ffi.new("uint64_t[1]", seed or 1)
  local function next64()
    local x = state[0]
    x = bit.bxor(x, bit.lshift(x, 13))
    x = bit.bxor(x, bit.rshift(x, 7))
    x = bit.bxor(x, bit.lshift(x, 17))
    state[0] = x
    return x
  end
  local r = {}
  function r.int(lo, hi) return lo + tonumber(next64() % (hi - lo + 1)) end
  function r.u64() return next64() end
  function r.i64() return ffi.cast("int64_t", next64()) end
  function r.chance(p) return r.int(1, 1000) <= p * 1000 end
  function r.bytes(n)
    local t = {}
    for i = 1, n do t[i] = string.char(r.int(0, 255)) end
    return table.concat(t)
  end
  function r.text(n)
    local t = {}
    for i = 1, n do t[i] = string.char(r.int(32, 126)) end
    return table.concat(t)
  end
  function r.digits(n)
    local t = { tostring(r.int(1, 9)) }
    for i = 2, n do t[i] = tostring(r.int(0, 9)) end
    return table.concat(t)
  end
  return r
end

-- A random Lua value of parsed type t (never NULL at the top).
function M.value(r, t)
  local n = t.name
  local values = {
    boolean = function() return r.chance(0.5) end,
    smallint = function() return r.int(-32768, 32767) end,
    integer = function() return r.int(-2147483648, 2147483647) end,
    bigint = function() return r.i64() end,
    uint2 = function() return r.int(0, 65535) end,
    uint4 = function() return r.int(0, 4294967295) end,
    oid = function() return r.int(0, 4294967295) end,
    uint8 = function() return r.u64() end,
    real = function() return (r.int(-1e6, 1e6)) / 64 end,
    ["double precision"] = function() return (r.int(-1e9, 1e9)) / 1024 + r.int(0, 1) * 1e300 end,
    numeric = function()
      local scale = t.precision < 0 and r.int(0, 20) or t.scale
      local intdigits = t.precision < 0 and r.int(1, 19) or r.int(1, math.max(1, t.precision - t.scale))
      local s = (r.chance(0.5) and "-" or "") .. r.digits(intdigits)
      if scale > 0 then s = s .. "." .. r.digits(r.int(1, scale)) end
      return s
    end,
    text = function() return r.text(r.int(0, t.length or 20)) end,
    bytea = function() return r.bytes(r.int(0, 20)) end,
    date = function() return r.int(-800000, 800000) end,
    time = function() return r.int(0, 86399999999) end,
    timestamp = function() return 0LL + r.int(-2e15, 2e15) end,
    timestamptz = function() return 0LL + r.int(-2e15, 2e15) end,
    interval = function() return { months = r.int(-1000, 1000), days = r.int(-1000, 1000), micros = r.int(-1e12, 1e12) } end,
    uuid = function()
      local h = r.bytes(16):gsub(".", function(c) return ("%02x"):format(c:byte()) end)
      return h:sub(1, 8) .. "-" .. h:sub(9, 12) .. "-" .. h:sub(13, 16) .. "-" .. h:sub(17, 20) .. "-" .. h:sub(21)
    end,
    jsonb = function() return ('{"k":%d,"s":"%s"}'):format(r.int(0, 99), r.text(3):gsub('[\\"]', "x")) end,
  }
  if values[n] then return values[n]() end
  local function maybe(et)
    if r.chance(0.2) then return sg.null end
    return M.value(r, et)
  end
  if n == "list" or n == "array" then
    local out = { n = r.int(0, 4) }
    for i = 1, out.n do out[i] = maybe(t.elem) end
    return out
  elseif n == "map" then
    local out = {}
    for _ = 1, r.int(0, 3) do out[r.text(r.int(1, 5))] = maybe(t.value) end
    return out
  elseif n == "record" then
    local out = {}
    for _, f in ipairs(t.fields) do
      if f.nullable and r.chance(0.2) then out[f.name] = nil else out[f.name] = M.value(r, f.type) end
    end
    return out
  end
  error("no random value for " .. n)
end

return M
