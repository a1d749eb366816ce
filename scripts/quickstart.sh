#!/bin/sh
# make run: start the dev environment, run examples/quickstart.lua for a few
# seconds, then show a sample of what landed in the topic.
set -eu
cd "$(dirname "$0")/.."
SG=build/sinkgate
ENV_FILE=$(mktemp -u /tmp/sinkgate-dev.XXXXXX)
$SG dev --env-file "$ENV_FILE" --topics quickstart:4 > /dev/null &
DEV=$!
trap 'kill $DEV 2>/dev/null; wait $DEV 2>/dev/null; rm -f "$ENV_FILE"' EXIT INT TERM
i=0
while [ ! -s "$ENV_FILE" ]; do
  i=$((i + 1))
  [ $i -gt 100 ] && { echo "quickstart: the dev environment did not start" >&2; exit 1; }
  sleep 0.1
done
. "$ENV_FILE"
echo "== dev environment (not durable): bootstrap.servers=$SINKGATE_BROKERS registry.url=$SINKGATE_REGISTRY"
echo "== sinkgate check examples/quickstart.lua"
$SG check examples/quickstart.lua
echo
echo "== sinkgate run examples/quickstart.lua --duration 3s"
$SG run examples/quickstart.lua --duration 3s --status-interval 1s
echo
echo "== sinkgate tail quickstart --max 5   (first 5 of $($SG tail quickstart | wc -l) messages)"
$SG tail quickstart --max 5
