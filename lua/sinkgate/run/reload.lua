-- sinkgate.run.reload — what a config reload does to the running sinks
-- (SIGHUP or --watch on `run`; `check --diff OLD NEW` prints the same).
-- Per sink, by name:
--   keep     nothing that matters changed: it runs on untouched
--   restart  an option changed: its open transaction commits, then it
--            starts again from its committed record with the new plan
--   refuse   its identity changed (topic, key, formats, envelope) without a
--            version bump: resuming the old timeline under it would mix
--            data (docs/exactly-once.md), so the old sink runs on
--   add      a new sink starts
--   remove   a sink no longer declared commits and stops
local plan_mod = require "sinkgate.plan"

local M = {}

-- What a committed timeline is for (the same fields as the progress
-- record's `sink`; sink/sink.lua writes them).
function M.identity(p)
  return { topic = p.topic, key = p.key and table.concat(p.key, ",") or nil,
    key_format = p.key and plan_mod.format_name(p.key_format) or nil,
    value_format = plan_mod.format_name(p.value_format), envelope = p.envelope }
end

-- Where a declaration came from is not what it means: lines may move.
local SKIP = { where = true, locate = true, path = true }

-- A canonical text of a value: sorted keys, functions by their bytecode
-- (stripped of line numbers), secrets by name (never by value).
local function canon(v, out, seen)
  local t = type(v)
  if t == "table" then
    if seen[v] then out[#out + 1] = "<cycle>" return end
    seen[v] = true
    local mt = getmetatable(v)
    local name = rawget(v, "name")
    if mt and type(name) == "string" and require("sinkgate.secret").is(v) then
      out[#out + 1] = "secret(" .. name .. ")"
      seen[v] = nil
      return
    end
    local keys = {}
    for k in pairs(v) do
      if not SKIP[k] then keys[#keys + 1] = k end
    end
    table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
    out[#out + 1] = "{"
    for _, k in ipairs(keys) do
      out[#out + 1] = tostring(k) .. "="
      canon(v[k], out, seen)
      out[#out + 1] = ","
    end
    out[#out + 1] = "}"
    seen[v] = nil
  elseif t == "function" then
    local ok, code = pcall(string.dump, v, true)
    out[#out + 1] = ok and ("fn:" .. code) or tostring(v)
  elseif t == "string" then
    out[#out + 1] = ("%q"):format(v)
  else
    out[#out + 1] = tostring(v)
  end
end

function M.fingerprint(p)
  local out = {}
  canon({ opts = p.opts, relation = p.relation and p.relation.name, connection = p.connection.opts }, out, {})
  return table.concat(out)
end

local IDENTITY_KEYS = { "topic", "key", "key_format", "value_format", "envelope" }

-- old and new: lists of plans. Returns a list of { name, action, why }, in
-- the new config's order, removed sinks last.
function M.diff(old, new)
  local by_name = {}
  for _, p in ipairs(old) do by_name[p.name] = p end
  local actions, seen = {}, {}
  for _, p in ipairs(new) do
    seen[p.name] = true
    local o = by_name[p.name]
    if not o then
      actions[#actions + 1] = { name = p.name, action = "add", plan = p, why = "new sink" }
    else
      local a, b = M.identity(o), M.identity(p)
      local changed = {}
      for _, k in ipairs(IDENTITY_KEYS) do
        if a[k] ~= b[k] then changed[#changed + 1] = ("%s %s -> %s"):format(k, tostring(a[k]), tostring(b[k])) end
      end
      local ov, nv = o.opts.version or 1, p.opts.version or 1
      if #changed > 0 and nv <= ov then
        actions[#actions + 1] = { name = p.name, action = "refuse", plan = p,
          why = ("%s needs a version bump (version %d -> %d); the running sink keeps its old config"):format(
            table.concat(changed, ", "), ov, ov + 1) }
      elseif nv ~= ov then
        actions[#actions + 1] = { name = p.name, action = "restart", plan = p,
          why = ("version %d -> %d: a new timeline"):format(ov, nv) }
      elseif M.fingerprint(o) ~= M.fingerprint(p) then
        actions[#actions + 1] = { name = p.name, action = "restart", plan = p,
          why = "options changed; resumes from its committed progress" }
      else
        actions[#actions + 1] = { name = p.name, action = "keep", plan = p, why = "unchanged" }
      end
    end
  end
  for _, p in ipairs(old) do
    if not seen[p.name] then actions[#actions + 1] = { name = p.name, action = "remove", why = "no longer declared" } end
  end
  return actions
end

-- One line per action, as `check --diff` prints them.
function M.describe(actions)
  local out = {}
  for _, a in ipairs(actions) do out[#out + 1] = ("%-8s %s: %s"):format(a.action, a.name, a.why) end
  return table.concat(out, "\n")
end

-- Applies a reload to a running set. run = { sinks, plans, reloads }
-- (sinks and plans are changed in place: the HTTP snapshot and the run
-- loop see the new set); new_plans, or nil and problems when the new
-- config does not load. grace_ms bounds each stopping sink's commit.
-- force: { [name] = why } restarts those sinks even when unchanged.
function M.apply(run, new_plans, problems, grace_ms, force)
  local log = require "sinkgate.util.log"
  local sink = require "sinkgate.sink.sink"
  local txn = require "sinkgate.sink.txn"
  local r = run.reloads
  if not new_plans then
    r.failed = (r.failed or 0) + 1
    for _, p in ipairs(problems or {}) do log.event("error", "reload_failed", nil, "reload: %s", p) end
    log.event("error", "reload_failed", nil, "reload: the new config does not load; every sink keeps running as it was")
    return false
  end
  local old_sinks = {}
  for i, p in ipairs(run.plans) do old_sinks[p.name] = run.sinks[i] end
  local function stop(s)
    s:finish(grace_ms)
    txn.close(s) -- its successor takes over its transactional.id
  end
  local sinks, plans, refused = {}, {}, 0
  for _, a in ipairs(M.diff(run.plans, new_plans)) do
    local old = old_sinks[a.name]
    if force and force[a.name] and a.action == "keep" then a.action, a.why = "restart", force[a.name] end
    log.event(a.action == "refuse" and "warning" or "info", "reload", { sink = a.name, action = a.action },
      "reload: sink %s: %s (%s)", a.name, a.action, a.why)
    if a.action == "keep" or a.action == "refuse" then
      sinks[#sinks + 1], plans[#plans + 1] = old, old.plan
      if a.action == "refuse" then refused = refused + 1 end
    elseif a.action == "remove" then
      stop(old)
    else -- restart, add
      if old then stop(old) end
      local s, err = sink.new(a.plan)
      if s and old then -- a restarted sink's counters go on (no reset seen by Prometheus)
        for k, v in pairs(old.counters) do s.counters[k] = (s.counters[k] or 0) + v end
        s.bytes_closed, s.latency_hist = txn.delivered_bytes(old), old.latency_hist
      end
      if s then
        sinks[#sinks + 1], plans[#plans + 1] = s, a.plan
      else
        log.event("error", "reload", { sink = a.name }, "reload: sink %s: cannot start: %s", a.name, err)
      end
    end
  end
  for i = #run.sinks, 1, -1 do run.sinks[i] = nil end
  for i = #run.plans, 1, -1 do run.plans[i] = nil end
  for i, s in ipairs(sinks) do run.sinks[i], run.plans[i] = s, plans[i] end
  if refused > 0 then r.refused = (r.refused or 0) + 1 else r.applied = (r.applied or 0) + 1 end
  return true
end

-- Sinks whose Kafka source pinned a reader schema by the id in their
-- progress record (sink.replan, source/kafka.lua) start again from a new
-- plan of the config, which reads those schemas by id. Returns true when
-- it did something.
function M.replan(run, load, grace_ms)
  local force
  for _, s in ipairs(run.sinks) do
    if s.replan then
      force = force or {}
      force[s.name] = "planned again with the reader schema its progress record names"
    end
  end
  if not force then return false end
  local new_plans, problems = load()
  M.apply(run, new_plans, problems, grace_ms, force)
  if not new_plans then -- the config no longer loads: those sinks cannot go on
    for _, s in ipairs(run.sinks) do
      if s.replan then require("sinkgate.sink.lifecycle").set(s, "failed", s.replan) end
    end
  end
  return true
end

return M
