-- sinkgate.config.yaml_decl — a decoded YAML config turned into the same
-- declarations a Lua config makes (connections, sources, views, sinks by
-- name).
-- Everything here is defensive: a YAML document can hold any shape, and
-- every shape that is not a config must become a `file:line: key.path:
-- message` error, never a Lua error.
local sg = require "sinkgate"
local secret = require "sinkgate.secret"
local validate = require "sinkgate.config.validate"
local yaml = require "sinkgate.config.yaml"

local M = {}

local SECTIONS = { connections = true, sources = true, views = true, sinks = true, http = true }
local NAME = "^[%w_%.%-]+$"

local function is_map(v)
  if type(v) ~= "table" or validate.kind_of(v) or secret.is(v) then return false end
  for k in pairs(v) do
    if type(k) ~= "string" then return false end
  end
  return true
end

local function shape(v)
  if type(v) == "table" then return next(v) == nil and "an empty list" or (is_map(v) and "a map" or "a list") end
  if type(v) == "string" then return ("string %q"):format(#v > 40 and v:sub(1, 40) .. "…" or v) end
  return type(v)
end

-- {secret: NAME} → sg.secret(NAME), anywhere in a definition.
local function secrets(v, path, fail)
  if type(v) ~= "table" then return v end
  if v.secret ~= nil and next(v, next(v)) == nil and next(v) == "secret" then
    if type(v.secret) == "string" and v.secret:match(NAME) then return secret.new(v.secret) end
    fail(path .. ".secret", "expected a secret name (letters, digits, '_', '.', '-'), got " .. shape(v.secret))
    return nil
  end
  return M.secrets_in(v, path, fail)
end

-- The same inside a definition (a definition itself is never a secret).
function M.secrets_in(def, path, fail)
  for k, x in pairs(def) do def[k] = secrets(x, path .. (type(k) == "number" and "[" .. k .. "]" or "." .. k), fail) end
  return def
end

local function columns(cols)
  if type(cols) ~= "table" then return cols end
  for i, c in ipairs(cols) do
    if is_map(c) and c.name ~= nil then
      local extra
      for k in pairs(c) do
        if k ~= "name" and k ~= "type" and k ~= "not_null" and k ~= "comment" then extra = extra or k end
      end
      cols[i] = { c.name, c.type, not_null = c.not_null, comment = c.comment }
      if extra then cols[i][extra] = c[extra] end -- reported as an unknown option by validation
    end
  end
  return cols
end

-- "return …" bodies become function(row); line numbers stay those of the
-- file. The chunk is run under pcall: a body can close the function early
-- and run code at load time ("return 1 end, error('x'), function() return").
local function compile_fn(body, file, line, env)
  local src = string.rep("\n", line - 1) .. "return function(row) " .. body .. "\nend"
  local f, err = loadstring(src, "@" .. file)
  if not f then return nil, (err:gsub("^[^:]*:%d+: ", "")) end
  setfenv(f, env)
  local ok, fn = pcall(f)
  if not ok then return nil, (tostring(fn):gsub("^[^:]*:%d+: ", "")) end
  if type(fn) ~= "function" then return nil, "expected the body of function(row)" end
  return fn
end

-- Declares every definition of doc; problems are appended to errors.
-- new_env() gives a fresh sandbox for Lua bodies.
function M.declare(doc, path, lines, new_env, errors)
  local function at(p) return path .. ":" .. yaml.line_of(lines, p) end
  local function fail(p, msg) errors[#errors + 1] = ("%s: %s: %s"):format(at(p), p, msg) end
  local objs = {}
  local function lookup(kind, name, p)
    local o = objs[name]
    if type(name) == "string" and o and validate.kind_of(o) == kind then return o end
    if type(name) ~= "string" then return name end -- validation reports the type
    fail(p, ("no %s named \"%s\""):format(kind:gsub("_", " "), name))
    local placeholder = { unresolved = name } -- reported once, here, not again by validation
    validate.KIND[placeholder] = kind
    return placeholder
  end
  local function place(o, p)
    o.where, o.path, o.locate = at(p), p, at
    return o
  end
  -- Each section: a map of name → map; anything else is reported here.
  local function each(section, fn)
    local s = doc[section]
    if s == nil then return end
    if not is_map(s) then
      fail(section, "expected a map of name → definition, got " .. shape(s))
      return
    end
    local names = {}
    for name in pairs(s) do names[#names + 1] = name end
    table.sort(names) -- deterministic order of errors and declarations
    for _, name in ipairs(names) do
      local p, def = section .. "." .. name, s[name]
      if not name:match(NAME) then
        fail(p, "a name is letters, digits, '_', '.', '-'")
      elseif not is_map(def) then
        fail(p, "expected a map of options, got " .. shape(def))
      else
        fn(name, def, p)
      end
    end
  end
  local function typed(def, p, allowed)
    local ty = def.type
    if allowed[ty] then
      def.type = nil
      return ty
    end
    local names = {}
    for k in pairs(allowed) do names[#names + 1] = k end
    table.sort(names)
    fail(p .. ".type", ("expected %s, got %s"):format(table.concat(names, " or "), ty == nil and "nil" or shape(ty)))
  end

  each("connections", function(name, def, p)
    def = M.secrets_in(def, p, fail)
    local ty = typed(def, p, { kafka = true, registry = true })
    if not ty then return end
    if def.name == nil then def.name = name end
    objs[name] = place(ty == "kafka" and sg.kafka_connection(def) or sg.registry_connection(def), p)
  end)
  -- Kafka sources (issue 11): a format is json, text, bytes, or a map
  -- { avro: {registry: NAME} } | { protobuf: {…} } | { csv: {…} }.
  local function source_format(f, p)
    if type(f) ~= "table" then return f end
    local kind = is_map(f) and next(f)
    local make = ({ avro = sg.avro, protobuf = sg.protobuf, csv = sg.csv })[kind]
    if not make or next(f, kind) ~= nil or not is_map(f[kind]) then
      fail(p, "expected json, text, bytes or one of { avro: … }, { protobuf: … }, { csv: … }, got " .. shape(f))
      return nil
    end
    local o = f[kind]
    if o.registry ~= nil then o.registry = lookup("registry_connection", o.registry, p .. "." .. kind .. ".registry") end
    return place(make(o), p .. "." .. kind)
  end

  each("sources", function(name, def, p)
    local ty = typed(def, p, { load_generator = true, table = true, kafka = true })
    if not ty then return end
    if def.name == nil then def.name = name end
    def.columns = columns(def.columns)
    if ty == "kafka" then
      def.connection = lookup("kafka_connection", def.connection, p .. ".connection")
      for _, k in ipairs({ "format", "key_format", "value_format" }) do def[k] = source_format(def[k], p .. "." .. k) end
    end
    objs[name] = place(sg.source[ty](def), p)
  end)

  -- Views (issue 12): `from` names a source, table or view (views are
  -- declared before the views and sinks that read them, whatever the order
  -- in the file); filter/map/flat_map are Lua bodies as text, like
  -- partition_by; distinct_on/order_by and group_by/aggregates are data.
  local vdefs, state = is_map(doc.views) and doc.views or {}, {} -- state: name → "declaring" | "done"
  -- A block scalar (`key: |`) starts on the next line: runtime errors in
  -- its body then name the body's own lines.
  local file_lines
  local function body_line(fp)
    local line = yaml.line_of(lines, fp)
    if not file_lines then
      file_lines = {}
      local f = io.open(path, "rb")
      if f then
        for l in f:lines() do file_lines[#file_lines + 1] = l end
        f:close()
      end
    end
    return line + (((file_lines[line] or ""):match(":%s*[|>][-+]?%d*%s*$")) and 1 or 0)
  end
  local function body(t, key, fp)
    if type(t[key]) ~= "string" then return end
    local fn, err = compile_fn(t[key], path, body_line(fp), new_env())
    if not fn then fail(fp, err) end
    t[key] = fn
  end
  local declare_view
  local function from_of(name, p)
    if type(name) == "string" and is_map(vdefs[name]) and objs[name] == nil then
      if state[name] == "declaring" then
        fail(p, ("a cycle of views: \"%s\" reads, through this one, from itself"):format(name))
        local placeholder = { unresolved = name }
        validate.KIND[placeholder] = "source"
        return placeholder
      end
      declare_view(name, vdefs[name], "views." .. name)
    end
    return lookup("source", name, p)
  end
  declare_view = function(name, def, p)
    state[name] = "declaring"
    if def.name == nil then def.name = name end
    def.from = from_of(def.from, p .. ".from")
    def.columns = columns(def.columns)
    for _, k in ipairs({ "filter", "map", "flat_map" }) do body(def, k, p .. "." .. k) end
    objs[name] = place(sg.view(def), p)
    state[name] = "done"
  end
  each("views", function(name, def, p)
    if state[name] then return end -- declared already, as the input of another view
    if objs[name] ~= nil then
      fail(p, ("the name \"%s\" is taken by a %s"):format(name, (doc.sources or {})[name] ~= nil and "source" or
        "connection"))
      return
    end
    declare_view(name, def, p)
  end)

  local function format(f, p)
    if type(f) ~= "table" then return f end
    if not is_map(f) or f.avro == nil then
      fail(p, "expected json, text, bytes or { avro: { registry: NAME, … } }, got " .. shape(f))
      return nil
    end
    for k in pairs(f) do
      if k ~= "avro" then fail(p .. "." .. k, "unknown option (a format is json, text, bytes or { avro: … })") end
    end
    if not is_map(f.avro) then
      fail(p .. ".avro", "expected a map of Avro options, got " .. shape(f.avro))
      return nil
    end
    f.avro.registry = lookup("registry_connection", f.avro.registry, p .. ".avro.registry")
    return place(sg.avro(f.avro), p .. ".avro")
  end

  each("sinks", function(name, def, p)
    def = M.secrets_in(def, p, fail)
    def.from = lookup("source", def.from, p .. ".from")
    -- A Lua body given as text becomes function(row), keeping file lines.
    if is_map(def.into) then
      def.into.connection = lookup("kafka_connection", def.into.connection, p .. ".into.connection")
      body(def.into, "partition_by", p .. ".into.partition_by")
    end
    body(def, "headers", p .. ".headers")
    for _, k in ipairs({ "format", "key_format", "value_format" }) do def[k] = format(def[k], p .. "." .. k) end
    place(sg.sink(name)(def), p)
  end)

  -- h14: the operations endpoint, one map (not named entries).
  if doc.http ~= nil then
    if is_map(doc.http) then place(sg.http(M.secrets_in(doc.http, "http", fail)), "http")
    else fail("http", "expected a map of options, got " .. shape(doc.http)) end
  end

  for k in pairs(doc) do
    if not SECTIONS[k] then fail(k, "unknown section (expected connections, sources, views, sinks, http)") end
  end
end

M.is_map = is_map
M.shape = shape

return M
