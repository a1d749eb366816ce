"""Independent Kafka producer for the specs: no sinkgate code on this path.

Run with Debian's /usr/bin/python3 (python3-confluent-kafka, python3-avro,
python3-protobuf, protoc). Reads one JSON job from stdin:

  {"brokers": "...", "registry": "http://...", "topic": "t",
   "key_format": FMT, "value_format": FMT,
   "messages": [{"key": K, "value": V, "headers": {..} | [[n, v], ..],
                 "partition": n}, ...]}

FMT is "text" (a string, sent as UTF-8), "json" (any JSON value, sent as
its text), "bytes" (hex), or an object:
  {"type": "avro", "schema": <Avro schema JSON>[, "subject": s]}
      registers the schema under s (default <topic>-key / <topic>-value)
      and frames each datum by hand: 0x00, the 4-byte big-endian schema id,
      then the Avro binary from python3-avro. Datums may use the tags of
      avro_write.py ({"$ts": ISO}, {"$dec": "1.25"}, {"$hex": "00ff"}, ...).
  {"type": "protobuf", "proto": <.proto text>, "message": "pkg.Msg"
   [, "registry": false][, "subject": s]}
      compiles the .proto with protoc, builds the message from a dict
      (json_format.ParseDict) and serialises it with python3-protobuf. With
      the registry (the default) the .proto text is registered with
      schemaType PROTOBUF and the bytes framed as Confluent does: 0x00, the
      id, then the message-index path (zigzag varints; [0] as one 0 byte).
      "registry": false sends the bare message (an inline descriptor set).
A null key or value is sent as null (a tombstone for values).

Prints one JSON object: {"produced": n, "key_id": id|null, "value_id":
id|null, "positions": [[partition, offset], ...]} in message order.
Exits 1 with a message on stderr on any failure.
"""
import io
import json
import os
import struct
import subprocess
import sys
import tempfile
import urllib.request

import avro.io
import avro.schema
from confluent_kafka import Producer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from avro_write import untag  # noqa: E402 - the helper beside this file


def fail(msg):
    sys.stderr.write("produce.py: %s\n" % msg)
    sys.exit(1)


def register(registry, subject, schema, schema_type=None):
    body = {"schema": schema}
    if schema_type:
        body["schemaType"] = schema_type
    req = urllib.request.Request(
        registry.rstrip("/") + "/subjects/%s/versions" % subject,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/vnd.schemaregistry.v1+json"},
        method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.load(r)["id"]
    except urllib.error.HTTPError as e:
        fail("registering %s: HTTP %d %s" % (subject, e.code, e.read().decode(errors="replace")))


def zigzag_varint(n):
    n = (n << 1) ^ (n >> 63)
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def message_indexes(fdp, full_name):
    """The index path of a message in its file: [i] for the i-th top-level
    message, [i, j] for the j-th message nested in it, ..."""
    prefix = fdp.package + "." if fdp.package else ""
    if not full_name.startswith(prefix):
        fail("message %s is not in package %s" % (full_name, fdp.package))
    parts = full_name[len(prefix):].split(".")
    path, msgs = [], fdp.message_type
    for p in parts:
        names = [m.name for m in msgs]
        if p not in names:
            fail("message %s not found in the .proto" % full_name)
        i = names.index(p)
        path.append(i)
        msgs = msgs[i].nested_type
    return path


class ProtobufFormat:
    def __init__(self, fmt, registry, subject):
        from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "schema.proto"), "w") as f:
                f.write(fmt["proto"])
            fds_path = os.path.join(d, "out.fds")
            r = subprocess.run(["protoc", "--include_imports", "--descriptor_set_out=" + fds_path,
                                "-I" + d, "-I/usr/include", "schema.proto"], capture_output=True, text=True)
            if r.returncode != 0:
                fail("protoc: " + r.stderr.strip())
            fds = descriptor_pb2.FileDescriptorSet()
            with open(fds_path, "rb") as f:
                fds.ParseFromString(f.read())
        pool = descriptor_pool.DescriptorPool()
        for fdp in fds.file:
            pool.Add(fdp)
        desc = pool.FindMessageTypeByName(fmt["message"])
        if hasattr(message_factory, "GetMessageClass"):
            self.cls = message_factory.GetMessageClass(desc)
        else:
            self.cls = message_factory.MessageFactory(pool).GetPrototype(desc)
        self.header = b""
        self.id = None
        if fmt.get("registry", True):
            main = [f for f in fds.file if f.name == "schema.proto"][0]
            self.id = register(registry, subject, fmt["proto"], "PROTOBUF")
            path = message_indexes(main, fmt["message"])
            idx = b"\x00" if path == [0] else zigzag_varint(len(path)) + b"".join(zigzag_varint(i) for i in path)
            self.header = b"\x00" + struct.pack(">I", self.id) + idx

    def encode(self, v):
        from google.protobuf import json_format
        msg = json_format.ParseDict(v, self.cls())
        return self.header + msg.SerializeToString()


class AvroFormat:
    def __init__(self, fmt, registry, subject):
        text = json.dumps(fmt["schema"])
        self.schema = avro.schema.parse(text)
        self.id = register(registry, subject, text)

    def encode(self, v):
        out = io.BytesIO()
        out.write(b"\x00" + struct.pack(">I", self.id))
        avro.io.DatumWriter(self.schema).write(untag(v), avro.io.BinaryEncoder(out))
        return out.getvalue()


class SimpleFormat:
    id = None

    def __init__(self, name):
        if name not in ("text", "json", "bytes"):
            fail("unknown format %r (text, json, bytes, or an avro/protobuf object)" % (name,))
        self.name = name

    def encode(self, v):
        if self.name == "text":
            return v.encode("utf-8")
        if self.name == "json":
            return json.dumps(v, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        return bytes.fromhex(v)


def make_format(fmt, job, which):
    if fmt is None:
        fmt = "text"
    if isinstance(fmt, str):
        return SimpleFormat(fmt)
    subject = fmt.get("subject", "%s-%s" % (job["topic"], which))
    if fmt.get("type") == "avro":
        return AvroFormat(fmt, job.get("registry"), subject)
    if fmt.get("type") == "protobuf":
        return ProtobufFormat(fmt, job.get("registry"), subject)
    fail("unknown format %r" % (fmt,))


def headers_of(h):
    if not h:
        return None
    pairs = sorted(h.items()) if isinstance(h, dict) else h
    return [(n, None if v is None else v.encode("utf-8")) for n, v in pairs]


def main():
    job = json.load(sys.stdin)
    kf = make_format(job.get("key_format"), job, "key")
    vf = make_format(job.get("value_format"), job, "value")
    p = Producer({"bootstrap.servers": job["brokers"], "partitioner": "murmur2_random",
                  "socket.nagle.disable": True, "linger.ms": 5})
    positions = [None] * len(job["messages"])
    errors = []

    def delivered(i):
        def cb(err, msg):
            if err is not None:
                errors.append("message %d: %s" % (i, err))
            else:
                positions[i] = [msg.partition(), msg.offset()]
        return cb

    for i, m in enumerate(job["messages"]):
        kwargs = {"on_delivery": delivered(i)}
        if m.get("key") is not None:
            kwargs["key"] = kf.encode(m["key"])
        if m.get("partition") is not None:
            kwargs["partition"] = m["partition"]
        h = headers_of(m.get("headers"))
        if h:
            kwargs["headers"] = h
        value = None if m.get("value") is None else vf.encode(m["value"])
        p.produce(job["topic"], value, **kwargs)
        p.poll(0)
    left = p.flush(15)
    if left or errors:
        fail("; ".join(errors) or "%d message(s) not delivered within 15 s" % left)
    json.dump({"produced": len(positions), "key_id": kf.id, "value_id": vf.id, "positions": positions}, sys.stdout)


if __name__ == "__main__":
    main()
