#!/usr/bin/python3
"""Independent producer for Kafka source specs (Debian's python3-confluent-kafka).

Reads JSON lines from stdin, one message each:
  {"key": "text"|null, "value": "text"|null, "key_b64": ..., "value_b64": ...,
   "partition": n, "headers": [["name", "value"|null], ...], "timestamp": ms}
and produces them to TOPIC on BROKERS, flushing at the end. With --rate N,
waits 1/N s between messages (a pipeline that keeps receiving data). With
--batch N, puts at most N messages in a record batch (many small batches
make a consumer with a small fetch size take many fetches).
"""
import base64
import json
import sys
import time

from confluent_kafka import Producer


def main():
    brokers, topic = sys.argv[1], sys.argv[2]
    flags = dict(zip(sys.argv[3::2], sys.argv[4::2]))
    rate = float(flags.get("--rate", 0))
    conf = {"bootstrap.servers": brokers, "linger.ms": 5}
    if "--batch" in flags:
        conf["batch.num.messages"] = int(flags["--batch"])
    p = Producer(conf)
    n = 0
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        m = json.loads(line)
        key = base64.b64decode(m["key_b64"]) if "key_b64" in m else m.get("key")
        value = base64.b64decode(m["value_b64"]) if "value_b64" in m else m.get("value")
        if isinstance(key, str):
            key = key.encode()
        if isinstance(value, str):
            value = value.encode()
        kw = {}
        if "partition" in m:
            kw["partition"] = m["partition"]
        if "timestamp" in m:
            kw["timestamp"] = m["timestamp"]
        if "headers" in m:
            kw["headers"] = [(h[0], None if h[1] is None else h[1].encode()) for h in m["headers"]]
        while True:
            try:
                p.produce(topic, value=value, key=key, **kw)
                break
            except BufferError:
                p.poll(0.1)
        p.poll(0)
        n += 1
        if rate:
            time.sleep(1.0 / rate)
            if n % 20 == 0:
                p.flush(5)
                print(n, flush=True)
    left = p.flush(30)
    if left:
        sys.exit("%d messages not delivered" % left)
    print(n, flush=True)


if __name__ == "__main__":
    main()
