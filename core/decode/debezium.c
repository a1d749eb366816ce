/* debezium.c — Debezium change events in JSON, with the schema/payload
 * wrapper (JsonConverter schemas.enable=true) or without it. A message is
 * parsed once (sg_dbz_parse: op, which images are present, the source
 * position fields the runtime uses to drop at-least-once duplicates), then
 * each image is written into its own row (sg_dbz_fill), so the runtime
 * turns before/after into a retraction and an insertion without a second
 * parse. Columns are matched by JSON field name; how a JSON value encodes
 * a column type (epoch millis vs micros, base64 decimals) comes from the
 * per-column hints, which the Lua side reads from the connect schema. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../row/value.h"
#include "../util/util.h"
#include "decode.h"

typedef struct dbz_state {
  int ncols;
  char **names;
  int *hints;
  sg_jdoc doc;
  int32_t before, after;   /* image nodes of the parsed message, -1 = none */
  int parsed;
  sg_buf scratch, tmp;
} dbz_state;

static void free_dbz(void *p) {
  dbz_state *st = p;
  if (!st) return;
  for (int i = 0; st->names && i < st->ncols; i++) free(st->names[i]);
  free(st->names);
  free(st->hints);
  sg_jdoc_free(&st->doc);
  sg_buf_free(&st->scratch);
  sg_buf_free(&st->tmp);
  free(st);
}

static const sg_jnode *node(const dbz_state *st, int32_t i) { return &st->doc.nodes[i]; }

/* An integer JSON number; -1 when it is not one or overflows. */
static int json_i64(const dbz_state *st, int32_t i, int64_t *out) {
  const sg_jnode *x = node(st, i);
  if (x->type != SG_J_NUM) return -1;
  const uint8_t *s = st->doc.text + x->start;
  size_t n = x->end - x->start, k = 0;
  int neg = s[0] == '-';
  if (neg) k++;
  uint64_t v = 0;
  for (; k < n; k++) {
    if (s[k] < '0' || s[k] > '9') return -1;
    if (v > (UINT64_MAX - 9) / 10) return -1;
    v = v * 10 + (uint64_t)(s[k] - '0');
  }
  if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX) return -1;
  *out = neg ? (int64_t)(0 - v) : (int64_t)v;
  return 0;
}

static int b64val(uint8_t c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

static int base64(const uint8_t *s, size_t n, sg_buf *out) {
  while (n > 0 && s[n - 1] == '=') n--;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; i++) {
    int v = b64val(s[i]);
    if (v < 0) return -1;
    acc = (acc << 6) | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (sg_buf_putc(out, (char)((acc >> bits) & 0xFF)) != 0) return -1;
    }
  }
  return bits >= 6 ? -1 : 0;
}

typedef struct ctx {
  dbz_state *st;
  const char *col;
  char *err;
  size_t errlen;
} ctx;

static int bad(ctx *c, int32_t i, const char *what) {
  return sg_fail(c->err, c->errlen, "column \"%s\": %s at byte %u", c->col, what, node(c->st, i)->start);
}

/* The unescaped text of string node i, in st->tmp. */
static int str(ctx *c, int32_t i, const char **p, size_t *n) {
  c->st->tmp.len = 0;
  if (node(c->st, i)->type != SG_J_STR) return bad(c, i, "expected a JSON string");
  if (sg_json_unescape(&c->st->doc, i, &c->st->tmp) != 0) return bad(c, i, "out of memory");
  *p = c->st->tmp.data ? c->st->tmp.data : "";
  *n = c->st->tmp.len;
  return 0;
}

static int scale_units(ctx *c, int32_t i, int64_t v, int hint, int precision, int64_t *micros) {
  if (hint == SG_DBZ_H_AUTO) hint = precision >= 0 && precision <= 3 ? SG_DBZ_H_MILLIS : SG_DBZ_H_MICROS;
  if (hint == SG_DBZ_H_NANOS) v /= 1000;
  else if (hint == SG_DBZ_H_MILLIS && __builtin_mul_overflow(v, 1000, &v)) return bad(c, i, "time out of range");
  *micros = v;
  return 0;
}

/* A scalar value: fixed-width into *word, else bytes appended to out. */
static int scalar(ctx *c, int32_t i, const sg_typeinfo *t, int hint, uint64_t *word, sg_buf *out, int *fixed) {
  const sg_jnode *x = node(c->st, i);
  int64_t v;
  const char *p;
  size_t n;
  *fixed = sg_type_kind(t->type) == SG_K_FIXED;
  switch (t->type) {
    case SG_T_BOOL:
      if (x->type != SG_J_TRUE && x->type != SG_J_FALSE) return bad(c, i, "expected true or false");
      *word = x->type == SG_J_TRUE;
      return 0;
    case SG_T_INT2: case SG_T_INT4: case SG_T_INT8: case SG_T_UINT2: case SG_T_UINT4: case SG_T_UINT8: case SG_T_OID:
      if (json_i64(c->st, i, &v) != 0) return bad(c, i, "expected an integer in 64-bit range");
      if ((t->type == SG_T_INT2 && (v < INT16_MIN || v > INT16_MAX)) ||
          (t->type == SG_T_INT4 && (v < INT32_MIN || v > INT32_MAX)) ||
          ((t->type == SG_T_UINT2 || t->type == SG_T_UINT4 || t->type == SG_T_UINT8 || t->type == SG_T_OID) && v < 0) ||
          (t->type == SG_T_UINT2 && v > UINT16_MAX) || ((t->type == SG_T_UINT4 || t->type == SG_T_OID) && v > UINT32_MAX))
        return bad(c, i, "integer out of the column type's range");
      *word = (uint64_t)v;
      return 0;
    case SG_T_FLOAT4: case SG_T_FLOAT8: {
      if (x->type != SG_J_NUM) return bad(c, i, "expected a number");
      char buf[64];
      size_t len = x->end - x->start;
      if (len >= sizeof buf) return bad(c, i, "number too long");
      memcpy(buf, c->st->doc.text + x->start, len);
      buf[len] = 0;
      double d = strtod(buf, NULL);
      memcpy(word, &d, 8);
      return 0;
    }
    case SG_T_DATE:
      if (x->type == SG_J_NUM) {
        if (json_i64(c->st, i, &v) != 0) return bad(c, i, "expected days since the epoch");
      } else if (str(c, i, &p, &n) != 0 || sg_dec_date_text(p, n, &v) != 0) {
        return bad(c, i, "expected a date");
      }
      *word = (uint64_t)v;
      return 0;
    case SG_T_TIME: case SG_T_TIMESTAMP: case SG_T_TIMESTAMPTZ:
      if (x->type == SG_J_NUM) {
        if (json_i64(c->st, i, &v) != 0) return bad(c, i, "expected an integer time");
        if (scale_units(c, i, v, hint, t->precision, &v) != 0) return -1;
      } else {
        if (str(c, i, &p, &n) != 0) return -1;
        if ((t->type == SG_T_TIME ? sg_dec_time_text(p, n, &v) : sg_dec_timestamp_text(p, n, &v)) != 0)
          return bad(c, i, t->type == SG_T_TIME ? "expected a time" : "expected an ISO-8601 timestamp");
      }
      *word = (uint64_t)v;
      return 0;
    case SG_T_NUMERIC:
      if (x->type == SG_J_NUM) return sg_dec_append(out, c->st->doc.text + x->start, x->end - x->start);
      if (hint == SG_DBZ_H_VARIABLE_DECIMAL) {
        int32_t sc = sg_json_get(&c->st->doc, i, "scale"), val = sg_json_get(&c->st->doc, i, "value");
        int64_t scale;
        if (sc < 0 || val < 0 || json_i64(c->st, sc, &scale) != 0 || scale < 0 || scale > 1000)
          return bad(c, i, "expected {\"scale\": n, \"value\": base64}");
        if (str(c, val, &p, &n) != 0) return -1;
        sg_buf raw = {0};
        int rc = base64((const uint8_t *)p, n, &raw) != 0 || sg_dec_decimal_text((uint8_t *)raw.data, raw.len, (int)scale, out) != 0;
        sg_buf_free(&raw);
        return rc ? bad(c, i, "bad variable-scale decimal") : 0;
      }
      if (str(c, i, &p, &n) != 0) return -1;
      if (hint == SG_DBZ_H_BASE64_DECIMAL) {
        sg_buf raw = {0};
        int rc = base64((const uint8_t *)p, n, &raw) != 0 ||
                 sg_dec_decimal_text((uint8_t *)raw.data, raw.len, t->scale > 0 ? t->scale : 0, out) != 0;
        sg_buf_free(&raw);
        return rc ? bad(c, i, "bad base64 decimal") : 0;
      }
      for (size_t k = 0; k < n; k++)
        if (!strchr("0123456789.-+eE", p[k]) || !p[k]) return bad(c, i, "expected a decimal number");
      if (n == 0) return bad(c, i, "expected a decimal number");
      return sg_dec_append(out, p, n);
    case SG_T_TEXT:
      if (str(c, i, &p, &n) != 0) return -1;
      return sg_dec_append(out, p, n);
    case SG_T_BYTEA:
      if (str(c, i, &p, &n) != 0) return -1;
      return base64((const uint8_t *)p, n, out) != 0 ? bad(c, i, "expected base64 bytes") : 0;
    case SG_T_UUID: {
      uint8_t u[16];
      if (str(c, i, &p, &n) != 0) return -1;
      if (sg_dec_uuid(p, n, u) != 0) return bad(c, i, "expected a UUID");
      return sg_dec_append(out, u, 16);
    }
    case SG_T_JSONB:
      if (x->type != SG_J_STR) return sg_dec_append(out, c->st->doc.text + x->start, x->end - x->start);
      if (str(c, i, &p, &n) != 0) return -1;
      if (sg_json_validate((const uint8_t *)p, n, NULL, 0) != 0) return bad(c, i, "string holds no valid JSON");
      return sg_dec_append(out, p, n);
    default: return bad(c, i, "type not supported in Debezium JSON");
  }
}

static int pack(ctx *c, int32_t i, const sg_typeinfo *t, sg_buf *out, int depth);

static int pack_nullable(ctx *c, int32_t i, const sg_typeinfo *t, sg_buf *out, int depth) {
  if (i < 0 || node(c->st, i)->type == SG_J_NULL) return sg_buf_putc(out, 1);
  if (sg_buf_putc(out, 0) != 0) return -1;
  return pack(c, i, t, out, depth);
}

static int pack(ctx *c, int32_t i, const sg_typeinfo *t, sg_buf *out, int depth) {
  const sg_jnode *x = node(c->st, i);
  if (depth > 64) return bad(c, i, "nested too deeply");
  int kind = sg_type_kind(t->type);
  if (kind != SG_K_NESTED) {
    uint64_t w = 0;
    int fixed;
    size_t mark = out->len;
    if (kind == SG_K_VAR && sg_pack_u32(out, 0) != 0) return -1;
    if (scalar(c, i, t, SG_DBZ_H_AUTO, &w, out, &fixed) != 0) return -1;
    if (fixed) return sg_pack_u64(out, w);
    if (kind == SG_K_VAR) {
      uint32_t len = (uint32_t)(out->len - mark - 4);
      for (int k = 0; k < 4; k++) out->data[mark + (size_t)k] = (char)(len >> (8 * k));
    }
    return 0;
  }
  if (t->type == SG_T_RECORD) {
    if (x->type != SG_J_OBJ) return bad(c, i, "expected an object");
    for (int f = 0; f < t->nfields; f++)
      if (pack_nullable(c, sg_json_get(&c->st->doc, i, t->field_names[f]), t->field_types[f], out, depth + 1) != 0)
        return -1;
    return 0;
  }
  if (t->type == SG_T_MAP) {
    if (x->type != SG_J_OBJ) return bad(c, i, "expected an object");
    if (sg_pack_u32(out, (uint32_t)(x->count / 2)) != 0) return -1;
    for (int32_t k = x->first_child; k >= 0; k = node(c->st, node(c->st, k)->next)->next) {
      size_t mark = out->len;
      if (sg_pack_u32(out, 0) != 0 || sg_json_unescape(&c->st->doc, k, out) != 0) return -1;
      uint32_t len = (uint32_t)(out->len - mark - 4);
      for (int b = 0; b < 4; b++) out->data[mark + (size_t)b] = (char)(len >> (8 * b));
      if (pack_nullable(c, node(c->st, k)->next, t->elem, out, depth + 1) != 0) return -1;
    }
    return 0;
  }
  if (x->type != SG_J_ARR) return bad(c, i, "expected an array");
  if (sg_pack_u32(out, (uint32_t)x->count) != 0) return -1;
  for (int32_t k = x->first_child; k >= 0; k = node(c->st, k)->next)
    if (pack_nullable(c, k, t->elem, out, depth + 1) != 0) return -1;
  return 0;
}

static int fill_image(dbz_state *st, int32_t img, sg_batch *b, uint32_t row, int first_col, char *err, size_t errlen) {
  for (int col = 0; col < st->ncols; col++) {
    ctx c = {st, st->names[col], err, errlen};
    int32_t v = sg_json_get(&st->doc, img, st->names[col]);
    if (v < 0 || node(st, v)->type == SG_J_NULL) continue; /* cells start NULL */
    const sg_typeinfo *t = b->schema->cols[first_col + col].ti;
    int kind = sg_type_kind(t->type);
    st->scratch.len = 0;
    if (kind == SG_K_NESTED) {
      if (pack(&c, v, t, &st->scratch, 0) != 0) return -1;
    } else {
      uint64_t w = 0;
      int fixed;
      if (scalar(&c, v, t, st->hints[col], &w, &st->scratch, &fixed) != 0) return -1;
      if (fixed) {
        sg_batch_set_i64(b, row, first_col + col, (int64_t)w);
        continue;
      }
    }
    if (sg_batch_set_bytes(b, row, first_col + col, st->scratch.data, st->scratch.len) != 0)
      return sg_fail(err, errlen, "batch arena is full");
  }
  return 0;
}

static int64_t get_i64(dbz_state *st, int32_t obj, const char *key) {
  int64_t v;
  int32_t i = sg_json_get(&st->doc, obj, key);
  return i >= 0 && json_i64(st, i, &v) == 0 ? v : -1;
}

int sg_dbz_parse(sg_decoder *d, const uint8_t *buf, size_t len, sg_dbz_info *info, char *err, size_t errlen) {
  if (!d || !d->format || strcmp(d->format, "debezium") != 0) return sg_fail(err, errlen, "not a Debezium decoder");
  dbz_state *st = d->state;
  memset(info, 0, sizeof *info);
  info->ts_ms = info->source_ts_ms = info->lsn = info->pos = info->row = info->txid = -1;
  st->parsed = 0;
  st->before = st->after = -1;
  if (!buf || len == 0) { /* tombstone after a delete: nothing to apply */
    st->parsed = 1;
    return SG_DEC_OK;
  }
  char msg[200];
  if (sg_json_parse(&st->doc, buf, len, msg, sizeof msg) != 0) return sg_fail(err, errlen, "Debezium message: %s", msg);
  int32_t root = 0, payload = sg_json_get(&st->doc, 0, "payload");
  if (payload >= 0 && sg_json_get(&st->doc, 0, "schema") >= 0) root = payload;
  if (node(st, root)->type == SG_J_NULL) {
    st->parsed = 1;
    return SG_DEC_OK;
  }
  if (node(st, root)->type != SG_J_OBJ) return sg_fail(err, errlen, "Debezium message is not a JSON object");
  int32_t op = sg_json_get(&st->doc, root, "op");
  if (op < 0 || node(st, op)->type != SG_J_STR || node(st, op)->end - node(st, op)->start != 3)
    return sg_fail(err, errlen, "Debezium message has no one-letter \"op\" field");
  info->op = st->doc.text[node(st, op)->start + 1];
  if (!strchr("cudrt", info->op)) return sg_fail(err, errlen, "Debezium op \"%c\" is not c, u, d, r or t", info->op);
  int32_t bf = sg_json_get(&st->doc, root, "before"), af = sg_json_get(&st->doc, root, "after");
  if (bf >= 0 && node(st, bf)->type == SG_J_OBJ) st->before = bf;
  else if (bf >= 0 && node(st, bf)->type != SG_J_NULL) return sg_fail(err, errlen, "Debezium \"before\" is not an object or null");
  if (af >= 0 && node(st, af)->type == SG_J_OBJ) st->after = af;
  else if (af >= 0 && node(st, af)->type != SG_J_NULL) return sg_fail(err, errlen, "Debezium \"after\" is not an object or null");
  if ((info->op == 'c' || info->op == 'r' || info->op == 'u') && st->after < 0)
    return sg_fail(err, errlen, "Debezium op \"%c\" without an \"after\" image", info->op);
  if (info->op == 'd' && st->before < 0)
    return sg_fail(err, errlen, "Debezium delete without a \"before\" image (REPLICA IDENTITY FULL or a key is needed)");
  info->has_before = st->before >= 0;
  info->has_after = st->after >= 0;
  info->ts_ms = get_i64(st, root, "ts_ms");
  int32_t src = sg_json_get(&st->doc, root, "source");
  if (src >= 0 && node(st, src)->type == SG_J_OBJ) {
    info->source_ts_ms = get_i64(st, src, "ts_ms");
    info->lsn = get_i64(st, src, "lsn");
    info->pos = get_i64(st, src, "pos");
    info->row = get_i64(st, src, "row");
    info->txid = get_i64(st, src, "txId");
    int32_t f = sg_json_get(&st->doc, src, "file"), sn = sg_json_get(&st->doc, src, "snapshot");
    if (f >= 0 && node(st, f)->type == SG_J_STR) {
      sg_buf tmp = {0};
      if (sg_json_unescape(&st->doc, f, &tmp) == 0) snprintf(info->file, sizeof info->file, "%.*s", (int)tmp.len, tmp.data ? tmp.data : "");
      sg_buf_free(&tmp);
    }
    if (sn >= 0) {
      const sg_jnode *s = node(st, sn);
      const char *t = (const char *)st->doc.text + s->start;
      info->snapshot = s->type == SG_J_TRUE ||
                       (s->type == SG_J_STR && ((s->end - s->start == 6 && memcmp(t, "\"true\"", 6) == 0) ||
                                                (s->end - s->start == 6 && memcmp(t, "\"last\"", 6) == 0)));
    }
  }
  st->parsed = 1;
  return SG_DEC_OK;
}

int sg_dbz_fill(sg_decoder *d, int which, sg_batch *b, uint32_t row, int first_col, char *err, size_t errlen) {
  if (!d || !d->format || strcmp(d->format, "debezium") != 0) return sg_fail(err, errlen, "not a Debezium decoder");
  dbz_state *st = d->state;
  if (sg_dec_check_col(b, first_col, st->ncols, err, errlen) != 0) return SG_DEC_ERROR;
  if (row >= b->nrows) return sg_fail(err, errlen, "row %u was not pushed", row);
  if (!st->parsed) return sg_fail(err, errlen, "no parsed Debezium message");
  int32_t img = which ? st->after : st->before;
  if (img < 0) return sg_fail(err, errlen, "the message has no %s image", which ? "after" : "before");
  return fill_image(st, img, b, row, first_col, err, errlen);
}

static int decode_dbz(sg_decoder *d, const uint8_t *buf, size_t len, sg_batch *b, uint32_t row, int first_col,
                      char *err, size_t errlen) {
  sg_dbz_info info;
  int rc = sg_dbz_parse(d, buf, len, &info, err, errlen);
  if (rc != 0) return rc;
  if (!info.has_after && !info.has_before) return sg_fail(err, errlen, "Debezium message has no row image (tombstone or truncate)");
  return sg_dbz_fill(d, info.has_after, b, row, first_col, err, errlen);
}

sg_decoder *sg_decoder_debezium_new(int ncols, const char **names, const int *hints, char *err, size_t errlen) {
  if (ncols < 1 || !names) return sg_fail(err, errlen, "Debezium needs at least one column"), NULL;
  dbz_state *st = calloc(1, sizeof *st);
  if (!st) return sg_fail(err, errlen, "out of memory"), NULL;
  st->ncols = ncols;
  st->names = calloc((size_t)ncols, sizeof *st->names);
  st->hints = calloc((size_t)ncols, sizeof *st->hints);
  for (int i = 0; st->names && st->hints && i < ncols; i++) {
    st->names[i] = strdup(names[i] ? names[i] : "");
    st->hints[i] = hints ? hints[i] : SG_DBZ_H_AUTO;
    if (!st->names[i]) break;
  }
  for (int i = 0; i < ncols; i++)
    if (!st->names || !st->hints || !st->names[i]) {
      free_dbz(st);
      return sg_fail(err, errlen, "out of memory"), NULL;
    }
  return sg_decoder_make("debezium", ncols, decode_dbz, free_dbz, st, err, errlen);
}
