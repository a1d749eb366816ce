/* main.c — the sinkgate binary: an embedded LuaJIT that runs the CLI in
 * lua/sinkgate/cli. The core is linked in and its symbols exported, so the
 * Lua side reaches it through ffi.C with no shared library to find. */
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include "../include/sinkgate_ffi.h"

#ifndef SG_LUADIR
#define SG_LUADIR "/usr/local/share/lua/5.1"
#endif

/* Lua search path: $SINKGATE_LUA_PATH, then a source tree around the
 * binary (build/sinkgate or build/asan/sinkgate: ./lua holds the generated
 * cdef, ../lua or ../../lua the sources), then PREFIX/share/lua/5.1 beside
 * PREFIX/bin (relocatable installs), then the configured install directory. */
static void set_paths(lua_State *L) {
  char exe[PATH_MAX], path[8 * PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  exe[n > 0 ? n : 0] = 0;
  const char *dir = dirname(exe);
  const char *env = getenv("SINKGATE_LUA_PATH");
  snprintf(path, sizeof path,
           "%s%s%s/lua/?.lua;%s/../lua/?.lua;%s/../../lua/?.lua;%s/../share/lua/5.1/?.lua;" SG_LUADIR
           "/?.lua;",
           env ? env : "", env ? ";" : "", dir, dir, dir, dir);
  lua_getglobal(L, "package");
  lua_pushstring(L, path);
  lua_getfield(L, -2, "path");
  lua_concat(L, 2);
  lua_setfield(L, -2, "path");
  lua_pop(L, 1);
}

static int traceback(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  luaL_traceback(L, L, msg ? msg : "(error object)", 1);
  return 1;
}

int main(int argc, char **argv) {
  lua_State *L = luaL_newstate();
  if (!L) {
    fprintf(stderr, "sinkgate: cannot create a Lua state\n");
    return 70;
  }
  luaL_openlibs(L);
  set_paths(L);
  lua_pushcfunction(L, traceback);
  lua_getglobal(L, "require");
  lua_pushstring(L, "sinkgate.cli");
  if (lua_pcall(L, 1, 1, 1) != 0) {
    fprintf(stderr, "sinkgate: %s\n", lua_tostring(L, -1));
    return 70;
  }
  lua_getfield(L, -1, "main");
  lua_newtable(L);
  for (int i = 1; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i);
  }
  if (lua_pcall(L, 1, 1, 1) != 0) {
    fprintf(stderr, "sinkgate: internal error: %s\n", lua_tostring(L, -1));
    lua_close(L);
    return 70;
  }
  int rc = (int)lua_tointeger(L, -1);
  lua_close(L);
  return rc;
}
