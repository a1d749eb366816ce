-- luacheck: sinkgate targets LuaJIT (Lua 5.1 + bit, ffi, jit).
std = "luajit"
max_line_length = 160
exclude_files = { "build/**", "fuzz/seeds/**" } -- seeds are bad inputs on purpose
files["spec/**"] = { std = "+busted" }
files["examples/**"] = { unused_args = false }
-- plugins run in their sandbox, which provides `plugin` (name, dir, load_library)
files["plugins/**"] = { read_globals = { "plugin" } }
files["spec/fixtures/plugins/plugins/**"] = { std = "+busted", read_globals = { "plugin" } }
