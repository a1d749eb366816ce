-- sinkgate.sink.lifecycle — the states of a sink and the only function that
-- moves it between them, so a missing transition is an error rather than a
-- silent concurrency bug (after librdkafka's transaction manager).
--
--   starting    prepare: progress topic, version check BEFORE fencing (an
--               older version never fences a newer one); fence:
--               init_transactions; resume: the committed progress record
--               (read after fencing, so nothing can overtake it), identity
--               and version checks, data topic, partitions
--   stalled     alive but not producing: schemas not registered yet, a
--               commit or the broker stuck (why says which)
--   running     producing transactions
--   recovering  the producer hit a fatal error: it is replaced and the sink
--               resumes from the committed record, never from memory
--   done        its input ended and everything is committed
--   failed      a hard error (why); other sinks go on
--   fenced      another instance (or a newer version) of this sink took
--               over; this one stops and never fences it back
local log = require "sinkgate.util.log"

local M = {}

local TRANSITIONS = {
  starting = { starting = true, stalled = true, running = true, failed = true, fenced = true },
  stalled = { stalled = true, running = true, recovering = true, failed = true, fenced = true },
  running = { running = true, stalled = true, recovering = true, done = true, failed = true, fenced = true },
  recovering = { recovering = true, stalled = true, running = true, failed = true, fenced = true },
  done = {},
  failed = {},
  fenced = {},
}
M.TRANSITIONS = TRANSITIONS

-- States after which the sink never produces again.
M.FINAL = { done = true, failed = true, fenced = true }

-- The calls a sink makes, in order, one line each ("<sink> <event>
-- [detail]"), appended to the file SINKGATE_TRACE names: how specs see the
-- order of fencing, reads and commits that a broker without fencing cannot
-- show. Off (one nil check) unless set.
local trace_path = os.getenv("SINKGATE_TRACE")
local trace_file

function M.trace(sink, event, detail)
  if not trace_path then return end
  trace_file = trace_file or io.open(trace_path, "a")
  if not trace_file then trace_path = nil return end
  trace_file:write(sink.name, " ", event, detail and (" " .. tostring(detail)) or "", "\n")
  trace_file:flush()
end

-- Moves sink to state `to` with a reason; logs when the state or the
-- reason changes. Failed and fenced are logged as errors naming the sink.
function M.set(sink, to, why)
  local from = sink.state
  if not TRANSITIONS[from][to] then
    error(("sink %s: no transition from %s to %s (%s)"):format(sink.name, from, to, tostring(why)), 2)
  end
  if from == to and sink.why == why then return end
  sink.state, sink.why = to, why
  M.trace(sink, "state", to)
  if to == "failed" or to == "fenced" then
    log.err(("sinkgate run: sinks.%s: %s%s"):format(sink.name, to == "fenced" and "fenced: " or "", why))
  elseif from ~= to or why then
    log.info("sink %s: %s%s", sink.name, to, why and (": " .. why) or "")
  end
end

return M
