-- sinkgate.source.kafka_position — a Kafka source's consumer and where it
-- reads (source/kafka.lua): opening the consumer, the partition count, the
-- partitions' end offsets, the start offsets of a new timeline, and
-- assigning the partitions at the source's positions. `self` is the source.
local core = require "sinkgate.core"
local kafka_conf = require "sinkgate.run.kafka_conf"

local C, ffi = core.C, core.ffi
local M = {}

local TIMEOUT_MS = 10000

function M.open(self)
  if self.c then return true end
  -- Nagle would hold each fetch request behind a delayed ACK (the connection's own options win)
  local keys, vals = kafka_conf.for_connection(self.o.connection.opts, { ["socket.nagle.disable"] = "true" })
  if not keys then return nil, vals end
  keys[#keys + 1] = "group.id"
  vals[#vals + 1] = (self.o.group_id_prefix or "sinkgate-source-") .. (self.sink and self.sink.name or self.relation.name)
  local ck, kk = core.strings(keys)
  local cv, kv = core.strings(vals)
  local c = C.sg_consumer_new(ck, cv, #keys, self.o.topic, core.errbuf, core.ERRLEN)
  local _ = { kk, kv }
  if c == nil then return nil, "source " .. self.o.topic .. ": " .. core.err() end
  self.c = ffi.gc(c, C.sg_consumer_free)
  return true
end

function M.partition_count(self)
  local n = C.sg_consumer_partition_count(self.c, TIMEOUT_MS, core.errbuf, core.ERRLEN)
  if n <= 0 then return nil, "source topic " .. self.o.topic .. ": " .. core.err() end
  return n
end

function M.high_watermarks(self, n)
  -- One ListOffsets request for every partition (latest: -1); asking
  -- partition by partition cost ~0.5 s each on the dev broker (16 s for 32
  -- partitions). Under read_committed the answer is the last stable
  -- offset: what this consumer can read up to.
  local ends = ffi.new("int64_t[?]", math.max(n, 1))
  if C.sg_consumer_offsets_for_time(self.c, n, -1, TIMEOUT_MS, ends, core.errbuf, core.ERRLEN) == 0 then
    local out, ok = {}, true
    for p = 0, n - 1 do
      out[p + 1] = tonumber(ends[p])
      if out[p + 1] < 0 then ok = false end
    end
    if ok then return out end
  end
  local lo, hi = ffi.new("int64_t[1]"), ffi.new("int64_t[1]")
  local out = {}
  for p = 0, n - 1 do
    if C.sg_consumer_watermarks(self.c, p, TIMEOUT_MS, lo, hi, core.errbuf, core.ERRLEN) ~= 0 then return nil, core.err() end
    out[p + 1] = tonumber(hi[0])
  end
  return out
end

-- Start offsets of a new timeline: start_offset (unlisted partitions from
-- 0), start_timestamp (negative: relative to now; no message at or after
-- it: the end), else 0.
function M.configured_start(self, n, now)
  local o, out = self.o, {}
  if o.start_timestamp then
    local ts = o.start_timestamp < 0 and now + o.start_timestamp or o.start_timestamp
    local arr = ffi.new("int64_t[?]", n)
    if C.sg_consumer_offsets_for_time(self.c, n, ts, TIMEOUT_MS, arr, core.errbuf, core.ERRLEN) ~= 0 then
      return nil, core.err()
    end
    local found = {}
    for p = 1, n do found[p] = tonumber(arr[p - 1]) end
    local err
    found, err = require("sinkgate.source.kafka_seek_time").correct(self.c, n, ts, found, self.relation.name)
    if not found then return nil, "start_timestamp: " .. err end
    local hw
    hw, err = M.high_watermarks(self, n)
    if not hw then return nil, err end
    for p = 1, n do out[p] = found[p] and found[p] >= 0 and found[p] or hw[p] end
    return out
  end
  for p = 1, n do out[p] = (o.start_offset or {})[p] or 0 end
  return out
end

function M.assign(self)
  local n = #self.positions
  local arr = ffi.new("int64_t[?]", math.max(n, 1), self.positions)
  if C.sg_consumer_assign(self.c, arr, n, core.errbuf, core.ERRLEN) ~= 0 then return nil, core.err() end
  return true
end

return M
