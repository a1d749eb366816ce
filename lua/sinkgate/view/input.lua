-- sinkgate.view.input — a view as an input (the contract at the top of
-- source/input.lua), so a sink reads it like any source. A chain of views
-- over one source compiles to one pass per batch: the source fills a
-- scratch batch, and each of its updates (row, time, diff) runs through
-- every view's stage in turn — the source's rows through one reusable row
-- view (view/rowview.lua: no table per row), a map's rows as the tables it
-- returns — and
-- what comes out of the last stage is written into the sink's batch with
-- the checks of rows.push (view/writer.lua), so every output value is
-- checked against the view's columns.
--
-- Diffs flow through: a stateless stage applies its function to the row
-- of a retraction too (diff -1); distinct_on and group_by stages retract
-- what they had emitted (view/distinct.lua, view/group.lua), keeping their
-- state in a state store (sinkgate.state): in memory up to the sink's
-- state_memory, then under state_dir. The store is a cache: rewind empties
-- it, and seek(upper) rebuilds it by replaying the input up to upper with
-- the output discarded (a restart resumes at the committed frontier with
-- the state it had there); over a Kafka source, the source's own rebuild
-- feeds it instead, in slices (replay_from_source).
--
-- A view's Lua error (a function raised, or returned a row that does not
-- fit the columns, or a map changed an inherited key) follows the sink's
-- on_error like partition_by: "count" drops that input row's output,
-- counts it (view_errors) and reports it with file:line; "fail" fails the
-- sink.
local core = require "sinkgate.core"
local check = require "sinkgate.rows_check"
local log = require "sinkgate.util.log"
local state = require "sinkgate.state"
local vplan = require "sinkgate.view.plan"
local distinct = require "sinkgate.view.distinct"
local group = require "sinkgate.view.group"
local writer = require "sinkgate.view.writer"
local rowview = require "sinkgate.view.rowview"
local project = require "sinkgate.view.project"

local C, ffi = core.C, core.ffi
local M = {}
M.__index = M

local SCRATCH_ROWS = 4096
-- Rows a Kafka source's rebuild hands the views at a time: small enough
-- that the views' work mostly falls inside the source's ~100 ms slice
-- (what is left runs when the slice ends), large enough that a state
-- store's commit per batch stays cheap.
local REPLAY_ROWS = 512

-- LuaJIT's loop unroll limit, raised once, process-wide, when a view is
-- built: a short loop inside a view's function (over a small list, say)
-- then unrolls into the per-row trace instead of stopping it. The view's
-- own per-row path has no loop left (see kept_check, view/writer.lua), and
-- the bench's view measures the same with or without this.
local function tune_jit()
  if jit and jit.opt then jit.opt.start("loopunroll=60") end
  tune_jit = function() end
end

-- The error a stage raises for output it cannot write, with the function
-- that produced it.
local function bad_output(fn, path, msg)
  error({ view_error = true, fn = fn, path = path, msg = msg }, 0)
end

-- kept_changed(out, row): the first inherited key column whose value the
-- map changed, or nil. Generated as one comparison per column rather than
-- a loop: an inner loop on the per-row path splits it into traces that
-- LuaJIT cannot link back ("NYI: return to lower frame"), and the whole
-- view then runs interpreted.
local function kept_check(checked_keys)
  local lines = { "return function(out, row)" }
  for _, k in ipairs(checked_keys or {}) do
    for _, c in ipairs(k) do
      lines[#lines + 1] = ("  if out[%q] ~= row[%q] then return %q end"):format(c, c, c)
    end
  end
  lines[#lines + 1] = "end"
  return assert(loadstring(table.concat(lines, "\n"), "=view key check"))()
end

-- A stateless stage: filter, then map or flat_map. `cur` records which
-- function runs, to name it if it raises. copy (view/project.lua): a map
-- that only copies columns (or a filter alone), written from the scratch
-- batch's row owner.at into owner.out; false sends the row down the plain
-- path.
local function stateless_stage(v, nxt, cur, copy, owner)
  local o = v.opts
  local filter, map, flat = o.filter, o.map, o.flat_map
  local kept_changed = kept_check(v.checked_keys)
  local fpath, mpath = v.path .. ".filter", v.path .. (map and ".map" or ".flat_map")
  local fn = map or flat
  return function(row, time, diff)
    if filter then
      cur.fn, cur.path = filter, fpath
      if not filter(row) then return end
    end
    if copy then
      if fn then cur.fn, cur.path = fn, mpath end -- (copy never raises; should it, the map is named)
      if copy(owner.out, time, diff, owner.scratch, owner.at) then return end
    end
    if not fn then return nxt(row, time, diff) end
    cur.fn, cur.path = fn, mpath
    local out = fn(row)
    if out == nil then return end
    if map then
      if type(out) ~= "table" then bad_output(fn, mpath, "expected a row (a table) or nil, got " .. check.show(out)) end
      local c = kept_changed(out, row)
      if c then
        bad_output(fn, mpath, ("the map changed key column \"%s\" (%s → %s), a key the view inherits; declare the " ..
          "view's keys instead"):format(c, check.show(row[c]), check.show(out[c])))
      end
      return nxt(out, time, diff)
    end
    if type(out) ~= "table" then bad_output(fn, mpath, "expected a list of rows, got " .. check.show(out)) end
    for i = 1, #out do nxt(out[i], time, diff) end
  end
end

-- decl: the view; relation: its output relation (decl.plan.relation).
function M.new(decl, relation)
  local input = require "sinkgate.source.input"
  tune_jit()
  local root, chain = vplan.chain(decl)
  local root_rel = chain[1].plan.input
  local src, err = input.new(root, root_rel)
  if not src then return nil, err end
  local self = setmetatable({ decl = decl, relation = relation, src = src, root_rel = root_rel, chain = chain,
    realtime = src.realtime, tick_ms = src.tick_ms, limit = src.limit, cur = {}, stateful = {},
    counters = { view_errors = 0 }, fail_on_error = false, state_memory = 64 * 1024 * 1024 }, M)
  self.scratch = ffi.gc(C.sg_batch_new(root_rel:c_schema(), SCRATCH_ROWS), C.sg_batch_free)
  self.view = rowview.new(root_rel, self.scratch)
  -- The last stage writes into the batch being filled (self.out).
  local write = writer.new(relation)
  local nxt = function(row, time, diff)
    local r, perr = write(self.out, time, diff, row)
    if not r then bad_output(self.cur.fn, self.cur.path, perr) end
  end
  for i = #chain, 1, -1 do
    local v = chain[i]
    if v.plan.kind == "stateless" then
      -- the fast path writes the sink's batch from the source's: only a
      -- view straight over the source, read by the sink
      local o, copy = v.opts, nil
      if #chain == 1 and o.map then
        copy = project.new(root_rel, relation, o.map, v.checked_keys)
      elseif #chain == 1 and not o.flat_map then
        copy = project.identity(root_rel, relation)
      end
      self.projected = copy and true or false -- (specs)
      nxt = stateless_stage(v, nxt, self.cur, copy or nil, self)
    else
      local st = { v = v, impl = v.plan.kind == "distinct" and distinct or group }
      self.stateful[#self.stateful + 1] = st
      local after = nxt
      nxt = function(row, time, diff) return st.op:apply(row, time, diff, after) end
    end
  end
  self.first = nxt
  self:delegate_optional()
  return self
end

-- The sink's context: its error policy, problem log and state options.
function M:attach(sink)
  if self.src.attach then self.src:attach(sink) end -- a Kafka source below: its problems, dead letters
  local o = sink.opts
  self.fail_on_error = o.on_error == "fail"
  self.problems, self.sink_counters = sink.problems, sink.counters
  self.sink_counters.view_errors = self.sink_counters.view_errors or 0
  self.counters = self.sink_counters
  self.state_dir, self.state_memory = o.state_dir, o.state_memory or self.state_memory
  self.sink_name = sink.name
end

-- The directory of this process's state for the sink (state.sink_dir:
-- one "<view>-<n>.<pid>.state" per stateful view).
function M:state_base()
  return state.sink_dir(self.state_dir, self.sink_name)
end

-- Opens the stores of the stateful views (empty; the first use or a rewind).
function M:open_state()
  local base
  for i, st in ipairs(self.stateful) do
    if not st.store then
      local dir
      if self.state_dir then
        if not base then
          local err
          base, err = self:state_base()
          if not base then return nil, err end
        end
        dir = state.path(base, st.v.plan.relation.name .. "-" .. i)
      end
      local store, err = state.open(dir, self.state_memory)
      if not store then return nil, err end
      st.store = store
      st.op = st.impl.new(st.v, store)
    end
  end
  return true
end

-- Closes the stores (an LMDB environment must not be open twice in one
-- process: a second input of the same sink closes the first's).
function M:close()
  for _, st in ipairs(self.stateful) do
    if st.store then st.store:close() end
    st.store, st.op = nil, nil
  end
end

-- State size over the view's stateful stages, or nil without one.
function M:state_stats()
  if #self.stateful == 0 then return nil end
  local t = { keys = 0, keys_on_disk = 0, bytes_in_memory = 0, bytes_on_disk = 0 }
  for _, st in ipairs(self.stateful) do
    if st.store then
      for k, v in pairs(st.store:stats()) do if t[k] then t[k] = t[k] + v end end
    end
  end
  return t
end

------------------------------------------------------------------------------
-- The input contract, delegated to the source.

-- What only some sources have (a Kafka source: its consumer set up from the
-- committed offsets, the offsets that go into the progress record, lag
-- commits, a stall, its status): the sink looks these up on its input, so
-- a view has them exactly when its source does.
local OPTIONAL = { "prepare", "resume_state", "committed", "stalled", "status", "lag", "rehydration" }

function M:delegate_optional()
  for _, name in ipairs(OPTIONAL) do
    if self.src[name] then self[name] = function(v, ...) return v.src[name](v.src, ...) end end
  end
end

-- Filling ahead of a commit: a stateless view over a source that allows
-- it (a stateful view's store is not rolled back with the transaction).
function M:prefill_safe()
  return #self.stateful == 0 and self.src.prefill_safe ~= nil and self.src:prefill_safe()
end

function M:origin(saved, now)
  local start = self.src:origin(saved, now)
  self.start = self.src.start
  return start
end

function M:set_start(ms)
  self.src:set_start(ms)
  self.start = self.src.start
end

function M:new_as_of(now) return self.src:new_as_of(now) end
function M:time_of(i) return self.src:time_of(i) end
function M:next_time() return self.src:next_time() end
function M:due(now) return self.src:due(now) end
function M:exhausted() return self.src:exhausted() end
function M:on_bad_row(fn) return self.src:on_bad_row(fn) end
function M:reject(...) return self.src:reject(...) end

function M:rewind()
  self.src:rewind()
  for _, st in ipairs(self.stateful) do
    if st.store then st.store:clear() end
  end
end

-- A view error: counted and reported; the message when the sink fails.
function M:view_error(e)
  if type(e) == "string" and e:match("^state: ") then
    -- the store failed (disk full, a key too long for LMDB): the view's
    -- state is no longer whole, so the sink stops whatever on_error says
    return ("%s: %s: %s"):format(self.decl.where, self.decl.path or "view", e)
  end
  if self.replaying and not self.fail_on_error then return end -- counted when the row first ran
  local fn, path, msg
  if type(e) == "table" and e.view_error then
    fn, path, msg = e.fn, e.path, e.msg
  else
    fn, path = self.cur.fn, self.cur.path
  end
  local where
  if fn then
    if msg then where = check.defined_at(fn) else where, msg = check.raised_at(fn, e) end
  else
    where, msg = self.decl.where, msg or check.error_text(e)
  end
  local text = ("%s: %s: %s"):format(where, path or self.decl.path or "view", msg)
  self.counters.view_errors = self.counters.view_errors + 1
  if self.problems then
    self.problems:note("view_errors", text, self.fail_on_error and "the sink fails (on_error = \"fail\")" or
      "the input row's output was dropped")
  end
  if self.fail_on_error then return text .. " (on_error = \"fail\")" end
end

-- Runs the scratch batch's updates through the stages into out. Rows run
-- under one pcall until one raises; that row's partial output is taken
-- back and the rest goes on under a new one.
-- Rows [r, n) of the scratch batch through the stages; self.at is the row
-- being run and self.mark the output as it was before it. (A plain
-- function, not a closure made per batch, so the loop compiles.)
local function run_rows(self, out, first, view, sb, r, n)
  local mark = self.mark
  while r < n do
    -- (tonumber: arena_len is a size_t, boxed as a new cdata per row otherwise)
    mark[1], mark[2], self.at = out.nrows, tonumber(out.arena_len), r
    first(view:at(r), tonumber(sb.times[r]), tonumber(sb.diffs[r]))
    r = r + 1
  end
end

function M:run(out)
  local sb, view, first = self.scratch, self.view, self.first
  local n = sb.nrows
  local r = 0
  self.out = out
  self.mark = self.mark or {}
  while r < n do
    local ok, e = pcall(run_rows, self, out, first, view, sb, r, n)
    r = n
    if not ok then
      r = self.at
      C.sg_batch_truncate(out, self.mark[1], self.mark[2])
      local failed = self:view_error(e)
      if failed then
        self.failure = failed
        return nil, failed
      end
      r = r + 1
    end
  end
  for _, st in ipairs(self.stateful) do st.store:flush() end
  return true
end

-- Appends the view's updates of source times < until_time to b.
function M:fill(b, until_time, max_rows)
  if self.failure then return nil, self.failure end
  local ok, err = self:open_state()
  if not ok then return nil, err end
  -- max_rows bounds the source rows read too: a view that drops most rows
  -- must not read an unbounded input to its end in one call.
  local total, read = 0, 0
  repeat
    C.sg_batch_clear(self.scratch)
    local room = max_rows and math.max(1, max_rows - b.nrows) or nil
    local n, ferr = self.src:fill(self.scratch, until_time, room and math.min(room, SCRATCH_ROWS) or SCRATCH_ROWS)
    if not n then return nil, ferr end
    read = read + self.scratch.nrows
    ok, err = self:run(b)
    if not ok then return nil, err end
    total = total + n
  until n == 0 or (max_rows and (b.nrows >= max_rows or read >= max_rows))
  return total
end

-- Skips to upper: stateless views skip the source; stateful ones replay it
-- up to upper into their state, output discarded.
function M:seek(upper)
  if #self.stateful == 0 then return self.src:seek(upper) end
  local ok, err = self:open_state()
  if not ok then
    self.failure = err
    return
  end
  if self.src.set_replay then return self:replay_from_source(upper) end
  local discard = ffi.gc(C.sg_batch_new(self.relation:c_schema(), SCRATCH_ROWS), C.sg_batch_free)
  local t0, rebuilding = C.sg_sys_mono_ns(), self.src:next_time() < upper
  if rebuilding then
    log.info("sink %s: view state: rebuilding from the input up to frontier %s", self.sink_name or "?", tostring(upper))
  end
  while self.src:next_time() < upper and not self.src:exhausted() do
    C.sg_batch_clear(discard)
    local n, ferr = self:fill(discard, upper, SCRATCH_ROWS)
    if not n then
      self.failure = ferr
      return
    end
    if n == 0 then break end
  end
  if rebuilding then
    local st = self:state_stats()
    log.info("sink %s: view state rebuilt up to frontier %s: %d keys (%d on disk) in %.2fs", self.sink_name or "?",
      tostring(upper), st.keys, st.keys_on_disk, tonumber(C.sg_sys_mono_ns() - t0) / 1e9)
  end
  self.src:seek(upper)
end

-- A Kafka source rebuilds in steps (~100 ms per fill, the sink's other
-- work goes on, nothing is committed meanwhile) from its start offsets up
-- to the committed ones: its updates (upsert retraction + insertion pairs,
-- every insertion of envelope none, Debezium diffs) run through the stages
-- into a discarded batch as it reads, so the views' state is rebuilt with
-- the source's before anything new is produced (source/rehydration.lua).
function M:replay_from_source(upper)
  local discard = ffi.gc(C.sg_batch_new(self.relation:c_schema(), SCRATCH_ROWS), C.sg_batch_free)
  self.src:set_replay(self.scratch, function()
    self.replaying = true
    local ok, err = self:run(discard)
    self.replaying = nil
    C.sg_batch_clear(discard)
    return ok, err
  end, REPLAY_ROWS)
  self.src:seek(upper)
end

return M
