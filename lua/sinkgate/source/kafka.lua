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
local rehydration = require "sinkgate.source.rehydration"
local upsert_snapshot = require "sinkgate.source.upsert_snapshot"

local C, ffi = core.C, core.ffi
local M = {}
M.__index = M

local REFRESH_MS = 30000
local POLL_BUDGET = 20000 -- messages per fill, so a busy topic never starves the other sinks
local open, partition_count, high_watermarks = position.open, position.partition_count, position.high_watermarks
local configured_start, assign = position.configured_start, position.assign

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


------------------------------------------------------------------------------
-- Messages.

local current = kafka_message.current

-- A message that does not decode, by policy; returns "skip" or "stall".
-- quiet: met again while rehydrating (it was dealt with the first time).
local function rejected(self, m, err, code, quiet)
  if quiet then return "skip" end
  local policy = code == "skip" and "skip" or self.o.on_decode_error
  local c = self.counters
  c.decode_errors = c.decode_errors + 1
  local msg = ("source %s: topic %s partition %d offset %d: %s"):format(self.relation.name, self.o.topic, m.partition,
    m.offset, err)
  local action = ({ skip = "the message was skipped", dead_letter = "the message was sent to the dead-letter topic",
    stall = "the source stalls here (on_decode_error = \"stall\"); it resumes at this message after a restart" })[policy]
  if self.sink then self.sink.problems:note(code == "skip" and "source_skipped" or "decode_errors", msg, action) end
  if policy == "stall" then
    self.stalled_why = msg
    return "stall"
  end
  c.skipped = c.skipped + 1
  if policy == "dead_letter" and self.sink then
    local h = {}
    for _, x in ipairs(m.headers) do h[#h + 1], h[#h + 2] = x.key, x.value or "" end
    for _, kv in ipairs({ { "sinkgate-error", err }, { "sinkgate-source-topic", self.o.topic },
      { "sinkgate-source-partition", tostring(m.partition) }, { "sinkgate-source-offset", tostring(m.offset) } }) do
      h[#h + 1], h[#h + 2] = kv[1], kv[2]
    end
    local pending = self.sink.bad.pending
    pending[#pending + 1] = { topic = self.o.dead_letter.topic, key = m.key, value = m.value, headers = h }
    c.dead_letters = c.dead_letters + 1
  end
  return "skip"
end

-- One polled message into b at time t. Returns "ok", "skip" or "stall".
local function take(self, b, t, m, quiet)
  local h = self.layout.csv_header_at
  if h and m.partition == 0 and m.offset == h then return "ok" end -- the header record names columns, no row
  local nrows = b.nrows
  local ok, err, code = self.env:message(b, t, m)
  if not ok then return rejected(self, m, err, code, quiet) end
  if b.nrows == nrows and not quiet then self.counters.no_change = (self.counters.no_change or 0) + 1 end
  return "ok"
end

-- Without state_dir, UPSERT state lives in memory up to upsert_state_limit
-- and the source stalls past it; with state_dir it goes to disk instead.
local function over_limit(self)
  local env = self.env
  if env.on_disk then return false end
  local bytes = env.memory_bytes and env:memory_bytes() or env.bytes or 0 -- DEBEZIUM: its positions per key
  if bytes > self.o.upsert_state_limit then
    self.stalled_why = ("source %s: its keyed state holds %d bytes in memory, past upsert_state_limit (%d): it " ..
      "stalls (raise the limit, or give the sink a state_dir to keep state beyond state_memory on disk)")
      :format(self.relation.name, bytes, self.o.upsert_state_limit)
    return true
  end
end

-- Polls one message; returns the poll status (1 message, 2 EOF, 0 none, -1).
local function poll(self, timeout_ms)
  local rc = C.sg_consumer_poll(self.c, timeout_ms, self.msg, core.errbuf, core.ERRLEN)
  if rc == 2 then
    local p = self.msg.partition + 1
    local at = tonumber(self.msg.offset)
    -- The end of what can be read: under read_committed, past transaction
    -- markers that hold no message. Never past a catch-up target.
    if self.positions[p] and at > self.positions[p] then
      self.positions[p] = self.target_cap and math.min(at, self.target_cap[p]) or at
    end
  elseif rc < 0 then
    local err = core.err()
    if self.last_poll_error ~= err then log.info("source %s: %s (retrying)", self.relation.name, err) end
    self.last_poll_error = err
  end
  return rc
end

-- Per polled message while catching up: first the partition last found
-- short (positions only grow), so the scan — its inner loop also kept
-- LuaJIT from compiling the caller's loop — runs only once that one arrived.
local function reached(self, target)
  local p = self.short_of
  if p and self.short_target == target and (self.positions[p] or 0) < target[p] then return false end
  for q, o in ipairs(target) do
    if (self.positions[q] or 0) < o then
      self.short_of, self.short_target = q, target
      return false
    end
  end
  return true
end

-- While rebuilding: the state is exactly that of the positions, which are
-- at or below the committed offsets, so kept UPSERT state is checkpointed
-- there (source/upsert_cache.lua).
local function settle(self)
  if self.env.settle then self.env:settle(self.o.topic, self.start_offsets, self.positions) end
end

-- Reads from the current positions up to target: into b at time t (a
-- snapshot) or into a scratch batch that is dropped (rehydration: state
-- only). Returns true, done: a rehydration gives back control after
-- budget_ms (the next fill goes on; other sinks run meanwhile); a snapshot
-- is read whole (the sink consolidates it in one go) unless a stop signal
-- arrives. nil, err on failure.
local function catch_up(self, b, t, rehydrate, budget_ms)
  local target = self.target
  if rehydrate and self.layout.envelope == "none" and not self.replay then
    -- no state to rebuild (a stateful view below needs every insertion)
    for p, o in ipairs(target) do self.positions[p] = math.max(self.positions[p] or 0, o) end
    local ok, err = assign(self)
    return ok, err or true
  end
  if rehydrate and not self.replay and self.env.rehydrate and self.env:fast_rehydration(self.o)
    and not self.layout.csv_header_at then
    -- state only (no stateful view below needs the updates): consumed and
    -- applied in C (core/state/upsert.c)
    rehydration.begin(self, target) -- the progress figures, as on the Lua path
    local done, applied = self.env:rehydrate(self.c, self.positions, target, budget_ms or 1000)
    if done == nil then return nil, applied end -- applied: the error
    self.rehydration_state.messages = self.rehydration_state.messages + (applied or 0)
    if not done and not over_limit(self) then
      settle(self) -- a rebuild killed now goes on from here after a restart
      return true, false
    end
    rehydration.flush(self, true)
    local st = self.env:stats()
    local r = self.rehydration_state
    log.info("source %s: UPSERT state rebuilt up to offsets %s: %d keys (%d on disk) in %.2fs", self.relation.name,
      table.concat(target, ","), st.keys, st.keys_on_disk, ((r.finished or r.started) - r.started) / 1000)
    settle(self)
    local ok, aerr = assign(self)
    return ok, aerr or true
  end
  if not rehydrate and upsert_snapshot.allowed(self) then
    -- an UPSERT snapshot from the keyed state (source/upsert_snapshot.lua)
    local ok, done = upsert_snapshot.read(self, b, t, target, over_limit)
    if ok ~= "fallback" then
      if not ok or not done then return ok, done end
      if self.env.flush then self.env:flush() end
      local aok, aerr = assign(self)
      return aok, aerr or true
    end
    local aok, aerr = assign(self) -- back to the start offsets, per message
    if not aok then return nil, aerr end
  end
  local scratch = rehydrate and rehydration.begin(self, target) or nil -- where rebuilt updates go
  self.target_cap = target
  local started, last_log = tonumber(C.sg_sys_now_ms()), self.last_catch_up_log
  self.catch_up_started = self.catch_up_started or started
  while not reached(self, target) and not self.stalled_why do
    if (budget_ms and tonumber(C.sg_sys_now_ms()) - started > budget_ms) or C.sg_sys_signal_pending() ~= 0 then
      self.target_cap, self.last_catch_up_log = nil, last_log
      if rehydrate then
        settle(self)
        return rehydration.flush(self, false) -- the views are whole up to here
      end
      return true, false
    end
    local rc = poll(self, 100)
    if rc == 1 then
      local p, off = self.msg.partition + 1, tonumber(self.msg.offset)
      if off >= (self.positions[p] or 0) and off < (target[p] or 0) then
        local m = current(self)
        -- Quiet when rebuilding state, or refilling a snapshot split across
        -- transactions: its dead letters went out with its first part.
        local r = take(self, scratch or b, t, m, rehydrate or self.resumed)
        if scratch then -- dropped, or to the stateful views a slice at a time
          local ok, err = rehydration.taken(self, scratch)
          if not ok then return nil, err end
        end
        if r == "stall" then break end
        self.positions[p] = off + 1
        if not rehydrate then self.counters.messages = self.counters.messages + 1 end
        if over_limit(self) then break end
      end
    end
    local now = tonumber(C.sg_sys_now_ms())
    if now - self.catch_up_started > 5000 and (not last_log or now - last_log > 5000) then
      last_log = now
      log.info("source %s: %s: still reading up to offsets %s (at %s)%s", self.relation.name,
        rehydrate and "rebuilding state" or "snapshot", table.concat(target, ","), table.concat(self.positions, ","),
        rehydrate and rehydration.summary(self) or "")
    end
  end
  if rehydrate then
    local ok, err = rehydration.flush(self, true)
    if not ok then return nil, err end
    if not self.stalled_why then settle(self) end
  end
  self.target_cap, self.catch_up_started, self.last_catch_up_log = nil, nil, nil
  if self.env.flush then self.env:flush() end
  local ok, err = assign(self) -- messages fetched past the target are read again from there
  return ok, err or true
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
