-- sinkgate.source.kafka — a Kafka topic as a sink's input, the third kind
-- beside tick-based and timed inputs (source/input.lua has the contract).
--
-- Times: each poll batch gets one logical time, the wall clock quantized to
-- timestamp_interval and never below the sink's upper, so there is at most
-- one new time per interval (semantics §10). A time stays open while the
-- sink gathers a transaction and closes when the sink asks for the frontier
-- (next_time): later messages get a later time.
--
-- Positions: the next offset per partition of what has been filled into
-- the sink's batch. resume_state() is written into the sink's progress
-- record in the same transaction as the data (sink.lua M:record):
--   {"topic": t, "start": time origin, "start_offsets": [..], "offsets": [..]}
-- so a message below the committed offsets is never emitted twice and none
-- is skipped: on restart the source reads from its start offsets up to the
-- committed offsets to rebuild upsert state WITHOUT emitting anything
-- (rehydration: the topic is the truth; with stateful views downstream its
-- updates rebuild theirs, source/rehydration.lua), then goes on. A new
-- sink's snapshot is everything up to the high watermarks seen at start,
-- at one time (its as_of).
local core = require "sinkgate.core"
local envelope = require "sinkgate.source.kafka_envelope"
local fmt = require "sinkgate.source.kafka_format"
local kafka_message = require "sinkgate.source.kafka_message"
local position = require "sinkgate.source.kafka_position"
local log = require "sinkgate.util.log"
local read = require "sinkgate.source.kafka_read"
local rehydration = require "sinkgate.source.rehydration"

local C, ffi = core.C, core.ffi
local M = {}
M.__index = M

local REFRESH_MS = 30000
local POLL_BUDGET = 20000 -- messages per fill, so a busy topic never starves the other sinks
local open, partition_count, high_watermarks = position.open, position.partition_count, position.high_watermarks
local configured_start, assign = position.configured_start, position.assign
local take, over_limit, poll, catch_up = read.take, read.over_limit, read.poll, read.catch_up
local current = kafka_message.current

function M.new(decl, rel)
  local o = decl.opts
  local self = setmetatable({ decl = decl, relation = rel, o = o, layout = decl.kafka_layout, realtime = false,
    interval = o.timestamp_interval, floor = 0, positions = {}, start_offsets = {},
    counters = { messages = 0, decode_errors = 0, skipped = 0, dead_letters = 0 } }, M)
  self.env = envelope.new(self.layout, o)
  self.msg = ffi.new("sg_tail_msg")
  return self
end

-- The sink reading this input: its name (group id), problems and dead letters.
function M:attach(sink)
  self.sink = sink
  -- an UPSERT source keeps its state in the sink's state store
  if self.env.configure then
    local so = sink.opts or {}
    self.env:configure({ state_dir = so.state_dir, state_memory = so.state_memory, sink_name = sink.name,
      name = self.relation.name })
  end
end

-- Lua-fed inputs take a bad-row handler; decode errors have their own policy.
function M.on_bad_row() end

local function copy(t)
  local c = {}
  for i, v in ipairs(t) do c[i] = v end
  return c
end

local function quant(self, now)
  return math.floor(now / self.interval) * self.interval
end

-- Called by the sink before positioning (startup.lua): saved is this
-- source's entry of the committed progress record, or nil for a new
-- timeline. Returns true, or nil, err, hard (hard: retrying cannot help).
function M:prepare(saved, now)
  local ok, err = open(self)
  if not ok then return nil, err end
  if self.env.open then
    ok, err = self.env:open()
    if not ok then return nil, ("source %s: %s"):format(self.relation.name, err), true end
  end
  local n
  n, err = partition_count(self)
  if not n then return nil, err end
  if saved and type(saved.offsets) == "table" then
    -- offsets of another topic mean nothing here (older records lack the topic)
    if saved.topic and saved.topic ~= self.o.topic then
      return nil, ("source %s: this sink's committed progress holds offsets of topic %s, but the source now reads %s. " ..
        "Either restore the old topic, or bump the sink's version to start a new timeline (with a new snapshot)")
        :format(self.relation.name, saved.topic, self.o.topic), true
    end
    local pinned, why, hard = fmt.pin_recorded(self.o, self.layout, saved, self.relation.name)
    if not pinned then return nil, why, hard end
    self.start_offsets, self.target = copy(saved.start_offsets or {}), copy(saved.offsets)
    for p = 1, n do
      self.start_offsets[p] = self.start_offsets[p] or 0
      self.target[p] = self.target[p] or self.start_offsets[p]
    end
    self.start = saved.start or quant(self, now)
    self.resumed = true
  else
    self.resumed = false
    self.start_offsets, err = configured_start(self, n, now)
    if not self.start_offsets then return nil, err end
    self.target, err = high_watermarks(self, n)
    if not self.target then return nil, err end
    self.start = quant(self, now)
  end
  self.next_refresh = now + REFRESH_MS
  return true
end

function M:origin()
  return self.start
end

function M:new_as_of(now)
  return math.max(quant(self, now), self.floor)
end

-- Back to the start offsets with empty state: the sink refills from there.
function M:rewind()
  self.positions = copy(self.start_offsets)
  self.env:reset()
  self.time_open, self.positioned, self.mode, self.stalled_why = nil, false, "snapshot", nil
  self.rehydration_state = nil
  local ok, err = assign(self)
  if not ok then self.failure = err end
end

function M:next_time()
  if self.time_open then
    self.floor = math.max(self.floor, self.time_open + 1)
    self.time_open = nil
  end
  return self.floor
end

-- Everything below upper is committed: a resumed sink (or a new one
-- without snapshot) goes on from the target offsets, rebuilding its state
-- from the topic on the next fill.
function M:seek(upper)
  if upper > self.floor then self.floor = upper end
  if self.time_open and self.time_open < upper then self.time_open = nil end
  if self.positioned then return end
  self.mode = "rehydrate"
  -- UPSERT state kept on disk that fits the committed offsets: only what
  -- lies past its checkpoint is read again (source/upsert_cache.lua). A
  -- stateful view below needs every update from the start: no shortcut.
  if self.resumed and not self.replay and self.env.adopt then
    local at = self.env:adopt(self.o.topic, self.start_offsets, self.target, self.relation.name)
    if at then
      self.positions = at
      local ok, err = assign(self)
      if not ok then self.failure = err end
    end
  end
end

-- set_replay: a stateful view below; rehydration: the rebuild's progress.
M.set_replay, M.rehydration = rehydration.set_replay, rehydration.status

function M:due(now)
  return quant(self, now) + 1
end

-- stop_at_end: filled up to the stop offsets (set by fill); else never.
function M:exhausted()
  local stop = self.stop_offsets
  if not stop then return false end
  for p, o in ipairs(stop) do
    if (self.positions[p] or 0) < o then return false end
  end
  return true
end

function M:resume_state()
  -- the record of these offsets: kept UPSERT state is checkpointed at them once it commits
  if self.env.mark and self.positioned then self.env:mark(self.o.topic, self.start_offsets, self.positions) end
  local ids = self.layout.schema_ids or {}
  return { topic = self.o.topic, start = self.start, start_offsets = copy(self.start_offsets), offsets = copy(self.positions),
    key_schema = ids.key, value_schema = ids.value }
end


-- New partitions (the topic grew) are read from offset 0.
local function refresh(self, now)
  self.next_refresh = now + REFRESH_MS
  local n = partition_count(self)
  if not n or n <= #self.positions then return end
  log.info("source %s: topic %s now has %d partitions (was %d); reading the new ones from offset 0", self.relation.name,
    self.o.topic, n, #self.positions)
  for p = #self.positions + 1, n do self.positions[p], self.start_offsets[p] = 0, 0 end
  assign(self)
end

-- Appends the messages available now at one time < until_time (at most
-- max_rows rows); returns 1 when messages were taken, else 0; nil, err when
-- the input cannot go on.
function M:fill(b, until_time, max_rows)
  if self.failure then return nil, self.failure end
  if not self.positioned then
    local rehydrate = self.mode == "rehydrate"
    local ok, done = catch_up(self, b, rehydrate and 0 or until_time - 1, rehydrate, rehydrate and 100 or nil)
    if not ok then return nil, done end
    if not done then
      if rehydrate then return 0 end -- goes on at the next fill
      return nil, ("source %s: stopped while reading its snapshot (nothing of it was committed)"):format(self.relation.name)
    end
    self.positioned = true
    if not rehydrate then
      self.time_open = until_time - 1
      return 1
    end
  end
  if self.stalled_why then return 0 end
  if self.o.stop_at_end and not self.stop_offsets then
    local n, err = partition_count(self)
    if n then self.stop_offsets, err = high_watermarks(self, n) end
    if not self.stop_offsets then return nil, err end
  end
  local now = tonumber(C.sg_sys_now_ms())
  if now >= self.next_refresh then refresh(self, now) end
  local t = self.time_open or math.max(quant(self, now), self.floor)
  if t >= until_time then return 0 end
  local n = 0
  while (not max_rows or b.nrows < max_rows) and n < POLL_BUDGET do
    local rc = poll(self, 0)
    if rc ~= 1 and rc ~= 2 then break end
    if rc == 1 then
      local p, off = self.msg.partition + 1, tonumber(self.msg.offset)
      -- Below the position: already filled (never emitted twice); past the
      -- stop offsets (stop_at_end): not read.
      if off >= (self.positions[p] or 0) and not (self.stop_offsets and off >= (self.stop_offsets[p] or 0)) then
        local r = take(self, b, t, current(self), false)
        if r == "stall" then break end
        self.positions[p] = off + 1
        self.counters.messages = self.counters.messages + 1
        n = n + 1
        if over_limit(self) then break end
      end
    end
  end
  if n > 0 then self.time_open = t end
  if self.env.flush then self.env:flush() end -- the batch's disk writes of UPSERT state, in one commit
  return n > 0 and 1 or 0
end

-- The topic's first record (partition 0, its first offset), read once when
-- the source is planned: a CSV header, a wrapped Debezium message's schema. Returns value, offset or
-- nil, err, empty (empty: the topic has no record yet).
function M.first_record(conn_opts, topic)
  local self = setmetatable({ o = { connection = { opts = conn_opts }, topic = topic }, relation = { name = topic },
    msg = ffi.new("sg_tail_msg") }, M)
  local ok, err = open(self)
  if not ok then return nil, err end
  local lo, hi = ffi.new("int64_t[1]"), ffi.new("int64_t[1]")
  if C.sg_consumer_watermarks(self.c, 0, 5000, lo, hi, core.errbuf, core.ERRLEN) ~= 0 then return nil, core.err() end
  if hi[0] <= lo[0] then return nil, "topic " .. topic .. " has no record yet", true end
  self.positions = { tonumber(lo[0]) }
  ok, err = assign(self)
  if not ok then return nil, err end
  for _ = 1, 50 do
    local rc = C.sg_consumer_poll(self.c, 100, self.msg, core.errbuf, core.ERRLEN)
    if rc == 1 then
      local m = self.msg
      if m.value_null ~= 0 then return nil, "the first record of " .. topic .. " has a null value" end
      return ffi.string(m.value, m.value_len), tonumber(m.offset)
    end
  end
  return nil, "the first record of " .. topic .. " could not be read within 5 s"
end

-- After the sink's transaction committed: offsets to the group, for lag
-- monitors only (never read back).
function M:committed()
  if self.env.checkpoint then self.env:checkpoint() end
  if not self.o.group_id_prefix or not self.c then return end
  local n = #self.positions
  local arr = ffi.new("int64_t[?]", math.max(n, 1), self.positions)
  if C.sg_consumer_commit(self.c, arr, n, core.errbuf, core.ERRLEN) ~= 0 then
    log.info("source %s: lag offsets not committed: %s", self.relation.name, core.err())
  end
end

-- Why the source does not advance, or nil.
function M:stalled()
  return self.stalled_why or self.failure
end

-- Per partition: { partition, next offset, lag } where lag is the high
-- watermark librdkafka last saw minus the next offset (nil while unknown).
-- No broker request: read on every metrics publication.
function M:lag()
  if not self.c then return {} end
  local lo, hi = ffi.new("int64_t[1]"), ffi.new("int64_t[1]")
  local out = {}
  for i, pos in ipairs(self.positions or {}) do
    C.sg_consumer_cached_watermarks(self.c, i - 1, lo, hi)
    local h = tonumber(hi[0])
    out[i] = { i - 1, pos, h >= 0 and math.max(0, h - pos) or nil }
  end
  return out
end

function M:status()
  local c = self.counters
  local st = { topic = self.o.topic, messages = c.messages, decode_errors = c.decode_errors, skipped = c.skipped,
    dead_letters = c.dead_letters, offsets = table.concat(self.positions, ","),
    state_bytes = self.env.memory_bytes and self.env:memory_bytes() or self.env.bytes,
    state = self.env.stats and self.env:stats() or nil,
    stalled = self.stalled_why, error_state = self.env.error_state, duplicates = self.env.duplicates }
  return st
end

return M
