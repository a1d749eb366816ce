-- sinkgate.config.loader — loads a config (Lua or YAML) into validated
-- declarations. Lua configs run in a sandbox: the safe standard library,
-- `require "sinkgate"`, and errors on undeclared globals, so typos fail
-- loudly; `unsafe = true` (sinkgate run --unsafe) opens os and io.
local sg = require "sinkgate"
local rows = require "sinkgate.rows"
local secret = require "sinkgate.secret"
local validate = require "sinkgate.config.validate"
local yaml = require "sinkgate.config.yaml"

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
  env.os = setmetatable({ time = os.time, clock = os.clock, date = os.date, getenv = os.getenv }, {
    __index = function(_, k) error("os." .. tostring(k) .. " is not available in a config (run with --unsafe)", 2) end,
  })
  env.require = function(name)
    if name == "sinkgate" or name:match("^sinkgate%.") or opts.unsafe then return require(name) end
    error("require \"" .. name .. "\" is not allowed in a config (run with --unsafe)", 2)
  end
  if opts.unsafe then
    env.os, env.io, env.load, env.loadstring, env.dofile = os, io, load, loadstring, dofile
  end
  for k, v in pairs(opts.globals or {}) do env[k] = v end
  return setmetatable(env, {
    __index = function(_, k) error("undefined global '" .. tostring(k) .. "'", 2) end,
    __newindex = function(_, k) error("assignment to undeclared global '" .. tostring(k) .. "' (declare it local)", 2) end,
  })
end

local function read_file(path)
  local f, err = io.open(path, "r")
  if not f then return nil, err end
  local s = f:read("*a")
  f:close()
  return s
end

-- Runs a Lua chunk in the sandbox; returns true, results… or nil, message.
function M.run_chunk(text, chunkname, opts)
  local fn, err = loadstring(text, chunkname)
  if not fn then return nil, err end
  setfenv(fn, M.sandbox(opts))
  local res = { xpcall(fn, function(e) return e end) }
  if not res[1] then return nil, tostring(res[2]) end
  return true, unpack(res, 2, table.maxn(res))
end

------------------------------------------------------------------------------
-- YAML: the same model, with names for references and Lua bodies as text.

local function yaml_locator(path, lines)
  return function(p) return path .. ":" .. yaml.line_of(lines, p) end
end

-- "return …" bodies become function(row); line numbers stay those of the file.
local function compile_fn(body, file, line, opts)
  local src = string.rep("\n", line) .. "return function(row) " .. body .. "\nend"
  local f, err = loadstring(src, "@" .. file)
  if not f then return nil, err end
  setfenv(f, M.sandbox(opts))
  return f()
end

local function yaml_secrets(v)
  if type(v) ~= "table" then return v end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  if #keys == 1 and keys[1] == "secret" and type(v.secret) == "string" then return secret.new(v.secret) end
  for k, x in pairs(v) do v[k] = yaml_secrets(x) end
  return v
end

local function yaml_columns(cols)
  if type(cols) ~= "table" then return cols end
  for i, c in ipairs(cols) do
    if type(c) == "table" and c.name then
      cols[i] = { c.name, c.type, not_null = c.not_null, comment = c.comment }
    end
  end
  return cols
end

local function declare_yaml(doc, path, lines, opts, errors)
  local at = yaml_locator(path, lines)
  local objs = {}
  local function lookup(kind, name, p)
    local o = objs[name]
    if type(name) == "string" and o and validate.kind_of(o) == kind then return o end
    if type(name) ~= "string" then return name end -- validation reports the type
    errors[#errors + 1] = ("%s: %s: no %s named \"%s\""):format(at(p), p, kind, name)
    local placeholder = { unresolved = name } -- reported once, here, not again by validation
    validate.KIND[placeholder] = kind
    return placeholder
  end
  for name, def in pairs(doc.connections or {}) do
    local p = "connections." .. name
    local ty = type(def) == "table" and def.type
    def = yaml_secrets(def)
    if ty == "kafka" or ty == "registry" then
      def.type, def.name = nil, def.name or name
      local o = ty == "kafka" and sg.kafka_connection(def) or sg.registry_connection(def)
      o.where, o.path, o.locate = at(p), p, at
      objs[name] = o
    else
      errors[#errors + 1] = ("%s: %s.type: expected kafka or registry, got %s"):format(at(p), p, tostring(ty))
    end
  end
  for name, def in pairs(doc.sources or {}) do
    local p = "sources." .. name
    local ty = type(def) == "table" and def.type
    if ty == "load_generator" or ty == "table" then
      def.type, def.name = nil, def.name or name
      def.columns = yaml_columns(def.columns)
      local o = sg.source[ty](def)
      o.where, o.path, o.locate = at(p), p, at
      objs[name] = o
    else
      errors[#errors + 1] = ("%s: %s.type: expected load_generator or table, got %s"):format(at(p), p, tostring(ty))
    end
  end
  local function format(f, p)
    if type(f) == "table" and f.avro then
      f.avro.registry = lookup("registry_connection", f.avro.registry, p .. ".avro.registry")
      local o = sg.avro(f.avro)
      o.where, o.path, o.locate = at(p), p .. ".avro", at
      return o
    end
    return f
  end
  for name, def in pairs(doc.sinks or {}) do
    local p = "sinks." .. name
    if type(def) ~= "table" then
      errors[#errors + 1] = ("%s: %s: expected a table, got %s"):format(at(p), p, type(def))
    else
      def.from = lookup("source", def.from, p .. ".from")
      -- A Lua body given as text becomes function(row), keeping file lines.
      local function body(t, key, fp)
        if type(t[key]) ~= "string" then return end
        local fn, err = compile_fn(t[key], path, yaml.line_of(lines, fp), opts)
        if not fn then errors[#errors + 1] = ("%s: %s: %s"):format(at(fp), fp, err) end
        t[key] = fn
      end
      if type(def.into) == "table" then
        def.into.connection = lookup("kafka_connection", def.into.connection, p .. ".into.connection")
        body(def.into, "partition_by", p .. ".into.partition_by")
      end
      body(def, "headers", p .. ".headers")
      for _, k in ipairs({ "format", "key_format", "value_format" }) do def[k] = format(def[k], p .. "." .. k) end
      local o = sg.sink(name)(def)
      o.where, o.path, o.locate = at(p), p, at
    end
  end
  for k in pairs(doc) do
    if k ~= "connections" and k ~= "sources" and k ~= "sinks" then
      errors[#errors + 1] = ("%s: %s: unknown section (expected connections, sources, sinks)"):format(at(k), k)
    end
  end
end

------------------------------------------------------------------------------
-- Validation of what was declared, Lua or YAML alike.

local function base_path(o, section, fallback)
  return o.path or (section .. "." .. tostring((type(o.def) == "table" and o.def.name) or fallback))
end

local function check_obj(o, spec, path, errors)
  local locate = o.locate or function() return o.where end
  o.opts = validate.check(spec, o.def, path, locate, errors)
  o.path = path
end

local function finish(ctx, errors)
  for _, d in ipairs(ctx.dupes) do errors[#errors + 1] = d end
  for i, o in ipairs(ctx.connections) do
    check_obj(o, o.kind, base_path(o, "connections", o.kind == "kafka_connection" and "kafka" or "registry" .. i), errors)
  end
  for i, o in ipairs(ctx.sources) do
    check_obj(o, o.kind, base_path(o, "sources", o.def.kind or o.kind .. i), errors)
  end
  for _, o in ipairs(ctx.sinks) do
    check_obj(o, "sink", "sinks." .. o.name, errors)
    for _, k in ipairs({ "format", "key_format", "value_format" }) do
      local f = o.opts[k]
      if validate.kind_of(f) == "format" and not f.opts then
        check_obj(f, "avro", f.path or (o.path .. "." .. k), errors)
      end
    end
  end
  if #errors > 0 then return nil, errors end
  return { connections = ctx.connections, sources = ctx.sources, sinks = ctx.sinks }
end

-- Loads a config file. Returns declarations or nil, list of messages.
function M.load(path, opts)
  opts = opts or {}
  local text, err = read_file(path)
  if not text then return nil, { "cannot read config: " .. err } end
  local ctx = sg._begin()
  local errors = {}
  if path:match("%.ya?ml$") then
    local doc, lines = yaml.decode(text)
    if not doc then return nil, { path .. ":" .. tostring(lines):gsub("^line ", "") } end
    if type(doc) ~= "table" then return nil, { path .. ":1: expected a map of connections, sources, sinks" } end
    declare_yaml(doc, path, lines, opts, errors)
  else
    local ok, msg = M.run_chunk(text, "@" .. path, opts)
    if not ok then return nil, { msg } end
  end
  return finish(ctx, errors)
end

return M
