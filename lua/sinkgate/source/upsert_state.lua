-- sinkgate.source.upsert_state — the keyed state of an UPSERT Kafka source
-- in the state store (sinkgate.state): key bytes → the raw value and the
-- metadata needed to emit its retraction later. The layout is the one of
-- core/state/upsert.c (its rehydration fast path writes the same bytes):
--   META     int32 partition, int64 offset, int64 timestamp
--   HEADERS  uint32 count, per header uint32 name length, name, int32
--            value length (-1: null), value
--   then the raw value bytes
-- and only the parts the source's columns use are stored (flags).
local core = require "sinkgate.core"

local C, ffi = core.C, core.ffi
local M = {}

local meta = ffi.new("struct __attribute__((packed)) { int32_t p; int64_t o; int64_t t; }")
local META_LEN = 20
local u32 = ffi.new("union { uint32_t u; int32_t i; uint8_t b[4]; }")

local function i32(x)
  u32.i = x
  return ffi.string(u32.b, 4)
end

-- The flags of a source layout (source/kafka_plan.lua): which metadata its
-- retractions need.
function M.flags(layout)
  local f = 0
  for _, md in ipairs(layout.meta or {}) do
    f = bit.bor(f, C.SG_UPSERT_META)
    if md.kind ~= "partition" and md.kind ~= "offset" and md.kind ~= "timestamp" then
      f = bit.bor(f, C.SG_UPSERT_HEADERS)
    end
  end
  return f
end

-- The stored bytes of message m.
function M.encode(flags, m)
  if flags == 0 then return m.value end
  local parts = {}
  if bit.band(flags, C.SG_UPSERT_META) ~= 0 then
    meta.p, meta.o, meta.t = m.partition, m.offset, m.timestamp or -1
    parts[1] = ffi.string(meta, META_LEN)
  end
  if bit.band(flags, C.SG_UPSERT_HEADERS) ~= 0 then
    local hs = m.headers or {}
    parts[#parts + 1] = i32(#hs)
    for _, h in ipairs(hs) do
      parts[#parts + 1] = i32(#h.key) .. h.key .. (h.value and i32(#h.value) .. h.value or i32(-1))
    end
  end
  parts[#parts + 1] = m.value
  return table.concat(parts)
end

-- value, message-like { partition, offset, timestamp, headers } of stored bytes s.
function M.decode(flags, s)
  if flags == 0 then return s, nil end
  local p, pos = ffi.cast("const uint8_t *", s), 0
  local m = { headers = {} }
  if bit.band(flags, C.SG_UPSERT_META) ~= 0 then
    ffi.copy(meta, p, META_LEN)
    m.partition, m.offset, m.timestamp = meta.p, tonumber(meta.o), tonumber(meta.t)
    pos = META_LEN
  end
  if bit.band(flags, C.SG_UPSERT_HEADERS) ~= 0 then
    local function int()
      ffi.copy(u32.b, p + pos, 4)
      pos = pos + 4
      return u32.i
    end
    for i = 1, int() do
      local n = int()
      local key = ffi.string(p + pos, n)
      pos = pos + n
      n = int()
      local v
      if n >= 0 then
        v = ffi.string(p + pos, n)
        pos = pos + n
      end
      m.headers[i] = { key = key, value = v }
    end
  end
  return s:sub(pos + 1), m
end

local progress = ffi.new("sg_upsert_progress")

-- Rebuilds store from consumer c up to target (both Lua lists of offsets by
-- partition), for at most budget_ms, in C (no output rows, no decoding).
-- Returns done, null_key (the position of a null-key message still in
-- effect, { partition, offset }, false when one was cleared, nil when none
-- came), messages applied; nil, err when the store failed. positions is
-- updated in place. Poll errors are logged by librdkafka's log and retried.
function M.rehydrate(store, c, positions, target, flags, budget_ms)
  local n = #target
  local pos = ffi.new("int64_t[?]", math.max(n, 1))
  local tgt = ffi.new("int64_t[?]", math.max(n, 1))
  for p = 1, n do
    pos[p - 1], tgt[p - 1] = positions[p] or 0, target[p]
  end
  ffi.fill(progress, ffi.sizeof(progress))
  progress.null_key_partition, progress.null_key_offset = -2, -2
  local rc = C.sg_upsert_rehydrate(store.s, c, pos, tgt, n, flags, budget_ms, progress, core.errbuf, core.ERRLEN)
  if rc < 0 then return nil, core.err() end
  for p = 1, n do positions[p] = tonumber(pos[p - 1]) end
  local nk
  if progress.null_key_partition >= 0 then
    nk = { partition = progress.null_key_partition, offset = tonumber(progress.null_key_offset) }
  elseif progress.null_key_partition == -1 then
    nk = false
  end
  return rc == 1, nk, tonumber(progress.messages)
end

return M
