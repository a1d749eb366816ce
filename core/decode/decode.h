/* decode.h — the decoders' shared insides (not part of the FFI).
 *
 * Every format is one sg_decoder with a small vtable: decode one message
 * into cells [first_col, first_col + ncols) of a pushed row, and free its
 * state. The public entry points (sg_decode, sg_decoder_free, …) live in
 * text.c and dispatch through it, so a new format (Protobuf, h11b) plugs in
 * by filling the same struct. Helpers here are shared by the formats:
 * UTF-8 validation, a bounded JSON tree, and cell writers that check the
 * target column's type. */
#ifndef SG_DECODE_H
#define SG_DECODE_H
#include <stddef.h>
#include <stdint.h>
#include "../include/sinkgate_ffi.h"
#include "../util/util.h"

typedef int (*sg_decode_fn)(sg_decoder *d, const uint8_t *buf, size_t len, sg_batch *b, uint32_t row,
                            int first_col, char *err, size_t errlen);

struct sg_decoder {
  const char *format;     /* "text", "avro", … for messages */
  int ncols;
  sg_decode_fn decode;
  void (*free_state)(void *state);
  void *state;
};

sg_decoder *sg_decoder_make(const char *format, int ncols, sg_decode_fn fn, void (*free_state)(void *),
                            void *state, char *err, size_t errlen);

/* The cell's column must exist in the batch and have one of the given kinds. */
int sg_dec_check_col(const sg_batch *b, int col, int ncols_needed, char *err, size_t errlen);

/* ---- JSON: a flat tree of spans over the message (json.c) ---- */
enum { SG_J_NULL = 1, SG_J_FALSE, SG_J_TRUE, SG_J_NUM, SG_J_STR, SG_J_ARR, SG_J_OBJ };
typedef struct sg_jnode {
  int type;
  uint32_t start, end;    /* the value's bytes; strings include their quotes */
  int32_t first_child;    /* objects: key, value, key, value…; -1 = none */
  int32_t next;           /* next sibling, -1 = none */
  int32_t count;          /* children (objects: key + value each) */
} sg_jnode;
typedef struct sg_jdoc {
  const uint8_t *text;
  size_t len;
  sg_jnode *nodes;
  int32_t n, cap;
} sg_jdoc;
/* Parses text into doc (reusing its node array); 0 or -1 with err. */
int sg_json_parse(sg_jdoc *doc, const uint8_t *text, size_t len, char *err, size_t errlen);
void sg_jdoc_free(sg_jdoc *doc);
/* The value under key in object node obj, or -1. */
int32_t sg_json_get(const sg_jdoc *doc, int32_t obj, const char *key);
/* Appends the unescaped UTF-8 of string node i to out. */
int sg_json_unescape(const sg_jdoc *doc, int32_t i, sg_buf *out);

/* ---- number and time helpers shared by Avro and Debezium ---- */
/* Decimal text of the big-endian two's complement integer p[0..n) scaled by scale. */
int sg_dec_decimal_text(const uint8_t *p, size_t n, int scale, sg_buf *out);
/* Parses "xxxxxxxx-xxxx-…" into 16 bytes; 0 or -1. */
int sg_dec_uuid(const char *s, size_t n, uint8_t out[16]);
/* ISO-8601 "YYYY-MM-DD[T ]HH:MM:SS[.ffffff][Z|±HH:MM]" to epoch micros (UTC); 0 or -1. */
int sg_dec_timestamp_text(const char *s, size_t n, int64_t *micros);
int sg_dec_date_text(const char *s, size_t n, int64_t *days);
int sg_dec_time_text(const char *s, size_t n, int64_t *micros);

/* sg_buf_append for decoders, where empty pieces (an empty string field)
 * are common: skipping them keeps an empty buffer's NULL data pointer out
 * of pointer arithmetic (UBSan, found by the Debezium fuzzer). */
static inline int sg_dec_append(sg_buf *b, const void *p, size_t n) {
  return n ? sg_buf_append(b, p, n) : 0;
}

/* Packed nested values (core/row/value.h) appended to a scratch buffer. */
int sg_pack_u32(sg_buf *out, uint32_t v);
int sg_pack_u64(sg_buf *out, uint64_t v);

#endif
