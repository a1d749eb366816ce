/* avro_generic.c — rows encoded through avro-c's generic value API from the
 * registered schema text. Slow (~100+ ns per value) but written against the
 * library's own reading of the schema: the reference that checks the
 * hand-written encoder byte for byte, and the baseline `make bench` reports. */
#include <avro.h>
#include <stdlib.h>
#include <string.h>
#include "../row/value.h"
#include "../util/util.h"
#include "encode.h"

struct sg_avro_generic {
  avro_schema_t schema;
  avro_value_iface_t *iface;
  avro_value_t value;
};

sg_avro_generic *sg_avro_generic_new(const char *json, size_t len, char *err, size_t errlen) {
  sg_avro_generic *g = calloc(1, sizeof *g);
  if (!g) return sg_fail(err, errlen, "out of memory"), NULL;
  if (avro_schema_from_json_length(json, len, &g->schema) != 0) {
    sg_fail(err, errlen, "invalid Avro schema: %s", avro_strerror());
    free(g);
    return NULL;
  }
  g->iface = avro_generic_class_from_schema(g->schema);
  if (!g->iface || avro_generic_value_new(g->iface, &g->value) != 0) {
    sg_fail(err, errlen, "avro: %s", avro_strerror());
    sg_avro_generic_free(g);
    return NULL;
  }
  return g;
}

void sg_avro_generic_free(sg_avro_generic *g) {
  if (!g) return;
  if (g->iface) {
    avro_value_decref(&g->value);
    avro_value_iface_decref(g->iface);
  }
  avro_schema_decref(g->schema);
  free(g);
}

/* NUL-terminated copy for avro-c's string calls. */
static int set_string(avro_value_t *dst, const void *p, size_t n) {
  char *tmp = malloc(n + 1);
  if (!tmp) return -1;
  memcpy(tmp, p, n);
  tmp[n] = 0;
  int rc = avro_value_set_string_len(dst, tmp, n + 1);
  free(tmp);
  return rc;
}

static int set_be(avro_value_t *dst, uint64_t v, int size) {
  unsigned char b[8];
  for (int i = 0; i < size; i++) b[i] = (unsigned char)(v >> (8 * (size - 1 - i)));
  return avro_value_set_fixed(dst, b, (size_t)size);
}

static int set_value(avro_value_t *dst, const sg_typeinfo *t, const sg_val *v, char *err, size_t errlen);

static int set_nullable(avro_value_t *dst, const sg_typeinfo *t, sg_cursor *c, char *err, size_t errlen) {
  sg_val v;
  avro_value_t branch;
  int rc = sg_packed_next(c, t, &v);
  if (rc < 0) return sg_fail(err, errlen, "malformed nested value");
  if (avro_value_set_branch(dst, rc == 1 ? 0 : 1, &branch) != 0) return sg_fail(err, errlen, "avro: %s", avro_strerror());
  if (rc == 1) return avro_value_set_null(&branch);
  return set_value(&branch, t, &v, err, errlen);
}

static int set_nested(avro_value_t *dst, const sg_typeinfo *t, const sg_val *v, char *err, size_t errlen) {
  sg_cursor c = {v->p, v->p + v->len};
  avro_value_t child;
  if (t->type == SG_T_RECORD) {
    for (int i = 0; i < t->nfields; i++) {
      if (avro_value_get_by_index(dst, (size_t)i, &child, NULL) != 0) return sg_fail(err, errlen, "avro: %s", avro_strerror());
      if (t->field_nullable[i]) {
        if (set_nullable(&child, t->field_types[i], &c, err, errlen) != 0) return -1;
      } else {
        sg_val fv;
        if (sg_packed_next(&c, t->field_types[i], &fv) != 0) return sg_fail(err, errlen, "bad record field");
        if (set_value(&child, t->field_types[i], &fv, err, errlen) != 0) return -1;
      }
    }
    return 0;
  }
  uint32_t n;
  if (sg_cur_u32(&c, &n) != 0) return sg_fail(err, errlen, "malformed nested value");
  for (uint32_t i = 0; i < n; i++) {
    int rc;
    if (t->type == SG_T_MAP) {
      uint32_t klen;
      if (sg_cur_u32(&c, &klen) != 0 || (uint32_t)(c.end - c.p) < klen) return sg_fail(err, errlen, "malformed map");
      char *key = strndup((const char *)c.p, klen);
      c.p += klen;
      rc = key ? avro_value_add(dst, key, &child, NULL, NULL) : -1;
      free(key);
    } else {
      rc = avro_value_append(dst, &child, NULL);
    }
    if (rc != 0) return sg_fail(err, errlen, "avro: %s", avro_strerror());
    if (set_nullable(&child, t->elem, &c, err, errlen) != 0) return -1;
  }
  return 0;
}

static int set_value(avro_value_t *dst, const sg_typeinfo *t, const sg_val *v, char *err, size_t errlen) {
  switch (t->type) {
    case SG_T_BOOL: return avro_value_set_boolean(dst, v->d.i != 0);
    case SG_T_INT2: case SG_T_INT4: case SG_T_DATE: return avro_value_set_int(dst, (int32_t)v->d.i);
    case SG_T_INT8: case SG_T_TIME: return avro_value_set_long(dst, v->d.i);
    case SG_T_TIMESTAMP: case SG_T_TIMESTAMPTZ: return avro_value_set_long(dst, sg_avro_timestamp(t, v->d.i));
    case SG_T_UINT2: return set_be(dst, v->d.u, 2);
    case SG_T_UINT4: case SG_T_OID: return set_be(dst, v->d.u, 4);
    case SG_T_UINT8: return set_be(dst, v->d.u, 8);
    case SG_T_FLOAT4: return avro_value_set_float(dst, (float)v->d.f);
    case SG_T_FLOAT8: return avro_value_set_double(dst, v->d.f);
    case SG_T_TEXT: case SG_T_JSONB: return set_string(dst, v->p, v->len);
    case SG_T_BYTEA: return avro_value_set_bytes(dst, (void *)v->p, v->len);
    case SG_T_UUID: {
      char u[36];
      sg_uuid_text(v->p, u);
      return set_string(dst, u, 36);
    }
    case SG_T_INTERVAL: return avro_value_set_fixed(dst, (void *)v->p, 16);
    case SG_T_NUMERIC: {
      unsigned char mag[33];
      int scale, width = sg_avro_numeric_width(t, &scale);
      if (sg_decimal_twos((const char *)v->p, v->len, scale, mag, width, err, errlen) != 0) return -1;
      return avro_value_set_bytes(dst, mag, (size_t)width);
    }
    default: return set_nested(dst, t, v, err, errlen);
  }
}

int sg_avro_generic_encode(sg_avro_generic *g, const sg_batch *b, uint32_t row, const int *cols, int ncols,
                           sg_buf *out, char *err, size_t errlen) {
  if (err && errlen) err[0] = 0;
  avro_value_reset(&g->value);
  for (int k = 0; k < ncols; k++) {
    const sg_column *c = &b->schema->cols[cols[k]];
    avro_value_t field, target;
    if (avro_value_get_by_index(&g->value, (size_t)k, &field, NULL) != 0)
      return sg_fail(err, errlen, "avro: schema has no field %d", k);
    sg_val v;
    int isnull = sg_row_val(b, row, cols[k], &v);
    target = field;
    if (c->nullable && avro_value_set_branch(&field, isnull ? 0 : 1, &target) != 0)
      return sg_fail(err, errlen, "avro: %s", avro_strerror());
    int rc = isnull ? avro_value_set_null(&target) : set_value(&target, c->ti, &v, err, errlen);
    if (rc != 0) return (err && err[0]) ? -1 : sg_fail(err, errlen, "avro: %s", avro_strerror());
  }
  size_t size;
  if (avro_value_sizeof(&g->value, &size) != 0) return sg_fail(err, errlen, "avro: %s", avro_strerror());
  if (sg_buf_reserve(out, size) != 0) return sg_fail(err, errlen, "out of memory");
  avro_writer_t w = avro_writer_memory(out->data + out->len, (int64_t)size);
  int rc = avro_value_write(w, &g->value);
  avro_writer_free(w);
  if (rc != 0) return sg_fail(err, errlen, "avro write: %s", avro_strerror());
  out->len += size;
  return 0;
}
