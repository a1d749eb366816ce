-- sinkgate.sink.bad_rows — a sink's policy for rows its Lua-fed input
-- refuses (a value that does not fit its column, NULL in a NOT NULL
-- column, an unknown column) and for feed functions that raise:
--   on_bad_row = "fail"         (default) the sink fails with the error;
--                               other sinks go on; `run` exits 1 at the end;
--   on_bad_row = "skip"         the row (for a raising feed: that tick's
--                               changes) is dropped, counted and reported;
--   on_bad_row = "dead_letter"  as skip, and the row goes, as JSON text with
--                               the error in its headers, to dead_letter.topic
--                               inside the sink's own transaction (so exactly
--                               once with the data it was refused from).
-- The sink calls produce() after its data and before its progress record,
-- and committed() once the transaction is committed; a retried transaction
-- produces the same dead letters again.
local core = require "sinkgate.core"
local json = require "sinkgate.util.json"
local topics = require "sinkgate.sink.topics"

local C, ffi = core.C, core.ffi
local M = {}
M.__index = M

local ACTION = {
  skip = { bad_row = "the row was dropped", feed_error = "the tick's changes were dropped" },
  dead_letter = { bad_row = "the row was dropped and sent to the dead-letter topic",
    feed_error = "the tick's changes were dropped; the error was sent to the dead-letter topic" },
}
local COUNTER = { bad_row = "bad_rows", feed_error = "feed_errors" }

-- sink: { name, opts, counters, problems, plan }.
function M.new(sink)
  local o = sink.opts
  local self = setmetatable({ sink = sink, policy = o.on_bad_row or "fail", pending = {} }, M)
  self.topic = o.dead_letter and o.dead_letter.topic
  local c = sink.counters
  for _, k in pairs(COUNTER) do c[k] = c[k] or 0 end
  c.dead_letters = c.dead_letters or 0
  return self
end

-- Problems of a sink's policy options that their types cannot catch, as
-- "path: message" (plan.lua adds file:line).
function M.check_options(o, path)
  local out = {}
  if o.on_bad_row == "dead_letter" and not o.dead_letter then
    out[#out + 1] = path .. ".dead_letter: on_bad_row = \"dead_letter\" needs dead_letter = { topic = \"…\" }"
  elseif o.dead_letter and o.on_bad_row ~= "dead_letter" then
    out[#out + 1] = path .. ".dead_letter: only used with on_bad_row = \"dead_letter\" (on_bad_row is \"" ..
      tostring(o.on_bad_row) .. "\")"
  end
  if o.dead_letter and o.into and o.dead_letter.topic == o.into.topic then
    out[#out + 1] = path .. ".dead_letter.topic: must differ from the sink's topic"
  end
  return out
end

-- The row as JSON text: its columns in order, then any other keys; values
-- as the feed gave them (a value JSON cannot hold is written as text).
local function row_json(relation, row)
  if type(row) ~= "table" then return json.encode(tostring(row)) end
  local keys, seen = {}, {}
  for i, c in ipairs(relation.columns) do
    keys[i], seen[c.name] = c.name, true
  end
  local extra = {}
  for k in pairs(row) do
    if not seen[k] then extra[#extra + 1] = tostring(k) end
  end
  table.sort(extra)
  local copy = {}
  for k, v in pairs(row) do copy[tostring(k)] = v end
  for _, k in ipairs(extra) do keys[#keys + 1] = k end
  local ok, text = pcall(json.encode, json.object(keys, copy))
  return ok and text or json.encode("row not representable as JSON: " .. tostring(text))
end

-- The input's callback: true when the row was dealt with (skip, dead
-- letter), false to fail the sink.
function M:handler()
  return function(kind, message, row, dropped, time)
    if self.policy == "fail" then return false end
    local s = self.sink
    s.counters[COUNTER[kind]] = s.counters[COUNTER[kind]] + 1
    local action = ACTION[self.policy][kind]
    if kind == "feed_error" and dropped and dropped > 0 then action = action .. (" (%d changes)"):format(dropped) end
    s.problems:note(COUNTER[kind], message, action)
    if self.policy == "dead_letter" then
      self.pending[#self.pending + 1] = {
        value = kind == "bad_row" and row_json(s.plan.relation, row) or nil,
        headers = { s.opts.timestamp_header, tostring(time or 0), "sinkgate-error", message, "sinkgate-error-kind", kind,
          "sinkgate-sink", s.name, "sinkgate-topic", s.plan.topic },
      }
    end
    return true
  end
end

-- Produces the pending dead letters with producer (inside the open
-- transaction, if any); true, or nil, message.
function M:produce(producer)
  if #self.pending == 0 then return true end
  self.ensured = type(self.ensured) == "table" and self.ensured or {}
  for _, m in ipairs(self.pending) do
    -- A Kafka source's dead letters name their own topic and keep the key.
    local topic = m.topic or self.topic
    if not self.ensured[topic] then
      local s = self.sink
      local ok, err = topics.ensure(s.plan.connection, s.conf, topic, nil, nil, nil)
      if not ok then return nil, "dead-letter topic " .. topic .. ": " .. err end
      self.ensured[topic] = true
    end
    local h = m.headers
    local nh = #h / 2
    local names, values, lens = ffi.new("const char *[?]", nh), ffi.new("const void *[?]", nh), ffi.new("size_t[?]", nh)
    for i = 1, nh do
      names[i - 1], values[i - 1], lens[i - 1] = h[2 * i - 1], h[2 * i], #h[2 * i]
    end
    local v, k = m.value, m.key
    if C.sg_producer_send(producer, topic, 0, k, k and #k or 0, v, v and #v or 0, v and 0 or 1, names, values, lens,
          nh, core.errbuf, core.ERRLEN) ~= 0 then
      return nil, "dead-letter topic " .. topic .. ": " .. core.err()
    end
  end
  return true
end

-- The transaction holding the pending dead letters committed.
function M:committed()
  local c = self.sink.counters
  c.dead_letters = c.dead_letters + #self.pending
  self.pending = {}
end

-- The transaction holding them will not commit and the input is refilled
-- from the committed frontier (recovery): the bad rows are found again.
function M:discard()
  self.pending = {}
end

return M
