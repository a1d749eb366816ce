-- sinkgate.config.loader — loads a config (Lua or YAML) into validated
-- declarations. Lua configs run in a sandbox: the safe standard library,
-- `require "sinkgate"` (the config API only), and errors on undeclared
-- globals, so typos fail loudly; `unsafe = true` (sinkgate run --unsafe)
-- opens os, io and every module. No sandboxed code can read a secret's
-- value: there is no os.getenv (sg.env refuses secret names) and no
-- reveal.
local sg = require "sinkgate"
local rows = require "sinkgate.rows"
local secret = require "sinkgate.secret"
local validate = require "sinkgate.config.validate"
local yaml = require "sinkgate.config.yaml"
local yaml_decl = require "sinkgate.config.yaml_decl"
local interpolate = require "sinkgate.config.interpolate"
local rules = require "sinkgate.config.rules"

local M = {}

local SAFE = { "assert", "error", "ipairs", "next", "pairs", "pcall", "select", "tonumber", "tostring",
  "type", "unpack", "xpcall", "print", "rawget", "rawset", "rawequal", "rawlen", "setmetatable",
  "getmetatable" }

local function readonly_copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end

-- The environment a config chunk runs in.
function M.sandbox(opts)
  opts = opts or {}
  local env = {}
  for _, k in ipairs(SAFE) do env[k] = _G[k] end
  env.pairs = rows.pairs -- honours __pairs: pairs(row) on a row view, as on a plain table
  env.string, env.table, env.math = readonly_copy(string), readonly_copy(table), readonly_copy(math)
  env.bit = rawget(_G, "bit") and readonly_copy(_G.bit)
  env.os = setmetatable({ time = os.time, clock = os.clock, date = os.date }, {
    __index = function(_, k)
      if k == "getenv" then
        error("os.getenv: not available in a config: use sg.env \"NAME\" (secrets: sg.secret \"NAME\")", 2)
      end
      error("os." .. tostring(k) .. ": not available in a config (run with --unsafe)", 2)
    end,
  })
  local api = sg.config_api()
  env.require = function(name)
    if name == "sinkgate" then return api end
    if opts.unsafe then return require(name) end
    error("require: \"" .. tostring(name) .. "\" is not allowed in a config (only \"sinkgate\"; run with --unsafe)", 2)
  end
  if opts.unsafe then
    env.os, env.io, env.load, env.loadstring, env.dofile = os, io, load, loadstring, dofile
  end
  for k, v in pairs(opts.globals or {}) do env[k] = v == sg and api or v end
  return setmetatable(env, {
    __index = function(_, k) error("undefined global '" .. tostring(k) .. "'", 2) end,
    __newindex = function(_, k) error("assignment to undeclared global '" .. tostring(k) .. "' (declare it local)", 2) end,
  })
end

-- Reads a config file; nil, message for what is not a readable file.
local function read_file(path)
  local f, err = io.open(path, "r")
  if not f then return nil, err end
  local s, rerr = f:read("*a")
  f:close()
  if not s then return nil, path .. ": " .. tostring(rerr) end
  return s
end

-- Secret names are collected from the text before the config runs, so
-- that `error(sg.env "PW")` on a line above `sg.secret "PW"` is refused
-- too (the check after loading would come after the error was printed).
-- A name built at run time escapes this scan; it is still caught after
-- loading, and what was read is protected from output.
local function prescan_secret_names(text)
  for name in text:gmatch("secret%s*%(?%s*[\"']([%w_%.%-]+)[\"']") do secret.add_name(name) end
  for name in text:gmatch("secret%s*:%s*[\"']?([%w_%.%-]+)") do secret.add_name(name) end
  for _, name in text:gmatch("secret%s*%(?%s*%[(=*)%[([%w_%.%-]+)%]%1%]") do secret.add_name(name) end
end

-- Runs a Lua chunk in the sandbox; returns true, results… or nil, message.
function M.run_chunk(text, chunkname, opts)
  prescan_secret_names(text)
  local fn, err = loadstring(text, chunkname)
  if not fn then return nil, err end
  setfenv(fn, M.sandbox(opts))
  local src = chunkname
  local res = { xpcall(fn, function(e)
    if type(e) == "string" then return e end
    -- error(table) / error(): no message, so name the config line that raised
    for level = 2, 40 do
      local info = debug.getinfo(level, "Sl")
      if not info then break end
      if info.source == src and (info.currentline or 0) > 0 then
        return ("%s:%d: error() raised with %s instead of a message"):format(info.short_src, info.currentline,
          secret.is(e) and tostring(e) or (e == nil and "nil" or "a " .. type(e)))
      end
    end
    return ("%s: error() raised with %s instead of a message"):format(src:gsub("^[@=]", ""), type(e))
  end) }
  if not res[1] then return nil, res[2] end
  return true, unpack(res, 2, table.maxn(res))
end

------------------------------------------------------------------------------
-- Validation of what was declared, Lua or YAML alike.

local function base_path(o, section, fallback)
  return o.path or (section .. "." .. tostring((type(o.def) == "table" and rawget(o.def, "name")) or fallback))
end

local function check_obj(o, spec, path, errors)
  local locate = o.locate or function() return o.where end
  o.opts = validate.check(spec, o.def, path, locate, errors)
  o.path = path
end

-- Appends "key.path: message" problems as file:line: key.path: message.
local function located(o, problems, errors)
  for _, e in ipairs(problems) do
    local where = o.locate and o.locate(e:match("^([^:]+):")) or o.where
    errors[#errors + 1] = where .. ": " .. e
  end
end

-- A variable read as a value (sg.env, ${NAME}) must not be a secret's name,
-- whichever came first in the file.
local function check_env_reads(ctx, errors)
  errors = errors or {}
  for _, r in ipairs(ctx.env_reads) do
    if secret.is_secret_name(r.name) then
      secret.protect(os.getenv(r.name), "secret(" .. r.name .. ")") -- whatever was done with it, never print it
      errors[#errors + 1] = ("%s: %s: %s is a secret: it is never readable as a value (use it as a secret)")
        :format(r.where, r.path, r.name)
    end
  end
  return errors
end
M.check_env_reads = check_env_reads

-- --brokers / --registry: a usage message, or nil when they are fine.
function M.check_overrides(opts)
  local b = opts.brokers
  if b ~= nil then
    for part in (b .. ","):gmatch("([^,]*),") do
      if not part:match("^%s*[%w%.%-_%[%]:]+:%d+%s*$") then
        return ("--brokers: expected host:port[,host:port…], got %q"):format(b)
      end
    end
  end
  if opts.registry ~= nil and not opts.registry:match("^https?://[^%s/]+") then
    return ("--registry: expected an http:// or https:// URL, got %q"):format(secret.redact_url(opts.registry))
  end
end

-- The flags win over the config (so one config runs against `sinkgate dev`).
local function apply_overrides(o, opts)
  if type(o.def) ~= "table" then return end
  if o.kind == "kafka_connection" and opts.brokers then rawset(o.def, "brokers", opts.brokers) end
  if o.kind == "registry_connection" and opts.registry then rawset(o.def, "url", opts.registry) end
end

-- A password in a registry URL is protected like a secret: scrubbed from
-- every line printed (check shows the URL with it masked).
local function protect_url(o, errors)
  if o.kind ~= "registry_connection" or not o.opts then return end
  local pw = secret.url_password(o.opts.url)
  if not pw then return end
  local ok, err = secret.protect(pw, "***")
  if not ok then
    local where = o.locate and o.locate(o.path .. ".url") or o.where
    errors[#errors + 1] = ("%s: %s.url: the password in the URL %s"):format(where, o.path,
      err:gsub("^%*%*%* is", "is"))
  end
end

local function finish(ctx, errors, opts)
  for _, d in ipairs(ctx.dupes) do errors[#errors + 1] = d end
  check_env_reads(ctx, errors)
  for i, o in ipairs(ctx.connections) do
    apply_overrides(o, opts)
    check_obj(o, o.kind, base_path(o, "connections", o.kind == "kafka_connection" and "kafka" or "registry" .. i), errors)
    protect_url(o, errors)
    if o.kind == "kafka_connection" then
      local problems = {}
      rules.kafka_connection(o.opts, o.path, problems)
      located(o, problems, errors)
    end
  end
  for i, o in ipairs(ctx.sources) do
    check_obj(o, o.kind, base_path(o, "sources", rawget(o.def, "kind") or o.kind .. i), errors)
    -- Kafka sources (issue 11): their format objects (sg.avro/csv/protobuf).
    for _, k in ipairs(o.kind == "kafka" and { "format", "key_format", "value_format" } or {}) do
      local f = o.opts[k]
      if validate.kind_of(f) == "format" and not f.opts then check_obj(f, f.kind, f.path or (o.path .. "." .. k), errors) end
    end
  end
  for _, o in ipairs(ctx.sinks) do
    check_obj(o, "sink", "sinks." .. o.name, errors)
    local problems = {}
    rules.mode(o.opts, o.opts.into and o.opts.into.connection, o.path, problems)
    located(o, problems, errors)
    for _, k in ipairs({ "format", "key_format", "value_format" }) do
      local f = o.opts[k]
      if validate.kind_of(f) == "format" and not f.opts then
        check_obj(f, "avro", f.path or (o.path .. "." .. k), errors)
      end
    end
  end
  if ctx.http then check_obj(ctx.http, "http", ctx.http.path or "http", errors) end -- h14
  if #errors > 0 then return nil, errors end
  -- plugins: what sg.plugin loaded, for `sinkgate check` (name, version, capabilities)
  return { connections = ctx.connections, sources = ctx.sources, sinks = ctx.sinks, plugins = ctx.plugins or {},
    http = ctx.http }
end

local function load_yaml(text, path, opts, ctx, errors)
  local expand = interpolate.expander(ctx.env_reads, path)
  local doc, lines = yaml.decode(text, expand)
  if not doc then
    local msg = tostring(lines)
    local line, rest = msg:match("^line (%d+): (.*)$")
    errors[#errors + 1] = line and (path .. ":" .. line .. ": " .. rest) or (path .. ":1: " .. msg)
    return
  end
  if not yaml_decl.is_map(doc) then
    errors[#errors + 1] = ("%s:%d: (top level): expected a map of connections, sources, sinks, got %s"):format(
      path, lines[""] or 1, yaml_decl.shape(doc))
    return
  end
  yaml_decl.declare(doc, path, lines, function()
    return M.sandbox({ unsafe = opts.unsafe, globals = { sg = sg } })
  end, errors)
end

-- Loads a config file. Returns declarations or nil, list of messages.
function M.load(path, opts)
  opts = opts or {}
  local text, err = read_file(path)
  if not text then
    local reason = tostring(err):gsub("^" .. path:gsub("%p", "%%%0") .. ": ", "")
    return nil, { ("%s: cannot read config: %s"):format(path, reason) }
  end
  return M.load_text(text, path, opts)
end

-- The same from text (the fuzz targets and specs); `path` names it in
-- messages and chooses YAML (.yaml/.yml) or Lua.
function M.load_text(text, path, opts)
  opts = opts or {}
  local ctx = sg._begin()
  ctx.config_dir = path:match("^(.*)/[^/]*$") or "." -- plugins/ beside the config
  local errors = {}
  if path:match("%.ya?ml$") then
    prescan_secret_names(text)
    load_yaml(text, path, opts, ctx, errors)
    if #errors > 0 then
      check_env_reads(ctx, errors)
      return nil, errors
    end
  else
    local ok, msg = M.run_chunk(text, "@" .. path, opts)
    if not ok then
      local errs = { msg }
      -- plugins: sg.plugin raises every problem of a descriptor or of its options at
      -- once, one "file:line: key.path: message" per line; each is its own problem
      if type(msg) == "string" and msg:find("\n", 1, true) then
        local lines = {}
        for line in msg:gmatch("[^\n]+") do lines[#lines + 1] = line:match("^%S-:%d+: ") and line or nil end
        local n = 0
        for _ in msg:gmatch("[^\n]+") do n = n + 1 end
        if #lines == n then errs = lines end
      end
      check_env_reads(ctx, errs)
      return nil, errs
    end
  end
  return finish(ctx, errors, opts)
end

return M
