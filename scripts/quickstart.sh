#!/bin/sh
# make run: start the dev environment with the topic `orders` seeded from a
# sample file, run examples/quickstart.lua (a counter, and `orders` read as an
# UPSERT source and sunk exactly once to `orders-current`), show a sample of
# the input and of what landed; then produce two more messages, run again and
# show that only their effect was added (the sink resumed from its committed
# source offsets).
set -eu
cd "$(dirname "$0")/.."
SG=build/sinkgate
ENV_FILE=$(mktemp -u /tmp/sinkgate-dev.XXXXXX)
$SG dev --env-file "$ENV_FILE" --topics quickstart:4 \
  --produce orders=examples/data/orders.jsonl > /dev/null &
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
echo "== input: topic orders, seeded by sinkgate dev --produce orders=examples/data/orders.jsonl"
$SG tail orders
echo
echo "== sinkgate check examples/quickstart.lua"
$SG check examples/quickstart.lua
echo
echo "== sinkgate run examples/quickstart.lua --duration 3s"
$SG run examples/quickstart.lua --duration 3s --status-interval 1s
echo
echo "== output: sinkgate tail orders-current   (o2 was created and deleted before the first commit: absent)"
$SG tail orders-current
echo
echo "== output: sinkgate tail quickstart --max 5   (first 5 of $($SG tail quickstart | wc -l) messages)"
$SG tail quickstart --max 5
echo
echo "== two more input messages (examples/data/orders-more.jsonl), then run again for 2s"
$SG dev --ctl "produce orders examples/data/orders-more.jsonl"
$SG run examples/quickstart.lua --duration 2s --quiet
echo
echo "== output: sinkgate tail orders-current   (exactly once: the first run's messages, then only o3's deletion and o5)"
$SG tail orders-current
