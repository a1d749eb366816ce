-- sinkgate.source.kafka_seek_time — start_timestamp when the broker's
-- ListOffsets by time (rd_kafka_offsets_for_times) cannot be trusted.
--
-- librdkafka's mock broker (the dev broker, 2.0.2) answers every lookup of
-- a real timestamp with "no offset" (its ListOffsets handler only knows the
-- beginning and the end), which reads as "no message at or after t": every
-- partition would start at its end. A real broker says "no offset" only
-- when the partition's newest timestamp is below t, so when every
-- partition answered "no offset", the newest message of each partition is
-- read (one fetch each): if it is at or after t the answer was wrong, and
-- the partition is read from its start, bounded, for the first message with
-- a timestamp >= t. On a real broker the check costs one message per
-- partition and changes nothing.
local core = require "sinkgate.core"
local log = require "sinkgate.util.log"

local C, ffi = core.C, core.ffi
local M = {}

M.SCAN_LIMIT = 1000000 -- messages read per partition at most
local IDLE_POLLS = 100 -- 100 ms each without a message: the broker is gone

-- Reads the partitions of consumer c from `from` (0-based partition →
-- offset) below `hi` (same) for the first message of each with a timestamp
-- >= ts, reading at most `limit` messages per partition. One assignment
-- for all of them, at exact offsets: librdkafka 2.0.2 asserts when
-- partitions are assigned again while an earlier assignment still looks
-- up a logical offset. Returns 0-based partition → offset | false (none),
-- or nil, err.
local function first_at_or_after(c, n, from, hi, ts, limit)
  local offs = ffi.new("int64_t[?]", n)
  local found, left, read = {}, 0, {}
  for p = 0, n - 1 do
    offs[p] = from[p] or hi[p]
    if from[p] then
      left, read[p] = left + 1, 0
      if from[p] >= hi[p] then found[p], left = false, left - 1 end
    end
  end
  if left == 0 then return found end
  if C.sg_consumer_assign(c, offs, n, core.errbuf, core.ERRLEN) ~= 0 then return nil, core.err() end
  local msg = ffi.new("sg_tail_msg")
  -- every partition is waited for until it has fetched (a message or its
  -- end), so the next assignment never stops one that has not started
  local idle, seen, unseen = 0, {}, n
  while left > 0 or unseen > 0 do
    local rc = C.sg_consumer_poll(c, 100, msg, core.errbuf, core.ERRLEN)
    if rc < 0 then return nil, core.err() end
    local p = msg.partition
    if rc > 0 and not seen[p] then seen[p], unseen = true, unseen - 1 end
    if rc == 0 then
      idle = idle + 1
      if idle > IDLE_POLLS and left == 0 then return found end -- what was asked for is known
      if idle > IDLE_POLLS then return nil, ("no message within %d s"):format(IDLE_POLLS / 10) end
    elseif found[p] == nil and read[p] then
      idle = 0
      local off = tonumber(msg.offset)
      if rc == 1 and tonumber(msg.timestamp) >= ts then
        found[p] = off
      elseif rc == 1 then
        read[p] = read[p] + 1
        if off + 1 >= hi[p] then found[p] = false end
        if read[p] >= limit and found[p] == nil then
          return nil, ("partition %d: no message with a timestamp >= %d in the first %d read"):format(p, ts, limit)
        end
      elseif off >= hi[p] then -- rc 2: the end
        found[p] = false
      end
      if found[p] ~= nil then left = left - 1 end
    end
  end
  return found
end

-- answers: first offset per partition (1-based list, -1: none) as the broker
-- gave them. Returns them, corrected by reading where the broker was wrong,
-- or nil, err. name: the source, for the log line.
function M.correct(c, n, ts, answers, name)
  for p = 1, n do
    if answers[p] >= 0 then return answers end -- the broker can look times up
  end
  local lo, hi = ffi.new("int64_t[1]"), ffi.new("int64_t[1]")
  local first, last, newest = {}, {}, {}
  for p = 0, n - 1 do
    if C.sg_consumer_watermarks(c, p, 10000, lo, hi, core.errbuf, core.ERRLEN) ~= 0 then return nil, core.err() end
    first[p], last[p] = tonumber(lo[0]), tonumber(hi[0])
    if last[p] > first[p] then newest[p] = last[p] - 1 end
  end
  -- the newest message of each partition: at or after ts means the broker was wrong
  local at_newest, err = first_at_or_after(c, n, newest, last, ts, 1)
  if not at_newest then return nil, err end
  local scan, wrong = {}, {}
  for p = 0, n - 1 do
    if at_newest[p] then scan[p], wrong[#wrong + 1] = first[p], p end
  end
  if #wrong == 0 then return answers end
  log.info("source %s: the broker has no offset for timestamp %d though partition(s) %s hold later messages " ..
    "(librdkafka's mock broker does not look offsets up by time): reading them for the first one", name, ts,
    table.concat(wrong, ","))
  local found
  found, err = first_at_or_after(c, n, scan, last, ts, M.SCAN_LIMIT)
  if not found then return nil, err end
  local out = {}
  for p = 1, n do out[p] = found[p - 1] or answers[p] end
  return out
end

return M
