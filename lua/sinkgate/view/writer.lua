-- sinkgate.view.writer — writes a view's output rows (Lua tables) into a
-- batch, with the same checks as rows.push, through a function generated
-- once per output relation: one straight line of code per column, no loop
-- over the columns, so LuaJIT compiles a view's whole per-row path into one
-- trace (a loop over columns inside the loop over rows stops that). Nested
-- values go through rows.set; a bad value or an unknown column gives the
-- same "relation.column: message" rows.push would.
local core = require "sinkgate.core"
local check = require "sinkgate.rows_check"
local rows = require "sinkgate.rows"
local types = require "sinkgate.types"

local C = core.C
local M = {}

local ID = types.ID
local FIXED_INT = { [ID.boolean] = true, [ID.smallint] = true, [ID.integer] = true, [ID.bigint] = true,
  [ID.uint2] = true, [ID.uint4] = true, [ID.uint8] = true, [ID.oid] = true, [ID.date] = true, [ID.time] = true,
  [ID.timestamp] = true, [ID.timestamptz] = true }
local FLOAT = { [ID.real] = true, [ID["double precision"]] = true }

-- Column i's statement: converts row[name] and sets cell (r, i - 1), or
-- returns i, message.
local function column_code(i, c)
  local col = i - 1
  local lines = { ("v = row[%q]"):format(c.name), "if v == nil or v == NULL then" }
  lines[#lines + 1] = c.nullable and "" or ("  return %d, 'NULL in a NOT NULL column'"):format(i)
  lines[#lines + 1] = "else"
  local id = c.type.id
  if id == ID.text and not c.type.length then
    -- rows_check.text without its Lua UTF-8 scan (string.find is not
    -- compiled: it would end the trace on every row): the C scan accepts
    -- exactly what that accepts, and anything it refuses goes through
    -- rows_check for the same message.
    lines[#lines + 1] = "  x = v"
    lines[#lines + 1] = ("  if type(v) ~= 'string' or utf8_valid(v, #v, nil) == 0 then x, err = CHECK[%d](T[%d], v) end")
      :format(i, i)
    lines[#lines + 1] = ("  if x == nil then return %d, err end"):format(i)
    lines[#lines + 1] = ("  if set_bytes(b, r, %d, x, #x) ~= 0 then return %d, 'batch arena is full' end"):format(col, i)
  elseif check.BY_ID[id] then
    lines[#lines + 1] = ("  x, err = CHECK[%d](T[%d], v)"):format(i, i)
    lines[#lines + 1] = ("  if x == nil then return %d, err end"):format(i)
    if FIXED_INT[id] then
      lines[#lines + 1] = ("  set_i64(b, r, %d, x)"):format(col)
    elseif FLOAT[id] then
      lines[#lines + 1] = ("  set_f64(b, r, %d, x)"):format(col)
    else
      lines[#lines + 1] = ("  if set_bytes(b, r, %d, x, #x) ~= 0 then return %d, 'batch arena is full' end"):format(col, i)
    end
  else
    lines[#lines + 1] = ("  local ok, e = pcall(set, b, r, %d, T[%d], v)"):format(col, i)
    lines[#lines + 1] = ("  if not ok then return %d, tostring(e) end"):format(i)
  end
  lines[#lines + 1] = "end"
  return table.concat(lines, "\n")
end

-- fn(b, time, diff, row) → row index, or nil, "relation.column: message"
-- (the batch then as it was).
function M.new(relation)
  local cols = relation.columns
  local body = { "local C, CHECK, T, NULL, set, index, is_secret = ...",
    "local push_row, set_i64, set_f64, set_bytes, utf8_valid = C.sg_batch_push_row, C.sg_batch_set_i64, " ..
      "C.sg_batch_set_f64, C.sg_batch_set_bytes, C.sg_utf8_valid",
    "return function(b, time, diff, row)",
    "  local r = push_row(b, time, diff)",
    "  if r < 0 then return nil, 0, 'out of memory' end",
    "  local v, x, err" }
  local CHECK, T = {}, {}
  for i, c in ipairs(cols) do
    CHECK[i], T[i] = check.BY_ID[c.type.id], c.type
    body[#body + 1] = "  do"
    body[#body + 1] = column_code(i, c)
    body[#body + 1] = "  end"
  end
  -- Unknown columns: the keys in pairs() order (so the same one is named),
  -- by next() unrolled #cols + 1 times: #cols distinct known keys at most,
  -- so the step after them ends the table or finds an unknown key. (A
  -- pairs loop would be an inner loop: the per-row path then no longer
  -- compiles to one trace — "NYI: return to lower frame" — and runs
  -- interpreted.)
  body[#body + 1] = "  local k = nil"
  for _ = 1, #cols + 1 do
    body[#body + 1] = "  k = next(row, k) if k == nil then return r end if not index[k] then return nil, -1, k end"
  end
  body[#body + 1] = "  return r"
  body[#body + 1] = "end"
  local text = table.concat(body, "\n")
  -- each column's block returns (i, msg) on a bad value: turn that into nil, i, msg
  text = text:gsub("return (%d+), ", "return nil, %1, ")
  local make = assert(loadstring(text, "=view writer " .. relation.name))
  local write = make(C, CHECK, T, rows.null, rows.set, relation.index, check.is_secret)
  local names = {}
  for i, c in ipairs(cols) do names[i] = c.name end
  return function(b, time, diff, row)
    -- (plain getmetatable first: debug.getmetatable, inside is_secret, stops the JIT)
    if type(row) ~= "table" or (getmetatable(row) ~= nil and check.is_secret(row)) then
      return nil, ("%s: expected a row (a table of column = value), got %s"):format(relation.name, check.show(row))
    end
    local nrows, arena = b.nrows, b.arena_len
    local r, i, err = write(b, time, diff, row)
    if r and getmetatable(row) ~= nil then
      -- rows.push walks the keys with pairs(), which on a LuaJIT built with
      -- Lua 5.2 compatibility follows __pairs (a row view has one): the
      -- same keys as next() here, but not necessarily elsewhere
      for k in pairs(row) do
        if not relation.index[k] then
          r, i, err = nil, -1, k
          break
        end
      end
    end
    if r then return r end
    C.sg_batch_truncate(b, nrows, arena)
    if i == -1 then
      return nil, ("%s: no column %s (columns: %s)"):format(relation.name, check.show(err), table.concat(names, ", "))
    elseif i == 0 then
      return nil, relation.name .. ": " .. err
    end
    local c0 = err:sub(1, 1)
    if c0 == "[" or c0 == "." then return nil, ("%s.%s%s"):format(relation.name, cols[i].name, err) end
    return nil, ("%s.%s: %s"):format(relation.name, cols[i].name, err)
  end
end

return M
