#!/bin/sh
# Installs the Debian packages sinkgate needs to build and test (and, with
# the argument `bench`, to benchmark), only those that are missing. Run as root on Debian 12 (or with sudo available).
set -eu
PKGS="build-essential pkg-config libluajit-5.1-dev luajit librdkafka-dev libavro-dev
libcurl4-openssl-dev libyaml-dev zlib1g-dev lua-cjson lua-socket lua-busted lua-check
clang libclang-rt-14-dev libcsv-dev liblmdb-dev python3-avro
protobuf-compiler libprotobuf-dev libprotobuf-c-dev protobuf-c-compiler python3-protobuf
python3-confluent-kafka libmicrohttpd-dev prometheus lua-sec openssl libtcmalloc-minimal4"
# libtcmalloc-minimal4: the sinkgate binary's allocator (Makefile, ALLOCATOR).
# prometheus (~100 MB) is there for `promtool check metrics` in spec/02-integration/http_spec.lua.
# `deps.sh bench`: also what make bench runs against.
[ "${1:-}" = bench ] && PKGS="$PKGS kcat curl"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
