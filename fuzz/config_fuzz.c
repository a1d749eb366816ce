/* config_fuzz.c — libFuzzer target for the whole config path: LuaJIT runs
 * fuzz/config_fuzz.lua, which feeds each input to the config loader (YAML
 * or Lua, by the first byte) and plan.build, as `sinkgate check` would.
 * An input that makes the loader raise (exit 70 in the CLI) or yields a
 * YAML error without file:line aborts: libFuzzer saves it as a crash.
 * The core is linked in and instrumented, so coverage guides the fuzzer
 * through the C the loader calls (the YAML parser's tree builder). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

static lua_State *L;

static void fail(const char *what) {
  fprintf(stderr, "config_fuzz: %s\n", what);
  abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  L = luaL_newstate();
  if (!L) fail("cannot create a Lua state");
  luaL_openlibs(L);
  /* run from the source tree: lua/ for sinkgate, build/lua for the cdef */
  if (luaL_dostring(L, "package.path = 'lua/?.lua;build/lua/?.lua;fuzz/?.lua;' .. package.path\n"
                       "FUZZ = require 'config_fuzz'"))
    fail(lua_tostring(L, -1));
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  lua_getglobal(L, "FUZZ");
  lua_getfield(L, -1, "one");
  lua_pushlstring(L, (const char *)data + 1, size - 1);
  lua_pushstring(L, data[0] % 2 == 0 ? "fuzz.yaml" : "fuzz.lua");
  if (lua_pcall(L, 2, 1, 0) != 0) fail(lua_tostring(L, -1));
  if (!lua_isnil(L, -1)) fail(lua_tostring(L, -1));
  lua_pop(L, 2);
  /* a full collection frees the YAML trees (ffi.gc) of this input now */
  lua_gc(L, LUA_GCCOLLECT, 0);
  return 0;
}
