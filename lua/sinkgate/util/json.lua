-- sinkgate.util.json — a small JSON writer for sinkgate's own output
-- (plans, tail lines, status). It keeps object keys in a given order, can
-- embed raw JSON text, and prints 64-bit cdata integers exactly. Row data
-- never goes through here: the C encoders own that.
local ffi = require "ffi"
local cjson = require "cjson"

local M = {}

local RAW = {}
local ORDER = setmetatable({}, { __mode = "k" })
M.null = cjson.null
M.empty_array = setmetatable({}, { __name = "empty_array" })

-- An object whose keys print in the order given.
function M.object(keys, values)
  local t = values or {}
  ORDER[t] = keys
  return t
end

-- JSON text to embed verbatim.
function M.raw(text)
  return setmetatable({ text = text }, RAW)
end

local function quote(s)
  return (cjson.encode(s):gsub("\\/", "/"))
end

local encode

local function is_array(t)
  if t == M.empty_array then return true end
  local n = #t
  if n == 0 then return false end
  for k in pairs(t) do
    if type(k) ~= "number" or k < 1 or k > n or k % 1 ~= 0 then return false end
  end
  return true
end

local function encode_table(t, out)
  if getmetatable(t) == RAW then
    out[#out + 1] = t.text
    return
  end
  if is_array(t) then
    out[#out + 1] = "["
    for i = 1, #t do
      if i > 1 then out[#out + 1] = "," end
      encode(t[i], out)
    end
    out[#out + 1] = "]"
    return
  end
  local keys = ORDER[t]
  if not keys then
    keys = {}
    for k in pairs(t) do keys[#keys + 1] = tostring(k) end
    table.sort(keys)
  end
  out[#out + 1] = "{"
  local first = true
  for _, k in ipairs(keys) do
    local v = t[k]
    if v ~= nil then
      if not first then out[#out + 1] = "," end
      first = false
      out[#out + 1] = quote(k)
      out[#out + 1] = ":"
      encode(v, out)
    end
  end
  out[#out + 1] = "}"
end

encode = function(v, out)
  local ty = type(v)
  if v == nil or v == M.null then
    out[#out + 1] = "null"
  elseif ty == "boolean" then
    out[#out + 1] = tostring(v)
  elseif ty == "number" then
    if v ~= v or v == math.huge or v == -math.huge then
      out[#out + 1] = "null"
    elseif v % 1 == 0 and math.abs(v) < 2 ^ 53 then
      out[#out + 1] = string.format("%d", v)
    else
      out[#out + 1] = string.format("%.17g", v)
    end
  elseif ty == "string" then
    out[#out + 1] = quote(v)
  elseif ty == "cdata" and (ffi.istype("uint64_t", v) or ffi.istype("int64_t", v)) then
    out[#out + 1] = (tostring(v):gsub("U?LL$", ""))
  elseif ty == "table" then
    encode_table(v, out)
  else
    out[#out + 1] = quote(tostring(v))
  end
end

function M.encode(v)
  local out = {}
  encode(v, out)
  return table.concat(out)
end

-- Indented form for humans (check output): re-encode through the writer
-- with two-space indentation.
function M.pretty(v, indent)
  indent = indent or ""
  if type(v) ~= "table" or getmetatable(v) == RAW then return M.encode(v) end
  local inner = indent .. "  "
  local parts = {}
  if is_array(v) then
    if #v == 0 then return "[]" end
    for i = 1, #v do parts[i] = inner .. M.pretty(v[i], inner) end
    return "[\n" .. table.concat(parts, ",\n") .. "\n" .. indent .. "]"
  end
  local keys = ORDER[v]
  if not keys then
    keys = {}
    for k in pairs(v) do keys[#keys + 1] = tostring(k) end
    table.sort(keys)
  end
  for _, k in ipairs(keys) do
    if v[k] ~= nil then parts[#parts + 1] = inner .. quote(k) .. ": " .. M.pretty(v[k], inner) end
  end
  if #parts == 0 then return "{}" end
  return "{\n" .. table.concat(parts, ",\n") .. "\n" .. indent .. "}"
end

M.decode = cjson.decode

return M
