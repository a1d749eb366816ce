/* protobuf_decode.c — the decoder's entry point: a message (with or without
 * the registry's framing) into the cells of one batch row, after checking
 * once that the batch's columns have the types the decoder writes. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "protobuf.h"
#include "../util/util.h"
#include "../row/value.h"

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

static int check_schema(pb_ctx *c, const sg_batch *b, int first_col) {
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
static int unframe(pb_ctx *c, const uint8_t **pp, const uint8_t *end) {
  sg_pb_decoder *d = c->d;
  const uint8_t *p = *pp;
  if (end - p < 5 || p[0] != 0) return sg_fail(c->err, c->errlen, "no Confluent wire header (magic byte 0 and schema id)");
  int32_t id = (int32_t)(((uint32_t)p[1] << 24) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 8) | p[4]);
  p += 5;
  d->last_id = id;
  uint64_t n, idx;
  if (pb_read_varint(&p, end, &n) != 0) return sg_fail(c->err, c->errlen, "truncated message-index count");
  int64_t count = (int64_t)((n >> 1) ^ (0ull - (n & 1)));
  if (count < 0 || count > (int64_t)(end - p)) return sg_fail(c->err, c->errlen, "bad message-index count %" PRId64, count);
  for (int64_t i = 0; i < count; i++) {
    if (pb_read_varint(&p, end, &idx) != 0) return sg_fail(c->err, c->errlen, "truncated message index");
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
  pb_ctx c = { d, err, errlen };
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
  pb_scanned s;
  if (pb_scan(&c, m, p, (size_t)(end - p), 0, 0, 0, &s) != 0) return -1;
  for (int i = 0; i < m->nfields; i++) {
    d->out.len = 0;
    size_t a, e;
    int absent = pb_field_range(d, m, &s, i, &a, &e);
    int r = pb_put_field(&c, m, i, a, e, absent, 0);
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
