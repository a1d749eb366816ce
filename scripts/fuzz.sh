#!/bin/sh
# make fuzz: a short run of the fuzz targets (fuzz/) from the seeds in
# fuzz/seeds: the YAML and config targets half of $1 seconds (default 30)
# each, then every decoder target (fuzz/decode.mk) $2 seconds (default 15)
# each. Prints one line per target — "fuzz: <target> <runs> runs in <t>s,
# <n> crashes" — and fails on any crash or sanitizer report (the
# reproducer is kept under build/fuzz/crashes). Longer runs by hand:
# build/fuzz/yaml_fuzz -max_total_time=3600 CORPUS fuzz/seeds/yaml
set -u
cd "$(dirname "$0")/.."
total=${1:-30}
half=$((total / 2))
[ "$half" -lt 1 ] && half=1
decode_seconds=${2:-15}
WORK=$(mktemp -d /tmp/sinkgate-fuzz.XXXXXX)
mkdir -p build/fuzz/crashes "$WORK/yaml" "$WORK/config"
# config_fuzz reads the first byte as the kind: '0' YAML, '1' Lua
for f in fuzz/seeds/yaml/*; do { printf 0; cat "$f"; } > "$WORK/config/y-$(basename "$f")"; done
for f in fuzz/seeds/lua/*; do { printf 1; cat "$f"; } > "$WORK/config/l-$(basename "$f")"; done
cp fuzz/seeds/regress/* "$WORK/config/" # inputs that once failed, kind byte included
status=0
run() { # $1 = target, $2 = corpus, $3 = seeds, $4 = detect leaks (1/0), $5 = seconds
  log="$WORK/$1.log"
  secs=${5:-$half}
  ASAN_OPTIONS=allocator_may_return_null=1:detect_leaks=$4 "build/fuzz/$1" -detect_leaks="$4" -max_total_time="$secs" -max_len=8192 \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix=build/fuzz/crashes/"$1"- \
    "$2" $3 > "$log" 2>&1
  rc=$?
  runs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}' | tail -1)
  crashes=0
  if [ "$rc" -ne 0 ]; then
    crashes=1
    status=1
    grep -E 'ERROR|_fuzz:|SUMMARY|Test unit written|runtime error' "$log" | head -20
  fi
  echo "fuzz: $1 ${runs:-0} runs in ${secs}s, $crashes crashes"
}
run yaml_fuzz "$WORK/yaml" fuzz/seeds/yaml 1
# Leak checks stay with yaml_fuzz: in config_fuzz the Lua state lives for
# the whole run, so what it holds at exit (cjson's buffer, modules) is not
# a leak of one input.
run config_fuzz "$WORK/config" "" 0
# The decoders (issue 11): each from its seeds, with leak checks (a decoder
# keeps nothing between messages but its schema, built once). Not for
# Avro: avro-c's generic arrays and maps keep their buffers between
# messages for reuse, which LeakSanitizer reports at exit as about a dozen
# leaked objects whatever the number of runs (9 after 50 runs, 12 after
# 234k): a bounded cache, not a per-message leak.
mkdir -p "$WORK/decode_avro"
run decode_avro_fuzz "$WORK/decode_avro" fuzz/seeds/decode_avro 0 "$decode_seconds"
for t in csv text json debezium; do
  mkdir -p "$WORK/decode_$t"
  run "decode_${t}_fuzz" "$WORK/decode_$t" "fuzz/seeds/decode_$t" 1 "$decode_seconds"
done
mkdir -p "$WORK/protobuf"
run decode_protobuf_fuzz "$WORK/protobuf" fuzz/seeds/protobuf 1 "$decode_seconds"
rm -rf "$WORK"
exit $status
