/* emit.c — encode and produce one batch: key, value per envelope,
 * SeaHash partitioning of the encoded key, the timestamp header first.
 * (The full engine — consolidation, pairing, transactions — builds on this.) */
#include <inttypes.h>
#include <stdio.h>
#include "../util/util.h"

static int encode_part(int fmt, int32_t schema_id, const sg_batch *b, uint32_t r, const int *cols, int n,
                       sg_buf *out, char *err, size_t errlen) {
  if (fmt == SG_FMT_JSON) return sg_encode_json_row(b, r, cols, n, out, err, errlen);
  if (fmt == SG_FMT_AVRO) return sg_encode_avro_row(b, r, cols, n, schema_id, out, err, errlen);
  if (fmt == SG_FMT_TEXT || fmt == SG_FMT_BYTES) return sg_encode_raw_col(b, r, cols[0], out, err, errlen);
  return sg_fail(err, errlen, "format %d is not supported by this emitter", fmt);
}

static int encode_value(const sg_emit_spec *s, const sg_batch *b, uint32_t r, const int *all,
                        sg_buf *out, int *is_null, char *err, size_t errlen) {
  int insert = b->diffs[r] > 0;
  *is_null = 0;
  if (s->envelope == SG_ENV_UPSERT) {
    if (!insert) return (*is_null = 1), 0;
    return encode_part(s->value_format, s->value_schema_id, b, r, all, b->ncols, out, err, errlen);
  }
  if (s->value_format == SG_FMT_AVRO)
    return sg_encode_avro_debezium(b, r, insert, s->value_schema_id, out, err, errlen);
  if (s->value_format != SG_FMT_JSON)
    return sg_fail(err, errlen, "the DEBEZIUM envelope needs a JSON or Avro value format");
  int rc = insert ? SG_BUF_LIT(out, "{\"before\":null,\"after\":") : SG_BUF_LIT(out, "{\"before\":");
  if (rc != 0 || encode_part(SG_FMT_JSON, -1, b, r, all, b->ncols, out, err, errlen) != 0) return -1;
  return insert ? SG_BUF_LIT(out, "}") : SG_BUF_LIT(out, ",\"after\":null}");
}

int64_t sg_emit_batch(const sg_emit_spec *s, const sg_batch *b, char *err, size_t errlen) {
  sg_buf key = {0}, val = {0};
  int all[b->ncols > 0 ? b->ncols : 1];
  for (int i = 0; i < b->ncols; i++) all[i] = i;
  const char *hname[1] = {s->ts_header};
  int64_t sent = 0;
  for (uint32_t r = 0; r < b->nrows; r++) {
    key.len = val.len = 0;
    int32_t part = 0;
    if (s->key_format) {
      if (encode_part(s->key_format, s->key_schema_id, b, r, s->key_cols, s->nkey, &key, err, errlen) != 0)
        goto fail;
      /* Avro keys hash without their 5-byte wire header, so the partition
       * does not depend on the schema id. */
      size_t skip = s->key_format == SG_FMT_AVRO ? 5 : 0;
      part = (int32_t)(sg_hash_seahash(key.data + skip, key.len - skip) % (uint64_t)s->partitions);
    }
    int is_null;
    if (encode_value(s, b, r, all, &val, &is_null, err, errlen) != 0) goto fail;
    char ts[24];
    int tn = snprintf(ts, sizeof ts, "%" PRIu64, b->times[r]);
    const void *hval[1] = {ts};
    size_t hlen[1] = {(size_t)tn};
    if (sg_producer_send(s->producer, s->topic, part, s->key_format ? key.data : NULL, key.len,
                         val.data, val.len, is_null, hname, hval, hlen, 1, err, errlen) != 0)
      goto fail;
    sent++;
  }
  sg_buf_free(&key);
  sg_buf_free(&val);
  return sent;
fail:
  sg_buf_free(&key);
  sg_buf_free(&val);
  return -1;
}
