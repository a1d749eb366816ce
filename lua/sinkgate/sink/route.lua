-- sinkgate.sink.route — the per-message Lua functions of a sink, run over a
-- batch's updates through one reusable row view (no table per row):
--   partition_by(row) → u64 hash (number or 64-bit cdata) or nil; the
--     partition is hash % count; nil → partition 0, counted; an error, or
--     a result that is no u64 (string, negative, fractional, NaN, boolean)
--     → partition 0, counted by kind and reported with its file:line
--     (on_error = "fail": the sink fails instead).
--     With DEBEZIUM it may only read key columns: reading another column
--     fails the sink (a configuration error, not a per-row one).
--   headers(row) → { name = text | bytes | sinkgate.null }; names with the
--     reserved prefix are dropped and counted; other value types are errors,
--     counted and reported, and the message goes out without that header.
-- Both see the new row, or the old row of a deletion.
local cjson = require "cjson"
local core = require "sinkgate.core"
local check = require "sinkgate.rows_check"
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
    __pairs = function(t) -- the key columns only: the others may not be read
      local pairs_of = rows.pairs(current)
      local function nxt()
        local k, v = pairs_of()
        while k ~= nil and not allowed[k] do k, v = pairs_of() end
        return k, v
      end
      return nxt, t, nil
    end,
  })
  return { at = function(_, r) current = inner:at(r) return proxy end }
end

local function def_where(fn) return check.defined_at(fn) end

local function raised(fn, e) return check.raised_at(fn, e) end

-- problems: the sink's sinkgate.sink.problems; errors of partition_by and
-- headers are noted there by kind (= the counter's name).
function M.new(plan, batch, counters, problems)
  local o = plan.opts
  local self = setmetatable({ plan = plan, batch = batch, counters = counters, problems = problems,
    fail_on_error = o.on_error == "fail", partition_by = o.into.partition_by, headers = o.headers,
    reserved = o.timestamp_header:match("^(.-%-)") or o.timestamp_header }, M)
  counters.partition_by_invalid = counters.partition_by_invalid or 0
  self.pby_path = plan.name and ("sinks." .. plan.name .. ".into.partition_by") or "partition_by"
  self.hdr_path = plan.name and ("sinks." .. plan.name .. ".headers") or "headers"
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

local TWO53, TWO64 = 2 ^ 53, 2 ^ 64

-- The partition of one hash result, or nil when it is not a usable hash
-- (a u64: a non-negative integral number below 2^64, or 64-bit cdata that
-- is not negative).
local function partition_of(h, nparts)
  if type(h) == "number" then
    if h >= 0 and h % 1 == 0 and h < TWO64 then
      if h < TWO53 then return h % nparts end
      return tonumber(ffi.cast("uint64_t", h) % nparts) -- doubles lose the low bits of %
    end
    return nil
  end
  if type(h) == "cdata" and (ffi.istype("uint64_t", h) or (ffi.istype("int64_t", h) and h >= 0)) then
    return tonumber(ffi.cast("uint64_t", h) % nparts)
  end
end

-- Notes a routing problem; returns the message when on_error = "fail".
function M:problem(kind, where, path, msg, action)
  local c = self.counters
  c[kind] = c[kind] + 1
  local text = ("%s: %s: %s"):format(where, path, msg)
  local fail = self.fail_on_error and kind ~= "headers_dropped"
  if self.problems then self.problems:note(kind, text, fail and "the sink fails (on_error = \"fail\")" or action) end
  if fail then return text .. " (on_error = \"fail\")" end
end

local TO_ZERO = "the message went to partition 0"

-- Fills partitions[0 .. to-from) for updates [from, to); returns them or
-- nil, error (the DEBEZIUM key-only rule; on_error = "fail"). The whole
-- range first runs under one pcall (a pcall per row costs more than a
-- small function does); only a range where something raised or returned a
-- non-hash is redone row by row, to route, count and report each failure.
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
    local p, failed = 0, nil
    if not ok then
      if type(h) == "table" and h.key_only then
        return nil, ("%s: it read column \"%s\" (key: %s)"):format(KEY_ONLY, h.key_only,
          table.concat(self.plan.key or {}, ", "))
      end
      local where, msg = raised(fn, h)
      failed = self:problem("partition_by_errors", where, self.pby_path, "error: " .. msg, TO_ZERO)
    elseif h == nil or h == cjson.null then
      c.partition_by_nil = c.partition_by_nil + 1
    else
      p = partition_of(h, nparts)
      if not p then
        p = 0
        failed = self:problem("partition_by_invalid", def_where(fn), self.pby_path,
          ("returned %s %s, expected a u64 hash (a non-negative integer below 2^64, or uint64 cdata) or nil")
            :format(type(h), check.show(h)), TO_ZERO)
      end
    end
    if failed then return nil, failed end
    out[i - from] = p
  end
  return out
end

-- Adds one headers function result to names/values; what is dropped
-- (reserved prefix) or wrong (not a table, names or values of the wrong
-- type) goes to `issues` as { kind, message, action }.
local function collect(h, names, values, issues, reserved)
  if h == nil then return end
  if type(h) ~= "table" then
    issues[#issues + 1] = { "header_errors", ("returned %s %s, expected a table of name = text/bytes"):format(type(h),
      check.show(h)), "the message went out without user headers" }
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
    if type(k) ~= "string" then
      issues[#issues + 1] = { "header_errors", ("header name %s is a %s, expected a string"):format(check.show(k),
        type(k)), "that header was dropped" }
    elseif type(v) ~= "string" and v ~= cjson.null then
      issues[#issues + 1] = { "header_errors", ("header \"%s\" is %s %s, expected text, bytes or sinkgate.null")
        :format(k, type(v), check.show(v)), "that header was dropped" }
    elseif k:sub(1, #reserved) == reserved then
      issues[#issues + 1] = { "headers_dropped", ("header \"%s\" uses the reserved prefix \"%s\""):format(k, reserved),
        "that header was dropped" }
    else
      names[#names + 1] = k
      values[#values + 1] = v
    end
  end
end

-- Builds the sg_msg_headers of updates [from, to); returns it and the Lua
-- values it points into (keep both alive while emitting), or nil, error
-- with on_error = "fail". Like partitions: one pcall for the range, row by
-- row only where something raised.
function M:message_headers(u, from, to, extra)
  local fn, view, reserved = self.headers, self.view, self.reserved
  -- plugins: `extra[i - from + 1]` holds the headers a format plugin added
  -- to that message (CloudEvents binary mode), checked like the user's
  local user = fn
  fn = function(row, k)
    local h = user and user(row)
    local e = extra and extra[k]
    if not e then return h end
    if h == nil then return e end
    local merged = {}
    for name, v in pairs(e) do merged[name] = v end
    if type(h) ~= "table" then return h == nil and merged or h end
    for name, v in pairs(h) do merged[name] = v end
    return merged
  end
  local first = ffi.new("uint32_t[?]", to - from + 1)
  local names, values, issues
  local function pass(guarded)
    names, values, issues = {}, {}, {}
    for i = from, to - 1 do
      first[i - from] = #names
      local row = view:at(row_of(u.items[i]))
      if guarded then
        local ok, h = pcall(fn, row, i - from + 1)
        if ok then
          collect(h, names, values, issues, reserved)
        else
          local where, msg = raised(user or fn, h)
          issues[#issues + 1] = { "header_errors", "error: " .. msg, "the message went out without user headers", where }
        end
      else
        collect(fn(row, i - from + 1), names, values, issues, reserved)
      end
    end
  end
  if not pcall(pass, false) then pass(true) end
  if #issues > 0 then
    local at = def_where(user or fn)
    for _, x in ipairs(issues) do
      local failed = self:problem(x[1], x[4] or at, self.hdr_path, x[2], x[3])
      if failed then return nil, failed end
    end
  end
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
