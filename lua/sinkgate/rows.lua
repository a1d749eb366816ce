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
local check = require "sinkgate.rows_check"
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
-- Writing: every value is checked (sinkgate.rows_check) before any byte of
-- it reaches the batch; a value that does not fit raises "path: expected …,
-- got …" where path is empty at the top and names the element inside
-- nested values ("[2]", ".x", "[\"k\"]").

local CHECK = check.BY_ID

local function u32(n)
  return string.char(n % 256, math.floor(n / 256) % 256, math.floor(n / 65536) % 256, math.floor(n / 16777216) % 256)
end

local function fail(path, msg)
  error(path == "" and msg or (path .. ": " .. msg), 0)
end

local pack_value

local function is_null(v) return v == nil or v == M.null end

local function pack_nullable(t, v, out, path, not_null)
  if is_null(v) then
    if not_null then fail(path, "NULL in a NOT NULL field") end
    out[#out + 1] = "\1"
  else
    out[#out + 1] = "\0"
    pack_value(t, v, out, path)
  end
end

pack_value = function(t, v, out, path)
  local id = t.id
  local scalar = CHECK[id]
  if scalar then
    local x, err = scalar(t, v)
    if x == nil then fail(path, err) end
    if FIXED_INT[id] then
      word.i = x
      out[#out + 1] = ffi.string(word.b, 8)
    elseif FLOAT[id] then
      word.f = x
      out[#out + 1] = ffi.string(word.b, 8)
    elseif VAR[id] then
      out[#out + 1] = u32(#x) .. x
    else -- uuid, interval: fixed 16 bytes
      out[#out + 1] = x
    end
    return
  end
  if type(v) ~= "table" or getmetatable(v) ~= nil then
    fail(path, ("expected %s (a table), got %s"):format(types.render(t), check.show(v)))
  end
  if id == ID.record then
    local known = {}
    for _, f in ipairs(t.fields) do
      known[f.name] = true
      pack_nullable(f.type, v[f.name], out, path .. "." .. f.name, not f.nullable)
    end
    for k in pairs(v) do
      if not known[k] then fail(path, ("no field %s in %s"):format(check.show(k), types.render(t))) end
    end
  elseif id == ID.map then
    local keys = {}
    for k in pairs(v) do
      if type(k) ~= "string" then fail(path, "map keys must be strings, got " .. check.show(k)) end
      keys[#keys + 1] = k
    end
    table.sort(keys) -- deterministic bytes for the same map
    out[#out + 1] = u32(#keys)
    for _, k in ipairs(keys) do
      out[#out + 1] = u32(#k) .. k
      pack_nullable(t.value, v[k], out, path .. "[" .. check.show(k) .. "]")
    end
  else -- list, array
    local n = v.n or #v
    for k in pairs(v) do
      if k ~= "n" and (type(k) ~= "number" or k < 1 or k > n or k % 1 ~= 0) then
        fail(path, ("expected %s (an array), got a table with key %s"):format(types.render(t), check.show(k)))
      end
    end
    out[#out + 1] = u32(n)
    for i = 1, n do pack_nullable(t.elem, v[i], out, path .. "[" .. i .. "]") end
  end
end

function M.pack(t, v)
  local out = {}
  pack_value(t, v, out, "")
  return table.concat(out)
end

-- Sets cell (r, col) of batch b (col 0-based) from a Lua value; raises
-- "expected …, got …" (with the path inside a nested value) on a value
-- that does not fit, before writing anything. NULL checks are the
-- caller's (it knows the column's nullability).
function M.set(b, r, col, t, v)
  if v == nil or v == M.null then return end -- new rows start all-NULL
  local id = t.id
  local scalar = CHECK[id]
  local bytes
  if scalar then
    local x, err = scalar(t, v)
    if x == nil then error(err, 0) end
    if FIXED_INT[id] then
      C.sg_batch_set_i64(b, r, col, x)
      return
    elseif FLOAT[id] then
      C.sg_batch_set_f64(b, r, col, x)
      return
    end
    bytes = x
  else
    bytes = M.pack(t, v)
  end
  if C.sg_batch_set_bytes(b, r, col, bytes, #bytes) ~= 0 then error("batch arena is full", 0) end
end

-- Appends one row (a table keyed by column name) to batch b, whole or not
-- at all: on a bad value the batch is put back as it was and nil, message
-- is returned, message = "relation.column: …".
function M.push(b, relation, time, diff, row)
  if type(row) ~= "table" or check.is_secret(row) then
    return nil, ("%s: expected a row (a table of column = value), got %s"):format(relation.name, check.show(row))
  end
  local nrows, arena = b.nrows, b.arena_len
  local r = C.sg_batch_push_row(b, time, diff)
  if r < 0 then return nil, relation.name .. ": out of memory" end
  local cols = relation.columns
  for i = 1, #cols do
    local c = cols[i]
    local v = row[c.name]
    local err
    if v == nil or v == M.null then
      if not c.nullable then err = "NULL in a NOT NULL column" end
    else
      -- Scalars are checked without a pcall (they return nil, err); nested
      -- values raise from inside the packing, with their path.
      local t = c.type
      local id = t.id
      local scalar = CHECK[id]
      if scalar then
        local x
        x, err = scalar(t, v)
        if x ~= nil then
          if FIXED_INT[id] then
            C.sg_batch_set_i64(b, r, i - 1, x)
          elseif FLOAT[id] then
            C.sg_batch_set_f64(b, r, i - 1, x)
          elseif C.sg_batch_set_bytes(b, r, i - 1, x, #x) ~= 0 then
            err = "batch arena is full"
          end
        end
      else
        local ok, e = pcall(M.set, b, r, i - 1, t, v)
        if not ok then err = tostring(e) end
      end
    end
    if err then
      C.sg_batch_truncate(b, nrows, arena)
      local c0 = err:sub(1, 1)
      if c0 == "[" or c0 == "." then return nil, ("%s.%s%s"):format(relation.name, c.name, err) end
      return nil, ("%s.%s: %s"):format(relation.name, c.name, err)
    end
  end
  for k in pairs(row) do
    if not relation.index[k] then
      C.sg_batch_truncate(b, nrows, arena)
      local names = {}
      for i, c in ipairs(cols) do names[i] = c.name end
      return nil, ("%s: no column %s (columns: %s)"):format(relation.name, check.show(k), table.concat(names, ", "))
    end
  end
  return r
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

-- The Lua value packed by M.pack(t, v) (views keep rows and keys packed in
-- their state store).
function M.unpack(t, s)
  return (read_packed(t, ffi.cast("const uint8_t *", s)))
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
-- returns it; `row.col` reads that cell when accessed. It behaves like the
-- plain table { col = value, … } of that row: pairs(row) yields (column,
-- value) for the non-NULL columns, in column order (config code gets a
-- pairs that honours __pairs: LuaJIT's own does not); #row is 0 on both,
-- as neither has an array part.
function M.view(relation, batch)
  local cols, current = {}, 0
  for i, c in ipairs(relation.columns) do cols[c.name] = { i - 1, c.type } end
  local list = relation.columns
  local function iterate()
    local i = 0
    return function()
      while true do
        i = i + 1
        local c = list[i]
        if not c then return nil end
        local v = M.get(batch, current, i - 1, c.type)
        if v ~= nil then return c.name, v end
      end
    end
  end
  local row = setmetatable({}, {
    __index = function(_, name)
      local c = cols[name]
      if not c then error("no column \"" .. tostring(name) .. "\" in " .. relation.name, 2) end
      return M.get(batch, current, c[1], c[2])
    end,
    __newindex = function() error("rows are read-only", 2) end,
    __pairs = function(t) return iterate(), t, nil end,
  })
  return {
    at = function(_, r)
      current = r
      return row
    end,
  }
end

-- pairs() that honours a __pairs metamethod, as Lua 5.2 does; the config
-- sandbox's pairs, so pairs(row) works on a row view.
function M.pairs(t)
  local mt = getmetatable(t)
  local f = type(mt) == "table" and rawget(mt, "__pairs")
  if f then return f(t) end
  return next, t, nil
end

return M
