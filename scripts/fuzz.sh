#!/bin/sh
# make fuzz: a short run of both fuzz targets (fuzz/) from the seeds in
# fuzz/seeds, half of $1 seconds (default 30) each. Prints one line per
# target — "fuzz: <target> <runs> runs, <n> crashes" — and fails on any
# crash (the reproducer is kept under build/fuzz/crashes). Longer runs by
# hand: build/fuzz/yaml_fuzz -max_total_time=3600 CORPUS fuzz/seeds/yaml
set -u
cd "$(dirname "$0")/.."
total=${1:-30}
half=$((total / 2))
[ "$half" -lt 1 ] && half=1
WORK=$(mktemp -d /tmp/sinkgate-fuzz.XXXXXX)
mkdir -p build/fuzz/crashes "$WORK/yaml" "$WORK/config"
# config_fuzz reads the first byte as the kind: '0' YAML, '1' Lua
for f in fuzz/seeds/yaml/*; do { printf 0; cat "$f"; } > "$WORK/config/y-$(basename "$f")"; done
for f in fuzz/seeds/lua/*; do { printf 1; cat "$f"; } > "$WORK/config/l-$(basename "$f")"; done
cp fuzz/seeds/regress/* "$WORK/config/" # inputs that once failed, kind byte included
status=0
run() { # $1 = target, $2 = corpus, $3 = seeds, $4 = detect leaks (1/0)
  log="$WORK/$1.log"
  ASAN_OPTIONS=allocator_may_return_null=1:detect_leaks=$4 "build/fuzz/$1" -detect_leaks="$4" -max_total_time="$half" -max_len=8192 \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix=build/fuzz/crashes/"$1"- \
    "$2" $3 > "$log" 2>&1
  rc=$?
  runs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}' | tail -1)
  crashes=0
  if [ "$rc" -ne 0 ]; then
    crashes=1
    status=1
    grep -E 'ERROR|config_fuzz:|yaml_fuzz:|SUMMARY|Test unit written' "$log" | head -20
  fi
  echo "fuzz: $1 ${runs:-0} runs in ${half}s, $crashes crashes"
}
run yaml_fuzz "$WORK/yaml" fuzz/seeds/yaml 1
# Leak checks stay with yaml_fuzz: in config_fuzz the Lua state lives for
# the whole run, so what it holds at exit (cjson's buffer, modules) is not
# a leak of one input.
run config_fuzz "$WORK/config" "" 0
rm -rf "$WORK"
exit $status
