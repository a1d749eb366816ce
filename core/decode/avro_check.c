/* avro_check.c — walks Avro binary against its writer schema before avro-c
 * reads it. avro-c trusts lengths and block counts (it mallocs a string's
 * declared length before reading it, and loops over a block's declared
 * count), so a hostile message could make it allocate gigabytes or spin.
 * This walk checks every length against the bytes left, bounds union and
 * enum indexes, caps the items of zero-width types, and reports the first
 * problem with its byte offset; it returns the bytes the value uses so the
 * caller can reject trailing garbage. */
#include <avro.h>
#include "../util/util.h"
#include "avro_dec.h"

#define MAX_DEPTH 64

typedef struct walk {
  const uint8_t *p, *start, *end;
  int64_t budget;   /* array/map items left for this message */
  char *err;
  size_t errlen;
} walk;

static int bad(walk *w, const char *what) {
  return sg_fail(w->err, w->errlen, "malformed Avro at byte %td: %s", w->p - w->start, what);
}

static int varint(walk *w, int64_t *out) {
  uint64_t v = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (w->p >= w->end) return bad(w, "truncated varint");
    uint8_t b = *w->p++;
    if (shift == 63 && (b & 0x7E)) return bad(w, "varint overflows 64 bits");
    v |= (uint64_t)(b & 0x7F) << shift;
    if (!(b & 0x80)) {
      *out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
      return 0;
    }
  }
  return bad(w, "varint longer than 10 bytes");
}

static int skip_bytes(walk *w, int64_t n, const char *what) {
  if (n < 0) return bad(w, what);
  if (n > w->end - w->p) return bad(w, "length past the end of the message");
  w->p += n;
  return 0;
}

static int value(walk *w, avro_schema_t s, int depth);

static int blocks(walk *w, avro_schema_t items, int is_map, int depth) {
  for (;;) {
    int64_t count, size;
    if (varint(w, &count) != 0) return -1;
    if (count == 0) return 0;
    if (count < 0) {
      if (count == INT64_MIN) return bad(w, "bad block count");
      count = -count;
      if (varint(w, &size) != 0) return -1;
      if (size < 0 || size > w->end - w->p) return bad(w, "block size past the end of the message");
    }
    if (count > w->budget) return bad(w, "more array or map items than the message can hold");
    w->budget -= count;
    for (int64_t i = 0; i < count; i++) {
      if (is_map) {
        int64_t klen;
        if (varint(w, &klen) != 0 || skip_bytes(w, klen, "negative map key length") != 0) return -1;
      }
      if (value(w, items, depth + 1) != 0) return -1;
    }
  }
}

static int value(walk *w, avro_schema_t s, int depth) {
  int64_t n;
  if (depth > MAX_DEPTH) return bad(w, "nested too deeply");
  while (is_avro_link(s)) s = avro_schema_link_target(s);
  switch (avro_typeof(s)) {
    case AVRO_NULL: return 0;
    case AVRO_BOOLEAN:
      if (w->p >= w->end) return bad(w, "truncated boolean");
      if (*w->p > 1) return bad(w, "boolean byte is not 0 or 1");
      w->p++;
      return 0;
    case AVRO_INT32:
      if (varint(w, &n) != 0) return -1;
      if (n < INT32_MIN || n > INT32_MAX) return bad(w, "int out of 32-bit range");
      return 0;
    case AVRO_INT64: return varint(w, &n);
    case AVRO_FLOAT: return skip_bytes(w, 4, "");
    case AVRO_DOUBLE: return skip_bytes(w, 8, "");
    case AVRO_STRING: case AVRO_BYTES:
      if (varint(w, &n) != 0) return -1;
      return skip_bytes(w, n, "negative length");
    case AVRO_FIXED: return skip_bytes(w, avro_schema_fixed_size(s), "bad fixed size");
    case AVRO_ENUM:
      if (varint(w, &n) != 0) return -1;
      if (n < 0 || n >= avro_schema_enum_number_of_symbols(s)) return bad(w, "enum index out of range");
      return 0;
    case AVRO_UNION:
      if (varint(w, &n) != 0) return -1;
      if (n < 0 || (uint64_t)n >= avro_schema_union_size(s)) return bad(w, "union branch out of range");
      return value(w, avro_schema_union_branch(s, (int)n), depth + 1);
    case AVRO_RECORD: {
      size_t nf = avro_schema_record_size(s);
      for (size_t i = 0; i < nf; i++)
        if (value(w, avro_schema_record_field_get_by_index(s, (int)i), depth + 1) != 0) return -1;
      return 0;
    }
    case AVRO_ARRAY: return blocks(w, avro_schema_array_items(s), 0, depth);
    case AVRO_MAP: return blocks(w, avro_schema_map_values(s), 1, depth);
    default: return bad(w, "unsupported schema type");
  }
}

int sg_avro_check(avro_schema_t writer, const uint8_t *p, size_t len, size_t *used, char *err, size_t errlen) {
  walk w = {p, p, p + len, (int64_t)len + SG_AVRO_ZERO_WIDTH_ITEMS, err, errlen};
  if (value(&w, writer, 0) != 0) return -1;
  *used = (size_t)(w.p - p);
  return 0;
}
