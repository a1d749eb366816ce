-- sinkgate.rows — Lua values in and out of C row batches.
--
-- Writing (sources, Lua-fed tables, specs): `rows.set(batch, r, col, type, value)` converts
-- a Lua value into the cell's representation; nested values are packed into the batch arena
-- in the form core/row/value.h describes.
-- Reading (partition_by, headers, specs): `rows.get` converts one cell to a Lua value, and
-- `rows.view(relation, batch)` gives one reusable proxy whose `row.col` reads a cell on access,
-- so no Lua table is made per row and strings are made only when a column is read.
--
-- Lua forms: NULL is nil (or sinkgate.null inside lists); integers are numbers or 64-bit cdata;
-- numeric is a decimal string; timestamps are epoch microseconds (or "YYYY-MM-DD HH:MM:SS[.f]");
-- dates are days since the epoch (or "YYYY-MM-DD"); times are microseconds since midnight (or
-- "HH:MM:SS[.f]"); uuid is the hyphenated string; interval is { months =, days =, micros = };
-- lists/arrays are Lua arrays; maps are tables; records are tables keyed by field name.
local cjson = require "cjson"
local core = require "sinkgate.core"
local types = require "sinkgate.types"

local C, ffi = core.C, core.ffi
local M = {}

M.null = cjson.null

local ID = types.ID
local FIXED_INT = { [ID.boolean] = true, [ID.smallint] = true, [ID.integer] = true, [ID.bigint] = true,
  [ID.uint2] = true, [ID.uint4] = true, [ID.uint8] = true, [ID.oid] = true, [ID.date] = true, [ID.time] = true,
  [ID.timestamp] = true, [ID.timestamptz] = true }
local FLOAT = { [ID.real] = true, [ID["double precision"]] = true }
local VAR = { [ID.text] = true, [ID.bytea] = true, [ID.jsonb] = true, [ID.numeric] = true }

local word = ffi.new("union { int64_t i; uint64_t u; double f; uint8_t b[8]; }")

------------------------------------------------------------------------------
-- Text forms of dates and times to numbers.

local function days_from_civil(y, m, d)
  y = m <= 2 and y - 1 or y
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = math.floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

local function time_micros(s)
  local h, mi, sec, frac = s:match("^(%d+):(%d+):(%d+)%.?(%d*)$")
  if not h then return nil end
  frac = (frac .. "000000"):sub(1, 6)
  return ((tonumber(h) * 60 + tonumber(mi)) * 60 + tonumber(sec)) * 1000000 + tonumber(frac)
end

local function date_days(s)
  local y, m, d = s:match("^(%-?%d+)-(%d+)-(%d+)$")
  return y and days_from_civil(tonumber(y), tonumber(m), tonumber(d))
end

local function timestamp_micros(s)
  local date, time = s:match("^(%S+)[ T](%S+)$")
  local days, us = date and date_days(date), time and time_micros((time:gsub("Z$", "")))
  if not days or not us then return nil end
  return 0LL + days * 86400000000LL + us
end

local function uuid_bytes(s)
  local hex = type(s) == "string" and s:gsub("-", "")
  if not hex or #hex ~= 32 or hex:find("[^%x]") then return nil end
  return (hex:gsub("%x%x", function(h) return string.char(tonumber(h, 16)) end))
end

local function interval_bytes(v)
  if type(v) ~= "table" then return nil end
  local b = ffi.new("struct { int32_t months; int32_t days; int64_t micros; }",
    v.months or 0, v.days or 0, v.micros or 0)
  return ffi.string(b, 16)
end

-- The integer (int64 cdata-compatible) of a fixed-width value, or nil.
local function fixed_int(t, v)
  local id = t.id
  if id == ID.boolean then
    if type(v) ~= "boolean" then return nil end
    return v and 1 or 0
  end
  if type(v) == "string" then
    if id == ID.date then return date_days(v) end
    if id == ID.time then return time_micros(v) end
    if id == ID.timestamp or id == ID.timestamptz then return timestamp_micros(v) end
    return nil
  end
  if type(v) == "number" and v % 1 == 0 then return v end
  if type(v) == "cdata" and (ffi.istype("int64_t", v) or ffi.istype("uint64_t", v)) then return v end
  return nil
end

local function bad(t, v)
  error(("expected a %s value, got %s %s"):format(types.render(t), type(v), tostring(v)), 0)
end

-- char(n) blank-padded, char(n)/varchar(n) length-checked (types.fit_text).
local function fit_text(t, v)
  local s, err = types.fit_text(t, v)
  if not s then error(err, 0) end
  return s
end

------------------------------------------------------------------------------
-- Packing nested values.

local function u32(n)
  return string.char(n % 256, math.floor(n / 256) % 256, math.floor(n / 65536) % 256, math.floor(n / 16777216) % 256)
end

local pack_value

local function pack_nullable(t, v, out)
  if v == nil or v == M.null then
    out[#out + 1] = "\1"
  else
    out[#out + 1] = "\0"
    pack_value(t, v, out)
  end
end

pack_value = function(t, v, out)
  local id = t.id
  if FIXED_INT[id] then
    local n = fixed_int(t, v)
    if n == nil then bad(t, v) end
    word.i = n
    out[#out + 1] = ffi.string(word.b, 8)
  elseif FLOAT[id] then
    if type(v) ~= "number" then bad(t, v) end
    word.f = v
    out[#out + 1] = ffi.string(word.b, 8)
  elseif VAR[id] then
    if type(v) == "number" and id == ID.numeric then v = string.format("%.17g", v) end
    if type(v) ~= "string" then bad(t, v) end
    if t.length then v = fit_text(t, v) end
    out[#out + 1] = u32(#v) .. v
  elseif id == ID.uuid then
    out[#out + 1] = uuid_bytes(v) or bad(t, v)
  elseif id == ID.interval then
    out[#out + 1] = interval_bytes(v) or bad(t, v)
  elseif id == ID.record then
    if type(v) ~= "table" then bad(t, v) end
    for _, f in ipairs(t.fields) do pack_nullable(f.type, v[f.name], out) end
  elseif id == ID.map then
    if type(v) ~= "table" then bad(t, v) end
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = tostring(k) end
    table.sort(keys) -- deterministic bytes for the same map
    out[#out + 1] = u32(#keys)
    for _, k in ipairs(keys) do
      out[#out + 1] = u32(#k) .. k
      pack_nullable(t.value, v[k], out)
    end
  else -- list, array
    if type(v) ~= "table" then bad(t, v) end
    local n = v.n or #v
    out[#out + 1] = u32(n)
    for i = 1, n do pack_nullable(t.elem, v[i], out) end
  end
end

function M.pack(t, v)
  local out = {}
  pack_value(t, v, out)
  return table.concat(out)
end

------------------------------------------------------------------------------
-- Writing a cell.

-- Sets cell (r, col) of batch b (col 0-based) from a Lua value; raises with
-- a message naming the expected type on a value that does not fit.
function M.set(b, r, col, t, v)
  if v == nil or v == M.null then return end -- new rows start all-NULL
  local id = t.id
  if FIXED_INT[id] then
    local n = fixed_int(t, v)
    if n == nil then bad(t, v) end
    C.sg_batch_set_i64(b, r, col, n)
    return
  end
  if FLOAT[id] then
    if type(v) ~= "number" then bad(t, v) end
    C.sg_batch_set_f64(b, r, col, v)
    return
  end
  local bytes
  if VAR[id] then
    if type(v) == "number" and id == ID.numeric then v = string.format("%.17g", v) end
    bytes = type(v) == "string" and v or bad(t, v)
    if t.length then bytes = fit_text(t, bytes) end
  elseif id == ID.uuid then
    bytes = uuid_bytes(v) or bad(t, v)
  elseif id == ID.interval then
    bytes = interval_bytes(v) or bad(t, v)
  else
    bytes = M.pack(t, v)
  end
  if C.sg_batch_set_bytes(b, r, col, bytes, #bytes) ~= 0 then error("batch arena is full", 0) end
end

------------------------------------------------------------------------------
-- Reading a cell.

-- A 64-bit integer as a Lua number when that is exact (|x| <= 2^53),
-- else as the cdata itself. Compared in 64 bits: tonumber first would round.
local function int_value(x)
  if x >= -9007199254740992LL and x <= 9007199254740992LL then return tonumber(x) end
  return x
end

local function uint_value(x)
  if x <= 9007199254740992ULL then return tonumber(x) end
  return x
end

local function hex_uuid(p)
  local s = ffi.string(p, 16):gsub(".", function(c) return ("%02x"):format(c:byte()) end)
  return ("%s-%s-%s-%s-%s"):format(s:sub(1, 8), s:sub(9, 12), s:sub(13, 16), s:sub(17, 20), s:sub(21, 32))
end

local function interval_value(p)
  local v = ffi.cast("const struct { int32_t months; int32_t days; int64_t micros; } *", p)
  return { months = v.months, days = v.days, micros = tonumber(v.micros) }
end

local read_packed

-- One value at p (fixed: the 8-byte slot), returning value, next pointer.
local function read_nullable(t, p)
  if p[0] == 1 then return nil, p + 1 end
  return read_packed(t, p + 1)
end

local function u32_at(p) return p[0] + p[1] * 256 + p[2] * 65536 + p[3] * 16777216 end

read_packed = function(t, p)
  local id = t.id
  if FIXED_INT[id] or FLOAT[id] then
    ffi.copy(word.b, p, 8)
    if FLOAT[id] then return word.f, p + 8 end
    if id == ID.boolean then return word.i ~= 0, p + 8 end
    if id == ID.uint8 then return uint_value(word.u), p + 8 end
    return int_value(word.i), p + 8
  end
  if VAR[id] then
    local n = u32_at(p)
    return ffi.string(p + 4, n), p + 4 + n
  end
  if id == ID.uuid then return hex_uuid(p), p + 16 end
  if id == ID.interval then return interval_value(p), p + 16 end
  local out = {}
  if id == ID.record then
    for _, f in ipairs(t.fields) do out[f.name], p = read_nullable(f.type, p) end
    return out, p
  end
  local n = u32_at(p)
  p = p + 4
  for i = 1, n do
    if id == ID.map then
      local k = ffi.string(p + 4, u32_at(p))
      p = p + 4 + #k
      local v
      v, p = read_nullable(t.value, p)
      out[k] = v == nil and M.null or v -- a table cannot hold nil: NULL values stay visible
    else
      local v
      v, p = read_nullable(t.elem, p)
      out[i] = v == nil and M.null or v
    end
  end
  if id ~= ID.map then out.n = n end
  return out, p
end

-- The Lua value of cell (r, col) (col 0-based), nil for NULL.
function M.get(b, r, col, t)
  local i = r * b.ncols + col
  if b.nulls[i] ~= 0 then return nil end
  local cell = b.cells[i]
  local id = t.id
  if FLOAT[id] then return cell.f end
  if id == ID.boolean then return cell.i ~= 0 end
  if id == ID.uint8 then return uint_value(cell.u) end
  if FIXED_INT[id] then return int_value(cell.i) end
  local p = ffi.cast("const uint8_t *", b.arena) + cell.s.off
  if VAR[id] then return ffi.string(p, cell.s.len) end
  return (read_packed(t, p))
end

-- A reusable row proxy over a batch: view:at(r) points it at row r and
-- returns it; `row.col` reads that cell when accessed.
function M.view(relation, batch)
  local cols, current = {}, 0
  for i, c in ipairs(relation.columns) do cols[c.name] = { i - 1, c.type } end
  local row = setmetatable({}, {
    __index = function(_, name)
      local c = cols[name]
      if not c then error("no column \"" .. tostring(name) .. "\" in " .. relation.name, 2) end
      return M.get(batch, current, c[1], c[2])
    end,
    __newindex = function() error("rows are read-only", 2) end,
  })
  return {
    at = function(_, r)
      current = r
      return row
    end,
  }
end

return M
