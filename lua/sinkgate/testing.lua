-- sinkgate.testing — what a sink would produce, without a broker, for
-- busted specs (plugin authors' and sinkgate's own):
--
--   local testing = require "sinkgate.testing"
--   local msgs, info = testing.render("spec/fixtures/orders.lua", "orders", { ticks = 3 })
--   -- msgs[i] = { key =, value =, headers = { {name, value}, … }, partition = n, timestamp = t }
--   testing.json(msgs[1].value).id
--
-- The config is loaded and planned as `sinkgate run` does; its input is run
-- to its end (or N ticks: N logical times, the snapshot's first); each
-- range of updates goes through the sink's own routing, plugins and
-- core/sink/emit.c in capture mode (a NULL producer and an sg_capture), so
-- consolidation, encoders, partitioning and headers are the runtime's, not
-- a copy. Timestamps are logical times; the first header is the sink's
-- timestamp header. `info` has the sink's counters and errors (its
-- runtime error policy applies: a failure raises "sink NAME failed: …").
local cjson = require "cjson"
local core = require "sinkgate.core"
local loader = require "sinkgate.config.loader"
local plan_mod = require "sinkgate.plan"
local sink_mod = require "sinkgate.sink.sink"
local txn = require "sinkgate.sink.txn"
local avro_decode = require "sinkgate.avro.decode"

local C, ffi = core.C, core.ffi
local M = {}

local TWO32 = 2 ^ 32

-- Messages out of an sg_capture buffer (layout in sinkgate_ffi.h).
local function parse(cap)
  local p, len = ffi.cast("const uint8_t *", cap.out.data), tonumber(cap.out.len)
  local pos = 0
  local function u32()
    local v = p[pos] + p[pos + 1] * 256 + p[pos + 2] * 65536 + p[pos + 3] * 16777216
    pos = pos + 4
    return v
  end
  local function bytes(n)
    local s = ffi.string(p + pos, n)
    pos = pos + n
    return s
  end
  local out = {}
  while pos < len do
    local lo, hi = u32(), u32()
    local time = hi < 2 ^ 21 and hi * TWO32 + lo or ffi.cast("uint64_t", hi) * TWO32 + lo
    local part, flags = u32(), u32()
    if part >= 2 ^ 31 then part = part - TWO32 end
    local key = bytes(u32())
    local value = bytes(u32())
    local m = { partition = part, timestamp = time, key = flags % 2 == 1 and key or nil,
      value = math.floor(flags / 2) % 2 == 0 and value or nil, headers = {} }
    for i = 1, u32() do
      local name = bytes(u32())
      local n = u32()
      m.headers[i] = { name, n ~= 0xffffffff and bytes(n) or nil }
    end
    out[#out + 1] = m
  end
  return out
end

local function load_plan(path, sink_name, opts)
  local decls, problems = loader.load(path, { unsafe = opts.unsafe })
  local plans
  if decls then plans, problems = plan_mod.build(decls) end
  if not plans then error(table.concat(problems, "\n"), 0) end
  for _, p in ipairs(plans) do
    if p.name == sink_name or (sink_name == nil and #plans == 1) then return p end
  end
  error(("%s: no sink %s"):format(path, tostring(sink_name)), 0)
end

-- Sends updates [0, n) of the sink's current consolidation into the capture.
local function emit_all(s)
  local n = tonumber(s.updates[0].n)
  if n == 0 then return end
  local routed, err = s:route_range(0, n)
  if routed then err = select(2, txn.send_range(s, 0, n, routed)) end
  if err then error(("sink %s failed: %s"):format(s.name, err), 0) end
end

local function consolidate(s, since, as_of)
  if C.sg_consolidate(s.batch, s.pair_cols, s.npair, since, as_of, s.updates, core.errbuf, core.ERRLEN) ~= 0 then
    error(core.err(), 0)
  end
end

local function fill(s, until_time)
  local n, err = s.input:fill(s.batch, until_time)
  if not n then error(("sink %s failed: %s"):format(s.name, err), 0) end
  return n
end

-- opts: ticks = N (required for an endless input), partitions = count
-- (default: into.topic_partition_count, else 1), start = epoch ms of tick 0
-- for a load generator or feed table (default: its own start, else 0),
-- key_schema_id / value_schema_id for Avro (default 1 / 2), unsafe = true.
function M.render(path, sink_name, opts)
  opts = opts or {}
  local p = load_plan(path, sink_name, opts)
  local s = assert(sink_mod.new(p))
  local count = p.opts.into.topic_partition_count
  s.partitions = opts.partitions or (count and count > 0 and count) or 1
  s:build_spec()
  local cap = ffi.gc(ffi.new("sg_capture[1]"), function(c) C.sg_buf_free(ffi.cast("sg_buf *", c)) end)
  s.spec.capture = cap
  s.spec.key_schema_id, s.spec.value_schema_id = opts.key_schema_id or 1, opts.value_schema_id or 2
  -- format plugins register schemas through the host: here without a registry,
  -- the ids given (or 1 / 2) and the schemas recorded in info.schemas
  local schemas = {}
  if s.plugins then
    s.plugins.register = function(_, subject, text, schema_type)
      schemas[subject] = { schema = text, schema_type = schema_type }
      return subject:match("%-key$") and (opts.key_schema_id or 1) or (opts.value_schema_id or 2)
    end
  end
  local inp = s.input
  if inp.limit == nil and not inp.list and not opts.ticks then
    error(("%s: sink %s reads an endless input: give { ticks = N }"):format(path, p.name), 0)
  end
  s:position(nil, opts.start or inp.configured_start or 0)
  local ticks = 0
  local function more() return not inp:exhausted() and (not opts.ticks or ticks < opts.ticks) end
  if s.as_of then -- the snapshot: everything up to as_of, consolidated at as_of
    inp:rewind()
    ticks = ticks + fill(s, s.as_of + 1)
    consolidate(s, 0, s.as_of)
    emit_all(s)
    s.upper = s.as_of + 1
    inp:seek(s.upper)
    C.sg_batch_clear(s.batch)
  end
  while more() do
    local t = inp:next_time()
    if fill(s, t + 1) == 0 then break end
    ticks = ticks + 1
    consolidate(s, s.upper, -1)
    emit_all(s)
    s.upper = t + 1
    C.sg_batch_clear(s.batch)
  end
  local msgs = parse(cap[0])
  return msgs, { counters = s.counters, errors = s.problems:report(), sink = p.name, ticks = ticks, schemas = schemas }
end

-- The value of header `name` of a message (first match), or nil.
function M.header(msg, name)
  for _, h in ipairs(msg.headers) do if h[1] == name then return h[2] end end
end

-- Decoders for specs: JSON text, and Avro in Confluent framing (magic byte,
-- schema id) against the writer's schema (JSON text, e.g. the plan's).
function M.json(bytes)
  return cjson.decode(bytes)
end

function M.avro(bytes, schema_text)
  assert(bytes:byte(1) == 0, "not Confluent framing (magic byte 0)")
  local dec = assert(avro_decode.compile(schema_text))
  local text = assert(avro_decode.to_json(dec, bytes:sub(6)))
  return cjson.decode(text), (bytes:byte(2) * 16777216 + bytes:byte(3) * 65536 + bytes:byte(4) * 256 + bytes:byte(5))
end

-- The sink's plan (schemas, relation) for assertions on what it declares.
function M.plan(path, sink_name, opts)
  return load_plan(path, sink_name, opts or {})
end

return M
