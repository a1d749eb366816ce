-- JSON text of a row, columns in relation order, NULL as null; 64-bit
-- integers exactly (cdata), numeric and other text forms as strings.
-- Column names are quoted once (M.columns), values per row.
local cjson = require "cjson"

local encode_string = cjson.encode
local TWO53 = 2 ^ 53

local function value(v)
  local t = type(v)
  if t == "string" then
    local s = encode_string(v)
    if s:find("\\/", 1, true) then s = s:gsub("\\/", "/") end -- cjson escapes '/'; JSON does not need it
    return s
  end
  if v == nil or v == cjson.null then return "null" end
  if t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then return "null" end
    if v % 1 == 0 and v > -TWO53 and v < TWO53 then
      return v > -1e15 and v < 1e15 and tostring(v) or ("%d"):format(v)
    end
    return ("%.17g"):format(v)
  end
  if t == "boolean" then return v and "true" or "false" end
  if t == "cdata" then return (tostring(v):gsub("U?LL$", "")) end
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
    for i, k in ipairs(keys) do out[i] = encode_string(k) .. ":" .. value(v[k]) end
    return "{" .. table.concat(out, ",") .. "}"
  end
  return encode_string(tostring(v))
end

local M = { value = value }

-- { { name =, prefix = '"name":' or ',"name":' }, … } for a column list.
function M.columns(names)
  local cols = {}
  for i, n in ipairs(names) do cols[i] = { name = n, prefix = (i > 1 and "," or "") .. encode_string(n) .. ":" } end
  return cols
end

-- The row as a JSON object; cols from M.columns (nil: the non-NULL columns
-- pairs() gives). buf is reused between calls.
local buf = {}
function M.row(row, cols)
  local n = 1
  buf[1] = "{"
  if cols then
    for i = 1, #cols do
      local c = cols[i]
      buf[n + 1] = c.prefix
      buf[n + 2] = value(row[c.name])
      n = n + 2
    end
  else
    for k, v in pairs(row) do
      buf[n + 1] = (n > 1 and "," or "") .. encode_string(k) .. ":"
      buf[n + 2] = value(v)
      n = n + 2
    end
  end
  buf[n + 1] = "}"
  return table.concat(buf, "", 1, n + 1)
end

return M
