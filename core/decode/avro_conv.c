/* avro_conv.c — one value of the reader schema (an avro-c generic value,
 * after resolution) into a cell of the column's SQL type: the Avro → SQL
 * mapping of lua/sinkgate/decode/avro.lua, in C. Scalars go straight into
 * cells; lists, maps and records are packed (core/row/value.h) in a
 * scratch buffer first. Logical types come from the column type: an int
 * into time is milliseconds, a long into timestamp(0..3) milliseconds,
 * bytes/fixed into numeric a decimal of the column's scale, a string into
 * uuid its text form. */
#include <avro.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../row/value.h"
#include "../util/util.h"
#include "avro_dec.h"
#include "decode.h"


static const char *sql_name(int type) {
  static const char *names[] = {"?", "boolean", "smallint", "integer", "bigint", "uint2", "uint4", "uint8", "oid",
                                "real", "double precision", "numeric", "text", "bytea", "date", "time", "timestamp",
                                "timestamptz", "interval", "uuid", "jsonb", "map", "list", "array", "record"};
  return type > 0 && type < (int)(sizeof names / sizeof names[0]) ? names[type] : "?";
}

static int cfail(sg_avro_conv *c, const char *what, avro_type_t at, const sg_typeinfo *t) {
  return sg_fail(c->err, c->errlen, "field \"%s\": %s (Avro %s into %s)", c->field ? c->field : "?", what,
                 at == AVRO_STRING ? "string" : at == AVRO_BYTES ? "bytes" : at == AVRO_INT32 ? "int"
                 : at == AVRO_INT64 ? "long" : at == AVRO_FLOAT ? "float" : at == AVRO_DOUBLE ? "double"
                 : at == AVRO_BOOLEAN ? "boolean" : at == AVRO_FIXED ? "fixed" : at == AVRO_ENUM ? "enum"
                 : at == AVRO_RECORD ? "record" : at == AVRO_ARRAY ? "array" : at == AVRO_MAP ? "map" : "value",
                 sql_name(t->type));
}

/* A scalar: fixed-width in *word, else bytes [p, p + n) (possibly in scratch). */
typedef struct scalar {
  int fixed;
  uint64_t word;
  const void *p;
  size_t n;
  uint8_t raw16[16];
} scalar;

static int mul_checked(int64_t v, int64_t by, int64_t *out) {
  return __builtin_mul_overflow(v, by, out) ? -1 : 0;
}

static int to_scalar(sg_avro_conv *c, avro_value_t *v, const sg_typeinfo *t, scalar *s, sg_buf *scratch) {
  avro_type_t at = avro_value_get_type(v);
  int32_t i32 = 0;
  int64_t i64 = 0;
  float f32 = 0;
  double f64 = 0;
  int b = 0;
  const void *p = NULL;
  size_t n = 0;
  s->fixed = 1;
  switch (at) {
    case AVRO_BOOLEAN:
      if (t->type != SG_T_BOOL) return cfail(c, "type mismatch", at, t);
      avro_value_get_boolean(v, &b);
      s->word = b ? 1 : 0;
      return 0;
    case AVRO_INT32:
      avro_value_get_int(v, &i32);
      i64 = i32;
      if (t->type == SG_T_TIME && mul_checked(i64, 1000, &i64) != 0) return cfail(c, "overflow", at, t);
      if (t->type == SG_T_INT2 && (i64 < INT16_MIN || i64 > INT16_MAX)) return cfail(c, "out of range", at, t);
      if (t->type != SG_T_INT2 && t->type != SG_T_INT4 && t->type != SG_T_INT8 && t->type != SG_T_DATE &&
          t->type != SG_T_TIME)
        return cfail(c, "type mismatch", at, t);
      s->word = (uint64_t)i64;
      return 0;
    case AVRO_INT64:
      avro_value_get_long(v, &i64);
      if ((t->type == SG_T_TIMESTAMP || t->type == SG_T_TIMESTAMPTZ) && t->precision >= 0 && t->precision <= 3 &&
          mul_checked(i64, 1000, &i64) != 0)
        return cfail(c, "timestamp out of range", at, t);
      if (t->type != SG_T_INT8 && t->type != SG_T_TIME && t->type != SG_T_TIMESTAMP && t->type != SG_T_TIMESTAMPTZ)
        return cfail(c, "type mismatch", at, t);
      s->word = (uint64_t)i64;
      return 0;
    case AVRO_FLOAT:
      avro_value_get_float(v, &f32);
      f64 = f32;
      goto dbl;
    case AVRO_DOUBLE:
      avro_value_get_double(v, &f64);
    dbl:
      if (t->type != SG_T_FLOAT4 && t->type != SG_T_FLOAT8) return cfail(c, "type mismatch", at, t);
      memcpy(&s->word, &f64, 8);
      return 0;
    default: break;
  }
  s->fixed = 0;
  switch (at) {
    case AVRO_STRING:
      avro_value_get_string(v, (const char **)&p, &n);
      if (n > 0) n--; /* avro-c counts the terminating NUL */
      if (t->type == SG_T_UUID) {
        if (sg_dec_uuid(p, n, s->raw16) != 0) return cfail(c, "not a UUID", at, t);
        s->p = s->raw16, s->n = 16;
        return 0;
      }
      if (t->type != SG_T_TEXT) return cfail(c, "type mismatch", at, t);
      {
        size_t off;
        if (!sg_utf8_valid(p, n, &off)) return cfail(c, "invalid UTF-8 in a string", at, t);
      }
      s->p = p, s->n = n;
      return 0;
    case AVRO_BYTES: case AVRO_FIXED:
      if (at == AVRO_BYTES) avro_value_get_bytes(v, &p, &n);
      else avro_value_get_fixed(v, &p, &n);
      if (t->type == SG_T_NUMERIC) {
        size_t start = scratch->len;
        if (sg_dec_decimal_text(p, n, t->scale > 0 ? t->scale : 0, scratch) != 0)
          return cfail(c, "decimal wider than 64 bytes", at, t);
        s->p = NULL, s->n = scratch->len - start, s->word = start; /* resolved after scratch stops moving */
        return 0;
      }
      if (t->type != SG_T_BYTEA) return cfail(c, "type mismatch", at, t);
      s->p = p, s->n = n;
      return 0;
    case AVRO_ENUM: {
      int idx = -1;
      avro_value_get_enum(v, &idx);
      if (t->type != SG_T_TEXT) return cfail(c, "type mismatch", at, t);
      avro_schema_t es = avro_value_get_schema(v);
      if (idx < 0 || idx >= avro_schema_enum_number_of_symbols(es))
        return cfail(c, "the writer's enum symbol is not in the reader's enum", at, t);
      const char *sym = avro_schema_enum_get(es, idx);
      if (!sym) return cfail(c, "enum symbol missing", at, t);
      s->p = sym, s->n = strlen(sym);
      return 0;
    }
    default: return cfail(c, "type mismatch", at, t);
  }
}

static int pack(sg_avro_conv *c, avro_value_t *v, const sg_typeinfo *t, sg_buf *out, int depth);

/* Follows union branches; 1 when the value is NULL. */
static int unwrap(avro_value_t *v, avro_value_t *out) {
  *out = *v;
  while (avro_value_get_type(out) == AVRO_UNION) {
    avro_value_t br;
    if (avro_value_get_current_branch(out, &br) != 0) return 1;
    *out = br;
  }
  return avro_value_get_type(out) == AVRO_NULL;
}

static int pack_nullable(sg_avro_conv *c, avro_value_t *v, const sg_typeinfo *t, sg_buf *out, int depth) {
  avro_value_t x;
  if (unwrap(v, &x)) return sg_buf_putc(out, 1);
  if (sg_buf_putc(out, 0) != 0) return -1;
  return pack(c, &x, t, out, depth);
}

static int pack(sg_avro_conv *c, avro_value_t *v, const sg_typeinfo *t, sg_buf *out, int depth) {
  avro_type_t at = avro_value_get_type(v);
  size_t n = 0;
  if (depth > 64) return cfail(c, "nested too deeply", at, t);
  int kind = sg_type_kind(t->type);
  if (kind != SG_K_NESTED) {
    scalar s;
    size_t mark = out->len;
    if (to_scalar(c, v, t, &s, out) != 0) return -1;
    if (s.fixed) return sg_pack_u64(out, s.word);
    if (kind == SG_K_RAW16) return sg_dec_append(out, s.raw16, 16);
    if (!s.p) { /* decimal text was appended at mark: prefix its length */
      if (sg_buf_reserve(out, 4) != 0) return -1;
      memmove(out->data + mark + 4, out->data + mark, s.n);
      uint32_t len = (uint32_t)s.n;
      for (int i = 0; i < 4; i++) out->data[mark + (size_t)i] = (char)(len >> (8 * i));
      out->len += 4;
      return 0;
    }
    if (sg_pack_u32(out, (uint32_t)s.n) != 0) return -1;
    return sg_dec_append(out, s.p, s.n);
  }
  if (t->type == SG_T_RECORD) {
    if (at != AVRO_RECORD) return cfail(c, "type mismatch", at, t);
    avro_value_get_size(v, &n);
    if ((int)n != t->nfields) return cfail(c, "record field count differs from the column type", at, t);
    for (int i = 0; i < t->nfields; i++) {
      avro_value_t f;
      if (avro_value_get_by_index(v, (size_t)i, &f, NULL) != 0) return cfail(c, "missing record field", at, t);
      if (pack_nullable(c, &f, t->field_types[i], out, depth + 1) != 0) return -1;
    }
    return 0;
  }
  if ((t->type == SG_T_MAP) != (at == AVRO_MAP) || (at != AVRO_MAP && at != AVRO_ARRAY))
    return cfail(c, "type mismatch", at, t);
  avro_value_get_size(v, &n);
  if (sg_pack_u32(out, (uint32_t)n) != 0) return -1;
  for (size_t i = 0; i < n; i++) {
    avro_value_t e;
    const char *key = NULL;
    if (avro_value_get_by_index(v, i, &e, &key) != 0) return cfail(c, "missing element", at, t);
    if (at == AVRO_MAP) {
      size_t kl = key ? strlen(key) : 0;
      if (sg_pack_u32(out, (uint32_t)kl) != 0 || sg_dec_append(out, key, kl) != 0) return -1;
    }
    if (pack_nullable(c, &e, t->elem, out, depth + 1) != 0) return -1;
  }
  return 0;
}

/* One column's value into its cell. */
int sg_avro_put_cell(sg_avro_conv *c, avro_value_t *v, sg_batch *b, uint32_t row, int col) {
  const sg_typeinfo *t = b->schema->cols[col].ti;
  avro_value_t x;
  if (unwrap(v, &x)) return 0; /* NULL: cells start NULL */
  int kind = sg_type_kind(t->type);
  sg_buf *scr = c->scratch;
  scr->len = 0;
  if (kind == SG_K_NESTED) {
    if (pack(c, &x, t, scr, 0) != 0) return -1;
    if (sg_batch_set_bytes(b, row, col, scr->data, scr->len) != 0) return sg_fail(c->err, c->errlen, "batch arena is full");
    return 0;
  }
  scalar s;
  if (to_scalar(c, &x, t, &s, scr) != 0) return -1;
  if (s.fixed) {
    sg_batch_set_i64(b, row, col, (int64_t)s.word); /* the double's bits when a float */
    return 0;
  }
  const void *p = s.p ? s.p : scr->data + s.word;
  if (sg_batch_set_bytes(b, row, col, p, s.n) != 0) return sg_fail(c->err, c->errlen, "batch arena is full");
  return 0;
}
