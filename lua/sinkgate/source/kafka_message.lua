-- sinkgate.source.kafka_message — the message a Kafka source has just
-- polled (the sg_tail_msg its consumer filled), as the Lua table the
-- envelopes (source/kafka_envelope.lua) and the error policies read:
--   { partition, offset, timestamp, key, value, headers = { { key = …, value = … }, … } }
-- key and value are nil for a null key/value; a header's value may be nil.
-- `self` is the source (source/kafka.lua): its consumer c, msg and cur.
local core = require "sinkgate.core"

local C, ffi = core.C, core.ffi
local M = {}

local function str(p, len, null)
  if null ~= 0 then return nil end
  return ffi.string(p, len)
end

local name, val, len = ffi.new("const char *[1]"), ffi.new("const void *[1]"), ffi.new("size_t[1]")

-- The headers of every message without any: shared, so never written to
-- (no metatable to guard it: rows.set takes only plain tables as lists).
local NO_HEADERS = {}

-- The polled message as one table per source, refilled per message (a new
-- one each cost GC time, bench/pipeline.lua): callers keep fields, never m.
function M.current(self)
  local x = self.msg
  local m = self.cur or {}
  self.cur = m
  m.partition, m.offset, m.timestamp = x.partition, tonumber(x.offset), tonumber(x.timestamp)
  m.key, m.value = str(x.key, x.key_len, x.key_null), str(x.value, x.value_len, x.value_null)
  local nh = x.nheaders
  if nh == 0 then
    m.headers = NO_HEADERS
  else
    local hs = {}
    for i = 0, nh - 1 do
      if C.sg_consumer_header(self.c, i, name, val, len) == 0 then
        hs[#hs + 1] = { key = ffi.string(name[0]), value = val[0] ~= nil and ffi.string(val[0], len[0]) or nil }
      end
    end
    m.headers = hs
  end
  return m
end

return M
