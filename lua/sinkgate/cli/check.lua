-- sinkgate check CONFIG — validate and print the plan.
local loader = require "sinkgate.config.loader"
local plan = require "sinkgate.plan"
local describe = require "sinkgate.describe"
local secret = require "sinkgate.secret"
local log = require "sinkgate.util.log"
local json = require "sinkgate.util.json"

local spec = {
  usage = "sinkgate check CONFIG [--json] [--brokers B] [--registry URL] [--secrets FILE] [--unsafe]\n" ..
    "       sinkgate check --diff OLD NEW",
  summary = "Validate a config (Lua or YAML) and print, per sink, its topic, key, formats,\n" ..
    "envelope, partitioning and the Avro schemas it would register. Exit status 1 on any error.\n" ..
    "With --diff, validate both and print what reloading a run of OLD with NEW would do to each\n" ..
    "sink (keep, restart, refuse, add, remove); exit status 1 if anything would be refused.",
  options = {
    { "--diff", doc = "compare two configs: what a reload (SIGHUP, --watch) would do" },
    { "--json", doc = "print the plan as one JSON document; with problems, {\"ok\":false,\"problems\":[…]}" },
    { "--brokers", arg = "B", doc = "bootstrap servers of every Kafka connection (overrides the config)" },
    { "--registry", arg = "URL", doc = "URL of every schema registry connection (overrides the config)" },
    { "--secrets", arg = "FILE", doc = "NAME=value lines consulted after the environment" },
    { "--unsafe", doc = "give the config os and io (os.execute, files)" },
  },
}

local function load_plans(path, opts)
  local decls, problems = loader.load(path, { unsafe = opts.unsafe, brokers = opts.brokers, registry = opts.registry })
  if decls then return plan.build(decls) end
  return nil, problems
end

-- h14: check --diff OLD NEW
local function diff(opts, pos)
  if #pos ~= 2 then
    log.err("sinkgate check: --diff expects OLD and NEW\n\n" .. require("sinkgate.util.args").help(spec))
    return 2
  end
  local lists = {}
  for i, path in ipairs(pos) do
    local plans, problems = load_plans(path, opts)
    if not plans then
      for _, p in ipairs(problems) do log.err(p) end
      log.err(("sinkgate check: %s does not load: %s"):format(path,
        i == 1 and "nothing to compare with" or "a reload would change nothing (every sink keeps running)"))
      return 1
    end
    lists[i] = plans
  end
  local reload = require "sinkgate.run.reload"
  local actions = reload.diff(lists[1], lists[2])
  log.out(reload.describe(actions))
  for _, a in ipairs(actions) do if a.action == "refuse" then return 1 end end
  return 0
end

local function main(opts, pos)
  if opts.diff then return diff(opts, pos) end
  if #pos ~= 1 then
    log.err("sinkgate check: expected one CONFIG argument\n\n" .. require("sinkgate.util.args").help(spec))
    return 2
  end
  if opts.secrets then
    local ok, err = secret.load_file(opts.secrets)
    if not ok then log.err("sinkgate check: " .. err) return 1 end
  end
  local bad = loader.check_overrides(opts)
  if bad then log.err("sinkgate check: " .. bad) return 2 end
  local decls, problems = loader.load(pos[1], { unsafe = opts.unsafe, brokers = opts.brokers, registry = opts.registry })
  local plans
  if decls then plans, problems = plan.build(decls, { check = true }) end
  if plans then
    for _, w in ipairs(describe.missing_secrets(decls)) do log.err("warning: " .. w) end
  end
  if problems and #problems > 0 then
    if opts.json then -- machine-readable even when it fails: what, where, which key
      log.out(json.pretty(describe.problems_json(problems, pos[1])))
      return 1
    end
    for _, p in ipairs(problems) do log.err(p) end
    log.err(("sinkgate check: %s: %d problem%s"):format(pos[1], #problems, #problems == 1 and "" or "s"))
    return 1
  end
  if opts.json then
    local doc = describe.plans_json(plans)
    -- plugins: each loaded plugin with its version and granted capabilities
    local list = {}
    for i, d in ipairs(decls.plugins) do
      list[i] = json.object({ "name", "version", "kind", "file", "capabilities" }, { name = d.name,
        version = d.version, kind = d.kind, file = d.file,
        capabilities = #d.capabilities > 0 and d.capabilities or json.empty_array })
    end
    if #list > 0 then doc = json.object({ "sinks", "plugins" }, { sinks = doc.sinks, plugins = list }) end
    log.out_json(doc, json.pretty)
  else
    local text = describe.plans_text(pos[1], plans)
    for _, d in ipairs(decls.plugins) do text = text .. "\n" .. require("sinkgate.plugin").describe(d) end
    log.out(text)
  end
  return 0
end

return { spec = spec, main = main }
