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
#include "../util/util.h"

int pb_read_varint(const uint8_t **pp, const uint8_t *end, uint64_t *out) {
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
static int skip_group(pb_ctx *c, const uint8_t **pp, const uint8_t *end, uint32_t number, int depth) {
  if (depth > PB_MAX_DEPTH) return sg_fail(c->err, c->errlen, "groups nest deeper than %d", PB_MAX_DEPTH);
  while (*pp < end) {
    uint64_t tag, v;
    if (pb_read_varint(pp, end, &tag) != 0) return sg_fail(c->err, c->errlen, "truncated tag");
    uint32_t wt = (uint32_t)(tag & 7), num = (uint32_t)(tag >> 3);
    if ((tag >> 3) == 0 || (tag >> 3) > 536870911) return sg_fail(c->err, c->errlen, "bad field number in a group");
    switch (wt) {
      case PB_WT_VARINT:
        if (pb_read_varint(pp, end, &v) != 0) return sg_fail(c->err, c->errlen, "truncated varint");
        break;
      case PB_WT_I64: case PB_WT_I32: {
        size_t n = wt == PB_WT_I64 ? 8 : 4;
        if ((size_t)(end - *pp) < n) return sg_fail(c->err, c->errlen, "truncated fixed-width value");
        *pp += n;
        break;
      }
      case PB_WT_LEN:
        if (pb_read_varint(pp, end, &v) != 0 || v > (uint64_t)(end - *pp))
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

static int reserve_occ(pb_ctx *c, size_t extra) {
  sg_pb_decoder *d = c->d;
  if (d->nocc + extra <= d->capocc) return 0;
  size_t cap = d->capocc ? d->capocc : 256;
  while (cap < d->nocc + extra) cap *= 2;
  pb_occ *n = realloc(d->occ, cap * sizeof *n);
  if (!n) return sg_fail(c->err, c->errlen, "out of memory");
  d->occ = n;
  d->capocc = cap;
  return 0;
}

static inline int push_occ(pb_ctx *c, const pb_occ *o) {
  sg_pb_decoder *d = c->d;
  if (d->nocc == d->capocc && reserve_occ(c, 1) != 0) return -1;
  ((pb_occ *)d->occ)[d->nocc++] = *o;
  return 0;
}

/* Records the occurrences of one serialized span of message m. */
static int scan_span(pb_ctx *c, const pb_msg *m, const uint8_t *p, const uint8_t *end, uint32_t *seq, int depth) {
  while (p < end) {
    uint64_t tag;
    if (pb_read_varint(&p, end, &tag) != 0) return sg_fail(c->err, c->errlen, "%s: truncated tag", m->full_name);
    uint32_t wt = (uint32_t)(tag & 7);
    uint64_t num = tag >> 3;
    if (num == 0 || num > 536870911) return sg_fail(c->err, c->errlen, "%s: bad field number %" PRIu64, m->full_name, num);
    pb_occ o = { NULL, 0, (*seq)++, pb_msg_find(m, (int32_t)num), (uint8_t)wt };
    switch (wt) {
      case PB_WT_VARINT:
        if (pb_read_varint(&p, end, &o.v) != 0) return sg_fail(c->err, c->errlen, "%s: truncated varint", m->full_name);
        break;
      case PB_WT_I64: case PB_WT_I32: {
        size_t n = wt == PB_WT_I64 ? 8 : 4;
        if ((size_t)(end - p) < n) return sg_fail(c->err, c->errlen, "%s: truncated fixed-width value", m->full_name);
        o.v = le(p, (int)n);
        p += n;
        break;
      }
      case PB_WT_LEN:
        if (pb_read_varint(&p, end, &o.v) != 0 || o.v > (uint64_t)(end - p))
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

static int reserve_counts(pb_ctx *c, size_t n) {
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
int pb_scan(pb_ctx *c, const pb_msg *m, const uint8_t *p, size_t len, size_t a, size_t b, int depth, pb_scanned *s) {
  sg_pb_decoder *d = c->d;
  if (depth > PB_MAX_DEPTH) return sg_fail(c->err, c->errlen, "%s: nested deeper than %d", m->full_name, PB_MAX_DEPTH);
  size_t raw = d->nocc;
  uint32_t seq = 0;
  if (a == b) {
    if (!p) p = (const uint8_t *)""; /* an absent message: no bytes (and no NULL arithmetic) */
    if (scan_span(c, m, p, p + len, &seq, depth) != 0) return -1;
  } else {
    for (size_t k = a; k < b; k++) {
      const pb_occ *o = &((pb_occ *)d->occ)[k];
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
  int sorted = 1; /* writers usually send fields in declaration order: then no copy is needed */
  int32_t prev = -1;
  for (size_t k = 0; k < n; k++) {
    int32_t f = ((pb_occ *)d->occ)[raw + k].field;
    start[f + 1]++;
    sorted &= f >= prev;
    prev = f;
  }
  for (int i = 0; i < m->nfields; i++) start[i + 1] += start[i];
  size_t base = raw;
  if (!sorted) {
    if (reserve_occ(c, n) != 0) return -1; /* the sorted copy goes above the raw ones */
    d->nocc += n;
    base = raw + n;
    pb_occ *all = d->occ;
    uint32_t *fill = start + m->nfields + 1 + m->noneof; /* reserved above, not kept */
    memcpy(fill, start, ((size_t)m->nfields + 1) * sizeof *fill);
    for (size_t k = 0; k < n; k++) {
      pb_occ o = all[raw + k];
      all[base + fill[o.field]++] = o;
    }
  }
  const pb_occ *all = d->occ;
  /* The oneof rule: per oneof, the member whose last occurrence is latest. */
  uint32_t *winner = start + m->nfields + 1;
  for (int i = 0; i < m->noneof; i++) winner[i] = UINT32_MAX;
#define LAST_SEQ(i) (all[base + start[(i) + 1] - 1].seq)
  for (int i = 0; i < m->nfields; i++) {
    int g = m->fields[i].oneof;
    if (g < 0 || start[i] == start[i + 1]) continue;
    if (winner[g] == UINT32_MAX || LAST_SEQ(i) > LAST_SEQ(winner[g])) winner[g] = (uint32_t)i;
  }
#undef LAST_SEQ
  s->base = base;
  s->n = n;
  return 0;
}

void pb_pop(sg_pb_decoder *d, size_t raw, size_t cbase) {
  d->nocc = raw;
  d->ncounts = cbase;
}

/* ---- values in the packed form of core/row/value.h ---- */

int pb_put_u32(pb_ctx *c, uint32_t v) {
  unsigned char b[4] = { (unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16), (unsigned char)(v >> 24) };
  if (sg_buf_append(&c->d->out, b, 4) != 0) return sg_fail(c->err, c->errlen, "out of memory");
  return 0;
}

static int put_fixed(pb_ctx *c, uint64_t bits) {
  unsigned char b[8];
  for (int i = 0; i < 8; i++) b[i] = (unsigned char)(bits >> (8 * i));
  if (sg_buf_append(&c->d->out, b, 8) != 0) return sg_fail(c->err, c->errlen, "out of memory");
  return 0;
}

static int put_var(pb_ctx *c, const void *p, size_t n) {
  if (n > UINT32_MAX - 8) return sg_fail(c->err, c->errlen, "value too long");
  if (pb_put_u32(c, (uint32_t)n) != 0) return -1;
  if (n && sg_buf_append(&c->d->out, p, n) != 0) return sg_fail(c->err, c->errlen, "out of memory");
  return 0;
}

static int put_f64(pb_ctx *c, double f) {
  uint64_t bits;
  memcpy(&bits, &f, 8);
  return put_fixed(c, bits);
}

/* Strict UTF-8: no overlong forms, surrogates or code points past U+10FFFF. */
int pb_utf8_ok(const uint8_t *s, size_t n) {
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
int64_t pb_as_int(int type, uint64_t v) {
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

/* One non-NULL element value (no null flag) of field f from wire value (wt, v, p). */
static int put_value(pb_ctx *c, const pb_field *f, uint64_t v, const uint8_t *p, int depth) {
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
      if (!pb_utf8_ok(p, (size_t)v)) return sg_fail(c->err, c->errlen, "field %s: invalid UTF-8", f->name);
      return put_var(c, p, (size_t)v);
    case PB_BYTES: return put_var(c, p, (size_t)v);
    case PB_MESSAGE: return pb_decode_record(c, f->msg, p, (size_t)v, 0, 0, depth + 1);
    case PB_ENUM: {
      const char *name = enum_name(&c->d->enums[f->en], (int32_t)(uint32_t)v);
      if (!name)
        return sg_fail(c->err, c->errlen, "field %s: unknown enum value %d of %s", f->name, (int)(int32_t)(uint32_t)v,
                       c->d->enums[f->en].full_name);
      return put_var(c, name, strlen(name));
    }
    default: return put_fixed(c, (uint64_t)pb_as_int(f->type, v));
  }
}

static int put_default(pb_ctx *c, const pb_field *f) {
  switch (f->type) {
    case PB_DOUBLE: case PB_FLOAT: return put_f64(c, f->def_f);
    case PB_STRING: case PB_BYTES: case PB_ENUM: return put_var(c, f->def_s, f->def_len);
    default: return put_fixed(c, (uint64_t)f->def_i);
  }
}

/* Elements of one packed run: each a null flag (0) and a value. */
static int put_packed(pb_ctx *c, const pb_field *f, const uint8_t *p, size_t len, uint32_t *count) {
  const uint8_t *end = p + len;
  int wt = wire_of(f->type);
  while (p < end) {
    uint64_t v;
    if (wt == PB_WT_VARINT) {
      if (pb_read_varint(&p, end, &v) != 0) return sg_fail(c->err, c->errlen, "field %s: truncated packed varint", f->name);
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

/* Field i of m from its occurrences [a, b) (absolute stack indexes): the
 * packed value without null flag; 1 = NULL (nothing written). */
int pb_put_field(pb_ctx *c, const pb_msg *m, int i, size_t a, size_t b, int absent, int depth) {
  const pb_field *f = &m->fields[i];
  sg_pb_decoder *d = c->d;
  if (f->map) return pb_put_map(c, f, a, b, depth);
  if (f->repeated) {
    size_t at = d->out.len;
    uint32_t count = 0;
    if (pb_put_u32(c, 0) != 0) return -1;
    for (size_t k = a; k < b; k++) {
      pb_occ o = ((pb_occ *)d->occ)[k];
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
  if (f->type == PB_MESSAGE) return pb_decode_record(c, f->msg, NULL, 0, a, b, depth + 1);
  pb_occ o = ((pb_occ *)d->occ)[b - 1]; /* the last one wins */
  return put_value(c, f, o.v, o.p, depth);
}

/* The occurrences [*a, *b) of field i in scanned message s; returns 1 when
 * the field counts as absent because a later member of its oneof won. A
 * message member that wins keeps only what came after the other members'
 * last occurrence: setting another member had cleared it. */
int pb_field_range(const sg_pb_decoder *d, const pb_msg *m, const pb_scanned *s, int i, size_t *a, size_t *b) {
  const uint32_t *start = d->counts + s->cbase;
  const pb_occ *all = d->occ;
  *a = s->base + start[i];
  *b = s->base + start[i + 1];
  int g = m->fields[i].oneof;
  if (g < 0) return 0;
  uint32_t w = start[(size_t)m->nfields + 1 + (size_t)g];
  if (w != UINT32_MAX && w != (uint32_t)i) return 1;
  if (m->fields[i].type != PB_MESSAGE || *a == *b) return 0;
  uint32_t cutoff = 0;
  int other = 0;
  for (int j = 0; j < m->nfields; j++) {
    if (j == i || m->fields[j].oneof != g || start[j] == start[j + 1]) continue;
    uint32_t last = all[s->base + start[j + 1] - 1].seq;
    if (!other || last > cutoff) cutoff = last;
    other = 1;
  }
  while (other && *a < *b && all[*a].seq < cutoff) (*a)++;
  return 0;
}

/* A nested message as a packed record: per field, a null flag and a value. */
int pb_decode_record(pb_ctx *c, int msg, const uint8_t *p, size_t len, size_t a, size_t b, int depth) {
  sg_pb_decoder *d = c->d;
  const pb_msg *m = &d->msgs[msg];
  size_t raw = d->nocc, cbase = d->ncounts;
  pb_scanned s;
  if (pb_scan(c, m, p, len, a, b, depth, &s) != 0) return -1;
  for (int i = 0; i < m->nfields; i++) {
    size_t flag = d->out.len;
    if (sg_buf_putc(&d->out, 0) != 0) return sg_fail(c->err, c->errlen, "out of memory");
    size_t fa, fb;
    int absent = pb_field_range(d, m, &s, i, &fa, &fb);
    int r = pb_put_field(c, m, i, fa, fb, absent, depth);
    if (r < 0) return -1;
    if (r == 1) d->out.data[flag] = 1;
  }
  pb_pop(d, raw, cbase);
  return 0;
}
