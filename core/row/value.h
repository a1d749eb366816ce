/* value.h — reading values out of batches, top-level or nested.
 *
 * Nested values (list, array, map, record) live in the batch arena in a
 * packed form, interpreted with the column's type tree:
 *   fixed-width scalars (bool, ints, uints, oid, floats, date, time,
 *     timestamps): 8 bytes little-endian (int64, or the double's bits)
 *   text, bytea, jsonb, numeric (decimal text): u32 LE length + bytes
 *   uuid, interval: 16 raw bytes
 *   list, array: u32 LE count, then per element: u8 null flag + value
 *   map: u32 LE count, then per entry: u32 LE key length + key, u8 null flag + value
 *   record: per field: u8 null flag + value
 * Every encoder reads values through sg_val, so top-level and nested values
 * share one code path per type. */
#ifndef SG_VALUE_H
#define SG_VALUE_H
#include <string.h>
#include "../include/sinkgate_ffi.h"

enum { SG_K_FIXED = 1, SG_K_VAR, SG_K_RAW16, SG_K_NESTED };

static inline int sg_type_kind(int type) {
  switch (type) {
    case SG_T_TEXT: case SG_T_BYTEA: case SG_T_JSONB: case SG_T_NUMERIC: return SG_K_VAR;
    case SG_T_UUID: case SG_T_INTERVAL: return SG_K_RAW16;
    case SG_T_MAP: case SG_T_LIST: case SG_T_ARRAY: case SG_T_RECORD: return SG_K_NESTED;
    default: return SG_K_FIXED;
  }
}

/* One non-NULL value: fixed-width ones in d, the rest as bytes p[0..len). */
typedef struct sg_val {
  sg_datum d;
  const unsigned char *p;
  uint32_t len;
} sg_val;

typedef struct sg_cursor {
  const unsigned char *p;
  const unsigned char *end;
} sg_cursor;

/* Reads row/col; returns 1 if NULL (v untouched), 0 otherwise. */
static inline int sg_row_val(const sg_batch *b, uint32_t row, int col, sg_val *v) {
  size_t i = (size_t)row * (size_t)b->ncols + (size_t)col;
  if (b->nulls[i]) return 1;
  v->d = b->cells[i];
  if (sg_type_kind(b->schema->cols[col].type) != SG_K_FIXED) {
    v->p = (const unsigned char *)b->arena + v->d.s.off;
    v->len = v->d.s.len;
  }
  return 0;
}

static inline int sg_cur_u8(sg_cursor *c, unsigned *out) {
  if (c->p >= c->end) return -1;
  *out = *c->p++;
  return 0;
}

static inline int sg_cur_u32(sg_cursor *c, uint32_t *out) {
  if (c->end - c->p < 4) return -1;
  *out = (uint32_t)c->p[0] | ((uint32_t)c->p[1] << 8) | ((uint32_t)c->p[2] << 16) |
         ((uint32_t)c->p[3] << 24);
  c->p += 4;
  return 0;
}

/* Reads one non-NULL packed value of type t; nested values come back as
 * the span of their packed bytes. Returns -1 on malformed input. */
int sg_packed_read(sg_cursor *c, const sg_typeinfo *t, sg_val *v);

/* Reads a u8 null flag then, if not NULL, the value. 1 = NULL, 0 = value, -1 = bad. */
static inline int sg_packed_next(sg_cursor *c, const sg_typeinfo *t, sg_val *v) {
  unsigned isnull;
  if (sg_cur_u8(c, &isnull) != 0) return -1;
  if (isnull) return 1;
  return sg_packed_read(c, t, v);
}

/* Interval fields from its 16 bytes. */
static inline void sg_interval_parts(const unsigned char *p, int32_t *months, int32_t *days,
                                     int64_t *micros) {
  memcpy(months, p, 4);
  memcpy(days, p + 4, 4);
  memcpy(micros, p + 8, 8);
}

#endif
