/* avro.c — the hand-written Avro binary encoder (Confluent wire format).
 *
 * It walks the column type trees with the same rules that generate the
 * schemas (lua/sinkgate/avro/schema.lua): nullable columns and record
 * fields are ["null", T] unions, list/array items and map values are always
 * nullable, timestamps are millis when precision <= 3 else micros, numeric
 * is a fixed-width two's-complement decimal, uints are big-endian fixed,
 * interval is fixed(16). spec/01-unit/avro_encoder_spec.lua checks it byte
 * for byte against avro-c's generic API (avro_generic.c) on random rows. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../row/value.h"
#include "../util/util.h"
#include "encode.h"

static int put_long(sg_buf *out, int64_t v) {
  uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
  unsigned char tmp[10];
  size_t n = 0;
  while (z >= 0x80) {
    tmp[n++] = (unsigned char)(z | 0x80);
    z >>= 7;
  }
  tmp[n++] = (unsigned char)z;
  return sg_buf_append(out, tmp, n);
}

static int put_bytes(sg_buf *out, const void *p, size_t n) {
  if (put_long(out, (int64_t)n) != 0) return -1;
  return sg_buf_append(out, p, n);
}

static int put_be(sg_buf *out, uint64_t v, int size) {
  unsigned char tmp[8];
  for (int i = 0; i < size; i++) tmp[i] = (unsigned char)(v >> (8 * (size - 1 - i)));
  return sg_buf_append(out, tmp, (size_t)size);
}

/* Decimal text → two's-complement big-endian unscaled integer of `width`
 * bytes at `scale`. Accepts [+-]digits[.digits][e[+-]digits]. */
int sg_decimal_twos(const char *s, size_t n, int scale, unsigned char *mag, int width, char *err,
                    size_t errlen) {
  size_t i = 0;
  int neg = 0, frac = 0, seen_dot = 0, digits = 0;
  long exp = 0;
  memset(mag, 0, (size_t)width);
  if (i < n && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
  char buf[128];
  size_t nd = 0;
  for (; i < n; i++) {
    char c = s[i];
    if (c >= '0' && c <= '9') {
      if (nd == sizeof buf) return sg_fail(err, errlen, "numeric value \"%.*s\" has too many digits", (int)n, s);
      buf[nd++] = c;
      if (seen_dot) frac++;
      digits++;
    } else if (c == '.' && !seen_dot) {
      seen_dot = 1;
    } else if ((c == 'e' || c == 'E') && digits) {
      char *end;
      char tmp[24];
      size_t k = n - i - 1 < sizeof tmp - 1 ? n - i - 1 : sizeof tmp - 1;
      memcpy(tmp, s + i + 1, k);
      tmp[k] = 0;
      exp = strtol(tmp, &end, 10);
      if (*end || k == 0) return sg_fail(err, errlen, "numeric value \"%.*s\" is malformed", (int)n, s);
      break;
    } else {
      return sg_fail(err, errlen, "numeric value \"%.*s\" is not a finite decimal", (int)n, s);
    }
  }
  if (!digits) return sg_fail(err, errlen, "numeric value \"%.*s\" is malformed", (int)n, s);
  long shift = (long)scale - (long)frac + exp; /* zeros to append (or digits to drop if < 0) */
  if (shift < 0) {
    for (long k = 0; k < -shift; k++)
      if (nd == 0 || buf[--nd] != '0')
        return sg_fail(err, errlen, "numeric value \"%.*s\" has more than %d fractional digits", (int)n, s, scale);
    shift = 0;
  }
  for (size_t k = 0; k < nd + (size_t)shift; k++) {
    unsigned carry = k < nd ? (unsigned)(buf[k] - '0') : 0;
    for (int j = width - 1; j >= 0; j--) {
      unsigned v = mag[j] * 10u + carry;
      mag[j] = (unsigned char)v;
      carry = v >> 8;
    }
    if (carry || (mag[0] & 0x80))
      return sg_fail(err, errlen, "numeric value \"%.*s\" does not fit the Avro decimal", (int)n, s);
  }
  if (neg) { /* two's complement: invert and add one */
    unsigned carry = 1;
    for (int j = width - 1; j >= 0; j--) {
      unsigned v = (unsigned char)~mag[j] + carry;
      mag[j] = (unsigned char)v;
      carry = v >> 8;
    }
  }
  return 0;
}

int sg_avro_numeric_width(const sg_typeinfo *t, int *scale) {
  if (t->precision < 0) {
    *scale = 39;
    return 33; /* precision 81 */
  }
  *scale = t->scale < 0 ? 0 : t->scale;
  return 17; /* precision 39 */
}

/* timestamp-millis floors (so pre-epoch values round down), else micros. */
int64_t sg_avro_timestamp(const sg_typeinfo *t, int64_t micros) {
  if (t->precision >= 0 && t->precision <= 3) return micros >= 0 ? micros / 1000 : -((-micros + 999) / 1000);
  return micros;
}

/* Hyphenated lowercase uuid text (36 chars) of 16 bytes. */
void sg_uuid_text(const unsigned char *u, char out[36]) {
  static const char hex[] = "0123456789abcdef";
  size_t k = 0;
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[k++] = '-';
    out[k++] = hex[u[i] >> 4];
    out[k++] = hex[u[i] & 15];
  }
}

static int put_value(sg_buf *out, const sg_typeinfo *t, const sg_val *v, char *err, size_t errlen);

static int put_nullable(sg_buf *out, const sg_typeinfo *t, sg_cursor *c, char *err, size_t errlen) {
  sg_val v;
  int rc = sg_packed_next(c, t, &v);
  if (rc < 0) return sg_fail(err, errlen, "malformed nested value");
  if (rc == 1) return sg_buf_putc(out, 0);
  if (sg_buf_putc(out, 2) != 0) return -1;
  return put_value(out, t, &v, err, errlen);
}

static int put_nested(sg_buf *out, const sg_typeinfo *t, const sg_val *v, char *err, size_t errlen) {
  sg_cursor c = {v->p, v->p + v->len};
  if (t->type == SG_T_RECORD) {
    for (int i = 0; i < t->nfields; i++) {
      if (t->field_nullable[i]) {
        if (put_nullable(out, t->field_types[i], &c, err, errlen) != 0) return -1;
        continue;
      }
      sg_val fv;
      int rc = sg_packed_next(&c, t->field_types[i], &fv);
      if (rc != 0) return sg_fail(err, errlen, "%s field \"%s\" of a record", rc == 1 ? "NULL in NOT NULL" : "malformed", t->field_names[i]);
      if (put_value(out, t->field_types[i], &fv, err, errlen) != 0) return -1;
    }
    return 0;
  }
  uint32_t n;
  if (sg_cur_u32(&c, &n) != 0) return sg_fail(err, errlen, "malformed nested value");
  if (n > 0 && put_long(out, n) != 0) return -1;
  for (uint32_t i = 0; i < n; i++) {
    if (t->type == SG_T_MAP) {
      uint32_t klen;
      if (sg_cur_u32(&c, &klen) != 0 || (uint32_t)(c.end - c.p) < klen) return sg_fail(err, errlen, "malformed map value");
      if (put_bytes(out, c.p, klen) != 0) return -1;
      c.p += klen;
    }
    if (put_nullable(out, t->elem, &c, err, errlen) != 0) return -1;
  }
  return sg_buf_putc(out, 0); /* end of blocks */
}

static int put_value(sg_buf *out, const sg_typeinfo *t, const sg_val *v, char *err, size_t errlen) {
  switch (t->type) {
    case SG_T_BOOL: return sg_buf_putc(out, v->d.i ? 1 : 0);
    case SG_T_INT2: case SG_T_INT4: case SG_T_INT8: case SG_T_DATE: case SG_T_TIME:
      return put_long(out, v->d.i);
    case SG_T_TIMESTAMP: case SG_T_TIMESTAMPTZ: return put_long(out, sg_avro_timestamp(t, v->d.i));
    case SG_T_UINT2: return put_be(out, v->d.u, 2);
    case SG_T_UINT4: case SG_T_OID: return put_be(out, v->d.u, 4);
    case SG_T_UINT8: return put_be(out, v->d.u, 8);
    case SG_T_FLOAT4: {
      float f = (float)v->d.f;
      return sg_buf_append(out, &f, 4);
    }
    case SG_T_FLOAT8: return sg_buf_append(out, &v->d.f, 8);
    case SG_T_TEXT: case SG_T_BYTEA: case SG_T_JSONB: return put_bytes(out, v->p, v->len);
    case SG_T_UUID: {
      char u[36];
      sg_uuid_text(v->p, u);
      return put_bytes(out, u, 36);
    }
    case SG_T_INTERVAL: return sg_buf_append(out, v->p, 16);
    case SG_T_NUMERIC: {
      unsigned char mag[33];
      int scale, width = sg_avro_numeric_width(t, &scale);
      if (sg_decimal_twos((const char *)v->p, v->len, scale, mag, width, err, errlen) != 0) return -1;
      return put_bytes(out, mag, (size_t)width);
    }
    default: return put_nested(out, t, v, err, errlen);
  }
}

static int put_header(sg_buf *out, int32_t schema_id) {
  if (schema_id < 0) return 0;
  return sg_buf_putc(out, 0) || put_be(out, (uint32_t)schema_id, 4);
}

static int put_columns(sg_buf *out, const sg_batch *b, uint32_t row, const int *cols, int ncols,
                       char *err, size_t errlen) {
  for (int k = 0; k < ncols; k++) {
    const sg_column *c = &b->schema->cols[cols[k]];
    sg_val v;
    int isnull = sg_row_val(b, row, cols[k], &v);
    if (c->nullable) {
      if (sg_buf_putc(out, isnull ? 0 : 2) != 0) return sg_fail(err, errlen, "out of memory");
      if (isnull) continue;
    } else if (isnull) {
      return sg_fail(err, errlen, "column \"%s\" is NOT NULL but the row holds NULL", c->name);
    }
    if ((c->type == SG_T_UUID || c->type == SG_T_INTERVAL) && v.len != 16)
      return sg_fail(err, errlen, "column \"%s\": %s value is %u bytes, not 16", c->name, sg_type_name(c->type), v.len);
    if (put_value(out, c->ti, &v, err, errlen) != 0) {
      if (err && errlen && !err[0]) sg_fail(err, errlen, "out of memory");
      else if (err && errlen) {
        char tmp[512];
        snprintf(tmp, sizeof tmp, "column \"%s\": %s", c->name, err);
        snprintf(err, errlen, "%s", tmp);
      }
      return -1;
    }
  }
  return 0;
}

int sg_encode_avro_row(const sg_batch *b, uint32_t row, const int *cols, int ncols, int32_t schema_id,
                       sg_buf *out, char *err, size_t errlen) {
  if (err && errlen) err[0] = 0;
  if (put_header(out, schema_id) != 0) return sg_fail(err, errlen, "out of memory");
  return put_columns(out, b, row, cols, ncols, err, errlen);
}

/* Debezium value: record { before: ["null", row], after: ["null", row] }. */
int sg_encode_avro_debezium(const sg_batch *b, int32_t before, int32_t after, int32_t schema_id, sg_buf *out,
                            char *err, size_t errlen) {
  if (err && errlen) err[0] = 0;
  int all[b->ncols > 0 ? b->ncols : 1];
  for (int i = 0; i < b->ncols; i++) all[i] = i;
  if (put_header(out, schema_id) != 0) return sg_fail(err, errlen, "out of memory");
  int32_t sides[2] = {before, after};
  for (int k = 0; k < 2; k++) {
    if (sg_buf_putc(out, sides[k] < 0 ? 0 : 2) != 0) return sg_fail(err, errlen, "out of memory");
    if (sides[k] >= 0 && put_columns(out, b, (uint32_t)sides[k], all, b->ncols, err, errlen) != 0) return -1;
  }
  return 0;
}
