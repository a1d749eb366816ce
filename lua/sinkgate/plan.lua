-- sinkgate.plan — validated declarations in, runnable sink plans out.
-- Here live the rules that involve several options at once: key columns
-- exist and are unique (the seed's "upsert key could not be validated as
-- unique" error), formats fit the columns, Avro fullnames are well formed.
local relation = require "sinkgate.relation"
local generators = require "sinkgate.source.generators"
local timed = require "sinkgate.source.timed"
local types = require "sinkgate.types"
local bad_rows = require "sinkgate.sink.bad_rows"
local input = require "sinkgate.source.input"
local avro_schema = require "sinkgate.avro.schema"
local rules = require "sinkgate.config.rules"

local M = {}

-- A table with explicit times: no tick-based option beside `updates`, and
-- every row fits the columns.
local function check_updates(src, rel, problems)
  local n0 = #problems
  for _, k in ipairs({ "rows", "feed", "tick", "start" }) do
    if src.def[k] ~= nil then
      problems[#problems + 1] = ("%s.%s: a table with updates has explicit times; %s belongs to tick-based tables")
        :format(src.path, k, k)
    end
  end
  for _, p in ipairs(timed.check_rows(src.opts.updates, rel)) do
    problems[#problems + 1] = ("%s.updates[%d][1]: %s"):format(src.path, p[1], p[2])
  end
  return #problems == n0
end

local source_relation

-- ==== views (issue 12: lua/sinkgate/view/plan.lua) ====
-- A view's relation from its input's; problems are located at the line of
-- the declaration (view or source) their path belongs to.
local view_plan = require "sinkgate.view.plan"

local function view_relation(v, problems)
  local root, chain = view_plan.chain(v)
  if v.own_locate == nil then v.own_locate = v.locate or false end -- YAML's, by key path
  local function locate(path)
    for i = #chain, 1, -1 do
      local d = chain[i]
      if d.path and path:sub(1, #d.path) == d.path then return d.own_locate and d.own_locate(path) or d.where end
    end
    return root.locate and root.locate(path) or root.where
  end
  v.locate = locate
  local up = source_relation(v.opts.from, problems)
  if not up then return nil end
  return view_plan.relation(v, up, problems)
end

-- The source a relation comes from (through views) and its relation.
local function root_of(src, rel)
  if src.kind ~= "view" then return src, rel end
  local root, chain = view_plan.chain(src)
  return root, chain[1].plan.input
end
-- ==== end of views ====

-- The relation a source declares.
source_relation = function(src, problems)
  if src.kind == "view" then return view_relation(src, problems) end
  local o = src.opts
  -- Kafka sources (issue 11): columns from the formats, built once per source.
  if src.kind == "kafka" then
    if src.kafka_relation == nil then
      local mine = {}
      src.kafka_relation = require("sinkgate.source.kafka_plan").relation(src, mine, M.building) or false
      src.kafka_problems = mine
    end
    for _, e in ipairs(src.kafka_problems) do problems[#problems + 1] = e end
    return src.kafka_relation or nil
  end
  if src.kind == "load_generator" then
    local rel = o.relation or generators.default_relation[o.kind]
    local shape = generators[o.kind][rel]
    if not shape then
      local names = {}
      for k in pairs(generators[o.kind]) do names[#names + 1] = k end
      table.sort(names)
      problems[#problems + 1] = ("%s.relation: the %s generator has no relation \"%s\" (it has %s)"):format(
        src.path, o.kind, rel, table.concat(names, ", "))
      return nil
    end
    src.generator_relation = rel
    return relation.new(o.name or rel, shape.columns, shape.keys)
  end
  local r, errs = relation.new(o.name or src.path:match("[^%.]+$"), o.columns, o.keys, o.comment,
    src.types)
  for _, e in ipairs(errs or {}) do problems[#problems + 1] = src.path .. "." .. e end
  -- Problems with updates are the source's: reported at its line.
  if r and o.updates and not check_updates(src, r, problems) then return nil end
  return r
end

local function key_error(rel, key)
  local detail = ("sinkgate could not prove that the specified upsert envelope key\n%s is a unique key of the upstream relation. ")
    :format(relation.render_key(key))
  if #rel.keys == 0 then
    detail = detail .. "There are no known\nvalid unique keys for the upstream relation."
  else
    detail = detail .. "The following keys\nare known to be unique for the upstream relation:"
    for _, k in ipairs(rel.keys) do detail = detail .. "\n  " .. relation.render_key(k) end
  end
  return "upsert key could not be validated as unique\nDETAIL: " .. detail
end

local function format_name(f)
  if type(f) == "string" then return f end
  if type(f) == "table" and f.plugin then return f.plugin.name end
  return "avro"
end

-- TEXT/BYTES: exactly one column, of a scalar type.
local function check_raw(fmt, rel, cols, what, problems, path)
  if fmt ~= "text" and fmt ~= "bytes" then return end
  if #cols ~= 1 then
    problems[#problems + 1] = ("%s: %s format %s requires a single column, got %d columns"):format(
      path, what, fmt:upper(), #cols)
    return
  end
  local c = rel.columns[rel.index[cols[1]]]
  if not types.is_scalar(c.type) then
    problems[#problems + 1] = ("%s: %s format %s cannot encode column \"%s\" of type %s (scalar types only)")
      :format(path, what, fmt:upper(), c.name, types.render(c.type))
  end
end

local function check_formats(s, o, rel, key, problems)
  local p = s.path
  if o.format and (o.key_format or o.value_format) then
    problems[#problems + 1] = p .. ": give either format or key_format + value_format, not both"
  end
  if (o.key_format == nil) ~= (o.value_format == nil) then
    problems[#problems + 1] = p .. ": key_format and value_format go together"
  end
  if o.key_format and not key then problems[#problems + 1] = p .. ".key_format: needs a key" end
  local kf = o.key_format or o.format or "json"
  local vf = o.value_format or o.format or "json"
  -- plugins: a format plugin that encodes no keys leaves `format`'s key side to json
  kf, vf = require("sinkgate.plugin.formats").check(kf, vf, o, p, problems)
  local all = {}
  for i, c in ipairs(rel.columns) do all[i] = c.name end
  if key then check_raw(kf, rel, key, "key", problems, p) end
  check_raw(vf, rel, all, "value", problems, p)
  if o.envelope == "debezium" and (vf == "text" or vf == "bytes") then
    problems[#problems + 1] = p .. ".envelope: DEBEZIUM needs a JSON or Avro value format"
  end
  return kf, vf
end

local function check_key(s, o, rel, problems)
  local key = o.key
  if key then
    for i, c in ipairs(key) do
      if not rel.index[c] then
        problems[#problems + 1] = ("%s.key[%d]: no column \"%s\" in %s"):format(s.path, i, c, rel.name)
      end
    end
    if #key == 0 then problems[#problems + 1] = s.path .. ".key: must name at least one column" end
    rules.key(key, s.path, problems)
  end
  if o.envelope == "upsert" and not key then
    problems[#problems + 1] = s.path .. ".key: ENVELOPE UPSERT requires a key"
  elseif o.envelope == "upsert" and #problems == 0 and not o.not_enforced and not rel:is_unique(key) then
    problems[#problems + 1] = s.path .. ".key: " .. key_error(rel, key)
  end
  return key
end

-- Builds the plan of one sink; problems are appended as "where: path: msg".
local function plan_sink(s, problems)
  local o = s.opts
  local local_problems = {}
  local rel = source_relation(o.from, local_problems)
  -- plugins: a transform rewrites rows first; the sink sees its relation
  local source_rel = rel
  if rel and o.transform then rel = require("sinkgate.plugin.transform").relation(rel, o, s.path, local_problems) end
  if not rel then
    local src = o.from
    for _, e in ipairs(local_problems) do
      problems[#problems + 1] = (src.locate and src.locate(e:match("^([^:]+):")) or src.where) .. ": " .. e
    end
    return nil
  end
  for _, e in ipairs(input.check_rows(root_of(o.from, source_rel))) do problems[#problems + 1] = e end
  if rel.deferred then -- a Kafka source's registry schema, unreachable while checking: checked at run time
    local kf, vf = o.key_format or o.format or "json", o.value_format or o.format or "json"
    return { name = s.name, where = s.where, opts = o, relation = rel, key = o.key, key_format = o.key and kf or nil,
      value_format = vf, envelope = o.envelope, topic = o.into.topic, connection = o.into.connection }
  end
  local key = check_key(s, o, rel, local_problems)
  local kf, vf = check_formats(s, o, rel, key, local_problems)
  for _, k in ipairs({ "format", "key_format", "value_format" }) do rules.doc_on(o[k], rel, s.path .. "." .. k, local_problems) end
  for _, e in ipairs(bad_rows.check_options(o, s.path)) do local_problems[#local_problems + 1] = e end
  local plan = {
    name = s.name, where = s.where, opts = o, relation = rel, key = key,
    key_format = key and kf or nil, value_format = vf, envelope = o.envelope,
    topic = o.into.topic, connection = o.into.connection,
    source_relation = source_rel, -- plugins: the input's relation when a transform changes it
  }
  if o.from.kind == "view" then
    -- distinct_on/group_by over a Kafka source: their state is rebuilt
    -- from the source's own rehydration after a restart (view/input.lua)
    plan.views = select(2, view_plan.chain(o.from))
  end
  if #local_problems == 0 then rules.debezium_partition_by(plan, s.path, local_problems) end
  if #local_problems == 0 and (format_name(kf) == "avro" or format_name(vf) == "avro") then
    local schemas, err = avro_schema.for_sink(plan)
    if not schemas then local_problems[#local_problems + 1] = s.path .. ".format: " .. err end
    plan.avro = schemas
  end
  for _, e in ipairs(local_problems) do
    local where = s.locate and s.locate(e:match("^([^:]+):")) or s.where
    problems[#problems + 1] = where .. ": " .. e
  end
  return plan
end

-- Two sinks sharing a progress key (on one progress topic and broker) or a
-- transactional.id would resume each other's timeline and fence each other:
-- every sink needs its own. Sink names are unique already, but prefixes can
-- make two different names meet ("a" + "b-c" and "a-b" + "c").
local function check_identities(plans, problems)
  local seen = {}
  for _, p in ipairs(plans) do
    local prefix = p.opts.into.transactional_id_prefix or "sinkgate"
    local conn = p.connection.opts
    for _, id in ipairs({
      { "progress key", conn.brokers .. "\0" .. conn.progress_topic .. "\0" .. prefix .. "-sink-" .. p.name },
      { "transactional.id", conn.brokers .. "\0" .. prefix .. "-" .. p.name },
    }) do
      local other = seen[id[2]]
      if other then
        problems[#problems + 1] = ("%s: sinks.%s: its %s %q is also sink %s's: give one of them another name or " ..
          "transactional_id_prefix"):format(p.where, p.name, id[1], id[2]:match("([^%z]*)$"), other)
      end
      seen[id[2]] = seen[id[2]] or p.name
    end
  end
end

-- decls from config/loader.lua → list of sink plans, or nil, problems.
-- opts.check: `sinkgate check`, where a Kafka source whose schema is in an
-- unreachable registry is shown as such instead of failing.
function M.build(decls, opts)
  M.building = opts or {}
  local problems, plans = {}, {}
  for _, s in ipairs(decls.sinks) do plans[#plans + 1] = plan_sink(s, problems) end
  if #problems == 0 then check_identities(plans, problems) end
  if #problems > 0 then return nil, problems end
  return plans
end

-- How the sink assigns partitions, in words.
function M.partitioning(p)
  if p.opts.into.partition_by then
    local info = debug.getinfo(p.opts.into.partition_by, "S")
    return ("partition_by function (%s:%d) %% partition count"):format(info.short_src, info.linedefined)
  end
  if not p.key then return "no key: every message to partition 0" end
  return "seahash(encoded key" .. (p.key_format == "avro" and ", schema id stripped" or "") .. ") % partition count"
end

M.format_name = format_name

return M
