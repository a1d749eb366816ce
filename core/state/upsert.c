/* upsert.c — the state of an UPSERT Kafka source in the state store, and
 * the rehydration fast path that rebuilds it from the topic.
 *
 * Key: the message key bytes. Value (SG_UPSERT_* flags say which parts a
 * source's columns need, so a source without metadata columns stores the
 * raw value and nothing else):
 *   SG_UPSERT_META     int32 partition, int64 offset, int64 timestamp
 *   SG_UPSERT_HEADERS  uint32 count, then per header: uint32 name length,
 *                      name, int32 value length (-1: null), value
 *   then the raw value bytes, to the end.
 * Integers are in host order: the files are a cache of this process only.
 * source/kafka_envelope.lua writes the same layout on the per-message path;
 * a spec cross-checks both.
 *
 * Rehydration needs no output rows, so the fast path consumes batches of
 * messages and applies key → value here without a crossing into Lua per
 * message, and without decoding: a message that did not decode never got
 * below the committed offsets under the default stall policy (the caller
 * takes the Lua path under the other policies). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <librdkafka/rdkafka.h>
#include "../kafka/kafka.h"
#include "../util/util.h"
#include "../include/sinkgate_ffi.h"

#define BATCH 1024

typedef struct buf {
  char *p;
  size_t len, cap;
} buf;

static int reserve(buf *b, size_t more) {
  if (b->len + more <= b->cap) return 0;
  size_t n = b->cap ? b->cap : 256;
  while (n < b->len + more) n *= 2;
  char *p = realloc(b->p, n);
  if (!p) return -1;
  b->p = p;
  b->cap = n;
  return 0;
}

static int add(buf *b, const void *p, size_t n) {
  if (reserve(b, n)) return -1;
  if (n) memcpy(b->p + b->len, p, n);
  b->len += n;
  return 0;
}

/* The stored value of message m into b (emptied first). */
static int encode(buf *b, const rd_kafka_message_t *m, int flags) {
  b->len = 0;
  if (flags & SG_UPSERT_META) {
    int32_t part = m->partition;
    int64_t off = m->offset, ts = rd_kafka_message_timestamp(m, NULL);
    if (add(b, &part, 4) || add(b, &off, 8) || add(b, &ts, 8)) return -1;
  }
  if (flags & SG_UPSERT_HEADERS) {
    rd_kafka_headers_t *hdrs = NULL;
    uint32_t n = 0;
    if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR && hdrs)
      n = (uint32_t)rd_kafka_header_cnt(hdrs);
    if (add(b, &n, 4)) return -1;
    for (uint32_t i = 0; i < n; i++) {
      const char *name;
      const void *v;
      size_t vlen;
      if (rd_kafka_header_get_all(hdrs, i, &name, &v, &vlen)) return -1;
      uint32_t nlen = (uint32_t)strlen(name);
      int32_t l = v ? (int32_t)vlen : -1;
      if (add(b, &nlen, 4) || add(b, name, nlen) || add(b, &l, 4) || (v && add(b, v, vlen))) return -1;
    }
  }
  return add(b, m->payload, m->len);
}

static int reached(const int64_t *pos, const int64_t *target, int n) {
  for (int p = 0; p < n; p++)
    if (pos[p] < target[p]) return 0;
  return 1;
}

/* One message: EOF moves the position (never past the target), a message
 * in [position, target) is applied. 0, or -1 when the store failed. */
static int apply(sg_state *s, const rd_kafka_message_t *m, int64_t *pos, const int64_t *target, int n, int flags,
                 buf *b, sg_upsert_progress *out, char *err, size_t errlen) {
  int p = m->partition;
  if (p < 0 || p >= n) return 0;
  if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
    if (m->offset > pos[p]) pos[p] = m->offset < target[p] ? m->offset : target[p];
    return 0;
  }
  if (m->err) {
    out->poll_errors++;
    sg_fail(out->poll_error, sizeof out->poll_error, "%s", rd_kafka_message_errstr(m));
    return 0;
  }
  if (m->offset < pos[p] || m->offset >= target[p]) return 0;
  if (!m->key) {
    /* a null key: the source's error state, cleared by a null/null record */
    out->null_key_partition = m->payload ? p : -1;
    out->null_key_offset = m->payload ? m->offset : -1;
  } else if (!m->payload) {
    if (sg_state_del(s, m->key, m->key_len, err, errlen) < 0) return -1;
  } else {
    if (encode(b, m, flags)) return sg_fail(err, errlen, "state: out of memory");
    if (sg_state_put(s, m->key, m->key_len, b->p, b->len, err, errlen)) return -1;
  }
  pos[p] = m->offset + 1;
  out->messages++;
  return 0;
}

int sg_upsert_rehydrate(sg_state *s, sg_consumer *c, int64_t *positions, const int64_t *target, int nparts,
                        int flags, int budget_ms, sg_upsert_progress *out, char *err, size_t errlen) {
  rd_kafka_t *rk = sg_consumer_handle(c);
  rd_kafka_queue_t *q = rd_kafka_queue_get_consumer(rk);
  if (!q) return sg_fail(err, errlen, "rehydrate: no consumer queue");
  rd_kafka_message_t *msgs[BATCH];
  buf b = {0};
  int rc = 0;
  int64_t deadline = (int64_t)sg_sys_mono_ns() + (int64_t)budget_ms * 1000000;
  /* A kept store's checkpoint is the caller's (it holds the tag): back to
   * it when the open transaction grows long, after one batch at least (a
   * caller that never checkpoints still advances: past KEPT_TXN_OPS the
   * store commits without its tag). */
  int first = 1;
  while (!reached(positions, target, nparts) && (int64_t)sg_sys_mono_ns() < deadline &&
         (first || !sg_state_wants_checkpoint(s))) {
    first = 0;
    /* what is there now, without waiting: consume_batch_queue with a
     * timeout waits for a full batch, which stalls a catch-up on every
     * fetch; when nothing is there, wait for the first message only */
    ssize_t got = rd_kafka_consume_batch_queue(q, 0, msgs, BATCH);
    if (got < 0) {
      rc = sg_fail(err, errlen, "rehydrate: %s", rd_kafka_err2str(rd_kafka_last_error()));
      break;
    }
    if (got == 0) {
      msgs[0] = rd_kafka_consumer_poll(rk, 50);
      got = msgs[0] != NULL;
    }
    for (ssize_t i = 0; i < got; i++) {
      if (!rc && apply(s, msgs[i], positions, target, nparts, flags, &b, out, err, errlen)) rc = -1;
      rd_kafka_message_destroy(msgs[i]);
    }
    if (rc) break;
  }
  rd_kafka_queue_destroy(q);
  free(b.p);
  if (!rc && sg_state_flush(s, err, errlen)) rc = -1;
  return rc ? -1 : (reached(positions, target, nparts) ? 1 : 0);
}

/* The UPSERT snapshot from the state (source/upsert_snapshot.lua): one
 * insertion per live key, decoded here without a crossing into Lua per key
 * when the stored values are the raw bytes (flags 0) and both decoders are
 * the C ones. An entry a decoder refuses (an Avro writer schema to fetch, or
 * a real error) is handed back: the row is taken back and *k, *v point at
 * the entry, for the caller's per-entry path. */
int sg_upsert_snapshot_rows(sg_state_iter *it, sg_decoder *kd, int key_first, sg_decoder *vd, int value_first,
                            sg_batch *b, uint64_t t, const void **k, size_t *klen, const void **v, size_t *vlen,
                            int64_t *rows, char *err, size_t errlen) {
  for (;;) {
    int rc = sg_state_iter_next(it, k, klen, v, vlen, err, errlen);
    if (rc <= 0) return rc == 0 ? 1 : -1;
    uint32_t nrows = b->nrows;
    size_t arena = b->arena_len;
    int64_t r = sg_batch_push_row(b, t, 1);
    if (r < 0) {
      if (err && errlen) snprintf(err, errlen, "out of memory filling a batch");
      return -1;
    }
    if ((kd && sg_decode(kd, *k, *klen, b, (uint32_t)r, key_first, err, errlen) != 0) ||
        sg_decode(vd, *v, *vlen, b, (uint32_t)r, value_first, err, errlen) != 0) {
      sg_batch_truncate(b, nrows, arena);
      return 0;
    }
    (*rows)++;
  }
}
