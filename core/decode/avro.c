/* avro.c — Avro values (Confluent framing: 0x00, big-endian schema id,
 * Avro binary) into cells. Each writer schema is resolved against the
 * reader schema with avro-c's resolver (the reference for schema
 * evolution: removed fields are skipped, int → long → float → double
 * promote, unions match by type; added top-level fields take their
 * defaults through the suffix lua/sinkgate/decode/avro_defaults.lua
 * builds), read into a generic value of the reader schema, then converted
 * into the batch's column types by avro_conv.c (lua/sinkgate/decode/avro.lua
 * derives them from the reader schema: records → columns, [null, T] →
 * nullable T, logical types carried in the column type, e.g. timestamp(3)
 * for timestamp-millis).
 * Writer schemas are fetched by the Lua side: an unknown id returns
 * SG_DEC_NEED_SCHEMA and sg_decoder_avro_missing_id names it. */
#include <avro.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../row/value.h"
#include "../util/util.h"
#include "avro_dec.h"
#include "decode.h"

#define MAX_WRITERS 4096

typedef struct writer {
  int32_t id;
  avro_schema_t schema;
  avro_value_iface_t *iface;   /* resolved writer, NULL when resolution failed */
  avro_value_t value;
  char *error;                 /* why resolution failed */
  uint8_t *suffix;             /* reader defaults appended to each message */
  size_t suffix_len;
  int has_map;                 /* the writer schema holds a map (see renew_value) */
  int direct;                  /* writer == reader: read straight into the reader value */
  uint64_t reads;
} writer;

/* Column c of the relation comes from reader field `field`, or from one
 * branch of a field that is a union of several non-null types (expanded
 * into one nullable column per branch, the others NULL). */
typedef struct colmap {
  int field;    /* -1: the whole (non-record) value */
  int branch;   /* -1: not an expanded union */
} colmap;

typedef struct avro_state {
  avro_schema_t reader;
  avro_value_iface_t *reader_iface;
  avro_value_t rvalue;
  avro_reader_t mem;
  int confluent;
  writer *writers;
  int nwriters;
  int32_t missing;
  colmap *cols;
  int ncols;
  sg_buf scratch;    /* packed nested values, decimal text */
  sg_buf msg;        /* a message with its writer's suffix */
} avro_state;

static void free_avro(void *p) {
  avro_state *st = p;
  if (!st) return;
  for (int i = 0; i < st->nwriters; i++) {
    writer *w = &st->writers[i];
    if (w->iface) {
      avro_value_decref(&w->value);
      avro_value_iface_decref(w->iface);
    }
    avro_schema_decref(w->schema);
    free(w->error);
    free(w->suffix);
  }
  free(st->writers);
  if (st->reader_iface) {
    avro_value_decref(&st->rvalue);
    avro_value_iface_decref(st->reader_iface);
  }
  if (st->mem) avro_reader_free(st->mem);
  avro_schema_decref(st->reader);
  free(st->cols);
  sg_buf_free(&st->scratch);
  sg_buf_free(&st->msg);
  free(st);
}

static int decode_avro(sg_decoder *d, const uint8_t *buf, size_t len, sg_batch *b, uint32_t row, int first_col,
                       char *err, size_t errlen);

static avro_schema_t deref(avro_schema_t s) {
  while (s && is_avro_link(s)) s = avro_schema_link_target(s);
  return s;
}

/* Non-null branches of a union, and whether it has a null one. */
static int union_shape(avro_schema_t u, int *has_null) {
  int n = 0;
  *has_null = 0;
  for (size_t i = 0; i < avro_schema_union_size(u); i++) {
    if (avro_typeof(deref(avro_schema_union_branch(u, (int)i))) == AVRO_NULL) *has_null = 1;
    else n++;
  }
  return n;
}

static int plan_columns(avro_state *st, char *err, size_t errlen) {
  avro_schema_t r = deref(st->reader);
  size_t nf = avro_typeof(r) == AVRO_RECORD ? avro_schema_record_size(r) : 0;
  size_t cap = nf + 1;
  for (size_t i = 0; i < nf; i++) {
    avro_schema_t f = deref(avro_schema_record_field_get_by_index(r, (int)i));
    if (avro_typeof(f) == AVRO_UNION) cap += avro_schema_union_size(f);
  }
  st->cols = calloc(cap, sizeof *st->cols);
  if (!st->cols) return sg_fail(err, errlen, "out of memory");
  if (avro_typeof(r) != AVRO_RECORD) {
    st->cols[0] = (colmap){-1, -1};
    st->ncols = 1;
    return 0;
  }
  for (size_t i = 0; i < nf; i++) {
    avro_schema_t f = deref(avro_schema_record_field_get_by_index(r, (int)i));
    int has_null, nn = avro_typeof(f) == AVRO_UNION ? union_shape(f, &has_null) : 1;
    if (nn <= 1) {
      st->cols[st->ncols++] = (colmap){(int)i, -1};
      continue;
    }
    for (size_t b = 0; b < avro_schema_union_size(f); b++)
      if (avro_typeof(deref(avro_schema_union_branch(f, (int)b))) != AVRO_NULL)
        st->cols[st->ncols++] = (colmap){(int)i, (int)b};
  }
  if (st->ncols == 0) return sg_fail(err, errlen, "the Avro reader schema is a record without fields");
  return 0;
}

sg_decoder *sg_decoder_avro_new(const char *json, size_t len, int confluent, char *err, size_t errlen) {
  avro_state *st = calloc(1, sizeof *st);
  if (!st) return sg_fail(err, errlen, "out of memory"), NULL;
  st->confluent = confluent;
  st->missing = -1;
  if (avro_schema_from_json_length(json, len, &st->reader) != 0) {
    sg_fail(err, errlen, "invalid Avro reader schema: %s", avro_strerror());
    free_avro(st);
    return NULL;
  }
  st->reader_iface = avro_generic_class_from_schema(st->reader);
  st->mem = avro_reader_memory("", 0);
  if (!st->reader_iface || avro_generic_value_new(st->reader_iface, &st->rvalue) != 0 || !st->mem) {
    if (st->reader_iface && !st->rvalue.self) avro_value_iface_decref(st->reader_iface), st->reader_iface = NULL;
    sg_fail(err, errlen, "avro: %s", avro_strerror());
    free_avro(st);
    return NULL;
  }
  if (plan_columns(st, err, errlen) != 0) {
    free_avro(st);
    return NULL;
  }
  sg_decoder *d = sg_decoder_make("avro", st->ncols, decode_avro, free_avro, st, err, errlen);
  if (!d) return NULL;
  if (!confluent && sg_decoder_avro_add_writer(d, 0, json, len, NULL, 0, err, errlen) != 0) {
    sg_decoder_free(d);
    return NULL;
  }
  return d;
}

/* avro-c 1.11's resolved map writer never clears its array of per-entry
 * child wrappers on reset (its array writer does): every message adds one
 * per map entry, and each reset walks them all, so memory and time grow
 * with the messages read (found by the fuzzer's leak check). A writer
 * whose schema has a map gets a fresh resolved value every few messages,
 * which bounds both. */
#define MAP_RENEW_EVERY 32

static int has_map(avro_schema_t s, int depth) {
  s = deref(s);
  if (!s || depth > 64) return 0;
  switch (avro_typeof(s)) {
    case AVRO_MAP: return 1;
    case AVRO_ARRAY: return has_map(avro_schema_array_items(s), depth + 1);
    case AVRO_UNION:
      for (size_t i = 0; i < avro_schema_union_size(s); i++)
        if (has_map(avro_schema_union_branch(s, (int)i), depth + 1)) return 1;
      return 0;
    case AVRO_RECORD:
      for (size_t i = 0; i < avro_schema_record_size(s); i++)
        if (has_map(avro_schema_record_field_get_by_index(s, (int)i), depth + 1)) return 1;
      return 0;
    default: return 0;
  }
}

static int renew_value(writer *w, char *err, size_t errlen) {
  avro_value_decref(&w->value);
  if (avro_resolved_writer_new_value(w->iface, &w->value) != 0) {
    avro_value_iface_decref(w->iface);
    w->iface = NULL;
    free(w->error);
    w->error = strdup("avro: cannot allocate a resolved value");
    return sg_fail(err, errlen, "avro: %s", avro_strerror());
  }
  return 0;
}

static writer *find_writer(avro_state *st, int32_t id) {
  for (int i = 0; i < st->nwriters; i++)
    if (st->writers[i].id == id) return &st->writers[i];
  return NULL;
}

int sg_decoder_avro_add_writer(sg_decoder *d, int32_t id, const char *json, size_t len, const uint8_t *suffix,
                               size_t suffix_len, char *err, size_t errlen) {
  if (!d || !d->format || strcmp(d->format, "avro") != 0) return sg_fail(err, errlen, "not an Avro decoder");
  avro_state *st = d->state;
  if (find_writer(st, id)) return 0;
  if (st->nwriters == MAX_WRITERS) return sg_fail(err, errlen, "more than %d writer schemas", MAX_WRITERS);
  writer w = {id, NULL, NULL, {0}, NULL, NULL, 0, 0, 0, 0};
  if (suffix_len) {
    w.suffix = malloc(suffix_len);
    if (!w.suffix) return sg_fail(err, errlen, "out of memory");
    memcpy(w.suffix, suffix, suffix_len);
    w.suffix_len = suffix_len;
  }
  if (avro_schema_from_json_length(json, len, &w.schema) != 0) {
    free(w.suffix);
    return sg_fail(err, errlen, "writer schema %d is not valid Avro: %s", id, avro_strerror());
  }
  w.iface = avro_resolved_writer_new(w.schema, st->reader);
  if (!w.iface || avro_resolved_writer_new_value(w.iface, &w.value) != 0) {
    char msg[400];
    snprintf(msg, sizeof msg, "writer schema %d cannot be read with the reader schema: %s", id, avro_strerror());
    if (w.iface) avro_value_iface_decref(w.iface);
    w.iface = NULL;
    w.error = strdup(msg);
  } else {
    avro_resolved_writer_set_dest(&w.value, &st->rvalue);
    w.has_map = has_map(w.schema, 0);
    /* the common case, a message written with the reader schema itself,
     * skips avro-c's resolver (several times slower than a plain read) */
    w.direct = suffix_len == 0 && avro_schema_equal(w.schema, st->reader);
  }
  writer *ws = realloc(st->writers, (size_t)(st->nwriters + 1) * sizeof *ws);
  if (!ws) {
    if (w.iface) avro_value_decref(&w.value), avro_value_iface_decref(w.iface);
    avro_schema_decref(w.schema);
    free(w.error);
    free(w.suffix);
    return sg_fail(err, errlen, "out of memory");
  }
  st->writers = ws;
  ws[st->nwriters++] = w;
  return 0;
}

int32_t sg_decoder_avro_missing_id(const sg_decoder *d) {
  if (!d || !d->format || strcmp(d->format, "avro") != 0) return -1;
  return ((const avro_state *)d->state)->missing;
}

static int decode_avro(sg_decoder *d, const uint8_t *buf, size_t len, sg_batch *b, uint32_t row, int first_col,
                       char *err, size_t errlen) {
  avro_state *st = d->state;
  int32_t id = 0;
  if (st->confluent) {
    if (len < 5) return sg_fail(err, errlen, "Avro message of %zu bytes is shorter than the 5-byte header", len);
    if (buf[0] != 0) return sg_fail(err, errlen, "Avro message starts with 0x%02x, not the magic byte 0", buf[0]);
    id = (int32_t)((uint32_t)buf[1] << 24 | (uint32_t)buf[2] << 16 | (uint32_t)buf[3] << 8 | buf[4]);
    buf += 5, len -= 5;
  }
  writer *w = find_writer(st, id);
  if (!w) {
    st->missing = id;
    sg_fail(err, errlen, "writer schema %d is not known yet", id);
    return SG_DEC_NEED_SCHEMA;
  }
  if (!w->iface) return sg_fail(err, errlen, "%s", w->error);
  size_t used, orig = len;
  char msg[256];
  if (w->suffix_len) {
    st->msg.len = 0;
    if (sg_dec_append(&st->msg, buf, len) != 0 || sg_dec_append(&st->msg, w->suffix, w->suffix_len) != 0)
      return sg_fail(err, errlen, "out of memory");
    buf = (const uint8_t *)st->msg.data;
    len = st->msg.len;
  }
  if (sg_avro_check(w->schema, buf, len, &used, msg, sizeof msg) != 0)
    return sg_fail(err, errlen, "%s (after the %d-byte header)", msg, st->confluent ? 5 : 0);
  if (used != len)
    return sg_fail(err, errlen, "%zu bytes left after the Avro value (at byte %zu)", len - used,
                   used - (len - orig) + (st->confluent ? 5 : 0));
  avro_value_reset(&st->rvalue);
  avro_reader_memory_set_source(st->mem, (const char *)buf, (int64_t)len);
  if (w->direct) {
    if (avro_value_read(st->mem, &st->rvalue) != 0) return sg_fail(err, errlen, "Avro: %s", avro_strerror());
  } else {
    if (w->has_map && ++w->reads % MAP_RENEW_EVERY == 0 && renew_value(w, err, errlen) != 0) return SG_DEC_ERROR;
    avro_resolved_writer_set_dest(&w->value, &st->rvalue);
    if (avro_value_read(st->mem, &w->value) != 0) return sg_fail(err, errlen, "Avro: %s", avro_strerror());
  }
  sg_avro_conv c = {NULL, &st->scratch, err, errlen};
  avro_value_t root = st->rvalue;
  for (int i = 0; i < st->ncols; i++) {
    colmap m = st->cols[i];
    avro_value_t v = root;
    const char *name = "(value)";
    if (m.field >= 0 && avro_value_get_by_index(&root, (size_t)m.field, &v, &name) != 0)
      return sg_fail(err, errlen, "Avro: reader field %d missing", m.field);
    c.field = name;
    if (m.branch >= 0) {
      int disc = -1;
      avro_value_get_discriminant(&v, &disc);
      if (disc != m.branch) continue; /* another branch's column: stays NULL */
      avro_value_t br;
      if (avro_value_get_current_branch(&v, &br) != 0) continue;
      v = br;
    }
    if (sg_avro_put_cell(&c, &v, b, row, first_col + i) != 0) return SG_DEC_ERROR;
  }
  return SG_DEC_OK;
}
