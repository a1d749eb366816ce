-- sinkgate.view.codec — the bytes of a view's per-key state (view/distinct.lua,
-- view/group.lua): little-endian integers and doubles, length-prefixed
-- strings. Rows and keys inside are packed by rows.pack as records.
local ffi = require "ffi"

local M = {}

local word = ffi.new("union { int64_t i; double f; uint8_t b[8]; }")
local TWO53 = 9007199254740992LL

function M.i64(x)
  word.i = x
  return ffi.string(word.b, 8)
end

function M.f64(x)
  word.f = x
  return ffi.string(word.b, 8)
end

function M.str(s)
  local n = #s
  return string.char(n % 256, math.floor(n / 256) % 256, math.floor(n / 65536) % 256, math.floor(n / 16777216)) .. s
end

-- A reader over one state value.
local Reader = {}
Reader.__index = Reader

function M.reader(s)
  return setmetatable({ s = s, pos = 1, p = ffi.cast("const uint8_t *", s) }, Reader)
end

function Reader:more() return self.pos <= #self.s end

-- An int64 as cdata (exact), and as a Lua number when exact.
function Reader:i64_cdata()
  ffi.copy(word.b, self.p + self.pos - 1, 8)
  self.pos = self.pos + 8
  return word.i
end

function Reader:i64()
  local x = self:i64_cdata()
  if x >= -TWO53 and x <= TWO53 then return tonumber(x) end
  return x
end

function Reader:f64()
  ffi.copy(word.b, self.p + self.pos - 1, 8)
  self.pos = self.pos + 8
  return word.f
end

function Reader:str()
  local p, i = self.p, self.pos - 1
  local n = p[i] + p[i + 1] * 256 + p[i + 2] * 65536 + p[i + 3] * 16777216
  local s = self.s:sub(self.pos + 4, self.pos + 3 + n)
  self.pos = self.pos + 4 + n
  return s
end

-- Orders two values of one orderable type (view/plan.lua ORDERABLE): -1, 0, 1;
-- NULL (nil) after everything, as PostgreSQL sorts ascending.
-- numeric: the values are decimal strings (compared as numbers, to double
-- precision).
function M.compare(a, b, numeric)
  if a == nil or b == nil then
    if a == nil and b == nil then return 0 end
    return a == nil and 1 or -1
  end
  if type(a) == "boolean" then a, b = a and 1 or 0, b and 1 or 0 end
  if numeric then a, b = tonumber(a), tonumber(b) end
  if a < b then return -1 end
  if b < a then return 1 end
  return 0
end

return M
