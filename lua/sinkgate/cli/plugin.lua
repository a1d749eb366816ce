-- sinkgate plugin new NAME — scaffold a plugin (plugin/scaffold.lua).
local core = require "sinkgate.core"
local log = require "sinkgate.util.log"
local scaffold = require "sinkgate.plugin.scaffold"

local C = core.C

local spec = {
  usage = "sinkgate plugin new NAME [--kind KIND] [--dir DIR]",
  summary = "Create a plugin folder DIR/NAME (default plugins/NAME): its descriptor and option table\n" ..
    "(init.lua), a config using it (example.lua), a busted spec through sinkgate.testing, a README\n" ..
    "and its rockspec (sinkgate-plugin-NAME-scm-1.rockspec). Existing files are never overwritten.",
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

local function main(opts, pos)
  local usage = require("sinkgate.util.args").help(spec)
  if pos[1] ~= "new" or #pos ~= 2 then
    log.err("sinkgate plugin: expected `new NAME`\n\n" .. usage)
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
