-- sinkgate run CONFIG | sinkgate run -e 'LUA'
local loader = require "sinkgate.config.loader"
local plan = require "sinkgate.plan"
local runner = require "sinkgate.run.runner"
local secret = require "sinkgate.secret"
local validate = require "sinkgate.config.validate"
local json = require "sinkgate.util.json"
local log = require "sinkgate.util.log"

local spec = {
  usage = "sinkgate run CONFIG [--duration D] [--brokers B] [--registry URL] [--secrets FILE] [--unsafe]\n" ..
    "       sinkgate run -e 'LUA' [--secrets FILE]",
  summary = "Run the sinks a config declares until interrupted. SIGINT/SIGTERM let the transaction\n" ..
    "in progress commit, then stop (what was not yet in a transaction is produced again on the\n" ..
    "next start); SIGUSR1 prints each sink's status; SIGHUP reloads the config (docs/operations.md). With -e, run a Lua chunk with `sinkgate`\n" ..
    "(also as `sg`) loaded and print what it returns.",
  options = {
    { "-e", arg = "LUA", doc = "run this Lua chunk instead of a config" },
    { "--duration", arg = "D", doc = "stop this long after the sinks have started (start-up: 15s at most), e.g. 5s" },
    { "--status-interval", arg = "D", doc = "print status this often (default 10s)" },
    { "--status-file", arg = "FILE", doc = "write the status JSON here (default $SINKGATE_STATUS_DIR/<pid>.json)" },
    { "--brokers", arg = "B", doc = "bootstrap servers of every Kafka connection (overrides the config)" },
    { "--registry", arg = "URL", doc = "URL of every schema registry connection (overrides the config)" },
    { "--secrets", arg = "FILE", doc = "NAME=value lines consulted after the environment" },
    { "--unsafe", doc = "give the config os and io (os.execute, files)" },
    { "--quiet", "-q", doc = "no status lines" },
    -- h14: operations
    { "--log-format", arg = "F", doc = "text (default) or json: one object per line (time, level, sink, event, message, fields)" },
    { "--watch", doc = "reload the config when its file changes (as on SIGHUP)" },
    { "--http", arg = "ADDR", doc = "serve /metrics, /health, /ready, /status on HOST:PORT (overrides the config's http)" },
  },
}

local function show(v)
  if type(v) == "string" then return v end
  if type(v) == "table" and not validate.kind_of(v) and not secret.is(v) then
    local ok, text = pcall(json.encode, v) -- a cycle, or a value JSON cannot hold: print it as Lua would
    if ok then return text end
  end
  return (tostring(v):gsub("U?LL$", ""))
end

local function eval(chunk, opts)
  local sg = require "sinkgate"
  local ctx = sg._begin()
  local res = { loader.run_chunk(chunk, "=(-e)", { unsafe = opts.unsafe, globals = { sg = sg, sinkgate = sg } }) }
  -- a variable read by sg.env, then named a secret: refused (and scrubbed)
  local problems = loader.check_env_reads(ctx)
  if not res[1] or #problems > 0 then
    if not res[1] then table.insert(problems, 1, tostring(res[2])) end
    for _, p in ipairs(problems) do log.err("sinkgate run -e: " .. p) end
    return 1
  end
  for i = 2, table.maxn(res) do log.out(show(res[i])) end
  return 0
end

local function duration(s, name)
  if not s then return nil end
  local ms = validate.parse_duration(s)
  if not ms then error(("--%s: expected a duration like 5s, got %q"):format(name, s), 0) end
  return ms
end

-- h14: --http ADDR, else the config's sg.http { … } (basic auth kept).
local function http_opts(opts, decls)
  local conf = decls.http and decls.http.opts
  if not opts.http and not conf then return nil end
  return { listen = opts.http or conf.listen, basic_auth = conf and conf.basic_auth }
end

local function main(opts, pos)
  if opts.secrets then
    local ok, err = secret.load_file(opts.secrets)
    if not ok then log.err("sinkgate run: " .. err) return 1 end
  end
  if opts.e then return eval(opts.e, opts) end
  if #pos ~= 1 then
    log.err("sinkgate run: expected one CONFIG argument (or -e 'LUA')\n\n" .. require("sinkgate.util.args").help(spec))
    return 2
  end
  log.quiet = opts.quiet
  if opts.log_format then -- h14
    if opts.log_format ~= "text" and opts.log_format ~= "json" then
      log.err(("sinkgate run: --log-format: expected text or json, got %q"):format(opts.log_format))
      return 2
    end
    log.format = opts.log_format
  end
  local bad = loader.check_overrides(opts)
  if bad then log.err("sinkgate run: " .. bad) return 2 end
  local ok, d, si = pcall(function() return duration(opts.duration, "duration"), duration(opts.status_interval, "status-interval") end)
  if not ok then log.err("sinkgate run: " .. d) return 2 end
  local decls, problems = loader.load(pos[1], { unsafe = opts.unsafe, brokers = opts.brokers, registry = opts.registry })
  local plans
  if decls then plans, problems = plan.build(decls) end
  if not plans then
    for _, p in ipairs(problems) do log.err(p) end
    return 1
  end
  if #plans == 0 then log.err("sinkgate run: " .. pos[1] .. " declares no sinks") return 1 end
  -- h14: SIGHUP (and --watch) load the config again with the same options
  local load_opts = { unsafe = opts.unsafe, brokers = opts.brokers, registry = opts.registry }
  local reload_opts = {
    watch = opts.watch,
    read = function()
      local f = io.open(pos[1], "rb")
      if not f then return nil end
      local text = f:read("*a")
      f:close()
      return text
    end,
    load = function()
      local d2, p2 = loader.load(pos[1], load_opts)
      if d2 then return plan.build(d2) end
      return nil, p2
    end,
  }
  return runner.run(plans, { duration_ms = d, status_interval_ms = si, status_file = opts.status_file,
    http = http_opts(opts, decls), reload = reload_opts }) -- h14
end

return { spec = spec, main = main }
