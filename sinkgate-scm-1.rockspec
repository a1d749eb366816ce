rockspec_format = "3.0"
package = "sinkgate"
version = "scm-1"
source = {
  url = "git+file:///work/main",
}
description = {
  summary = "A Lua-scriptable Kafka sink gateway: change streams to Kafka, exactly once.",
  detailed = [[
sinkgate publishes relations that change over time to Kafka in the formats,
envelopes and partitioning of Materialize's CREATE SINK … INTO KAFKA, configured
by Lua scripts. The C core is loaded through LuaJIT's FFI; the `sinkgate` binary
embeds LuaJIT. Runtime Lua modules cjson, socket and mime come from the system
(Debian: lua-cjson, lua-socket); the dev registry's HTTPS listener uses lua-sec.]],
  license = "MIT",
  labels = { "kafka", "luajit", "ffi", "streaming" },
}
dependencies = {
  "lua >= 5.1, < 5.2", -- LuaJIT
}
-- libcurl headers live under a multiarch include dir on Debian, which LuaRocks
-- does not search; the Makefile finds it (and the rest) through pkg-config.
external_dependencies = {
  LUAJIT = { header = "luajit-2.1/luajit.h" },
  RDKAFKA = { header = "librdkafka/rdkafka.h" },
  AVRO = { header = "avro.h" },
  YAML = { header = "yaml.h" },
  PROTOBUF_C = { header = "protobuf-c/protobuf-c.h" },
  LMDB = { header = "lmdb.h" },
  MICROHTTPD = { header = "microhttpd.h" }, -- the operations endpoint (core/http)
}
build = {
  type = "make",
  build_variables = {
    CFLAGS = "$(CFLAGS)",
    LIBFLAG = "$(LIBFLAG)",
    LUA_INCDIR = "$(LUA_INCDIR)",
    LUADIR = "$(LUADIR)",
  },
  install_variables = {
    PREFIX = "$(PREFIX)",
    BINDIR = "$(BINDIR)",
    LIBDIR = "$(LIBDIR)",
    LUADIR = "$(LUADIR)",
  },
}
test = {
  type = "command",
  command = "make test",
}
