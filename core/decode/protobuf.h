/* protobuf.h — the Protobuf decoder's compiled schema (internal to core/decode).
 *
 * sg_pb_decoder_new (protobuf_schema.c) parses a FileDescriptorSet with
 * protobuf-c's generated descriptor code and compiles the messages reachable
 * from the root into the flat tables below; the wire decoder
 * (protobuf_wire.c) walks those tables only, never the descriptor protos. */
#ifndef SG_DECODE_PROTOBUF_H
#define SG_DECODE_PROTOBUF_H
#include <stdint.h>
#include "../include/sinkgate_ffi.h"

/* FieldDescriptorProto.Type numbers. */
enum {
  PB_DOUBLE = 1, PB_FLOAT, PB_INT64, PB_UINT64, PB_INT32, PB_FIXED64, PB_FIXED32, PB_BOOL,
  PB_STRING, PB_GROUP, PB_MESSAGE, PB_BYTES, PB_UINT32, PB_ENUM, PB_SFIXED32, PB_SFIXED64,
  PB_SINT32, PB_SINT64
};

/* Wire types. */
enum { PB_WT_VARINT = 0, PB_WT_I64 = 1, PB_WT_LEN = 2, PB_WT_SGROUP = 3, PB_WT_EGROUP = 4, PB_WT_I32 = 5 };

/* Bounds that keep hostile input and schemas from exhausting the stack. */
#define PB_MAX_DEPTH 64

typedef struct pb_enum {
  char *full_name;
  int n;
  int32_t *numbers;  /* sorted ascending, for binary search */
  char **names;      /* names[i] belongs to numbers[i] */
  char *first_name;  /* the first declared value: the default */
} pb_enum;

typedef struct pb_field {
  char *name;
  int32_t number;
  int type;          /* PB_* */
  int repeated;
  int map;           /* repeated map entries: msg is the entry (key = field 0, value = field 1) */
  int required;      /* proto2 `required`: absence is an error */
  int presence;      /* explicit presence: proto2 optional, proto3 `optional`, oneof member */
  int nullable;      /* NULL when absent (messages; with SG_PB_OPTIONAL_NULL, presence fields) */
  int oneof;         /* oneof index within the message, or -1 (synthetic ones included) */
  int msg;           /* message type index, or -1 */
  int en;            /* enum type index, or -1 */
  /* The value of an absent field (proto2 `[default = …]` or the type's zero). */
  int64_t def_i;
  double def_f;
  char *def_s;       /* string/bytes default (def_len bytes) or the enum's value name */
  size_t def_len;
  char *type_name;   /* message or enum full name (no leading dot), or NULL */
} pb_field;

typedef struct pb_msg {
  char *full_name;
  int nfields;
  pb_field *fields;  /* declaration order = column/record field order */
  int32_t *by_number;/* field indexes sorted by field number */
  int16_t *direct;   /* field index by number (-1: none) when numbers are small, else NULL */
  int32_t ndirect;
  int noneof;
} pb_msg;

struct sg_pb_decoder {
  int flags;
  int nmsgs;
  pb_msg *msgs;      /* 0 = the root */
  int nenums;
  pb_enum *enums;
  /* Confluent framing: the schema id of the last framed message, and the
   * ids accepted as this schema (none = any id). */
  int32_t last_id;
  int nids;
  int32_t ids[8];
  /* Scratch reused across calls (no allocation per message once warm). */
  void *occ;         /* occurrences of fields, a stack shared by nesting levels */
  size_t nocc, capocc;
  uint32_t *counts;
  size_t ncounts, capcounts;
  sg_buf out;        /* packed nested values under construction */
  sg_buf keys;       /* map keys in text form */
  const sg_schema *checked; /* the batch schema last found to match (kept alive by the caller) */
  int checked_col, checked_ncols;
};

int pb_msg_find_slow(const pb_msg *m, int32_t number);

/* Index of the field with this number in m, or -1. */
static inline int pb_msg_find(const pb_msg *m, int32_t number) {
  if (m->direct) return number < m->ndirect ? m->direct[number] : -1;
  return pb_msg_find_slow(m, number);
}

/* ---- the reader shared by protobuf_wire.c, protobuf_map.c and protobuf_decode.c ---- */

/* One field occurrence found by a scan. */
typedef struct pb_occ {
  const uint8_t *p;  /* LEN: the payload */
  uint64_t v;        /* VARINT: the value; I32/I64: the raw bits; LEN: the length */
  uint32_t seq;      /* position in the message, for the oneof rule */
  int32_t field;     /* index in the message (unknown fields are not recorded) */
  uint8_t wt;
} pb_occ;

typedef struct pb_ctx {
  sg_pb_decoder *d;
  char *err;
  size_t errlen;
} pb_ctx;

/* A scanned message: its occurrences sorted by field at d->occ[base, base+n),
 * field i's being [start[i], start[i+1]) relative to base, start at d->counts + cbase
 * (re-read it after any nested call: the stacks may move). */
typedef struct pb_scanned {
  size_t base, n;
  size_t cbase; /* counts stack: nfields + 1 starts, then noneof winners */
} pb_scanned;

int pb_read_varint(const uint8_t **pp, const uint8_t *end, uint64_t *out);
int pb_utf8_ok(const uint8_t *s, size_t n);
int64_t pb_as_int(int type, uint64_t v);
/* Scans one span (p, len), or the payloads of occurrences [a, b) merged. */
int pb_scan(pb_ctx *c, const pb_msg *m, const uint8_t *p, size_t len, size_t a, size_t b, int depth, pb_scanned *s);
void pb_pop(sg_pb_decoder *d, size_t raw, size_t cbase);
int pb_put_u32(pb_ctx *c, uint32_t v);
/* Field i of m from occurrences [a, b): its packed value into d->out; 1 = NULL. */
int pb_put_field(pb_ctx *c, const pb_msg *m, int i, size_t a, size_t b, int absent, int depth);
int pb_field_range(const sg_pb_decoder *d, const pb_msg *m, const pb_scanned *s, int i, size_t *a, size_t *b);
int pb_decode_record(pb_ctx *c, int msg, const uint8_t *p, size_t len, size_t a, size_t b, int depth);
int pb_put_map(pb_ctx *c, const pb_field *f, size_t a, size_t b, int depth);

#endif
