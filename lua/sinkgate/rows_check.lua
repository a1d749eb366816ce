-- sinkgate.rows_check — what a Lua value must be to enter a batch as a cell
-- of a given SQL type. Every format (JSON, Avro, text, bytes) encodes from
-- the batch, so checking here, once, on the way in, makes a bad value fail
-- the same way whatever the sink publishes, and before anything is sent.
--
-- Each checker returns the cell's representation (a 64-bit integer, a
-- double, or the bytes/text kept in the arena) or nil, message. Messages
-- read "expected <what>, got <value>" with the value rendered short
-- (strings truncated, secrets never shown), so callers prefix them with
-- "file:line: relation.column: ".
--
-- Decisions (docs/sinks.md, "Values a feed may insert"):
--  * integers: a Lua number that is integral and in the type's range, a
--    64-bit cdata in range, or a string of decimal digits (an exact integer,
--    e.g. a bigint id kept as text); 2.5, "2.0", "0x10", " 1" are errors;
--  * real/double: numbers only (NaN and infinities pass: JSON prints null);
--  * numeric: a decimal string [+-]digits[.digits][e[+-]digits] or a finite number,
--    with no more fractional digits than the scale (trailing zeros aside)
--    and no more integer digits than precision - scale; undeclared: at most
--    39 digits in all. No exponents, NaN or infinities;
--  * text: a valid UTF-8 string; bytea: any string; jsonb: JSON text that
--    parses (strictly: no NaN, Infinity or hex numbers);
--  * date/time/timestamp: the numbers (days, microseconds) or text that
--    names a real calendar day / time of day: 2024-02-30 and 25:99:00 fail;
--  * uuid: 32 hex digits, bare or grouped 8-4-4-4-12.
local cjson_safe = require "cjson.safe"
local ffi = require "ffi"
local secret = require "sinkgate.secret"
local types = require "sinkgate.types"

local M = {}
local ID = types.ID

-- A strict JSON parser, used only to validate jsonb text (never to
-- re-encode it: the text itself is what gets published).
local strict_json = cjson_safe.new()
strict_json.decode_invalid_numbers(false)

local MAX_SHOWN = 40

-- A short, safe rendering of a value for error messages.
function M.show(v)
  local ty = type(v)
  if secret.is(v) then return "a secret" end
  if ty == "string" then
    local s = v
    if #s > MAX_SHOWN then s = s:sub(1, MAX_SHOWN) end
    s = ("%q"):format(s):gsub("\\\n", "\\n"):gsub("[%z\1-\31\127-\255]", function(c)
      return ("\\%d"):format(c:byte())
    end)
    if #v > MAX_SHOWN then s = s .. ("… (%d bytes)"):format(#v) end
    return s
  end
  if ty == "number" then
    if v ~= v then return "nan" end
    if v % 1 == 0 and math.abs(v) <= 2 ^ 64 then return ("%.0f"):format(v) end
    return ("%.17g"):format(v)
  end
  if ty == "cdata" then return tostring(v) end
  if ty == "boolean" then return tostring(v) end
  if ty == "nil" then return "nil" end
  return "a " .. ty
end

M.is_secret = secret.is

-- The text of an error value a config function raised, whatever it is
-- (a table whose __tostring itself fails must not take the process down).
function M.error_text(e)
  if type(e) == "string" then return e end
  local ok, text = pcall(tostring, e)
  return ok and text or ("a " .. type(e) .. " error value")
end

local function source_of(info)
  return info.source:sub(1, 1) == "@" and info.source:sub(2) or info.short_src
end

-- "file:line" where a (config) function is defined.
function M.defined_at(fn)
  local info = debug.getinfo(fn, "S")
  return source_of(info) .. ":" .. info.linedefined
end

-- where, message of an error a config function raised: the position in
-- the message when it is in the function's own file (the config line that
-- raised), else where the function is defined, with the whole message
-- (an error raised inside a library it called keeps that position in it).
function M.raised_at(fn, e)
  local msg = M.error_text(e)
  local where, rest = msg:match("^(%S-:%d+): (.*)$")
  local own = source_of(debug.getinfo(fn, "S"))
  if where and where:sub(1, #own + 1) == own .. ":" then return where, rest end
  return M.defined_at(fn), msg
end

local function expected(what, v, why)
  return nil, ("expected %s, got %s%s"):format(what, M.show(v), why and (" (" .. why .. ")") or "")
end

------------------------------------------------------------------------------
-- Integers.

local RANGE = {
  [ID.smallint] = { -32768LL, 32767LL }, [ID.integer] = { -2147483648LL, 2147483647LL },
  [ID.bigint] = { -9223372036854775807LL - 1, 9223372036854775807LL },
  [ID.uint2] = { 0ULL, 65535ULL }, [ID.uint4] = { 0ULL, 4294967295ULL }, [ID.oid] = { 0ULL, 4294967295ULL },
  [ID.uint8] = { 0ULL, 18446744073709551615ULL },
}

M.INTEGER = {}
for id in pairs(RANGE) do M.INTEGER[id] = true end

local function range_text(id)
  local r = RANGE[id]
  return (tostring(r[1]):gsub("U?LL$", "")) .. ".." .. (tostring(r[2]):gsub("U?LL$", ""))
end

-- Exact 64-bit value of a decimal digit string, or nil when it overflows.
local function parse_digits(s, neg, unsigned)
  local limit = unsigned and 18446744073709551615ULL or (neg and 9223372036854775808ULL or 9223372036854775807ULL)
  local acc = 0ULL
  for i = 1, #s do
    local d = s:byte(i) - 48
    if acc > (limit - d) / 10 then return nil end
    acc = acc * 10 + d
  end
  if unsigned then return acc end
  if neg then return -ffi.cast("int64_t", acc - 1) - 1 end
  return ffi.cast("int64_t", acc)
end

-- "smallint (-32768..32767)" per type; the bounds as doubles too.
local INT_WHAT = {}
for id, r in pairs(RANGE) do
  INT_WHAT[id] = ("%s (%s)"):format(types.NAME[id], range_text(id))
  r[3], r[4] = tonumber(r[1]), tonumber(r[2])
end

-- The value of an integer column (number or 64-bit cdata), or nil, message.
function M.integer(t, v)
  local id, r = t.id, RANGE[t.id]
  local unsigned = id == ID.uint2 or id == ID.uint4 or id == ID.uint8 or id == ID.oid
  local what = INT_WHAT[id]
  local ty = type(v)
  if ty == "number" then
    if v ~= v or v % 1 ~= 0 then return expected(what, v, "not an integer") end
    -- Compare as doubles first: converting an out-of-range double to int64 is undefined.
    if v < r[3] or v > r[4] or (id == ID.bigint and v >= 2 ^ 63) or v >= 2 ^ 64 then
      return expected(what, v, "out of range")
    end
    -- A double past 2^63 (uint8 only) converts to int64 wrongly: go through uint64.
    if v >= 2 ^ 63 then return ffi.cast("uint64_t", v) end
    return v
  end
  if ty == "cdata" then
    local is_i, is_u = ffi.istype("int64_t", v), ffi.istype("uint64_t", v)
    if not is_i and not is_u then return expected(what, v, "not a 64-bit integer") end
    if is_i and v < 0 then
      if unsigned or v < r[1] then return expected(what, v, "out of range") end
      return v
    end
    local u = ffi.cast("uint64_t", v)
    if u > ffi.cast("uint64_t", r[2]) then return expected(what, v, "out of range") end
    return v
  end
  if ty == "string" then
    local sign, digits = v:match("^(%-?)(%d+)$")
    if not digits or #digits > 20 then return expected(what, v, "not an integer") end
    local n = parse_digits(digits, sign == "-", unsigned and sign == "")
    if n == nil or (unsigned and sign == "-" and n ~= 0) then return expected(what, v, "out of range") end
    if unsigned and sign == "-" then n = 0ULL end
    local ok = unsigned and n <= ffi.cast("uint64_t", r[2]) or (not unsigned and n >= r[1] and n <= r[2])
    if not ok then return expected(what, v, "out of range") end
    return n
  end
  return expected(what, v)
end

------------------------------------------------------------------------------
-- Dates and times.

local function days_from_civil(y, m, d)
  y = m <= 2 and y - 1 or y
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = math.floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

local MONTH_DAYS = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }

local function month_days(y, m)
  if m == 2 and y % 4 == 0 and (y % 100 ~= 0 or y % 400 == 0) then return 29 end
  return MONTH_DAYS[m]
end

-- Days since 1970-01-01 of "YYYY-MM-DD", or nil, why.
local function date_days(s)
  local y, m, d = s:match("^(%-?%d%d%d%d%d?%d?)-(%d%d)-(%d%d)$")
  if not y then return nil, "not YYYY-MM-DD" end
  y, m, d = tonumber(y), tonumber(m), tonumber(d)
  if m < 1 or m > 12 then return nil, "no month " .. m end
  if d < 1 or d > month_days(y, m) then return nil, "no such day" end
  return days_from_civil(y, m, d)
end

-- Microseconds since midnight of "HH:MM[:SS[.ffffff]]", or nil, why.
local function time_micros(s)
  local h, mi, rest = s:match("^(%d%d?):(%d%d)(.*)$")
  if not h then return nil, "not HH:MM:SS[.ffffff]" end
  local sec, frac = "0", ""
  if rest ~= "" then
    sec, frac = rest:match("^:(%d%d)%.?(%d*)$")
    if not sec or (frac == "" and rest:find("%.$")) then return nil, "not HH:MM:SS[.ffffff]" end
    if #frac > 6 then return nil, "more than 6 fractional digits" end
  end
  h, mi, sec = tonumber(h), tonumber(mi), tonumber(sec)
  if h > 23 or mi > 59 or sec > 59 then return nil, "no such time of day" end
  return ((h * 60 + mi) * 60 + sec) * 1000000 + tonumber((frac .. "000000"):sub(1, 6))
end

-- Epoch microseconds of "YYYY-MM-DD[ T]HH:MM:SS[.f]" (+ "Z", and for
-- timestamptz an offset ±HH[:MM]), or nil, why.
local function timestamp_micros(s, tz)
  local date, time = s:match("^(%S+)[ T](%S+)$")
  if not date then return nil, "not YYYY-MM-DD HH:MM:SS[.ffffff]" end
  local offset = 0
  local base, zone = time:match("^(.-)([Zz+-].*)$")
  if base then
    time = base
    if zone:upper() ~= "Z" then
      local sign, oh, om = zone:match("^([+-])(%d%d):?(%d*)$")
      if not tz or not sign or (om ~= "" and #om ~= 2) then return nil, "bad time zone" end
      offset = (tonumber(oh) * 60 + (tonumber(om) or 0)) * 60000000
      if sign == "-" then offset = -offset end
    end
  end
  local days, why = date_days(date)
  if not days then return nil, why end
  local us
  us, why = time_micros(time)
  if not us then return nil, why end
  return 0LL + days * 86400000000LL + us - offset
end

local DAY_MICROS = 86400000000
-- Dates stay in Avro's int32 days.
local MAX_DAYS = 2147483647

function M.date(_, v)
  if type(v) == "number" then
    if v % 1 ~= 0 or v < -MAX_DAYS - 1 or v > MAX_DAYS then return expected("date (days since 1970-01-01)", v) end
    return v
  end
  if type(v) ~= "string" then return expected("date (YYYY-MM-DD or days since 1970-01-01)", v) end
  local d, why = date_days(v)
  if not d then return expected("date YYYY-MM-DD", v, why) end
  return d
end

function M.time(_, v)
  if type(v) == "number" or type(v) == "cdata" then
    local ok = (type(v) == "number" and v % 1 == 0 or ffi.istype("int64_t", v)) and v >= 0 and v < DAY_MICROS
    if not ok then return expected("time (microseconds 0..86399999999)", v) end
    return v
  end
  if type(v) ~= "string" then return expected("time (HH:MM:SS[.ffffff] or microseconds)", v) end
  local us, why = time_micros(v)
  if not us then return expected("time HH:MM:SS[.ffffff]", v, why) end
  return us
end

function M.timestamp(t, v)
  if type(v) == "number" then
    if v ~= v or v % 1 ~= 0 or math.abs(v) >= 2 ^ 63 then return expected("timestamp (epoch microseconds)", v) end
    return v
  end
  if type(v) == "cdata" then
    if ffi.istype("int64_t", v) or (ffi.istype("uint64_t", v) and v <= 9223372036854775807ULL) then return v end
    return expected("timestamp (epoch microseconds)", v)
  end
  if type(v) ~= "string" then return expected("timestamp (YYYY-MM-DD HH:MM:SS[.ffffff] or epoch microseconds)", v) end
  local us, why = timestamp_micros(v, t.id == ID.timestamptz)
  if not us then return expected(types.render(t) .. " YYYY-MM-DD HH:MM:SS[.ffffff]", v, why) end
  return us
end

------------------------------------------------------------------------------
-- Numeric.

-- Plain decimal text of a finite double: the shortest form that reads back
-- the same, with any exponent written out as digits.
local function number_text(x)
  local s
  for digits = 15, 17 do
    s = ("%." .. digits .. "g"):format(x)
    if tonumber(s) == x then break end
  end
  local sign, mant, exp = s:match("^(%-?)([%d%.]+)e([+-]%d+)$")
  if not mant then return s end
  local int, frac = mant:match("^(%d+)%.?(%d*)$")
  local digits, point = int .. frac, #int + tonumber(exp)
  if point <= 0 then return sign .. "0." .. string.rep("0", -point) .. digits end
  if point >= #digits then return sign .. digits .. string.rep("0", point - #digits) end
  return sign .. digits:sub(1, point) .. "." .. digits:sub(point + 1)
end

-- The decimal text of a numeric column, or nil, message.
local function numeric_name(t)
  return t.precision < 0 and "numeric" or ("numeric(%d,%d)"):format(t.precision, t.scale)
end

function M.numeric(t, v)
  if type(v) == "number" then
    if v ~= v or v == math.huge or v == -math.huge then return expected(numeric_name(t) .. " (a finite number)", v) end
    v = number_text(v)
  elseif type(v) == "cdata" and (ffi.istype("int64_t", v) or ffi.istype("uint64_t", v)) then
    v = (tostring(v):gsub("U?LL$", ""))
  elseif type(v) ~= "string" then
    return expected(numeric_name(t) .. " (a decimal string or number)", v)
  end
  local sig_int, sig_frac
  local int, frac = v:match("^[+-]?(%d*)%.?(%d*)$")
  if int and int .. frac ~= "" then -- the usual plain form: count without building strings
    local first = int:find("[1-9]")
    sig_int = first and #int - first + 1 or 0
    sig_frac = #frac - #frac:match("0*$")
  else
    local e
    int, frac, e = v:match("^[+-]?(%d*)%.?(%d*)[eE]([+-]?%d%d?%d?)$")
    if not int or int .. frac == "" then
      return expected(numeric_name(t) .. " ([+-]digits[.digits][e[+-]digits])", v)
    end
    -- Significant digits either side of the point, exponent applied.
    local digits, point = int .. frac, #int + tonumber(e)
    local lead = #digits:match("^0*")
    digits, point = digits:sub(lead + 1), point - lead
    digits = digits:gsub("0+$", "")
    sig_int = (#digits == 0 or point <= 0) and 0 or point
    sig_frac = math.max(0, #digits - math.max(point, 0))
  end
  if t.precision < 0 then
    if sig_frac > 39 or sig_int + sig_frac > 39 then
      return expected("numeric (at most 39 digits)", v, ("%d integer and %d fractional digits"):format(sig_int, sig_frac))
    end
    return v
  end
  if sig_frac > t.scale then
    return expected(numeric_name(t), v, ("%d fractional digits, scale is %d"):format(sig_frac, t.scale))
  end
  if sig_int > t.precision - t.scale then
    return expected(numeric_name(t), v, ("%d integer digits, at most %d fit"):format(sig_int, t.precision - t.scale))
  end
  return v
end

------------------------------------------------------------------------------
-- Text-like values.

-- Whether s is valid UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
local function valid_utf8(s)
  if not s:find("[\128-\255]") then return true end
  local i, n = 1, #s
  while i <= n do
    local c = s:byte(i)
    if c < 0x80 then
      i = i + 1
    else
      local len, min
      if c >= 0xC2 and c <= 0xDF then len, min = 2, 0x80
      elseif c >= 0xE0 and c <= 0xEF then len, min = 3, 0x800
      elseif c >= 0xF0 and c <= 0xF4 then len, min = 4, 0x10000
      else return false end
      if i + len - 1 > n then return false end
      local cp = c % (2 ^ (7 - len))
      for k = 1, len - 1 do
        local b = s:byte(i + k)
        if b < 0x80 or b > 0xBF then return false end
        cp = cp * 64 + b % 64
      end
      if cp < min or cp > 0x10FFFF or (cp >= 0xD800 and cp <= 0xDFFF) then return false end
      i = i + len
    end
  end
  return true
end
M.valid_utf8 = valid_utf8

function M.text(t, v)
  if type(v) ~= "string" then return expected(types.render(t) .. " (a string)", v) end
  if not valid_utf8(v) then return expected(types.render(t) .. " (UTF-8)", v, "invalid UTF-8") end
  if t.length then return types.fit_text(t, v) end -- char(n) padding, char/varchar(n) length
  return v
end

function M.bytea(_, v)
  if type(v) ~= "string" then return expected("bytea (a string of bytes)", v) end
  return v
end

function M.jsonb(_, v)
  if type(v) ~= "string" then return expected("jsonb (JSON text)", v) end
  local ok, err = strict_json.decode(v)
  if ok == nil and err then return expected("jsonb (JSON text)", v, err) end
  if not valid_utf8(v) then return expected("jsonb (JSON text)", v, "invalid UTF-8") end
  return v
end

function M.uuid(_, v)
  if type(v) ~= "string" then return expected("uuid (8-4-4-4-12 hex digits)", v) end
  local hex = v:match("^(%x%x%x%x%x%x%x%x)%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$") and
    v:gsub("-", "") or v:match("^%x+$")
  if not hex or #hex ~= 32 then return expected("uuid (8-4-4-4-12 hex digits)", v) end
  return (hex:gsub("%x%x", function(h) return string.char(tonumber(h, 16)) end))
end

function M.boolean(_, v)
  if type(v) ~= "boolean" then return expected("boolean", v) end
  return v and 1 or 0
end

function M.float(t, v)
  if type(v) ~= "number" then return expected(types.render(t) .. " (a number)", v) end
  return v
end

local INTERVAL = ffi.typeof("struct { int32_t months; int32_t days; int64_t micros; }")

function M.interval(_, v)
  if type(v) ~= "table" then return expected("interval ({ months =, days =, micros = })", v) end
  for k in pairs(v) do
    if k ~= "months" and k ~= "days" and k ~= "micros" then
      return expected("interval ({ months =, days =, micros = })", v, "unknown field " .. M.show(k))
    end
  end
  for _, k in ipairs({ "months", "days" }) do
    local x = v[k] or 0
    if type(x) ~= "number" or x % 1 ~= 0 or x < -2147483648 or x > 2147483647 then
      return expected("interval " .. k .. " (a 32-bit integer)", x)
    end
  end
  local us = v.micros or 0
  if not ((type(us) == "number" and us % 1 == 0 and math.abs(us) < 2 ^ 63) or ffi.istype("int64_t", us)) then
    return expected("interval micros (a 64-bit integer)", us)
  end
  return ffi.string(INTERVAL(v.months or 0, v.days or 0, us), 16)
end

-- Checker per type id, for the scalar types.
M.BY_ID = {
  [ID.boolean] = M.boolean, [ID.real] = M.float, [ID["double precision"]] = M.float, [ID.numeric] = M.numeric,
  [ID.text] = M.text, [ID.bytea] = M.bytea, [ID.jsonb] = M.jsonb, [ID.uuid] = M.uuid, [ID.interval] = M.interval,
  [ID.date] = M.date, [ID.time] = M.time, [ID.timestamp] = M.timestamp, [ID.timestamptz] = M.timestamp,
}
for id in pairs(RANGE) do M.BY_ID[id] = M.integer end

return M
