rockspec_format = "3.0"
package = "sinkgate-plugin-redact"
version = "scm-1"
source = { url = "git+https://example.invalid/sinkgate-plugin-redact.git" }
description = {
  summary = "The redact plugin for sinkgate.",
  license = "MIT",
}
-- sinkgate itself (the binary and its Lua modules) is installed separately.
dependencies = { "lua >= 5.1, < 5.2" }
build = {
  type = "builtin",
  modules = {
    ["sinkgate.plugins.redact"] = "init.lua",
    ["sinkgate.plugins.redact.sha256"] = "sha256.lua",
  },
}
