-- sinkgate — what a config script calls. Declarations are only recorded
-- here (with the file:line they came from); config/loader.lua validates
-- them and plan.lua turns them into runnable sinks.
--
--   local sg = require "sinkgate"
--   local kafka = sg.kafka_connection { brokers = "127.0.0.1:9092" }
--   local counter = sg.source.load_generator { kind = "counter", tick = "100ms" }
--   sg.sink "counts" { from = counter, into = { connection = kafka, topic = "counts" },
--                      key = { "counter" }, format = "json", envelope = "upsert" }
local core = require "sinkgate.core"
local secret = require "sinkgate.secret"
local validate = require "sinkgate.config.validate"

local C, ffi = core.C, core.ffi
local M = {}

M.version = core.version()

-- NULL inside lists given to sinkgate (Lua arrays cannot hold nil).
M.null = require("cjson").null

-- The declarations of the config being loaded (see config/loader.lua).
local ctx

function M._begin()
  ctx = { connections = {}, sources = {}, sinks = {}, sink_names = {}, dupes = {}, types = {}, env_reads = {} }
  return ctx
end

local function context()
  return ctx or M._begin()
end

-- "file:line" of the config line that called a constructor.
local function caller(level)
  local info = debug.getinfo(level + 1, "Sl")
  -- `return sg.env(…)` is a tail call: the config's frame is gone
  if not info or info.what == "C" then return "(config):0" end
  local src = info.source:sub(1, 1) == "@" and info.source:sub(2) or info.short_src
  return src .. ":" .. (info.currentline or 0)
end

local function declare(kind, def, where, list)
  if type(def) ~= "table" or validate.kind_of(def) then
    error(("%s: %s: expects a table of options, got %s"):format(where, kind, type(def)), 0)
  end
  local obj = { kind = kind, def = def, where = where }
  validate.KIND[obj] = (kind == "load_generator" or kind == "table" or kind == "kafka") and "source" or kind
  if list then list[#list + 1] = obj end
  return obj
end

function M.kafka_connection(def)
  return declare("kafka_connection", def, caller(2), context().connections)
end

function M.registry_connection(def)
  return declare("registry_connection", def, caller(2), context().connections)
end

M.secret = secret.new

-- sg.http { listen = "127.0.0.1:9644", basic_auth = … }: the operations
-- endpoint of `sinkgate run` (h14; ops/http.lua). Declared once.
function M.http(def)
  local c = context()
  local o = declare("http", def, caller(2))
  if c.http then
    c.dupes[#c.dupes + 1] = ("%s: http: declared twice (first at %s)"):format(o.where, c.http.where)
  else
    c.http = o
  end
  return o
end

-- sg.env "NAME" / sg.env("NAME", "default"): a non-secret environment
-- variable (a broker address, a topic suffix). A variable used as a secret
-- anywhere (sg.secret, {secret: NAME}, the secrets file) never reads back
-- as a value; names declared as secrets after this call are caught when
-- the config has loaded (config/loader.lua checks ctx.env_reads).
function M.env(name, default)
  local where = caller(2)
  if type(name) ~= "string" or not name:match("^[%a_][%w_]*$") then
    error(("%s: sinkgate.env expects a variable name (letters, digits, '_'), got %s"):format(where,
      type(name) == "string" and ("%q"):format(name) or type(name)), 0)
  end
  if default ~= nil and type(default) ~= "string" then
    error(("%s: env.%s: the default must be a string, got %s"):format(where, name, type(default)), 0)
  end
  if secret.is_secret_name(name) then
    error(("%s: env.%s: %s is a secret: use sg.secret \"%s\" where a secret is expected; it is never " ..
      "readable as a value"):format(where, name, name, name), 0)
  end
  local reads = context().env_reads
  reads[#reads + 1] = { name = name, where = where, path = "env." .. name }
  local v = os.getenv(name)
  if v == nil or v == "" then
    if default ~= nil then return default end
    if v == nil then
      error(("%s: env.%s: environment variable %s is not set (give a default: sg.env(\"%s\", \"…\"))")
        :format(where, name, name, name), 0)
    end
  end
  return v
end

-- Formats: "json", "text", "bytes", or sg.avro { registry = …, … }.
function M.avro(def)
  local f = declare("avro", def, caller(2))
  validate.KIND[f] = "format"
  return f
end

M.source = {}

-- ---- Kafka sources (issue 11) ----------------------------------------------
-- sg.source.kafka { connection = kafka, topic = …, format = … }: a topic read
-- as a relation (source/kafka.lua); sg.csv { … } and sg.protobuf { … } are
-- its formats beside "text", "bytes", "json" and sg.avro { registry = … }.
function M.source.kafka(def)
  return declare("kafka", def, caller(2), context().sources)
end

function M.csv(def)
  local f = declare("csv", def, caller(2))
  validate.KIND[f] = "format"
  return f
end

function M.protobuf(def)
  local f = declare("protobuf", def, caller(2))
  validate.KIND[f] = "format"
  return f
end
-- ---- end of Kafka sources ---------------------------------------------------

function M.source.load_generator(def)
  return declare("load_generator", def, caller(2), context().sources)
end

function M.source.table(def)
  local t = declare("table", def, caller(2), context().sources)
  t.types = context().types -- named types its columns may use, declared before or after it
  return t
end

-- ==== views (issue 12; see docs/views.md, lua/sinkgate/view/) ====
-- sg.view { from = <source|table|view>, map = fn | filter = fn | flat_map = fn, columns =, keys = }
-- or { from =, distinct_on = {…}, order_by = {…} } or { from =, group_by = {…}, aggregates = {…} }:
-- a relation computed from another, usable wherever `from` is; views chain.
function M.view(def)
  local v = declare("view", def, caller(2), context().sources)
  validate.KIND[v] = "source"
  return v
end
-- ==== end of views ====

-- sg.type "my_app.point" { record = { {"x","integer"}, … }, comment = "…" }, or { list = T },
-- or { map = T } (map[text=>T]): a named type (CREATE TYPE), declared once; columns use it by
-- name ("my_app.point list", "map[text=>my_app.point]") or by the returned table, and DOC ON
-- TYPE / DOC ON COLUMN name it wherever it is used.
function M.type(name)
  local where = caller(2)
  if type(name) ~= "string" or not name:match("^[%a_][%w_%.]*$") then
    error(where .. ": sinkgate.type expects a name of letters, digits, '_' and '.'", 0)
  end
  if require("sinkgate.types").parse(name) then
    error(("%s: sinkgate.type: \"%s\" is a built-in type"):format(where, name), 0)
  end
  return function(def)
    local c = context()
    where = caller(2)
    if type(def) ~= "table" or validate.kind_of(def) then
      error(("%s: sinkgate.type \"%s\" expects a table: { record = … }, { list = T } or { map = T }"):format(
        where, name), 0)
    end
    if c.types[name] then
      c.dupes[#c.dupes + 1] = ("%s: types.%s: declared twice"):format(where, name)
    end
    local t = {}
    for k, v in pairs(def) do t[k] = v end
    t.name = name
    c.types[name] = t
    return t
  end
end

-- sg.sink "name" { … }
function M.sink(name)
  local where = caller(2)
  if type(name) ~= "string" or not name:match("^[%w_%.%-]+$") then
    error(("%s: sinks.%s: a sink name is letters, digits, '_', '.', '-'"):format(where,
      type(name) == "string" and name or "?"), 0)
  end
  return function(def)
    local c = context()
    local s = declare("sink", def, caller(2))
    s.name = name
    if c.sink_names[name] then
      c.dupes[#c.dupes + 1] = ("%s: sinks.%s: declared twice (first at %s)"):format(s.where, name,
        c.sink_names[name].where)
    else
      c.sink_names[name] = s
      c.sinks[#c.sinks + 1] = s
    end
    return s
  end
end

-- Hash helpers for partition_by: strings (or byte strings) in, exact
-- reference values out. seahash returns a uint64 cdata (the full u64).
M.hash = {}

function M.hash.seahash(s)
  s = tostring(s)
  return C.sg_hash_seahash(s, #s)
end

function M.hash.kafka_murmur2(s)
  s = tostring(s)
  return tonumber(C.sg_hash_kafka_murmur2(s, #s))
end

function M.hash.crc32(s)
  s = tostring(s)
  return tonumber(C.sg_hash_crc32(s, #s))
end

-- plugins (issue 13): sg.plugin "name" → constructor(opts); see
-- sinkgate/plugin.lua and docs/plugins.md. The config's folder is
-- where plugins/ is looked for.
function M.plugin(name)
  local where = caller(2)
  local c = context()
  if not c.config_dir then
    local file = where:match("^(.*):%d+$") or ""
    c.config_dir = file:match("^(.*)/[^/]*$") or "."
  end
  return require("sinkgate.plugin").use(name, where, c, M.config_api(), caller)
end

M.ffi = ffi

-- What `require "sinkgate"` gives config code: the declarations and
-- helpers only — no FFI (a way around every sandbox rule), no internals.
local API = { "version", "null", "kafka_connection", "registry_connection", "secret", "env", "avro", "type", "source",
  "sink", "hash", "view", "plugin", "csv", "protobuf", "http" }

function M.config_api()
  local t = {}
  for _, k in ipairs(API) do
    local v = M[k]
    if type(v) == "table" and k ~= "null" then
      local c = {}
      for k2, v2 in pairs(v) do c[k2] = v2 end
      v = c
    end
    t[k] = v
  end
  return setmetatable(t, {
    __index = function(_, k) error("sinkgate." .. tostring(k) .. ": not part of the config API", 2) end,
  })
end

return M
