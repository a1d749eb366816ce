-- sinkgate.source.kafka_read — what a Kafka source does with the messages
-- it polls (source/kafka.lua owns positions and times): a message into the
-- batch or its envelope's state, decode errors by policy (skip, stall,
-- dead letter), the keyed state's memory limit, and the catch-up that reads
-- up to a target — a new sink's snapshot, or the rebuild of state after a
-- restart (rehydration). Every function takes the source as `self`.
local core = require "sinkgate.core"
local kafka_message = require "sinkgate.source.kafka_message"
local log = require "sinkgate.util.log"
local position = require "sinkgate.source.kafka_position"
local rehydration = require "sinkgate.source.rehydration"
local upsert_snapshot = require "sinkgate.source.upsert_snapshot"

local C = core.C
local M = {}

local assign, current = position.assign, kafka_message.current


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

M.take, M.over_limit, M.poll, M.catch_up = take, over_limit, poll, catch_up
return M
