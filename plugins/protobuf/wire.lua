-- Protobuf wire format, written in Lua without the FFI module: varints
-- through 64-bit integer cdata (LuaJIT's 0ULL literals and 64-bit bit
-- operations), floats and doubles in IEEE 754 little-endian bytes.
local band, rshift = bit.band, bit.rshift
local char, floor, frexp = string.char, math.floor, math.frexp

local M = {}

-- A varint of an integer (number or 64-bit cdata); negatives as their
-- 64-bit two's complement (10 bytes), as protobuf's int32/int64 do.
function M.varint(v)
  if type(v) == "number" and v >= 0 and v < 128 then return char(v) end
  local x = 0ULL + (0LL + v) -- via int64: a negative number wraps to its two's complement
  local out = {}
  while x >= 128ULL do
    out[#out + 1] = char(tonumber(band(x, 127ULL)) + 128)
    x = rshift(x, 7)
  end
  out[#out + 1] = char(tonumber(x))
  return table.concat(out)
end

local function le32(n)
  return char(n % 256, floor(n / 256) % 256, floor(n / 65536) % 256, floor(n / 16777216) % 256)
end
M.le32 = le32

function M.be32(n)
  return char(floor(n / 16777216) % 256, floor(n / 65536) % 256, floor(n / 256) % 256, n % 256)
end

-- sign, biased exponent and mantissa (an integer) of x for a format with
-- `mbits` mantissa bits and exponent bias `bias`.
local function parts(x, mbits, bias, emax)
  local sign = 0
  if x < 0 or (x == 0 and 1 / x < 0) then sign, x = 1, -x end
  if x ~= x then return sign, emax, 2 ^ (mbits - 1) end
  if x == math.huge then return sign, emax, 0 end
  if x == 0 then return sign, 0, 0 end
  local mant, exp = frexp(x) -- x = mant * 2^exp, 0.5 <= mant < 1
  local e = exp + bias - 1
  if e <= 0 then -- subnormal
    return sign, 0, floor(x * 2 ^ (bias - 2 + mbits) + 0.5)
  end
  local m = floor((mant * 2 - 1) * 2 ^ mbits + 0.5)
  if m >= 2 ^ mbits then m, e = 0, e + 1 end
  if e >= emax then return sign, emax, 0 end
  return sign, e, m
end

function M.double(x)
  local s, e, m = parts(x, 52, 1023, 2047)
  return le32(m % 2 ^ 32) .. le32(floor(m / 2 ^ 32) + e * 2 ^ 20 + s * 2 ^ 31)
end

function M.float(x)
  local s, e, m = parts(x, 23, 127, 255)
  return le32(m + e * 2 ^ 23 + s * 2 ^ 31)
end

-- Field keys: (number << 3) | wire type.
function M.key(number, wire)
  return M.varint(number * 8 + wire)
end

M.VARINT, M.I64, M.LEN, M.I32 = 0, 1, 2, 5

return M
