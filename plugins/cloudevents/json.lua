-- JSON text of a row, columns in relation order, NULL as null; 64-bit
-- integers exactly (cdata), numeric and other text forms as strings.
local cjson = require "cjson"

local function value(v)
  local t = type(v)
  if v == nil or v == cjson.null then return "null" end
  if t == "cdata" then return (tostring(v):gsub("U?LL$", "")) end
  if t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then return "null" end
    if v % 1 == 0 and math.abs(v) < 2 ^ 53 then return ("%d"):format(v) end
    return ("%.17g"):format(v)
  end
  if t == "table" then
    if #v > 0 or next(v) == nil then
      local out = {}
      for i = 1, v.n or #v do out[i] = value(v[i]) end
      return "[" .. table.concat(out, ",") .. "]"
    end
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = tostring(k) end
    table.sort(keys)
    local out = {}
    for i, k in ipairs(keys) do out[i] = cjson.encode(k) .. ":" .. value(v[k]) end
    return "{" .. table.concat(out, ",") .. "}"
  end
  return (cjson.encode(v):gsub("\\/", "/"))
end

local M = { value = value }

-- names: column names in order (nil: the non-NULL columns pairs() gives)
function M.row(row, names)
  local out = {}
  if names then
    for i, n in ipairs(names) do out[i] = cjson.encode(n) .. ":" .. value(row[n]) end
  else
    for k, v in pairs(row) do out[#out + 1] = cjson.encode(k) .. ":" .. value(v) end
  end
  return "{" .. table.concat(out, ",") .. "}"
end

return M
