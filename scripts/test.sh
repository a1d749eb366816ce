#!/bin/sh
# make test: every test sinkgate has, ending with "N passed, N failed, N skipped".
#   1. C-level tests of the core (spec/c)
#   2. busted specs under LuaJIT (unit, then integration against `sinkgate dev`)
#   3. luacheck
#   4. the C tests and all specs again under AddressSanitizer + UBSan
#   5. a warnings-as-errors build with clang
#   6. a short libFuzzer run of the YAML and config fuzz targets and of each
#      decoder target (one test)
# Each spec file prints one line as it ends: its mode (plain or asan), its
# counts and its time. A spec is counted once per mode, so the closing
# total counts each spec twice (plain + asan); the lines before it say
# how the total is made up.
set -u
cd "$(dirname "$0")/.."
passed=0 failed=0 skipped=0
LOG=$(mktemp -d /tmp/sinkgate-test.XXXXXX)
# What failed, three lines each (where, which test, the first line of the
# message): printed again just above the total, since a CI report may show
# only the end of the output.
FAILED="$LOG/failed.txt"
: > "$FAILED"
# $1 = mode, $2 = a busted log (plainTerminal's "Failure -> file @ line").
digest() {
  awk -v m="$1" '/^(Failure|Error) -> /{ n = 3; printf "  [%s] ", m } n > 0 { print (n == 3 ? $0 : "    " $0); n-- }' "$2" >> "$FAILED"
}

breakdown=""
count() { passed=$((passed + $1)); failed=$((failed + $2)); skipped=$((skipped + ${3:-0})); }
# $1 = what, then the counts: remembered for the breakdown before the total.
part() {
  count "$2" "$3" "${4:-0}"
  breakdown="$breakdown$(printf '  %-26s %5d passed %3d failed %3d skipped' "$1" "$2" "$3" "${4:-0}")
"
}

c_tests() { # $1 = test binary, $2 = label
  "$1" > "$LOG/$2.c.log" 2>&1
  cat "$LOG/$2.c.log"
  grep -E 'FAIL' "$LOG/$2.c.log" | head -10 | sed "s/^/  [$2] /" >> "$FAILED"
  line=$(grep -E '^c-core: [0-9]+ passed, [0-9]+ failed' "$LOG/$2.c.log" | tail -1)
  if [ -z "$line" ]; then part "C core tests ($2)" 0 1; return; fi
  part "C core tests ($2)" "$(echo "$line" | sed -E 's/.* ([0-9]+) passed.*/\1/')" \
    "$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')"
}

busted_run() { # $1 = mode (plain / asan); environment set by the caller
  m=$1
  # One line per spec file as it ends (spec/helpers/per_file_output.lua),
  # shown while the run goes on.
  SINKGATE_TEST_MODE=$m busted -o spec/helpers/per_file_output.lua 2>&1 | tee "$LOG/$m.busted.log"
  digest "$m" "$LOG/$m.busted.log"
  line=$(grep -E '^[0-9]+ success(es)? / [0-9]+ failures? / [0-9]+ errors? / [0-9]+ pending' "$LOG/$m.busted.log" | tail -1)
  if [ -z "$line" ]; then part "busted specs ($m)" 0 1; return; fi
  set -- $line
  part "busted specs ($m)" "$1" "$(($4 + $7))" "${10}"
}
# ASan: one busted process per spec file. The sanitizer runtimes preloaded
# into an uninstrumented LuaJIT (whose GC memory must stay in the low 2 GiB)
# crash now and then in a long-lived process that has loaded every spec; a
# file of its own keeps each process small, and a crash fails one file.
busted_per_file() { # $1 = mode; environment set by the caller
  m=$1 p=0 f=0 s=0
  for spec in $(find spec -name '*_spec.lua' | sort); do
    SINKGATE_TEST_MODE=$m busted -o spec/helpers/per_file_output.lua "$spec" > "$LOG/one.log" 2>&1
    line=$(grep -E '^[0-9]+ success(es)? / [0-9]+ failures? / [0-9]+ errors? / [0-9]+ pending' "$LOG/one.log" | tail -1)
    if [ -z "$line" ]; then
      echo "[$m] $spec: no summary (crashed?)  <-- FAILED"; tail -20 "$LOG/one.log"; f=$((f + 1))
      echo "  [$m] $spec: no summary (crashed?)" >> "$FAILED"; continue
    fi
    grep -E '^\[' "$LOG/one.log"
    set -- $line
    if [ $(($4 + $7)) -gt 0 ]; then
      sed -n '/^Failure\|^Error/,$p' "$LOG/one.log" | head -60; digest "$m" "$LOG/one.log"
    fi
    p=$((p + $1)); f=$((f + $4 + $7)); s=$((s + ${10}))
  done
  part "busted specs ($m)" "$p" "$f" "$s"
}
started=$(date +%s)

make --no-print-directory build/baseline build/encode_bench > /dev/null

echo "== C core tests"
c_tests build/test_core plain

echo "== busted specs (LuaJIT), one line per spec file"
busted_run plain

echo "== luacheck"
if luacheck --quiet --no-color lua spec examples plugins bench tools; then part luacheck 1 0; else part luacheck 0 1; echo "  luacheck" >> "$FAILED"; fi

echo "== AddressSanitizer + UndefinedBehaviorSanitizer"
if make --no-print-directory asan > "$LOG/asan-build.log" 2>&1; then
  ASAN_OPTIONS=detect_leaks=1 c_tests build/asan/test_core asan
  # The FFI specs load the ASan-built core into an uninstrumented LuaJIT:
  # preload the sanitizer runtimes; leak checks stay on for the binary.
  SINKGATE_BIN=build/asan/sinkgate SINKGATE_CORE=build/asan/sinkgate_core.so \
  LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)" \
  ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 busted_per_file asan
else
  cat "$LOG/asan-build.log"; part "asan build" 0 1; echo "  asan build" >> "$FAILED"
fi

echo "== warnings-as-errors build (clang)"
if make --no-print-directory CC=clang BUILD=build/clang CFLAGS='-O2 -Wshadow' all > "$LOG/clang.log" 2>&1; then
  part "clang -Werror build" 1 0
else
  cat "$LOG/clang.log"; part "clang -Werror build" 0 1; echo "  clang -Werror build" >> "$FAILED"
fi

echo "== fuzz (libFuzzer: YAML parser and config path 30 s, then 6 decoders 15 s each)"
if make --no-print-directory fuzz FUZZ_SECONDS=30 > "$LOG/fuzz.log" 2>&1; then
  grep '^fuzz:' "$LOG/fuzz.log"; part "fuzz (30 s + 6 x 15 s)" 1 0
else
  tail -30 "$LOG/fuzz.log"; part "fuzz (30 s + 6 x 15 s)" 0 1; grep -m3 -E 'ERROR|[1-9][0-9]* crash' "$LOG/fuzz.log" | sed 's/^/  fuzz: /' >> "$FAILED"
fi

echo
echo "== how the total is made up (each spec counted once per mode: plain and asan)"
printf '%s' "$breakdown"
echo "  took $(( $(date +%s) - started ))s"
if [ -s "$FAILED" ]; then
  echo "== what failed (details above)"
  head -30 "$FAILED"
fi
rm -rf "$LOG"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
