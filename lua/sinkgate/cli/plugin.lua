-- sinkgate plugin new NAME — scaffold a plugin (plugin/scaffold.lua).
local core = require "sinkgate.core"
local log = require "sinkgate.util.log"
local scaffold = require "sinkgate.plugin.scaffold"

local C = core.C

local spec = {
  usage = "sinkgate plugin new NAME [--kind KIND] [--dir DIR] | sinkgate plugin show NAME",
  summary = "new: create a plugin folder DIR/NAME (default plugins/NAME): its descriptor and option table\n" ..
    "(init.lua), a config using it (example.lua), a busted spec through sinkgate.testing, a README\n" ..
    "and its rockspec (sinkgate-plugin-NAME-scm-1.rockspec). Existing files are never overwritten.\n" ..
    "show: find plugin NAME as a config in this folder would (plugins/, SINKGATE_PLUGIN_PATH, rocks),\n" ..
    "check its descriptor and print its kind, version, capabilities and options.",
  options = {
    { "--kind", arg = "KIND", doc = "headers (default), partitioner, format or transform" },
    { "--dir", arg = "DIR", doc = "parent folder of the new plugin (default: plugins)" },
  },
}

local function exists(path)
  local f = io.open(path, "r")
  if f then f:close() end
  return f ~= nil
end

-- `plugin show NAME`: the plugin's option table, as --help shows a command's.
local function show(name)
  local sandbox = require "sinkgate.plugin.sandbox"
  local registry = require "sinkgate.plugin.registry"
  local file, dir = sandbox.find(name, ".")
  if not file then
    log.err(("sinkgate plugin show: plugin %s not found; looked for %s"):format(name, table.concat(dir, ", ")))
    return 1
  end
  local raw, err = sandbox.run(name, file, dir, require("sinkgate").config_api())
  local d, problems
  if raw ~= nil then d, problems = registry.check(raw, "plugins." .. name) else problems = { err } end
  if not d then
    for _, p in ipairs(problems) do log.err(file .. ": " .. p) end
    return 1
  end
  local lines = { ("%s %s (%s) from %s"):format(d.name, d.version, d.kind, file) }
  if d.doc then lines[#lines + 1] = d.doc end
  lines[#lines + 1] = "capabilities: " .. (#d.capabilities > 0 and table.concat(d.capabilities, ", ") or "none")
  if d.options.doc then lines[#lines + 1] = "use: " .. d.options.doc end
  lines[#lines + 1] = "options:"
  for _, f in ipairs(d.options.fields) do
    local extra = f.required and "required" or (f.default ~= nil and ("default " .. tostring(f.default)) or "optional")
    lines[#lines + 1] = ("  %-18s %-20s %s. %s%s"):format(f[1], f[2], extra, f.doc,
      f.enum and (" One of: " .. table.concat(f.enum, ", ") .. ".") or "")
  end
  log.out(table.concat(lines, "\n"))
  return 0
end

local function main(opts, pos)
  local usage = require("sinkgate.util.args").help(spec)
  if pos[1] == "show" and #pos == 2 then return show(pos[2]) end
  if pos[1] ~= "new" or #pos ~= 2 then
    log.err("sinkgate plugin: expected `new NAME` or `show NAME`\n\n" .. usage)
    return 2
  end
  local name, kind = pos[2], opts.kind or "headers"
  if not name:match("^[%a_][%w_]*$") then
    log.err(("sinkgate plugin new: a plugin name is letters, digits and '_' (a Lua module name), got %q"):format(name))
    return 2
  end
  local known = false
  for _, k in ipairs(scaffold.KINDS) do known = known or k == kind end
  if not known then
    log.err(("sinkgate plugin new: --kind: expected one of %s, got %q"):format(table.concat(scaffold.KINDS, ", "),
      kind))
    return 2
  end
  local root = (opts.dir or "plugins") .. "/" .. name
  local files = scaffold.files(name, kind)
  for _, f in ipairs(files) do
    if exists(root .. "/" .. f[1]) then
      log.err(("sinkgate plugin new: %s/%s exists; nothing was written"):format(root, f[1]))
      return 1
    end
  end
  for _, f in ipairs(files) do
    local path = root .. "/" .. f[1]
    local dir = path:match("^(.*)/[^/]*$")
    if C.sg_sys_make_dirs(dir, core.errbuf, core.ERRLEN) ~= 0
      or C.sg_sys_write_atomic(path, f[2], #f[2], core.errbuf, core.ERRLEN) ~= 0 then
      log.err("sinkgate plugin new: " .. core.err())
      return 1
    end
    log.out("wrote " .. path)
  end
  return 0
end

return { spec = spec, main = main }
