-- sinkgate.plugin.emit — the per-range work of format plugins and
-- transforms, done before core/sink/emit.c sends the range: rows rewritten
-- by the transform, keys and values encoded by plugin formats (as
-- sg_msg_parts of format SG_FMT_GIVEN), and the headers a format adds
-- (CloudEvents binary mode). A plugin that raises never takes the gateway
-- down: under the sink's on_error = "count" the message is left out,
-- counted as plugin_errors and reported (sink/problems.lua); under "fail"
-- the sink fails and the others go on.
local core = require "sinkgate.core"
local rows = require "sinkgate.rows"
local check = require "sinkgate.rows_check"
local formats = require "sinkgate.plugin.formats"
local transform = require "sinkgate.plugin.transform"

local C, ffi = core.C, core.ffi
local M = {}
M.__index = M

-- An emitter for the sink, or nil when it has neither a format plugin nor a transform.
function M.new(plan, problems, counters)
  local kf, vf = plan.key_format, plan.value_format
  local key_fmt = formats.is_plugin(kf) and kf or nil
  local value_fmt = formats.is_plugin(vf) and vf or nil
  if not key_fmt and not value_fmt and not plan.opts.transform then return nil end
  counters.plugin_errors = counters.plugin_errors or 0
  local self = setmetatable({ plan = plan, problems = problems, counters = counters, key_fmt = key_fmt,
    value_fmt = value_fmt, fail = plan.opts.on_error == "fail", meta = { topic = plan.topic, sink = plan.name } }, M)
  if plan.opts.transform then self.transform = transform.runner(plan, problems, counters) end
  return self
end

-- The batch the sink's routing and emission read (the transform's output).
function M:output(batch)
  return self.transform and self.transform.out or batch
end

local TWO53 = 2 ^ 53

local function time_value(t)
  return t < TWO53 and tonumber(t) or t
end

-- Runs fmt's encode; returns bytes, headers or nil, message.
local function encode(fmt, row, meta)
  local fn = fmt.runtime.encode
  local ok, bytes, headers = pcall(fn, row, meta)
  if not ok then
    local where, msg = check.raised_at(fn, bytes)
    return nil, where .. ": " .. msg
  end
  if type(bytes) ~= "string" then
    return nil, ("%s: encode returned %s, expected a string of bytes"):format(check.defined_at(fn), type(bytes))
  end
  if headers ~= nil and type(headers) ~= "table" then
    return nil, ("%s: encode's second result is %s, expected a table of headers"):format(check.defined_at(fn),
      type(headers))
  end
  return bytes, headers
end

-- The row a key format plugin sees: the key columns only, in key order
-- (as the C encoders encode keys), read-only.
local function key_view(plan, batch)
  local inner = rows.view(plan.relation, batch)
  local list, allowed, current = plan.key or {}, {}, nil
  for _, k in ipairs(list) do allowed[k] = true end
  local proxy = setmetatable({}, {
    __index = function(_, name)
      if not allowed[name] then error(("no column \"%s\" in the key"):format(tostring(name)), 2) end
      return current[name]
    end,
    __newindex = function() error("rows are read-only", 2) end,
    __pairs = function(t)
      local i = 0
      return function()
        while true do
          i = i + 1
          local k = list[i]
          if k == nil then return nil end
          local v = current[k]
          if v ~= nil then return k, v end
        end
      end, t, nil
    end,
  })
  return { at = function(_, r) current = inner:at(r) return proxy end }
end

local function parts(n)
  local p = { data = ffi.new("const void *[?]", n), lens = ffi.new("size_t[?]", n), flags = ffi.new("uint8_t[?]", n) }
  p.c = ffi.new("sg_msg_parts", { data = p.data, lens = p.lens, flags = p.flags })
  return p
end

-- What a format plugin's prepare(info) may call to register a schema with
-- a registry connection it was given as an option (the plugin itself gets
-- no network): info.register(conn, subject, schema_text, schema_type) → id
-- or nil, message. One client per connection.
local clients = setmetatable({}, { __mode = "k" })
function M.register(conn, subject, schema, schema_type)
  if require("sinkgate.config.validate").kind_of(conn) ~= "registry_connection" then
    return nil, "register: expected a registry connection (an option of type registry_connection)"
  end
  local c = clients[conn]
  if not c then
    local err
    c, err = require("sinkgate.registry").client(conn.opts)
    if not c then return nil, err end
    clients[conn] = c
  end
  local id, failure = c:register(subject, schema, schema_type)
  if not id then return nil, failure.message end
  return id
end

-- Prepares (once) the plugin formats: their prepare(info) may fail the sink.
-- Returns true, or nil, message, retriable (a registry call failed: retry later).
function M:prepare()
  if self.prepared then return true end
  local register_failed = false
  local register = self.register or M.register
  local function tracked(...)
    local id, err = register(...)
    if not id then register_failed = true end
    return id, err
  end
  for _, f in pairs({ key = self.key_fmt, value = self.value_fmt ~= self.key_fmt and self.value_fmt or nil }) do
    if f.runtime.prepare then
      local ok, res, err = pcall(f.runtime.prepare, { columns = transform.public_columns(self.plan.relation),
        relation_name = self.plan.relation.name, topic = self.plan.topic, sink = self.plan.name,
        register = tracked })
      if not ok or not res then
        return nil, ("sinks.%s: plugin %s: prepare failed: %s"):format(self.plan.name, f.plugin.name,
          tostring(ok and err or res)), ok and register_failed
      end
    end
  end
  self.prepared = true
  return true
end

-- Work for updates [from, to) of u over `batch` (the sink's input batch):
-- returns { batch =, key =, value =, headers = { [i] = map }, keep = … }
-- or nil, error (on_error = "fail", or a failed prepare).
function M:range(batch, u, from, to)
  local ok, err = self:prepare()
  if not ok then return nil, err end
  local out = batch
  local res = { keep = {} }
  if self.transform then
    -- the range's rows, rewritten; from here on the updates are the copy [0, n)
    local upd, items
    out, upd, items = self.transform:rewrite(batch, u, from, to)
    if not out then return nil, upd end
    res.updates, res.keep[1], res.keep[2] = upd, upd, items
    u, from, to = upd[0], 0, to - from
  end
  res.batch = out
  local n = math.max(1, to - from)
  local key, value
  if self.key_fmt then key = parts(n) res.key = key.c end
  if self.value_fmt then value = parts(n) res.value = value.c end
  local flags = (value or key) and (value or key).flags
  if not flags and self.transform then -- a transform alone: flags only, to leave skipped rows out
    value = { flags = ffi.new("uint8_t[?]", n) }
    value.c = ffi.new("sg_msg_parts", { flags = value.flags })
    res.value = value.c
  end
  local view = rows.view(self.plan.relation, out)
  local kview = key and key_view(self.plan, out)
  local skipped = self.transform and self.transform.skipped or {}
  local meta, upsert = self.meta, self.plan.envelope == "upsert"
  for i = from, to - 1 do
    local up = u.items[i]
    local k = i - from
    local r = up.after >= 0 and up.after or up.before
    if skipped[k] then
      (value or key).flags[k] = C.SG_PART_SKIP
    else
      meta.time, meta.op = time_value(up.time), up.after >= 0 and "upsert" or "delete"
      local failed
      if key then
        local bytes, berr = encode(self.key_fmt, kview:at(r), meta)
        if bytes then
          res.keep[#res.keep + 1] = bytes
          key.data[k], key.lens[k] = bytes, #bytes
        else
          failed = berr
        end
      end
      if self.value_fmt and not failed then
        if upsert and up.after < 0 then
          value.flags[k] = C.SG_PART_NULL -- a tombstone: nothing to encode
        else
          local bytes, headers = encode(self.value_fmt, view:at(up.after), meta)
          if bytes then
            res.keep[#res.keep + 1] = bytes
            value.data[k], value.lens[k] = bytes, #bytes
            if headers then
              res.headers = res.headers or {}
              res.headers[k + 1] = headers
            end
          else
            failed = headers
          end
        end
      end
      if failed then
        -- "file:line: key.path: message", as every runtime problem reads
        local where, msg = failed:match("^(%S-:%d+): (.*)$")
        local side = key and not value and "key_format" or "value_format"
        local text = ("%s: sinks.%s.%s: plugin %s: %s"):format(where or "?", self.plan.name, side,
          (self.value_fmt or self.key_fmt).plugin.name, msg or failed)
        if self.fail then return nil, text .. " (on_error = \"fail\")" end
        self.counters.plugin_errors = self.counters.plugin_errors + 1
        self.problems:note("plugin_errors", text, "the message was not sent")
        ;(value or key).flags[k] = C.SG_PART_SKIP
      end
    end
  end
  res.keep[#res.keep + 1] = { key, value }
  return res
end

return M
