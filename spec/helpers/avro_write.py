"""Independent Avro encoder for the decoder specs: Debian's python3-avro.

Reads a JSON list of {"schema": <writer schema>, "datum": <value>} from
stdin and prints the Avro binary of each datum (hex, one per line, no
Confluent header). Values tagged {"$ts": ISO}, {"$date": ISO}, {"$time": ISO},
{"$dec": "1.25"}, {"$hex": "00ff"} become the Python objects python3-avro's
logical types and bytes expect; "ERR <message>" is printed when the writer
refuses a datum.
"""
import datetime
import decimal
import io
import json
import sys

import avro.io
import avro.schema


def untag(v):
    if isinstance(v, dict):
        if "$ts" in v:
            return datetime.datetime.fromisoformat(v["$ts"].replace("Z", "+00:00"))
        if "$date" in v:
            return datetime.date.fromisoformat(v["$date"])
        if "$time" in v:
            return datetime.time.fromisoformat(v["$time"])
        if "$dec" in v:
            return decimal.Decimal(v["$dec"])
        if "$hex" in v:
            return bytes.fromhex(v["$hex"])
        return {k: untag(x) for k, x in v.items()}
    if isinstance(v, list):
        return [untag(x) for x in v]
    return v


def main():
    for item in json.load(sys.stdin):
        schema = avro.schema.parse(json.dumps(item["schema"]))
        out = io.BytesIO()
        try:
            avro.io.DatumWriter(schema).write(untag(item["datum"]), avro.io.BinaryEncoder(out))
            print(out.getvalue().hex())
        except Exception as e:  # noqa: BLE001 - reported to the spec
            print("ERR", type(e).__name__, str(e).replace("\n", " "))


if __name__ == "__main__":  # produce.py imports untag
    main()
