-- busted output handler for `make test`: one line per spec file with its
-- mode (plain / asan, from SINKGATE_TEST_MODE), counts and time, instead of
-- minutes of dots; then busted's usual summary line and the failure
-- details (plainTerminal's, which scripts/test.sh parses).
--   busted -o spec/helpers/per_file_output.lua
return function(options)
  local busted = require "busted"
  options.deferPrint = true -- no dots
  local handler = require("busted.outputHandlers.plainTerminal")(options)
  local mode = os.getenv("SINKGATE_TEST_MODE") or "plain"
  local clock = require("socket").gettime
  local started, before

  local function counts()
    return { handler.successesCount, handler.failuresCount + handler.errorsCount, handler.pendingsCount }
  end

  busted.subscribe({ "file", "start" }, function()
    started, before = clock(), counts()
    return nil, true
  end)

  busted.subscribe({ "file", "end" }, function(file)
    local now = counts()
    local p, f, s = now[1] - before[1], now[2] - before[2], now[3] - before[3]
    io.write(("[%-5s] %-48s %4d passed %2d failed %2d pending %6.1fs%s\n"):format(mode, file.name, p, f, s,
      clock() - started, f > 0 and "  <-- FAILED" or ""))
    io.flush()
    return nil, true
  end)

  return handler
end
