-- sinkgate.source.kafka_envelope — how one Kafka message becomes updates
-- (semantics §10), for the input of source/kafka.lua:
--   none      an insertion per message (a null value: NULL value columns)
--   upsert    keyed state, key bytes → the value and metadata it was read
--             with: a non-null value inserts (and retracts the row it
--             replaces), a null value deletes; the retracted row is decoded
--             again from the stored bytes, so state holds raw bytes only,
--             in the state store (source/upsert_state.lua): with the
--             sink's state_dir on disk, as a cache kept across restarts
--             (source/upsert_cache.lua); without state_dir in memory up to
--             upsert_state_limit, past which the source stalls
--             (source/kafka.lua).
--             A null key puts the source in an error state (shown in status,
--             reading goes on) that a null-key null-value record clears.
--   debezium  before → a retraction, after → an insertion; a message whose
--             source position (PostgreSQL lsn, MySQL file/pos/row) is not
--             past the last one applied for its key is a duplicate of
--             Debezium's at-least-once delivery and is dropped.
-- Each handler returns true (rows pushed, or nothing to do), or nil,
-- message, code ("error" | "skip") with the batch left as it was.
local core = require "sinkgate.core"
local rows = require "sinkgate.rows"
local log = require "sinkgate.util.log"
local state = require "sinkgate.state"
local cache = require "sinkgate.source.upsert_cache"
local ustate = require "sinkgate.source.upsert_state"

local C, ffi = core.C, core.ffi
local M = {}

-- The metadata cells of row r from message-like m (partition, offset,
-- timestamp, headers).
local function put_meta(layout, b, r, m)
  for _, md in ipairs(layout.meta) do
    local k = md.kind
    if k == "partition" then
      C.sg_batch_set_i64(b, r, md.col, m.partition)
    elseif k == "offset" then
      C.sg_batch_set_i64(b, r, md.col, m.offset)
    elseif k == "timestamp" then
      if m.timestamp and m.timestamp >= 0 then C.sg_batch_set_i64(b, r, md.col, m.timestamp * 1000) end
    elseif k == "headers" then
      -- a message without headers shares a read-only table (kafka_message.lua),
      -- which rows.set refuses for having a metatable
      local hs = m.headers
      rows.set(b, r, md.col, md.type, getmetatable(hs) and {} or hs)
    else
      local v
      for _, h in ipairs(m.headers) do if h.key == md.header then v = h.value end end
      if v == nil then return nil, ("header %q is missing"):format(md.header) end
      local ok, err = pcall(rows.set, b, r, md.col, md.type, v)
      if not ok then return nil, ("header %q: %s"):format(md.header, err) end
    end
  end
  return true
end

-- The key cells of row r from key bytes: the decoder's columns, or with
-- include.key = "name" on a record key, one record cell built from a
-- scratch row of the key's own columns (a Lua table per message: this
-- path trades speed for the reference's shape).
local function put_key(layout, b, r, key)
  local kr = layout.key_record
  if not kr then return layout.key_dec:into(b, r, layout.key_first, key) end
  if not kr.batch then kr.batch = ffi.gc(C.sg_batch_new(kr.rel:c_schema(), 1), C.sg_batch_free) end
  local kb = kr.batch
  C.sg_batch_clear(kb)
  local kr_row = C.sg_batch_push_row(kb, 0, 1)
  if kr_row < 0 then error("out of memory filling a batch", 0) end
  local ok, err, code = layout.key_dec:into(kb, kr_row, 0, key)
  if not ok then return nil, err, code end
  local v = {}
  for i, c in ipairs(kr.rel.columns) do v[c.name] = rows.get(kb, kr_row, i - 1, c.type) end
  rows.set(b, r, layout.key_first, kr.type, v)
  return true
end

-- Pushes one row at time t with diff: key cells from key bytes, value cells
-- from value bytes (nil: left NULL), metadata from m; all or nothing.
local function put(layout, b, t, diff, key, value, m, inline)
  local nrows, arena = b.nrows, b.arena_len
  local r = C.sg_batch_push_row(b, t, diff)
  if r < 0 then error("out of memory filling a batch", 0) end
  local ok, err, code = true, nil, nil
  if layout.key_dec and key ~= nil then ok, err, code = put_key(layout, b, r, key) end
  if ok and value ~= nil then
    ok, err, code = layout.value_dec:into(b, r, layout.value_first, value)
    if not ok and inline and code == "error" then
      -- VALUE DECODING ERRORS = INLINE: the row is the key and the error.
      C.sg_batch_truncate(b, nrows, arena)
      r = C.sg_batch_push_row(b, t, diff)
      if key ~= nil then put_key(layout, b, r, key) end
      rows.set(b, r, layout.error_col, inline, { description = err })
      ok, err = true, nil
    elseif not ok then
      err = "value: " .. err
    end
  elseif not ok then
    err = "key: " .. err
  end
  if ok then ok, err = put_meta(layout, b, r, m) end
  if not ok then
    C.sg_batch_truncate(b, nrows, arena)
    return nil, err, code or "error"
  end
  return true
end

------------------------------------------------------------------------------
local None = {}
None.__index = None

function None:message(b, t, m)
  return put(self.layout, b, t, 1, m.key, m.value, m)
end

function None:reset() self.bytes = 0 end

------------------------------------------------------------------------------
local Upsert = {}
Upsert.__index = Upsert

local function null_key_state(m)
  return ("a message with a null key (partition %d, offset %d): the UPSERT source is in an error state until a " ..
    "record with a null key and a null value clears it"):format(m.partition, m.offset)
end

local ENTRY_OVERHEAD = 96 -- bytes a Lua entry of DEBEZIUM's positions costs beyond its key (estimate)

-- Where the state goes: the sink's state_dir and state_memory, its name
-- (Kafka source's attach). Opens the store on first use.
function Upsert:configure(dir_opts)
  self.store_opts = dir_opts
end

-- The store, opened on first use; nil, err when state_dir cannot be used.
-- With state_dir it is kept (source/upsert_cache.lua): what it holds stays
-- unverified until adopt() finds its tag fits the committed progress, and
-- is cleared before any other use. When another process holds those files,
-- this one keeps its state in a private directory and rebuilds it.
function Upsert:open()
  if self.store then return self.store end
  local so, dir = self.store_opts or {}, nil
  if so.state_dir then
    local base, err = state.sink_dir(so.state_dir, so.sink_name)
    if not base then return nil, err end
    local st, tag, busy = cache.open(cache.dir(base, so.name))
    if st then
      self.store, self.on_disk, self.kept_tag, self.unverified = st, true, tag, true
      return st
    end
    if not busy then return nil, tag end
    log.info("source %s: state %s; this process rebuilds its state in a private directory", so.name, tag:sub(7))
    dir = state.path(base, "source-" .. so.name)
  end
  local st, err = state.open(dir, so.state_dir and so.state_memory or nil)
  if not st then return nil, err end
  self.store, self.on_disk = st, dir ~= nil
  return st
end

-- A kept store not adopted by now holds another position: cleared.
local function verified(self)
  if self.unverified then
    self.unverified, self.kept_tag = nil, nil
    self.store:clear()
  end
end

-- Back to empty state. A kept store is closed instead (its writes since the
-- last checkpoint are dropped with its open transaction) and reopened on
-- next use, unverified.
function Upsert:reset()
  if self.store and self.store.kept then
    self.store:close()
    self.store, self.unverified, self.kept_tag = nil, nil, nil
  elseif self.store then
    self.store:clear()
  end
  self.error_state, self.null_key, self.pending = nil, nil, nil
end

-- A resumed source about to rebuild its state from start up to target (the
-- committed offsets): the offsets to go on from when the kept files fit
-- (their state is kept), else nil (they will be cleared).
function Upsert:adopt(topic, start, target, name)
  local st = self:open()
  if not (st and st.kept and self.unverified) then return nil end
  local at, nk = cache.match(self.kept_tag, topic, self.flags, start, target)
  if not at then
    if self.kept_tag or st:stats().keys > 0 then log.info("source %s: state files not used: %s", name, nk) end
    return nil
  end
  self.unverified, self.checkpointed = nil, self.kept_tag
  self.null_key = nk or nil
  self.error_state = nk and null_key_state(nk) or nil
  log.info("source %s: state files fit the committed offsets: %d keys kept at offsets %s (committed %s)", name,
    st:stats().keys, table.concat(at, ","), table.concat(target, ","))
  return at
end

-- The progress record is being made at offsets `at`: the tag a checkpoint
-- takes once it committed, if the state does not change meanwhile.
function Upsert:mark(topic, start, at)
  local st = self.store
  if not (st and st.kept) or self.unverified then return end
  self.pending = { tag = cache.encode(topic, self.flags, start, at, self.null_key), writes = st:writes() }
end

-- The record made at mark() committed: the state is checkpointed with its tag.
function Upsert:checkpoint()
  local p, st = self.pending, self.store
  self.pending = nil
  if not (p and st and st.kept) or self.unverified or st:writes() ~= p.writes or p.tag == self.checkpointed then return end
  st:checkpoint(p.tag)
  self.checkpointed = p.tag
end

-- The state is exactly that of offsets `at` (a rebuild reached them): checkpointed now.
function Upsert:settle(topic, start, at)
  self:mark(topic, start, at)
  self:checkpoint()
end

function Upsert:close()
  if self.store then self.store:close() end
  self.store = nil
end

local stats = ffi.new("sg_state_stats")

-- Bytes of state in memory (what upsert_state_limit bounds without state_dir).
function Upsert:memory_bytes()
  if not self.store then return 0 end
  C.sg_state_stats_get(self.store.s, stats)
  return tonumber(stats.bytes_mem)
end

-- { keys, keys_in_memory, keys_on_disk, bytes_in_memory, bytes_on_disk }
function Upsert:stats()
  return self.store and self.store:stats() or nil
end

function Upsert:message(b, t, m)
  local key, value = m.key, m.value
  if key == nil then
    if value == nil then
      self.error_state, self.null_key = nil, nil
    else
      self.error_state, self.null_key = null_key_state(m), { partition = m.partition, offset = m.offset }
    end
    return true
  end
  local st = self.store or assert(self:open())
  verified(self)
  local stored = st:get(key)
  local lay, inline = self.layout, self.inline
  if value ~= nil then
    local ok, err, code = put(lay, b, t, 1, key, value, m, inline)
    if not ok then return nil, err, code end
  end
  if stored then
    local old, om = ustate.decode(self.flags, stored)
    local ok, err = put(lay, b, t, -1, key, old, om or m, inline)
    if not ok then error("upsert: the stored row no longer decodes: " .. tostring(err), 0) end
  end
  if value == nil then
    if stored then st:del(key) end
  else
    st:put(key, ustate.encode(self.flags, m))
  end
  return true
end

-- Whether a rehydration may skip decoding (sg_upsert_rehydrate): under the
-- stall policy a message that did not decode never got below the committed
-- offsets (inline value errors are stored raw on both paths, and decoded
-- into the error row again when retracted). Under skip or dead_letter it
-- left the state as it was, and the C path would store it.
function Upsert.fast_rehydration(_, o)
  return o.on_decode_error == "stall"
end

-- The rehydration fast path (source/upsert_state.lua); flushes the store.
function Upsert:rehydrate(c, positions, target, budget_ms)
  local st, err = self:open()
  if not st then return nil, err end
  verified(self)
  local done, nk, messages = ustate.rehydrate(st, c, positions, target, self.flags, budget_ms)
  if done == nil then return nil, nk end
  if nk then
    self.error_state, self.null_key = null_key_state(nk), nk
  elseif nk == false then
    self.error_state, self.null_key = nil, nil
  end
  return done, messages
end

local ik, iv = ffi.new("const void *[1]"), ffi.new("const void *[1]")
local iklen, ivlen = ffi.new("size_t[1]"), ffi.new("size_t[1]")
local NO_META = { headers = {} } -- flags 0: the layout has no metadata column
local crows = ffi.new("int64_t[1]")

-- The C decoders (key or nil, value) the snapshot can run in C with
-- (sg_upsert_snapshot_rows): stored values are the raw bytes (no metadata
-- column) and the decoders are the C ones (not Protobuf's Lua object, not a
-- record-shaped key). nil: the per-entry Lua path.
local function c_decoders(self)
  local lay = self.layout
  if self.flags ~= 0 or lay.key_record or not (lay.value_dec and lay.value_dec.h) then return nil end
  if lay.key_dec and not lay.key_dec.h then return nil end
  return lay.key_dec and lay.key_dec.h or nil, lay.value_dec.h
end

-- The consolidated snapshot of the state: one insertion per live key at
-- time t, decoded from the stored bytes (memory, then disk). Returns true,
-- rows; false, err, code when a stored key or value does not decode (the
-- batch is left as it was); nil, err when the store failed.
function Upsert:snapshot_rows(b, t)
  local st = self.store
  if not st then return true, 0 end
  verified(self)
  local it = C.sg_state_iter_new(st.s, core.errbuf, core.ERRLEN)
  if it == nil then return nil, core.err() end
  it = ffi.gc(it, C.sg_state_iter_free)
  local lay, inline, flags = self.layout, self.inline, self.flags
  local kd, vd = c_decoders(self)
  local nrows, arena = b.nrows, b.arena_len
  -- Room for the whole snapshot at once rather than doubling as it fills
  -- (each doubling copies and faults in the batch again). The stored bytes
  -- estimate the arena; address space only, pages are touched as rows come.
  local size = st:stats()
  C.sg_batch_reserve(b, math.min(size.keys, 2 ^ 31), math.min(size.bytes_in_memory + size.bytes_on_disk, 2 ^ 29))
  local n, ok, err, code = 0, true, nil, nil
  crows[0] = 0
  while true do
    local rc
    if vd then -- whole runs of entries in C; an entry it hands back goes the Lua way
      rc = C.sg_upsert_snapshot_rows(it, kd, lay.key_first or 0, vd, lay.value_first, b, t, ik, iklen, iv, ivlen, crows,
        core.errbuf, core.ERRLEN)
      if rc == 1 then break end
    else
      rc = C.sg_state_iter_next(it, ik, iklen, iv, ivlen, core.errbuf, core.ERRLEN)
      if rc == 0 then break end
    end
    if rc < 0 then
      ok, err = nil, core.err()
      break
    end
    local value, om = ustate.decode(flags, ffi.string(iv[0], ivlen[0]))
    ok, err, code = put(lay, b, t, 1, ffi.string(ik[0], iklen[0]), value, om or NO_META, inline)
    if not ok then
      ok = false
      break
    end
    n = n + 1
  end
  C.sg_state_iter_free(ffi.gc(it, nil)) -- before any flush: its disk cursor lives in the write transaction
  if not ok then
    C.sg_batch_truncate(b, nrows, arena)
    return ok, err, code
  end
  return true, n + tonumber(crows[0])
end

function Upsert:flush()
  if self.store then self.store:flush() end
end

------------------------------------------------------------------------------
local Debezium = {}
Debezium.__index = Debezium

function Debezium:reset()
  self.seen, self.bytes = {}, 0
end

-- A comparable position of a parsed event, or nil when it has none.
local function position(info)
  if info.lsn then return { tonumber(info.lsn), 0, 0 } end
  if info.file and info.pos then
    local n = tonumber(info.file:match("(%d+)$")) or 0
    return { n, info.pos, info.row or 0 }
  end
  return nil
end

local function before(a, b)
  for i = 1, 3 do
    if a[i] ~= b[i] then return a[i] < b[i] end
  end
  return false
end

-- Debezium Avro: the envelope decoded into a scratch row; info as the JSON
-- parser gives it, with the images as Lua tables.
local function avro_event(self, bytes)
  local da = self.layout.dbz_avro
  if not self.scratch then self.scratch = ffi.gc(C.sg_batch_new(da.rel:c_schema(), 1), C.sg_batch_free) end
  local sb = self.scratch
  C.sg_batch_clear(sb)
  local r = C.sg_batch_push_row(sb, 0, 1)
  local ok, err = da.dec:into(sb, r, 0, bytes)
  if not ok then return nil, err end
  local function get(name) return da.idx[name] and rows.get(sb, r, da.idx[name], da.types[name]) end
  local src = get("source") or {}
  local lsn, pos = src.lsn, src.pos
  local info = { op = get("op"), before = get("before"), after = get("after"),
    snapshot = src.snapshot == true or src.snapshot == "true",
    lsn = lsn and tonumber(lsn), file = src.file, pos = pos and tonumber(pos), row = src.row and tonumber(src.row) }
  info.has_before, info.has_after = info.before ~= nil, info.after ~= nil
  return info
end

-- Writes image img (a Lua table) as a row of the `after` fields.
local function put_image(self, b, t, diff, img)
  local r = C.sg_batch_push_row(b, t, diff)
  local vf = self.layout.value_first
  for i, f in ipairs(self.layout.dbz_avro.fields) do
    local ok, err = pcall(rows.set, b, r, vf + i - 1, f.type, img[f.name])
    if not ok then return nil, f.name .. ": " .. err end
  end
  return true
end

function Debezium:message(b, t, m)
  if m.value == nil then return true end -- the tombstone after a delete
  local d = self.layout.value_dec
  local info, err
  if self.layout.dbz_avro then info, err = avro_event(self, m.value) else info, err = d:parse(m.value) end
  if not info then return nil, "value: " .. err, "error" end
  if not info.op then return true end
  local pos = info.snapshot and nil or position(info)
  local key = m.key or ""
  if pos then
    local last = self.seen[key]
    if last and not before(last, pos) then
      self.duplicates = (self.duplicates or 0) + 1
      return true
    end
    if not last then self.bytes = self.bytes + #key + ENTRY_OVERHEAD end
    self.seen[key] = pos
  end
  local nrows, arena = b.nrows, b.arena_len
  local vf = self.layout.value_first
  for _, side in ipairs({ { "before", -1, info.has_before }, { "after", 1, info.has_after } }) do
    if side[3] then
      local ok, ferr
      if self.layout.dbz_avro then
        ok, ferr = put_image(self, b, t, side[2], info[side[1]])
      else
        ok, ferr = d:fill(side[1], b, C.sg_batch_push_row(b, t, side[2]), vf)
      end
      if not ok then
        C.sg_batch_truncate(b, nrows, arena)
        return nil, side[1] .. ": " .. ferr, "error"
      end
    end
  end
  return true
end

-- The envelope handler of a layout (source/kafka_plan.lua).
function M.new(layout, o)
  local cls = ({ none = None, upsert = Upsert, debezium = Debezium })[layout.envelope]
  local self = setmetatable({ layout = layout, limit = o.upsert_state_limit }, cls)
  self.inline = layout.error_type -- VALUE DECODING ERRORS = INLINE
  if cls == Upsert then self.flags = ustate.flags(layout) end
  self:reset()
  return self
end

return M
