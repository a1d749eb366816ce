-- sinkgate.plugin.registry — every format, transform, header provider,
-- partitioner and source sinkgate knows, built-in or plugin, under one
-- table keyed by kind and name (after Telegraf's and Fluent Bit's
-- registries): the engine asks the registry, never a list of its own.
--
-- A descriptor (docs/plugins.md):
--   { kind = "format" | "transform" | "headers" | "partitioner" | "source",
--     name = "cloudevents", version = "1.0.0", doc = "one line",
--     options = { doc = …, fields = { { "source", "string", required = true, doc = … }, … } },
--     capabilities = { "io", … },          -- sandbox powers it needs (none by default)
--     new = function(opts) … end }          -- the kind's runtime object (below)
-- What `new(opts)` returns, per kind:
--   headers      function(row) → { name = text, … }
--   partitioner  function(row) → u64 hash or nil
--   format       { encode = function(row, meta) → bytes [, headers], keys = bool,
--                  prepare = function(info) → true | nil, err (optional) }
--   transform    { columns = function(columns) → columns (optional), row = function(row) → table }
--   source       wired by the source owners through M.adapters.source (see below)
-- Built-ins (json, text, bytes, avro; the headers function; partition_by and
-- the key hash) are registered here too, with `builtin = true`: the C
-- encoders and routing implement them, the registry names and documents
-- them.
local core = require "sinkgate.core"
local validate = require "sinkgate.config.validate"

local M = {}

M.KINDS = { "format", "transform", "headers", "partitioner", "source" }
local KIND_SET = {}
for _, k in ipairs(M.KINDS) do KIND_SET[k] = true end

-- Capabilities a descriptor may ask for (plugin/sandbox.lua grants them).
M.CAPABILITIES = {
  io = "the io library (files)",
  os = "the full os library (os.getenv, os.execute, …)",
  ffi = "LuaJIT's FFI and plugin.load_library(file): a shared object beside the plugin",
}

-- The option table of a descriptor, in the shape of config/options.lua:
-- one table validates it, documents it and is printed by `sinkgate check`.
M.DESCRIPTOR = {
  doc = "A plugin descriptor: what a plugin module returns.",
  fields = {
    { "kind", "string", required = true, enum = M.KINDS, doc = "What the plugin extends." },
    { "name", "string", required = true, check = "nonempty", doc = "Name it is loaded by (sg.plugin \"name\")." },
    { "version", "string", required = true, check = "nonempty", doc = "The plugin's version, shown by check." },
    { "doc", "string", doc = "One line on what it does (docs, check)." },
    { "options", "plugin_options", default = { fields = {} },
      doc = "Its option table: { doc =, fields = { { name, type, required =, default =, enum =, doc = }, … } }." },
    { "capabilities", "list<string>", default = {}, doc = "Sandbox powers it needs: io, os, ffi." },
    { "new", "function", required = true, doc = "function(opts) → the kind's runtime object." },
    { "encodes_keys", "boolean", default = false, doc = "format: it can encode keys too (else keys use json)." },
  },
}

-- Kinds that other modules wire after merging: adapters.source(desc, opts,
-- where) → a source declaration. Until one is installed, sg.plugin of a
-- source plugin says so.
M.adapters = {}

local by_kind = {}
for _, k in ipairs(M.KINDS) do by_kind[k] = {} end

-- A plugin's option table must itself be well formed (names, known types, docs).
local function check_options(spec, path, fail)
  if type(spec) ~= "table" or type(spec.fields) ~= "table" then
    return fail(path, "expected { fields = { … } }, got " .. type(spec))
  end
  for i, f in ipairs(spec.fields) do
    local p = ("%s.fields[%d]"):format(path, i)
    if type(f) ~= "table" then
      fail(p, "expected { name, type, doc = … }, got " .. type(f))
    else
      if type(f[1]) ~= "string" or f[1] == "" then fail(p .. "[1]", "expected the option's name") end
      if type(f[2]) ~= "string" then fail(p .. "[2]", "expected the option's type (e.g. \"string\")") end
      if type(f.doc) ~= "string" then fail(p .. ".doc", "every option needs a doc string") end
      if f.check and not validate.CHECKS[f.check] then fail(p .. ".check", "unknown check " .. tostring(f.check)) end
    end
  end
end

-- Validates a descriptor; returns a normalized copy or nil, problems
-- ("key.path: message", path starting at `path`).
function M.check(desc, path)
  local problems = {}
  local function fail(p, msg) problems[#problems + 1] = p .. ": " .. msg end
  if type(desc) ~= "table" then
    fail(path, "a plugin module must return a descriptor table, got " .. type(desc))
    return nil, problems
  end
  -- `options` is checked by check_options (its type has no validate rule)
  local shape = { fields = {} }
  for _, f in ipairs(M.DESCRIPTOR.fields) do
    if f[2] ~= "plugin_options" then shape.fields[#shape.fields + 1] = f end
  end
  local extra = {}
  for k, v in pairs(desc) do
    -- a kind's own functions and fields (encode helpers, constants) are the author's
    local known = false
    for _, f in ipairs(M.DESCRIPTOR.fields) do known = known or f[1] == k end
    if not known then extra[k] = v end
  end
  local plain = {}
  for k, v in pairs(desc) do if extra[k] == nil and k ~= "options" then plain[k] = v end end
  local errs = {}
  local out = validate.check_spec(shape, plain, path, function() return "" end, errs)
  for _, e in ipairs(errs) do problems[#problems + 1] = (e:gsub("^: ", "")) end
  if desc.options ~= nil then check_options(desc.options, path .. ".options", fail) end
  out.options = desc.options
  for i, c in ipairs(out.capabilities or {}) do
    if not M.CAPABILITIES[c] then
      local names = {}
      for k in pairs(M.CAPABILITIES) do names[#names + 1] = k end
      table.sort(names)
      fail(("%s.capabilities[%d]"):format(path, i), ("unknown capability %q (known: %s)"):format(c,
        table.concat(names, ", ")))
    end
  end
  if #problems > 0 then return nil, problems end
  for k, v in pairs(extra) do out[k] = v end
  out.options = out.options or { fields = {} }
  return out
end

-- Registers a (checked) descriptor; a name is registered once per kind.
function M.register(desc)
  assert(KIND_SET[desc.kind], "unknown plugin kind")
  local have = by_kind[desc.kind][desc.name]
  if have and have ~= desc and have.builtin then
    return nil, ("%s \"%s\" is built in"):format(desc.kind, desc.name)
  end
  by_kind[desc.kind][desc.name] = desc
  return desc
end

function M.get(kind, name)
  return by_kind[kind] and by_kind[kind][name]
end

-- Descriptors of a kind, sorted by name.
function M.list(kind)
  local out = {}
  for _, d in pairs(by_kind[kind] or {}) do out[#out + 1] = d end
  table.sort(out, function(a, b) return a.name < b.name end)
  return out
end

-- A format given by name in a config ("json"): only built-ins with a C encoder.
function M.named_format(name)
  local d = by_kind.format[name]
  return d and d.builtin and d.by_name and d or nil
end

------------------------------------------------------------------------------
-- Built-ins: the same descriptors, implemented by the C core.
local VERSION = (core.version())

local function builtin(d)
  d.builtin, d.version, d.capabilities = true, tostring(VERSION), {}
  d.options = d.options or { fields = {} }
  d.new = d.new or function() return d end
  by_kind[d.kind][d.name] = d
end

builtin { kind = "format", name = "json", by_name = true, c_format = "SG_FMT_JSON", encodes_keys = true,
  doc = "JSON objects (the C encoder)." }
builtin { kind = "format", name = "text", by_name = true, c_format = "SG_FMT_TEXT", encodes_keys = true,
  doc = "One scalar column as UTF-8 text." }
builtin { kind = "format", name = "bytes", by_name = true, c_format = "SG_FMT_BYTES", encodes_keys = true,
  doc = "One scalar column as raw bytes." }
builtin { kind = "format", name = "avro", c_format = "SG_FMT_AVRO", encodes_keys = true, options_ref = "avro",
  doc = "Avro through a Confluent Schema Registry: sg.avro { registry = … }." }
builtin { kind = "headers", name = "function", doc = "The sink's `headers = function(row)` option." }
builtin { kind = "partitioner", name = "key_hash",
  doc = "The default: seahash of the encoded key (schema id stripped for Avro) % partition count." }
builtin { kind = "partitioner", name = "function", doc = "The sink's `into.partition_by = function(row)`." }

-- The C format code of a format value (a name, sg.avro{…}, or a plugin format).
function M.c_format(C, f)
  if type(f) == "string" then return C[by_kind.format[f].c_format] end
  if type(f) == "table" and f.plugin then return C.SG_FMT_GIVEN end
  return C.SG_FMT_AVRO
end

return M
