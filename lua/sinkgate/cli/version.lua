-- sinkgate version
local core = require "sinkgate.core"
local log = require "sinkgate.util.log"

return {
  spec = { usage = "sinkgate version", summary = "Print sinkgate's version and the versions of its libraries." },
  main = function()
    local v, rdk = core.version()
    log.out(("sinkgate %s (librdkafka %s, %s)"):format(v, rdk, jit and jit.version or _VERSION))
    return 0
  end,
}
