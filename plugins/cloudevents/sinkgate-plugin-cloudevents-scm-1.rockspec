rockspec_format = "3.0"
package = "sinkgate-plugin-cloudevents"
version = "scm-1"
source = { url = "git+https://example.invalid/sinkgate-plugin-cloudevents.git" }
description = {
  summary = "The cloudevents plugin for sinkgate.",
  license = "MIT",
}
-- sinkgate itself (the binary and its Lua modules) is installed separately.
dependencies = { "lua >= 5.1, < 5.2" }
build = {
  type = "builtin",
  modules = {
    ["sinkgate.plugins.cloudevents"] = "init.lua",
    ["sinkgate.plugins.cloudevents.json"] = "json.lua",
  },
}
