-- sinkgate.avro.decode — Avro binary to JSON text, driven by the writer's
-- schema, for `sinkgate tail`. avro-c's own JSON form knows no logical
-- types (a decimal came out as {"bytes": ""}), so tail walks the schema
-- itself: decimals print as decimal strings with the schema's scale, longs
-- exactly (64-bit), unions as {"branch": value} like Avro's JSON encoding
-- (null as null), bytes and fixed as strings of code points 0..255.
local ffi = require "ffi"
local cjson = require "cjson.safe"
local bit = require "bit"

local M = {}

local PRIMITIVE = { null = true, boolean = true, int = true, long = true, float = true, double = true,
  bytes = true, string = true }

local function quote(s)
  return (cjson.encode(s):gsub("\\/", "/"))
end

-- Bytes as a JSON string of code points 0..255 (Avro's JSON encoding).
local function quote_bytes(s)
  return '"' .. s:gsub('[%z\1-\31"\\\127-\255]', function(c)
    return ("\\u%04x"):format(c:byte())
  end) .. '"'
end

local Reader = {}
Reader.__index = Reader

function Reader:fail(msg)
  error({ avro = ("%s at byte %d"):format(msg, self.pos - 1) }, 0)
end

function Reader:take(n)
  if n < 0 or self.pos + n - 1 > #self.s then self:fail("truncated data") end
  local piece = self.s:sub(self.pos, self.pos + n - 1)
  self.pos = self.pos + n
  return piece
end

-- A zigzag varint as an int64 cdata.
function Reader:long()
  local u, shift = 0ULL, 0
  while true do
    if self.pos > #self.s then self:fail("truncated varint") end
    local b = self.s:byte(self.pos)
    self.pos = self.pos + 1
    u = bit.bor(u, bit.lshift(ffi.cast("uint64_t", bit.band(b, 0x7f)), shift))
    if b < 0x80 then break end
    shift = shift + 7
    if shift > 63 then self:fail("varint longer than 10 bytes") end
  end
  return ffi.cast("int64_t", bit.bxor(bit.rshift(u, 1), -bit.band(u, 1ULL)))
end

local function i64s(v) return (tostring(v):gsub("U?LL$", "")) end

function Reader:count()
  local n = self:long()
  if n < 0 then
    n = -n
    self:long() -- block size in bytes, unused
  end
  if n > #self.s then self:fail("block count " .. i64s(n) .. " exceeds the data") end
  return tonumber(n)
end

-- Two's-complement big-endian bytes with a scale, as a decimal string.
local function decimal(bytes, scale)
  if #bytes == 0 then return "0" end
  local neg = bytes:byte(1) >= 0x80
  local mag = { bytes:byte(1, -1) }
  if neg then -- magnitude = two's complement negated
    local carry = 1
    for i = #mag, 1, -1 do
      local v = 255 - mag[i] + carry
      mag[i], carry = v % 256, v >= 256 and 1 or 0
    end
  end
  -- base 256 → base 10 digits by repeated division
  local digits = {}
  local start = 1
  while start <= #mag do
    local rem = 0
    for i = start, #mag do
      local cur = rem * 256 + mag[i]
      mag[i], rem = math.floor(cur / 10), cur % 10
    end
    digits[#digits + 1] = rem
    while start <= #mag and mag[start] == 0 do start = start + 1 end
  end
  local s = {}
  for i = #digits, 1, -1 do s[#s + 1] = digits[i] end
  local text = table.concat(s)
  if text == "" then text = "0" end
  scale = scale or 0
  if scale > 0 then
    if #text <= scale then text = ("0"):rep(scale - #text + 1) .. text end
    text = text:sub(1, #text - scale) .. "." .. text:sub(#text - scale + 1)
  end
  if neg and text:match("[1-9]") then text = "-" .. text end
  return text
end
M.decimal = decimal

local function fullname(name, ns)
  if name:find(".", 1, true) or not ns then return name end
  return ns .. "." .. name
end

-- Resolves a schema node: a name string refers to a named type defined earlier.
function Reader:resolve(t, ns)
  if type(t) == "string" then
    if PRIMITIVE[t] then return { type = t } end
    local def = self.names[fullname(t, ns)] or self.names[t]
    if not def then self:fail("unknown type name " .. t) end
    return def
  end
  return t
end

-- Short name of a union branch, as avro-c's JSON prints it.
local function branch_name(t)
  if t.name then return (t.name:match("([^.]+)$")) end
  if type(t.type) == "string" then return t.type end
  return "?"
end

function Reader:value(t, ns, out)
  if type(t) == "table" and t[1] ~= nil or (type(t) == "table" and next(t) == nil) then -- a union
    local i = tonumber(self:long())
    if i < 0 or i >= #t then self:fail("union branch " .. i .. " out of range") end
    local b = self:resolve(t[i + 1], ns)
    if b.type == "null" then out[#out + 1] = "null" return end
    out[#out + 1] = "{" .. quote(branch_name(b)) .. ":"
    self:value(b, ns, out)
    out[#out + 1] = "}"
    return
  end
  t = self:resolve(t, ns)
  local ty = t.type
  if type(ty) == "table" then return self:value(ty, ns, out) end
  if ty == "null" then
    out[#out + 1] = "null"
  elseif ty == "boolean" then
    local b = self:take(1):byte()
    out[#out + 1] = b ~= 0 and "true" or "false"
  elseif ty == "int" or ty == "long" then
    out[#out + 1] = i64s(self:long())
  elseif ty == "float" or ty == "double" then
    local n = ty == "float" and 4 or 8
    local buf = ffi.new("uint8_t[8]")
    ffi.copy(buf, self:take(n), n)
    local v = ty == "float" and ffi.cast("float *", buf)[0] or ffi.cast("double *", buf)[0]
    if v ~= v or v == math.huge or v == -math.huge then
      out[#out + 1] = quote(v ~= v and "NaN" or (v > 0 and "Infinity" or "-Infinity"))
    else
      out[#out + 1] = ("%.17g"):format(v)
    end
  elseif ty == "bytes" or ty == "fixed" or ty == "string" then
    if ty == "fixed" and t.name then self.names[fullname(t.name, t.namespace or ns)] = t end
    local raw = self:take(ty == "fixed" and tonumber(t.size) or tonumber(self:long()))
    if t.logicalType == "decimal" then
      out[#out + 1] = quote(decimal(raw, tonumber(t.scale) or 0))
    elseif ty == "string" then
      out[#out + 1] = quote(raw)
    else
      out[#out + 1] = quote_bytes(raw)
    end
  elseif ty == "record" or ty == "error" then
    local rns = t.namespace or (t.name and t.name:match("^(.*)%.[^.]+$")) or ns
    if t.name then self.names[fullname(t.name, t.namespace or ns)] = t end
    out[#out + 1] = "{"
    for i, f in ipairs(t.fields or {}) do
      if i > 1 then out[#out + 1] = "," end
      out[#out + 1] = quote(f.name) .. ":"
      self:value(f.type, rns, out)
    end
    out[#out + 1] = "}"
  elseif ty == "enum" then
    if t.name then self.names[fullname(t.name, t.namespace or ns)] = t end
    local i = tonumber(self:long())
    local sym = t.symbols and t.symbols[i + 1]
    if not sym then self:fail("enum index " .. i .. " out of range") end
    out[#out + 1] = quote(sym)
  elseif ty == "array" or ty == "map" then
    out[#out + 1] = ty == "array" and "[" or "{"
    local first = true
    while true do
      local n = self:count()
      if n == 0 then break end
      for _ = 1, n do
        if not first then out[#out + 1] = "," end
        first = false
        if ty == "map" then out[#out + 1] = quote(self:take(tonumber(self:long()))) .. ":" end
        self:value(ty == "array" and t.items or t.values, ns, out)
      end
    end
    out[#out + 1] = ty == "array" and "]" or "}"
  else
    self:fail("unsupported Avro type " .. tostring(ty))
  end
end

-- Registers named types defined anywhere in the schema before decoding, so
-- a reference may precede the value that defines it in the data.
local function collect(t, ns, names)
  if type(t) ~= "table" then return end
  if t[1] ~= nil then
    for _, b in ipairs(t) do collect(b, ns, names) end
    return
  end
  if type(t.type) == "table" then collect(t.type, ns, names) end
  if t.name and (t.type == "record" or t.type == "enum" or t.type == "fixed" or t.type == "error") then
    local full = fullname(t.name, t.namespace or ns)
    names[full] = t
    ns = t.namespace or full:match("^(.*)%.[^.]+$") or ns
  end
  for _, f in ipairs(t.fields or {}) do collect(f.type, ns, names) end
  collect(t.items, ns, names)
  collect(t.values, ns, names)
end

-- Parses a schema's JSON text once; returns a decoder, or nil, err.
function M.compile(schema_text)
  local schema, err = cjson.decode(schema_text)
  if schema == nil then return nil, "invalid schema JSON: " .. tostring(err) end
  local names = {}
  collect(schema, nil, names)
  return { schema = schema, names = names }
end

-- JSON text of one Avro-encoded datum (no wire header), or nil, err.
function M.to_json(dec, bytes)
  local r = setmetatable({ s = bytes, pos = 1, names = dec.names }, Reader)
  local out = {}
  local ok, err = pcall(r.value, r, dec.schema, nil, out)
  if not ok then
    if type(err) == "table" and err.avro then return nil, "Avro decode: " .. err.avro end
    error(err, 0)
  end
  if r.pos <= #bytes then return nil, ("Avro decode: %d trailing bytes"):format(#bytes - r.pos + 1) end
  return table.concat(out)
end

return M
