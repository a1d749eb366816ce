/* emit.c — paired updates into Kafka messages: key and value per format
 * and envelope, the logical timestamp as the first header, explicit
 * partitions (the key's SeaHash by default), extra headers when given.
 * Parts of plugin formats arrive encoded (SG_FMT_GIVEN); with a capture and
 * no producer the messages are recorded instead of sent (capture.c). */
#include <inttypes.h>
#include <stdio.h>
#include "../util/util.h"
#include "capture.h"

/* The flags of a given part of update i (of the range starting at from). */
static uint8_t given_flags(const sg_msg_parts *g, uint32_t k) {
  return g && g->flags ? g->flags[k] : 0;
}

static int given_part(const sg_msg_parts *g, uint32_t k, sg_buf *out, char *err, size_t errlen) {
  if (!g) return sg_fail(err, errlen, "a plugin format part was not encoded");
  if (given_flags(g, k) & SG_PART_NULL) return 0;
  return sg_buf_append(out, g->data[k], g->lens[k]);
}

static int encode_part(int fmt, int32_t schema_id, const sg_batch *b, uint32_t r, const int *cols, int n,
                       sg_buf *out, char *err, size_t errlen) {
  if (fmt == SG_FMT_JSON) return sg_encode_json_row(b, r, cols, n, out, err, errlen);
  if (fmt == SG_FMT_AVRO) return sg_encode_avro_row(b, r, cols, n, schema_id, out, err, errlen);
  if (fmt == SG_FMT_TEXT || fmt == SG_FMT_BYTES) return sg_encode_raw_col(b, r, cols[0], out, err, errlen);
  if (fmt == SG_FMT_GIVEN) return sg_fail(err, errlen, "a plugin format is encoded in Lua, not here");
  return sg_fail(err, errlen, "unknown format %d", fmt);
}

/* The row a message's key (and UPSERT value) comes from: the new row, or
 * the old one for a deletion. */
static uint32_t key_row(const sg_update *up) {
  return (uint32_t)(up->after >= 0 ? up->after : up->before);
}

static int encode_key(const sg_emit_spec *s, const sg_batch *b, const sg_update *up, sg_buf *key, char *err,
                      size_t errlen) {
  return encode_part(s->key_format, s->key_schema_id, b, key_row(up), s->key_cols, s->nkey, key, err, errlen);
}

static int32_t partition_of(const sg_emit_spec *s, const sg_buf *key) {
  if (!s->key_format) return 0;
  size_t skip = s->key_format == SG_FMT_AVRO ? 5 : 0; /* hash without the wire header */
  return (int32_t)(sg_hash_seahash(key->data + skip, key->len - skip) % (uint64_t)s->partitions);
}

int32_t sg_default_partition(const sg_emit_spec *s, const sg_batch *b, const sg_update *up, char *err,
                             size_t errlen) {
  if (!s->key_format) return 0;
  sg_buf key = {0};
  int32_t p = encode_key(s, b, up, &key, err, errlen) == 0 ? partition_of(s, &key) : -1;
  sg_buf_free(&key);
  return p;
}

static int encode_json_side(sg_buf *out, const sg_batch *b, int32_t row, const int *all, char *err,
                            size_t errlen) {
  if (row < 0) return SG_BUF_LIT(out, "null");
  return sg_encode_json_row(b, (uint32_t)row, all, b->ncols, out, err, errlen);
}

static int encode_value(const sg_emit_spec *s, const sg_batch *b, const sg_update *up, const int *all,
                        sg_buf *out, int *is_null, char *err, size_t errlen) {
  *is_null = 0;
  if (s->envelope == SG_ENV_UPSERT) {
    if (up->after < 0) return (*is_null = 1), 0; /* tombstone */
    return encode_part(s->value_format, s->value_schema_id, b, (uint32_t)up->after, all, b->ncols, out, err,
                       errlen);
  }
  if (s->value_format == SG_FMT_AVRO)
    return sg_encode_avro_debezium(b, up->before, up->after, s->value_schema_id, out, err, errlen);
  if (s->value_format != SG_FMT_JSON)
    return sg_fail(err, errlen, "the DEBEZIUM envelope needs a JSON or Avro value format");
  if (SG_BUF_LIT(out, "{\"before\":") != 0 || encode_json_side(out, b, up->before, all, err, errlen) != 0 ||
      SG_BUF_LIT(out, ",\"after\":") != 0 || encode_json_side(out, b, up->after, all, err, errlen) != 0)
    return -1;
  return SG_BUF_LIT(out, "}");
}

#define MAX_HEADERS 64

int64_t sg_emit_updates(const sg_emit_spec *s, const sg_batch *b, const sg_updates *u, uint32_t from,
                        uint32_t to, const int32_t *partitions, const sg_msg_headers *h, char *err,
                        size_t errlen) {
  sg_buf key = {0}, val = {0};
  int all[b->ncols > 0 ? b->ncols : 1];
  for (int i = 0; i < b->ncols; i++) all[i] = i;
  const char *names[MAX_HEADERS + 1];
  const void *vals[MAX_HEADERS + 1];
  size_t lens[MAX_HEADERS + 1];
  names[0] = s->ts_header;
  int64_t sent = 0;
  if (err && errlen) err[0] = 0;
  for (uint32_t i = from; i < to && i < u->n; i++) {
    const sg_update *up = &u->items[i];
    uint32_t k = i - from;
    key.len = val.len = 0;
    if ((given_flags(s->given_value, k) | given_flags(s->given_key, k)) & SG_PART_SKIP) continue;
    if (s->key_format == SG_FMT_GIVEN) {
      if (given_part(s->given_key, k, &key, err, errlen) != 0) goto fail;
    } else if (s->key_format && encode_key(s, b, up, &key, err, errlen) != 0) {
      goto fail;
    }
    int32_t part = partitions ? partitions[k] : partition_of(s, &key);
    int is_null = 0;
    if (s->value_format == SG_FMT_GIVEN) {
      is_null = (given_flags(s->given_value, k) & SG_PART_NULL) != 0;
      if (given_part(s->given_value, k, &val, err, errlen) != 0) goto fail;
    } else if (encode_value(s, b, up, all, &val, &is_null, err, errlen) != 0) {
      goto fail;
    }
    char ts[24], *end = ts + sizeof ts, *p = end;
    uint64_t t = up->time;
    do { /* decimal of the logical timestamp, without printf on the hot path */
      *--p = (char)('0' + t % 10);
      t /= 10;
    } while (t);
    int nh = 1;
    vals[0] = p;
    lens[0] = (size_t)(end - p);
    if (h) {
      for (uint32_t j = h->first[i - from]; j < h->first[i - from + 1] && nh <= MAX_HEADERS; j++, nh++) {
        names[nh] = h->names[j];
        vals[nh] = h->values[j];
        lens[nh] = h->lens[j];
      }
    }
    if (!s->producer && s->capture) {
      if (sg_capture_message(s->capture, up->time, part, s->key_format ? key.data : NULL, key.len, val.data,
                             val.len, is_null, names, vals, lens, nh) != 0)
        goto fail;
    } else if (sg_producer_send(s->producer, s->topic, part, s->key_format ? key.data : NULL, key.len, val.data,
                                val.len, is_null, names, vals, lens, nh, err, errlen) != 0) {
      goto fail;
    }
    sent++;
  }
  sg_buf_free(&key);
  sg_buf_free(&val);
  return sent;
fail:
  if (err && errlen && !err[0]) sg_fail(err, errlen, "out of memory");
  sg_buf_free(&key);
  sg_buf_free(&val);
  return -1;
}
