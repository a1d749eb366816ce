-- sinkgate.describe — plans in words and as JSON, for `sinkgate check`.
-- Connections print by name and address only: no option that may hold a
-- secret is ever printed.
local plan = require "sinkgate.plan"
local secret = require "sinkgate.secret"
local relation = require "sinkgate.relation"
local json = require "sinkgate.util.json"

local M = {}

local function fn_where(f)
  if not f then return nil end
  local info = debug.getinfo(f, "S")
  return ("function at %s:%d"):format(info.short_src, info.linedefined)
end

local function fmt_label(f)
  if type(f) == "table" and f.plugin then -- a format plugin (sinkgate.plugin)
    return ("%s (plugin %s)"):format(f.plugin.name, f.plugin.version)
  end
  if type(f) == "table" then
    local reg = f.opts.registry.opts
    return ("avro (registry %s: %s)"):format(reg.name, secret.redact_url(reg.url))
  end
  return f
end

local function subject(p, which) return p.topic .. "-" .. which end

-- One sink's plan as an ordered table (the JSON form of check).
function M.plan_json(p)
  local o, conn = p.opts, p.connection.opts
  local cols = {}
  for i, c in ipairs(p.relation.columns) do
    cols[i] = json.object({ "name", "type", "nullable" },
      { name = c.name, type = require("sinkgate.types").render(c.type), nullable = c.nullable })
  end
  local t = json.object(
    { "name", "defined_at", "from", "columns", "connection", "topic", "key", "not_enforced", "key_format",
      "value_format", "envelope", "partitioning", "headers", "timestamp_header", "snapshot", "mode",
      "compression", "transactional_id", "topic_partition_count", "topic_replication_factor", "topic_config",
      "key_subject", "value_subject", "key_schema", "value_schema", "views" },
    {
      name = p.name, defined_at = p.where, from = p.relation.name, columns = cols,
      connection = json.object({ "name", "brokers", "progress_topic" },
        { name = conn.name, brokers = conn.brokers, progress_topic = conn.progress_topic }),
      topic = p.topic, key = p.key or json.null, not_enforced = o.not_enforced,
      key_format = p.key_format and fmt_label(p.key_format) or json.null, value_format = fmt_label(p.value_format),
      envelope = p.envelope, partitioning = plan.partitioning(p), headers = fn_where(o.headers),
      timestamp_header = o.timestamp_header, snapshot = o.snapshot, mode = o.mode,
      compression = o.into.compression,
      transactional_id = (o.into.transactional_id_prefix or "sinkgate") .. "-" .. p.name,
      topic_partition_count = o.into.topic_partition_count, topic_replication_factor = o.into.topic_replication_factor,
      topic_config = next(o.into.topic_config) and o.into.topic_config or nil,
    })
  if p.views then -- views (issue 12): from the source up, with their keys and where those come from
    t.views = {}
    for i, v in ipairs(p.views) do
      local keys = {}
      for k, key in ipairs(v.plan.relation.keys) do keys[k] = key end
      t.views[i] = json.object({ "name", "kind", "defined_at", "keys", "keys_from" }, { name = v.plan.relation.name,
        kind = v.plan.kind, defined_at = v.where, keys = #keys > 0 and keys or json.empty_array,
        keys_from = v.plan.keys_note })
    end
  end
  if p.avro then
    if p.avro.key then t.key_subject, t.key_schema = subject(p, "key"), p.avro.key_schema end
    if p.avro.value then t.value_subject, t.value_schema = subject(p, "value"), p.avro.value_schema end
  end
  return t
end

function M.plans_json(plans)
  local out = {}
  for i, p in ipairs(plans) do out[i] = M.plan_json(p) end
  return json.object({ "sinks" }, { sinks = #out > 0 and out or json.empty_array })
end

local function row(lines, label, value)
  if value ~= nil then lines[#lines + 1] = ("  %-14s %s"):format(label .. ":", tostring(value)) end
end

local function indent(text, pad)
  return pad .. text:gsub("\n", "\n" .. pad)
end

function M.plan_text(p)
  local j = M.plan_json(p)
  local lines = { ("sink %s  (%s)"):format(p.name, p.where) }
  local cols = {}
  for i, c in ipairs(j.columns) do cols[i] = c.name .. " " .. c.type .. (c.nullable and "" or " not null") end
  row(lines, "from", p.relation.name .. " (" .. (p.relation.deferred or table.concat(cols, ", ")) .. ")")
  -- views (issue 12): each view from the source up, with its keys and where they come from
  for _, v in ipairs(p.views or {}) do
    row(lines, "view", ("%s (%s, %s): %s"):format(v.plan.relation.name, v.plan.kind, v.where, v.plan.keys_note))
  end
  row(lines, "topic", ("%s  (connection %s: %s; compression %s)"):format(p.topic, j.connection.name,
    j.connection.brokers, j.compression))
  row(lines, "key", p.key and (relation.render_key(p.key) .. (p.opts.not_enforced and " NOT ENFORCED" or ""))
    or "none")
  row(lines, "formats", ("key %s, value %s"):format(j.key_format == json.null and "-" or j.key_format, j.value_format))
  -- plugins: the transform in front of the encoders (the columns above are its output)
  if p.opts.transform then
    local d = p.opts.transform.plugin
    row(lines, "transform", ("plugin %s %s (source columns: %d)"):format(d.name, d.version,
      #(p.source_relation or p.relation).columns))
  end
  row(lines, "envelope", p.envelope)
  row(lines, "partitioning", j.partitioning)
  row(lines, "headers", j.timestamp_header .. " (logical timestamp) first" ..
    (j.headers and (", then " .. j.headers) or ""))
  row(lines, "snapshot", j.snapshot)
  row(lines, "mode", j.mode .. (j.mode == "exactly_once" and (" (transactional.id " .. j.transactional_id .. ")") or ""))
  row(lines, "progress", j.connection.progress_topic)
  if j.topic_partition_count or j.topic_replication_factor or j.topic_config then
    row(lines, "new topic", ("partitions %s, replication %s, config %s"):format(
      tostring(j.topic_partition_count or "broker default"), tostring(j.topic_replication_factor or "broker default"),
      j.topic_config and json.encode(j.topic_config) or "{}"))
  end
  for _, which in ipairs({ "key", "value" }) do
    if j[which .. "_schema"] then
      lines[#lines + 1] = ("  %s schema (subject %s):"):format(which, j[which .. "_subject"])
      lines[#lines + 1] = indent(json.pretty(j[which .. "_schema"]), "    ")
    end
  end
  return table.concat(lines, "\n")
end

function M.plans_text(file, plans)
  local parts = { ("%s: ok, %d sink%s"):format(file, #plans, #plans == 1 and "" or "s") }
  for _, p in ipairs(plans) do parts[#parts + 1] = M.plan_text(p) end
  return table.concat(parts, "\n\n")
end

-- One problem line ("file:line: key.path: message", as config errors read;
-- location or path may be missing) as an ordered JSON object; `file`
-- defaults to the config being checked, unknown parts are null.
function M.problem_json(text, config_file)
  local file, line, rest = text:match("^(.-):(%d+): (.*)$")
  if not file then
    rest = text
    -- "<config>: message" (no line: the file itself could not be read)
    if config_file and text:sub(1, #config_file + 2) == config_file .. ": " then
      file, rest = config_file, text:sub(#config_file + 3)
    end
  end
  local path, message = rest:match("^([%w_%.%-%[%]]+): (.*)$")
  if not path then message = rest end
  return json.object({ "file", "line", "path", "message" }, {
    file = file or config_file or json.null, line = tonumber(line) or json.null,
    path = path or json.null, message = message })
end

-- `check --json` when the config has problems.
function M.problems_json(problems, config_file)
  local out = {}
  for i, p in ipairs(problems) do out[i] = M.problem_json(p, config_file) end
  return json.object({ "ok", "problems" }, { ok = false, problems = #out > 0 and out or json.empty_array })
end

-- Secrets named by connections that neither the environment nor the
-- secrets file provides (names only, never values).
function M.missing_secrets(decls)
  local out = {}
  for _, c in ipairs(decls.connections) do
    for k, v in pairs(c.opts or {}) do
      local ok, why
      if secret.is(v) then ok, why = secret.available(v) end
      if ok == false then
        out[#out + 1] = ("%s: %s.%s: secret %s %s"):format(c.where, c.path, k, v.name, why)
      end
    end
  end
  table.sort(out)
  return out
end

return M
