/* protobuf_wire.c — Protobuf wire format into batch cells, driven by the
 * compiled schema of protobuf.h.
 *
 * A message is read in two steps: a scan records every field occurrence
 * (wire type checked against the field), then the fields are written in
 * declaration order, which is the column order. Occurrences live on one
 * stack shared by the nesting levels (indexes, never pointers, since the
 * stack may move), sorted by field with a counting sort, so a message costs
 * O(bytes + fields) whatever order its fields arrive in. Protobuf's rules
 * for repeated input apply: the last value of a singular scalar wins,
 * occurrences of a singular message merge, the last member of a oneof wins,
 * repeated numbers arrive packed or not. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "protobuf.h"
#include "../row/value.h"
#include "../util/util.h"

typedef struct occ {
  const uint8_t *p;  /* LEN: the payload */
  uint64_t v;        /* VARINT: the value; I32/I64: the raw bits; LEN: the length */
  uint32_t seq;      /* position in the message, for the oneof rule */
  int32_t field;     /* index in the message, or -1 (unknown: skipped) */
  uint8_t wt;
} occ;

typedef struct ctx {
  sg_pb_decoder *d;
  char *err;
  size_t errlen;
} ctx;

static int read_varint(const uint8_t **pp, const uint8_t *end, uint64_t *out) {
  const uint8_t *p = *pp;
  uint64_t v = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (p >= end) return -1;
    uint8_t c = *p++;
    v |= (uint64_t)(c & 0x7f) << shift;
    if (!(c & 0x80)) {
      *pp = p;
      *out = v;
      return 0;
    }
  }
  return -1; /* more than 10 bytes */
}

static uint64_t le(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

static int wire_of(int type) {
  switch (type) {
    case PB_DOUBLE: case PB_FIXED64: case PB_SFIXED64: return PB_WT_I64;
    case PB_FLOAT: case PB_FIXED32: case PB_SFIXED32: return PB_WT_I32;
    case PB_STRING: case PB_BYTES: case PB_MESSAGE: return PB_WT_LEN;
    default: return PB_WT_VARINT;
  }
}

static const char *wt_name(int wt) {
  static const char *n[] = { "varint", "fixed64", "length-delimited", "start-group", "end-group", "fixed32" };
  return wt >= 0 && wt <= 5 ? n[wt] : "unknown";
}

/* Skips a group's contents up to its end tag (unknown fields only). */
static int skip_group(ctx *c, const uint8_t **pp, const uint8_t *end, uint32_t number, int depth) {
  if (depth > PB_MAX_DEPTH) return sg_fail(c->err, c->errlen, "groups nest deeper than %d", PB_MAX_DEPTH);
  while (*pp < end) {
    uint64_t tag, v;
    if (read_varint(pp, end, &tag) != 0) return sg_fail(c->err, c->errlen, "truncated tag");
    uint32_t wt = (uint32_t)(tag & 7), num = (uint32_t)(tag >> 3);
    switch (wt) {
      case PB_WT_VARINT:
        if (read_varint(pp, end, &v) != 0) return sg_fail(c->err, c->errlen, "truncated varint");
        break;
      case PB_WT_I64: case PB_WT_I32: {
        size_t n = wt == PB_WT_I64 ? 8 : 4;
        if ((size_t)(end - *pp) < n) return sg_fail(c->err, c->errlen, "truncated fixed-width value");
        *pp += n;
        break;
      }
      case PB_WT_LEN:
        if (read_varint(pp, end, &v) != 0 || v > (uint64_t)(end - *pp))
          return sg_fail(c->err, c->errlen, "bad length");
        *pp += v;
        break;
      case PB_WT_SGROUP:
        if (skip_group(c, pp, end, num, depth + 1) != 0) return -1;
        break;
      case PB_WT_EGROUP:
        if (num != number) return sg_fail(c->err, c->errlen, "mismatched end-group tag");
        return 0;
      default: return sg_fail(c->err, c->errlen, "bad wire type %u", wt);
    }
  }
  return sg_fail(c->err, c->errlen, "group %u is not closed", number);
}

static int push_occ(ctx *c, const occ *o) {
  sg_pb_decoder *d = c->d;
  if (d->nocc == d->capocc) {
    size_t cap = d->capocc ? d->capocc * 2 : 256;
    occ *n = realloc(d->occ, cap * sizeof *n);
    if (!n) return sg_fail(c->err, c->errlen, "out of memory");
    d->occ = n;
    d->capocc = cap;
  }
  ((occ *)d->occ)[d->nocc++] = *o;
  return 0;
}

/* Records the occurrences of one serialized span of message m. */
static int scan_span(ctx *c, const pb_msg *m, const uint8_t *p, const uint8_t *end, uint32_t *seq, int depth) {
  while (p < end) {
    uint64_t tag;
    if (read_varint(&p, end, &tag) != 0) return sg_fail(c->err, c->errlen, "%s: truncated tag", m->full_name);
    uint32_t wt = (uint32_t)(tag & 7);
    uint64_t num = tag >> 3;
    if (num == 0 || num > 536870911) return sg_fail(c->err, c->errlen, "%s: bad field number %" PRIu64, m->full_name, num);
    occ o = { NULL, 0, (*seq)++, pb_msg_find(m, (int32_t)num), (uint8_t)wt };
    switch (wt) {
      case PB_WT_VARINT:
        if (read_varint(&p, end, &o.v) != 0) return sg_fail(c->err, c->errlen, "%s: truncated varint", m->full_name);
        break;
      case PB_WT_I64: case PB_WT_I32: {
        size_t n = wt == PB_WT_I64 ? 8 : 4;
        if ((size_t)(end - p) < n) return sg_fail(c->err, c->errlen, "%s: truncated fixed-width value", m->full_name);
        o.v = le(p, (int)n);
        p += n;
        break;
      }
      case PB_WT_LEN:
        if (read_varint(&p, end, &o.v) != 0 || o.v > (uint64_t)(end - p))
          return sg_fail(c->err, c->errlen, "%s: bad length", m->full_name);
        o.p = p;
        p += o.v;
        break;
      case PB_WT_SGROUP:
        if (o.field >= 0) break; /* reported below: no known field is a group */
        if (skip_group(c, &p, end, (uint32_t)num, depth + 1) != 0) return -1;
        continue;
      case PB_WT_EGROUP: return sg_fail(c->err, c->errlen, "%s: unexpected end-group tag", m->full_name);
      default: return sg_fail(c->err, c->errlen, "%s: bad wire type %u", m->full_name, wt);
    }
    if (o.field < 0) continue; /* unknown field: skipped, as Protobuf readers do */
    const pb_field *f = &m->fields[o.field];
    int want = wire_of(f->type);
    int packed = f->repeated && wt == PB_WT_LEN && want != PB_WT_LEN;
    if ((int)wt != want && !packed)
      return sg_fail(c->err, c->errlen, "%s.%s: wire type %s, expected %s", m->full_name, f->name, wt_name((int)wt),
                     wt_name(want));
    if (push_occ(c, &o) != 0) return -1;
  }
  return 0;
}

/* A scanned message: its occurrences sorted by field at occ[base, base+n),
 * field i's being [start[i], start[i+1]) relative to base. */
typedef struct scanned {
  size_t base, n;
  size_t cbase; /* counts stack: nfields + 1 starts, then noneof winners */
} scanned;

static int reserve_counts(ctx *c, size_t n) {
  sg_pb_decoder *d = c->d;
  if (d->ncounts + n <= d->capcounts) return 0;
  size_t cap = d->capcounts ? d->capcounts : 256;
  while (cap < d->ncounts + n) cap *= 2;
  uint32_t *x = realloc(d->counts, cap * sizeof *x);
  if (!x) return sg_fail(c->err, c->errlen, "out of memory");
  d->counts = x;
  d->capcounts = cap;
  return 0;
}

/* Scans either one span (p, len) or the payloads of occurrences [a, b) (a
 * singular message's occurrences, merged). */
static int scan(ctx *c, const pb_msg *m, const uint8_t *p, size_t len, size_t a, size_t b, int depth, scanned *s) {
  sg_pb_decoder *d = c->d;
  if (depth > PB_MAX_DEPTH) return sg_fail(c->err, c->errlen, "%s: nested deeper than %d", m->full_name, PB_MAX_DEPTH);
  size_t raw = d->nocc;
  uint32_t seq = 0;
  if (a == b) {
    if (!p) p = (const uint8_t *)""; /* an absent message: no bytes (and no NULL arithmetic) */
    if (scan_span(c, m, p, p + len, &seq, depth) != 0) return -1;
  } else {
    for (size_t k = a; k < b; k++) {
      const occ *o = &((occ *)d->occ)[k];
      const uint8_t *op = o->p;
      size_t olen = (size_t)o->v;
      if (scan_span(c, m, op, op + olen, &seq, depth) != 0) return -1;
    }
  }
  size_t n = d->nocc - raw;
  /* Counting sort by field (stable) into the slots just above the raw ones. */
  s->cbase = d->ncounts;
  if (reserve_counts(c, 2 * ((size_t)m->nfields + 1) + (size_t)m->noneof) != 0) return -1;
  uint32_t *start = d->counts + s->cbase;
  d->ncounts += (size_t)m->nfields + 1 + (size_t)m->noneof;
  memset(start, 0, ((size_t)m->nfields + 1 + (size_t)m->noneof) * sizeof *start);
  for (size_t k = 0; k < n; k++) start[((occ *)d->occ)[raw + k].field + 1]++;
  for (int i = 0; i < m->nfields; i++) start[i + 1] += start[i];
  for (size_t k = 0; k < n; k++) {
    occ o = ((occ *)d->occ)[raw + k];
    if (push_occ(c, &o) != 0) return -1; /* keeps the stack big enough */
  }
  occ *all = d->occ;
  uint32_t *fill = start + m->nfields + 1 + m->noneof; /* reserved above, not kept */
  memcpy(fill, start, ((size_t)m->nfields + 1) * sizeof *fill);
  for (size_t k = 0; k < n; k++) {
    occ o = all[raw + k];
    all[raw + n + fill[o.field]++] = o;
  }
  /* The oneof rule: per oneof, the member whose last occurrence is latest. */
  uint32_t *winner = start + m->nfields + 1;
  for (int i = 0; i < m->noneof; i++) winner[i] = UINT32_MAX;
#define LAST_SEQ(i) (all[raw + n + start[(i) + 1] - 1].seq)
  for (int i = 0; i < m->nfields; i++) {
    int g = m->fields[i].oneof;
    if (g < 0 || start[i] == start[i + 1]) continue;
    if (winner[g] == UINT32_MAX || LAST_SEQ(i) > LAST_SEQ(winner[g])) winner[g] = (uint32_t)i;
  }
#undef LAST_SEQ
  s->base = raw + n;
  s->n = n;
  return 0;
}

static void pop(sg_pb_decoder *d, size_t raw, size_t cbase) {
  d->nocc = raw;
  d->ncounts = cbase;
}

/* ---- values in the packed form of core/row/value.h ---- */

static int put_u32(ctx *c, uint32_t v) {
  unsigned char b[4] = { (unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16), (unsigned char)(v >> 24) };
  if (sg_buf_append(&c->d->out, b, 4) != 0) return sg_fail(c->err, c->errlen, "out of memory");
  return 0;
}

static int put_fixed(ctx *c, uint64_t bits) {
  unsigned char b[8];
  for (int i = 0; i < 8; i++) b[i] = (unsigned char)(bits >> (8 * i));
  if (sg_buf_append(&c->d->out, b, 8) != 0) return sg_fail(c->err, c->errlen, "out of memory");
  return 0;
}

static int put_var(ctx *c, const void *p, size_t n) {
  if (n > UINT32_MAX - 8) return sg_fail(c->err, c->errlen, "value too long");
  if (put_u32(c, (uint32_t)n) != 0) return -1;
  if (n && sg_buf_append(&c->d->out, p, n) != 0) return sg_fail(c->err, c->errlen, "out of memory");
  return 0;
}

static int put_f64(ctx *c, double f) {
  uint64_t bits;
  memcpy(&bits, &f, 8);
  return put_fixed(c, bits);
}

/* Strict UTF-8: no overlong forms, surrogates or code points past U+10FFFF. */
static int utf8_ok(const uint8_t *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint8_t c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t k;
    uint32_t cp, min;
    if ((c & 0xe0) == 0xc0) k = 1, cp = c & 0x1f, min = 0x80;
    else if ((c & 0xf0) == 0xe0) k = 2, cp = c & 0x0f, min = 0x800;
    else if ((c & 0xf8) == 0xf0) k = 3, cp = c & 0x07, min = 0x10000;
    else return 0;
    if (n - i <= k) return 0;
    for (size_t j = 1; j <= k; j++) {
      if ((s[i + j] & 0xc0) != 0x80) return 0;
      cp = (cp << 6) | (s[i + j] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    i += k + 1;
  }
  return 1;
}

static const char *enum_name(const pb_enum *e, int32_t v) {
  int lo = 0, hi = e->n - 1;
  while (lo <= hi) {
    int mid = (lo + hi) / 2;
    if (e->numbers[mid] == v) return e->names[mid];
    if (e->numbers[mid] < v) lo = mid + 1;
    else hi = mid - 1;
  }
  return NULL;
}

/* A numeric wire value (varint, or fixed bits) as the field's integer;
 * unsigned 64-bit values keep their bits (read back as uint8). */
static int64_t as_int(int type, uint64_t v) {
  switch (type) {
    case PB_INT32: case PB_SFIXED32: case PB_ENUM: return (int32_t)(uint32_t)v;
    case PB_UINT32: case PB_FIXED32: return (uint32_t)v;
    case PB_SINT32: {
      uint32_t u = (uint32_t)v;
      return (int32_t)((u >> 1) ^ (0u - (u & 1)));
    }
    case PB_SINT64: return (int64_t)((v >> 1) ^ (0ull - (v & 1)));
    case PB_BOOL: return v != 0;
    default: return (int64_t)v;
  }
}

static int decode_record(ctx *c, int msg, const uint8_t *p, size_t len, size_t a, size_t b, int depth);

/* One non-NULL element value (no null flag) of field f from wire value (wt, v, p). */
static int put_value(ctx *c, const pb_field *f, uint64_t v, const uint8_t *p, int depth) {
  switch (f->type) {
    case PB_DOUBLE: {
      double x;
      memcpy(&x, &v, 8);
      return put_f64(c, x);
    }
    case PB_FLOAT: {
      uint32_t bits = (uint32_t)v;
      float x;
      memcpy(&x, &bits, 4);
      return put_f64(c, (double)x);
    }
    case PB_STRING:
      if (!utf8_ok(p, (size_t)v)) return sg_fail(c->err, c->errlen, "field %s: invalid UTF-8", f->name);
      return put_var(c, p, (size_t)v);
    case PB_BYTES: return put_var(c, p, (size_t)v);
    case PB_MESSAGE: return decode_record(c, f->msg, p, (size_t)v, 0, 0, depth + 1);
    case PB_ENUM: {
      const char *name = enum_name(&c->d->enums[f->en], (int32_t)(uint32_t)v);
      if (!name)
        return sg_fail(c->err, c->errlen, "field %s: unknown enum value %d of %s", f->name, (int)(int32_t)(uint32_t)v,
                       c->d->enums[f->en].full_name);
      return put_var(c, name, strlen(name));
    }
    default: return put_fixed(c, (uint64_t)as_int(f->type, v));
  }
}

static int put_default(ctx *c, const pb_field *f) {
  switch (f->type) {
    case PB_DOUBLE: case PB_FLOAT: return put_f64(c, f->def_f);
    case PB_STRING: case PB_BYTES: case PB_ENUM: return put_var(c, f->def_s, f->def_len);
    default: return put_fixed(c, (uint64_t)f->def_i);
  }
}

/* Elements of one packed run: each a null flag (0) and a value. */
static int put_packed(ctx *c, const pb_field *f, const uint8_t *p, size_t len, uint32_t *count) {
  const uint8_t *end = p + len;
  int wt = wire_of(f->type);
  while (p < end) {
    uint64_t v;
    if (wt == PB_WT_VARINT) {
      if (read_varint(&p, end, &v) != 0) return sg_fail(c->err, c->errlen, "field %s: truncated packed varint", f->name);
    } else {
      size_t n = wt == PB_WT_I64 ? 8 : 4;
      if ((size_t)(end - p) < n) return sg_fail(c->err, c->errlen, "field %s: truncated packed value", f->name);
      v = le(p, (int)n);
      p += n;
    }
    if (sg_buf_putc(&c->d->out, 0) != 0) return sg_fail(c->err, c->errlen, "out of memory");
    if (put_value(c, f, v, NULL, 0) != 0) return -1;
    if (++*count == UINT32_MAX) return sg_fail(c->err, c->errlen, "field %s: too many elements", f->name);
  }
  return 0;
}

static int put_map(ctx *c, const pb_field *f, size_t a, size_t b, int depth);

/* Field i of m from its occurrences [a, b) (absolute stack indexes): the
 * packed value without null flag; 1 = NULL (nothing written). */
static int put_field(ctx *c, const pb_msg *m, int i, size_t a, size_t b, int absent, int depth) {
  const pb_field *f = &m->fields[i];
  sg_pb_decoder *d = c->d;
  if (f->map) return put_map(c, f, a, b, depth);
  if (f->repeated) {
    size_t at = d->out.len;
    uint32_t count = 0;
    if (put_u32(c, 0) != 0) return -1;
    for (size_t k = a; k < b; k++) {
      occ o = ((occ *)d->occ)[k];
      if (o.wt == PB_WT_LEN && wire_of(f->type) != PB_WT_LEN) {
        if (put_packed(c, f, o.p, (size_t)o.v, &count) != 0) return -1;
        continue;
      }
      if (sg_buf_putc(&d->out, 0) != 0) return sg_fail(c->err, c->errlen, "out of memory");
      if (put_value(c, f, o.v, o.p, depth) != 0) return -1;
      if (++count == UINT32_MAX) return sg_fail(c->err, c->errlen, "field %s: too many elements", f->name);
    }
    for (int k = 0; k < 4; k++) d->out.data[at + k] = (char)(count >> (8 * k));
    return 0;
  }
  if (a == b || absent) {
    if (f->required) return sg_fail(c->err, c->errlen, "%s: missing required field %s", m->full_name, f->name);
    if (f->nullable) return 1;
    return put_default(c, f);
  }
  if (f->type == PB_MESSAGE) return decode_record(c, f->msg, NULL, 0, a, b, depth + 1);
  occ o = ((occ *)d->occ)[b - 1]; /* the last one wins */
  return put_value(c, f, o.v, o.p, depth);
}

/* Whether field i lost its oneof to a later member. */
static int oneof_lost(const sg_pb_decoder *d, const pb_msg *m, const scanned *s, int i) {
  int g = m->fields[i].oneof;
  if (g < 0) return 0;
  uint32_t w = d->counts[s->cbase + (size_t)m->nfields + 1 + (size_t)g];
  return w != UINT32_MAX && w != (uint32_t)i;
}

/* A nested message as a packed record: per field, a null flag and a value. */
static int decode_record(ctx *c, int msg, const uint8_t *p, size_t len, size_t a, size_t b, int depth) {
  sg_pb_decoder *d = c->d;
  const pb_msg *m = &d->msgs[msg];
  size_t raw = d->nocc, cbase = d->ncounts;
  scanned s;
  if (scan(c, m, p, len, a, b, depth, &s) != 0) return -1;
  for (int i = 0; i < m->nfields; i++) {
    size_t flag = d->out.len;
    if (sg_buf_putc(&d->out, 0) != 0) return sg_fail(c->err, c->errlen, "out of memory");
    const uint32_t *start = d->counts + s.cbase;
    int r = put_field(c, m, i, s.base + start[i], s.base + start[i + 1], oneof_lost(d, m, &s, i), depth);
    if (r < 0) return -1;
    if (r == 1) d->out.data[flag] = 1;
  }
  pop(d, raw, cbase);
  return 0;
}

typedef struct map_ent {
  size_t key, klen;  /* in d->keys */
  size_t val, vlen;  /* in d->out: null flag + value */
  size_t seq;
  const char *kp;    /* d->keys.data + key, once every key is in */
} map_ent;

static int cmp_ent(const void *x, const void *y) {
  const map_ent *a = x, *b = y;
  size_t n = a->klen < b->klen ? a->klen : b->klen;
  int r = memcmp(a->kp, b->kp, n);
  if (r) return r;
  if (a->klen != b->klen) return a->klen < b->klen ? -1 : 1;
  return (a->seq > b->seq) - (a->seq < b->seq);
}

/* A map key in text form (as proto3's JSON mapping writes keys) into d->keys. */
static int put_key(ctx *c, const pb_field *kf, const occ *o) {
  sg_pb_decoder *d = c->d;
  char num[32];
  const void *p = num;
  size_t n;
  if (kf->type == PB_STRING) {
    p = o ? (const void *)o->p : kf->def_s;
    n = o ? (size_t)o->v : kf->def_len;
    if (!utf8_ok(p, n)) return sg_fail(c->err, c->errlen, "map key: invalid UTF-8");
  } else {
    int64_t v = o ? as_int(kf->type, o->v) : kf->def_i;
    if (kf->type == PB_BOOL) n = (size_t)snprintf(num, sizeof num, "%s", v ? "true" : "false");
    else if (kf->type == PB_UINT64 || kf->type == PB_FIXED64) n = (size_t)snprintf(num, sizeof num, "%" PRIu64, (uint64_t)v);
    else n = (size_t)snprintf(num, sizeof num, "%" PRId64, v);
  }
  if (sg_buf_append_slow(&d->keys, p, n) != 0) return sg_fail(c->err, c->errlen, "out of memory");
  return 0;
}

/* map<K, V> as map[text=>V]: entries sorted by key (the bytes rows.pack
 * makes for the same map), a repeated key keeping its last value. */
static int put_map(ctx *c, const pb_field *f, size_t a, size_t b, int depth) {
  sg_pb_decoder *d = c->d;
  const pb_msg *e = &d->msgs[f->msg];
  size_t at = d->out.len, keys_at = d->keys.len, n = b - a;
  map_ent *ents = n ? malloc(n * sizeof *ents) : NULL;
  if (n && !ents) return sg_fail(c->err, c->errlen, "out of memory");
  int rc = -1;
  for (size_t k = 0; k < n; k++) {
    size_t raw = d->nocc, cbase = d->ncounts;
    occ o = ((occ *)d->occ)[a + k];
    scanned s;
    if (scan(c, e, o.p, (size_t)o.v, 0, 0, depth + 1, &s) != 0) goto out;
    const uint32_t *start = d->counts + s.cbase;
    ents[k].key = d->keys.len;
    ents[k].seq = k;
    occ key = start[0] < start[1] ? ((occ *)d->occ)[s.base + start[1] - 1] : (occ){ 0 };
    if (put_key(c, &e->fields[0], start[0] < start[1] ? &key : NULL) != 0) goto out;
    ents[k].klen = d->keys.len - ents[k].key;
    ents[k].val = d->out.len;
    if (sg_buf_putc(&d->out, 0) != 0) {
      sg_fail(c->err, c->errlen, "out of memory");
      goto out;
    }
    start = d->counts + s.cbase;
    int r = put_field(c, e, 1, s.base + start[1], s.base + start[2], 0, depth + 1);
    /* An entry without its message value holds the empty message, not NULL. */
    if (r == 1 && e->fields[1].type == PB_MESSAGE) r = decode_record(c, e->fields[1].msg, NULL, 0, 0, 0, depth + 2);
    if (r < 0) goto out;
    if (r == 1) d->out.data[ents[k].val] = 1;
    ents[k].vlen = d->out.len - ents[k].val;
    pop(d, raw, cbase);
  }
  size_t total = 4;
  for (size_t k = 0; k < n; k++) {
    ents[k].kp = d->keys.data ? d->keys.data + ents[k].key : ""; /* all keys empty: no buffer yet */
    total += 4 + ents[k].klen + ents[k].vlen;
  }
  if (n) qsort(ents, n, sizeof *ents, cmp_ent);
  /* Reserved up front: the entries below are copied from d->out itself. */
  if (sg_buf_reserve(&d->out, total) != 0) {
    sg_fail(c->err, c->errlen, "out of memory");
    goto out;
  }
  size_t final = d->out.len;
  uint32_t count = 0;
  if (put_u32(c, 0) != 0) goto out;
  for (size_t k = 0; k < n; k++) {
    if (k + 1 < n && ents[k + 1].klen == ents[k].klen &&
        memcmp(ents[k].kp, ents[k + 1].kp, ents[k].klen) == 0)
      continue; /* a later entry has the same key */
    if (put_u32(c, (uint32_t)ents[k].klen) != 0) goto out;
    if (sg_buf_append_slow(&d->out, ents[k].kp, ents[k].klen) != 0 ||
        sg_buf_append_slow(&d->out, d->out.data + ents[k].val, ents[k].vlen) != 0) {
      sg_fail(c->err, c->errlen, "out of memory");
      goto out;
    }
    count++;
  }
  for (int k = 0; k < 4; k++) d->out.data[final + k] = (char)(count >> (8 * k));
  memmove(d->out.data + at, d->out.data + final, d->out.len - final);
  d->out.len = at + (d->out.len - final);
  rc = 0;
out:
  d->keys.len = keys_at;
  free(ents);
  return rc;
}

/* ---- top level ---- */

/* The sg_type of one value of field f (an element, for repeated fields). */
static int elem_type(const pb_field *f) {
  switch (f->type) {
    case PB_DOUBLE: return SG_T_FLOAT8;
    case PB_FLOAT: return SG_T_FLOAT4;
    case PB_INT64: case PB_SINT64: case PB_SFIXED64: return SG_T_INT8;
    case PB_INT32: case PB_SINT32: case PB_SFIXED32: return SG_T_INT4;
    case PB_UINT32: case PB_FIXED32: return SG_T_UINT4;
    case PB_UINT64: case PB_FIXED64: return SG_T_UINT8;
    case PB_BOOL: return SG_T_BOOL;
    case PB_STRING: case PB_ENUM: return SG_T_TEXT;
    case PB_BYTES: return SG_T_BYTEA;
    default: return SG_T_RECORD;
  }
}

static int same_type(const sg_pb_decoder *d, const pb_field *f, const sg_typeinfo *t, int whole, int depth);

static int same_record(const sg_pb_decoder *d, int msg, const sg_typeinfo *t, int depth) {
  const pb_msg *m = &d->msgs[msg];
  if (depth > PB_MAX_DEPTH || t->type != SG_T_RECORD || t->nfields != m->nfields) return 0;
  for (int i = 0; i < m->nfields; i++)
    if (!same_type(d, &m->fields[i], t->field_types[i], 1, depth + 1)) return 0;
  return 1;
}

/* Whether type t has exactly the packed layout decoding f produces (so a
 * mismatched column list can never make readers walk off a value). */
static int same_type(const sg_pb_decoder *d, const pb_field *f, const sg_typeinfo *t, int whole, int depth) {
  if (!t) return 0;
  if (whole && f->map) return t->type == SG_T_MAP && t->elem && same_type(d, &d->msgs[f->msg].fields[1], t->elem, 1, depth + 1);
  if (whole && f->repeated) return t->type == SG_T_LIST && same_type(d, f, t->elem, 0, depth + 1);
  if (f->type == PB_MESSAGE) return same_record(d, f->msg, t, depth);
  return t->type == elem_type(f);
}

static int check_schema(ctx *c, const sg_batch *b, int first_col) {
  sg_pb_decoder *d = c->d;
  const pb_msg *m = &d->msgs[0];
  if (d->checked == b->schema && d->checked_col == first_col && d->checked_ncols == b->schema->ncols) return 0;
  if (first_col < 0 || first_col > b->ncols || m->nfields > b->ncols - first_col)
    return sg_fail(c->err, c->errlen, "the batch has no room for the %d fields of %s at column %d", m->nfields,
                   m->full_name, first_col);
  for (int i = 0; i < m->nfields; i++)
    if (!same_type(d, &m->fields[i], b->schema->cols[first_col + i].ti, 1, 0))
      return sg_fail(c->err, c->errlen, "column %s does not have the type of field %s.%s",
                     b->schema->cols[first_col + i].name, m->full_name, m->fields[i].name);
  d->checked = b->schema;
  d->checked_col = first_col;
  d->checked_ncols = b->schema->ncols;
  return 0;
}

/* The registry's framing: magic 0, big-endian schema id, then the message
 * indexes (a zigzag varint count, then zigzag indexes; a lone 0 means [0]).
 * The schema defines exactly one message, so the only valid path is [0]. */
static int unframe(ctx *c, const uint8_t **pp, const uint8_t *end) {
  sg_pb_decoder *d = c->d;
  const uint8_t *p = *pp;
  if (end - p < 5 || p[0] != 0) return sg_fail(c->err, c->errlen, "no Confluent wire header (magic byte 0 and schema id)");
  int32_t id = (int32_t)(((uint32_t)p[1] << 24) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 8) | p[4]);
  p += 5;
  d->last_id = id;
  uint64_t n, idx;
  if (read_varint(&p, end, &n) != 0) return sg_fail(c->err, c->errlen, "truncated message-index count");
  int64_t count = (int64_t)((n >> 1) ^ (0ull - (n & 1)));
  if (count < 0 || count > (int64_t)(end - p)) return sg_fail(c->err, c->errlen, "bad message-index count %" PRId64, count);
  for (int64_t i = 0; i < count; i++) {
    if (read_varint(&p, end, &idx) != 0) return sg_fail(c->err, c->errlen, "truncated message index");
    int64_t v = (int64_t)((idx >> 1) ^ (0ull - (idx & 1)));
    if (i > 0 || v != 0)
      return sg_fail(c->err, c->errlen, "message index path names a message other than the schema's only one");
  }
  *pp = p;
  if (d->nids == 0) return 0;
  for (int i = 0; i < d->nids; i++)
    if (d->ids[i] == id) return 0;
  sg_fail(c->err, c->errlen, "schema id %d is not one this source accepted", (int)id);
  return -2;
}

int sg_pb_decode(sg_pb_decoder *d, const uint8_t *buf, size_t len, sg_batch *b, uint32_t row, int first_col, char *err,
                 size_t errlen) {
  ctx c = { d, err, errlen };
  d->nocc = 0;
  d->ncounts = 0;
  if (row >= b->nrows) return sg_fail(err, errlen, "row %u is not in the batch", row);
  if (check_schema(&c, b, first_col) != 0) return -1;
  const uint8_t *p = buf, *end = buf + len;
  if (!buf) p = end = (const uint8_t *)"";
  if (d->flags & SG_PB_CONFLUENT) {
    int r = unframe(&c, &p, end);
    if (r != 0) return r;
  }
  const pb_msg *m = &d->msgs[0];
  scanned s;
  if (scan(&c, m, p, (size_t)(end - p), 0, 0, 0, &s) != 0) return -1;
  for (int i = 0; i < m->nfields; i++) {
    d->out.len = 0;
    const uint32_t *start = d->counts + s.cbase;
    int r = put_field(&c, m, i, s.base + start[i], s.base + start[i + 1], oneof_lost(d, m, &s, i), 0);
    if (r < 0) return -1;
    if (r == 1) continue; /* NULL: pushed rows start all-NULL */
    int col = first_col + i;
    const unsigned char *v = (const unsigned char *)d->out.data;
    switch (sg_type_kind(b->schema->cols[col].type)) {
      case SG_K_FIXED: {
        int64_t x;
        memcpy(&x, v, 8);
        sg_batch_set_i64(b, row, col, x);
        break;
      }
      case SG_K_VAR:
        if (sg_batch_set_bytes(b, row, col, v + 4, d->out.len - 4) != 0) return sg_fail(err, errlen, "batch arena is full");
        break;
      default:
        if (sg_batch_set_bytes(b, row, col, v, d->out.len) != 0) return sg_fail(err, errlen, "batch arena is full");
    }
  }
  return 0;
}

int32_t sg_pb_decoder_last_id(const sg_pb_decoder *d) { return d->last_id; }

int sg_pb_decoder_accept_id(sg_pb_decoder *d, int32_t id) {
  for (int i = 0; i < d->nids; i++)
    if (d->ids[i] == id) return 0;
  if (d->nids == (int)(sizeof d->ids / sizeof d->ids[0])) return -1;
  d->ids[d->nids++] = id;
  return 0;
}
