-- A short run of the Protobuf decoder's libFuzzer target (the long runs are
-- by hand: make fuzz-protobuf-run FUZZ_SECONDS=3600). It must build from a
-- clean tree and find nothing in a few seconds on its seeds.
describe("protobuf fuzz target", function()
  it("builds and runs its seeds plus a short fuzz without a finding", function()
    if os.getenv("SINKGATE_TEST_MODE") == "asan" then
      pending("the fuzz target links clang's own ASan runtime, which cannot load beside the ASan leg's preloaded " ..
        "gcc runtime; it runs in the plain leg")
      return
    end
    if not os.execute("command -v clang >/dev/null 2>&1") then
      pending("clang is not installed (scripts/deps.sh installs it)")
      return
    end
    local log = os.tmpname()
    local rc = os.execute(("make -s fuzz-protobuf-run BUILD=build/fuzzci FUZZ_SECONDS=10 > %s 2>&1"):format(log))
    local f = io.open(log)
    local out = f and f:read("*a") or ""
    if f then f:close() end
    os.remove(log)
    assert.is_true(rc == 0 or rc == true, out:sub(-3000))
    assert.matches("Done %d+ runs", out)
  end)
end)
