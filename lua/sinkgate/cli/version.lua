-- sinkgate version [--json]
local core = require "sinkgate.core"
local json = require "sinkgate.util.json"
local log = require "sinkgate.util.log"

local spec = {
  usage = "sinkgate version [--json]",
  summary = "Print sinkgate's version and the versions of its libraries.",
  options = {
    { "--json", doc = "one JSON object: sinkgate, librdkafka, lua, libmicrohttpd (for inventories and bug reports)" },
  },
}

local function mhd_version()
  local ok, v = pcall(function() return core.ffi.string(core.C.sg_http_version()) end)
  return ok and v or nil
end

return {
  spec = spec,
  main = function(opts)
    local v, rdk = core.version()
    local lua = jit and jit.version or _VERSION
    if opts.json then
      log.out(json.encode(json.object({ "sinkgate", "librdkafka", "lua", "libmicrohttpd" },
        { sinkgate = v, librdkafka = rdk, lua = lua, libmicrohttpd = mhd_version() })))
      return 0
    end
    log.out(("sinkgate %s (librdkafka %s, %s)"):format(v, rdk, lua))
    return 0
  end,
}
