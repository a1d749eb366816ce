-- sinkgate.sink.route — the per-message Lua functions of a sink, run over a
-- batch's updates through one reusable row view (no table per row):
--   partition_by(row) → u64 hash (number or 64-bit cdata) or nil; the
--     partition is hash % count; nil or an error → partition 0, counted.
--     With DEBEZIUM it may only read key columns: reading another column
--     fails the sink (a configuration error, not a per-row one).
--   headers(row) → { name = text | bytes | sinkgate.null }; names with the
--     reserved prefix are dropped and counted; other value types are errors,
--     counted, and the message goes out without that header.
-- Both see the new row, or the old row of a deletion.
local cjson = require "cjson"
local core = require "sinkgate.core"
local rows = require "sinkgate.rows"

local ffi = core.ffi
local M = {}
M.__index = M

local KEY_ONLY = "partition_by may only read key columns with the DEBEZIUM envelope"

-- A view that refuses columns outside `allowed` (DEBEZIUM partition_by).
local function restricted_view(relation, batch, allowed)
  local inner = rows.view(relation, batch)
  local current
  local proxy = setmetatable({}, {
    __index = function(_, name)
      if not allowed[name] then error({ key_only = name }, 2) end
      return current[name]
    end,
  })
  return { at = function(_, r) current = inner:at(r) return proxy end }
end

function M.new(plan, batch, counters)
  local o = plan.opts
  local self = setmetatable({ plan = plan, batch = batch, counters = counters,
    partition_by = o.into.partition_by, headers = o.headers,
    reserved = o.timestamp_header:match("^(.-%-)") or o.timestamp_header }, M)
  self.view = rows.view(plan.relation, batch)
  if self.partition_by and plan.envelope == "debezium" then
    local allowed = {}
    for _, k in ipairs(plan.key or {}) do allowed[k] = true end
    self.pview = restricted_view(plan.relation, batch, allowed)
  else
    self.pview = self.view
  end
  return self
end

local function row_of(up)
  return up.after >= 0 and up.after or up.before
end

-- The partition of one hash result, or nil when it is not a usable hash.
local function partition_of(h, nparts)
  if type(h) == "number" and h >= 0 and h % 1 == 0 then return h % nparts end
  if type(h) == "cdata" and (ffi.istype("uint64_t", h) or ffi.istype("int64_t", h)) then
    return tonumber(ffi.cast("uint64_t", h) % nparts)
  end
end

-- Fills partitions[0 .. to-from) for updates [from, to); returns them or
-- nil, error (the DEBEZIUM key-only rule). The whole range first runs
-- under one pcall (a pcall per row costs more than a small function does);
-- only a range where something raised is redone row by row, to route and
-- count each failure.
function M:partitions(u, from, to, nparts)
  local out = ffi.new("int32_t[?]", math.max(1, to - from))
  local fn, view, c = self.partition_by, self.pview, self.counters
  local nils = 0
  local fast = pcall(function()
    for i = from, to - 1 do
      local h = fn(view:at(row_of(u.items[i])))
      local p = 0
      if h == nil or h == cjson.null then
        nils = nils + 1
      else
        p = partition_of(h, nparts)
        if not p then error("not a hash") end
      end
      out[i - from] = p
    end
  end)
  if fast then
    c.partition_by_nil = c.partition_by_nil + nils
    return out
  end
  for i = from, to - 1 do
    local ok, h = pcall(fn, view:at(row_of(u.items[i])))
    local p = 0
    if not ok then
      if type(h) == "table" and h.key_only then
        return nil, ("%s: it read column \"%s\" (key: %s)"):format(KEY_ONLY, h.key_only,
          table.concat(self.plan.key or {}, ", "))
      end
      c.partition_by_errors = c.partition_by_errors + 1
    elseif h == nil or h == cjson.null then
      c.partition_by_nil = c.partition_by_nil + 1
    else
      p = partition_of(h, nparts)
      if not p then
        p = 0
        c.partition_by_errors = c.partition_by_errors + 1
      end
    end
    out[i - from] = p
  end
  return out
end

-- Adds one headers function result to names/values, counting what is
-- dropped (reserved prefix) or wrong (not a table, names or values of the
-- wrong type).
local function collect(h, names, values, c, reserved)
  if h == nil then return end
  if type(h) ~= "table" then
    c.header_errors = c.header_errors + 1
    return
  end
  local k1 = next(h)
  if k1 == nil then return end
  local keys
  if next(h, k1) == nil then
    keys = { k1 } -- one header: nothing to sort (the common case)
  else
    keys = {}
    for k in pairs(h) do keys[#keys + 1] = k end
    table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  end
  for _, k in ipairs(keys) do
    local v = h[k]
    if type(k) ~= "string" or (type(v) ~= "string" and v ~= cjson.null) then
      c.header_errors = c.header_errors + 1
    elseif k:sub(1, #reserved) == reserved then
      c.headers_dropped = c.headers_dropped + 1
    else
      names[#names + 1] = k
      values[#values + 1] = v
    end
  end
end

-- Builds the sg_msg_headers of updates [from, to); returns it and the Lua
-- values it points into (keep both alive while emitting). Like partitions:
-- one pcall for the range, row by row only where something raised.
function M:message_headers(u, from, to)
  local fn, view, reserved = self.headers, self.view, self.reserved
  local first = ffi.new("uint32_t[?]", to - from + 1)
  local names, values
  local counts = { header_errors = 0, headers_dropped = 0 }
  local function pass(guarded)
    names, values = {}, {}
    counts.header_errors, counts.headers_dropped = 0, 0
    for i = from, to - 1 do
      first[i - from] = #names
      local row = view:at(row_of(u.items[i]))
      if guarded then
        local ok, h = pcall(fn, row)
        if ok then collect(h, names, values, counts, reserved) else counts.header_errors = counts.header_errors + 1 end
      else
        collect(fn(row), names, values, counts, reserved)
      end
    end
  end
  if not pcall(pass, false) then pass(true) end
  local c = self.counters
  c.header_errors = c.header_errors + counts.header_errors
  c.headers_dropped = c.headers_dropped + counts.headers_dropped
  first[to - from] = #names
  local n = math.max(1, #names)
  local cn, cv, cl = ffi.new("const char *[?]", n), ffi.new("const void *[?]", n), ffi.new("size_t[?]", n)
  for k = 1, #names do
    cn[k - 1] = names[k]
    if values[k] ~= cjson.null then
      cv[k - 1] = values[k]
      cl[k - 1] = #values[k]
    end
  end
  local h = ffi.new("sg_msg_headers", { first = first, names = cn, values = cv, lens = cl })
  return h, { names, values, first, cn, cv, cl }
end

return M
