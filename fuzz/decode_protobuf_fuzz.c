/* decode_protobuf_fuzz.c — libFuzzer target for the Protobuf decoder.
 *
 * The first input byte picks what the rest is:
 *   0  a sgtest.All message
 *   1  the same with Confluent framing (schema id 7 accepted, others refused)
 *   2  a sgtest.All message, optional = "null"
 *   3  a sgtest2.P2 (proto2) message
 *   4  a FileDescriptorSet to compile (then decoding a fixed message with it)
 * The schemas come from the .proto files of spec/fixtures/protobuf, compiled by protoc
 * into the descriptor set named by SG_FUZZ_FDS (the build passes the path).
 * Every decoded row is then walked through core/row/value.h's packed
 * reader: a value whose bytes do not match its column type aborts, so a
 * layout bug is a crash here, not a silent misread downstream. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../core/include/sinkgate_ffi.h"
#include "../core/row/value.h"

#ifndef SG_FUZZ_FDS
#define SG_FUZZ_FDS "build/fuzz/sgtest.fds"
#endif

static unsigned char *fds;
static size_t fds_len;
static sg_pb_decoder *dec[4];
static sg_schema *schema[4];

/* The column types the Lua mapping (lua/sinkgate/decode/protobuf.lua) derives. */
static const sg_typeinfo *type_of(sg_schema *s, sg_pb_decoder *d, const sg_pb_field_info *f, int whole);

static const sg_typeinfo *record_of(sg_schema *s, sg_pb_decoder *d, int msg) {
  sg_typeinfo *r = sg_schema_type(s, SG_T_RECORD, -1, -1);
  for (int i = 0; i < sg_pb_decoder_nfields(d, msg); i++) {
    sg_pb_field_info f;
    sg_pb_decoder_field(d, msg, i, &f);
    sg_type_add_field(s, r, f.name, type_of(s, d, &f, 1), f.nullable);
  }
  return r;
}

static const sg_typeinfo *type_of(sg_schema *s, sg_pb_decoder *d, const sg_pb_field_info *f, int whole) {
  static const int scalar[19] = { 0, SG_T_FLOAT8, SG_T_FLOAT4, SG_T_INT8, SG_T_UINT8, SG_T_INT4, SG_T_UINT8,
                                  SG_T_UINT4, SG_T_BOOL, SG_T_TEXT, 0, 0, SG_T_BYTEA, SG_T_UINT4, SG_T_TEXT,
                                  SG_T_INT4, SG_T_INT8, SG_T_INT4, SG_T_INT8 };
  if (whole && f->map) {
    sg_pb_field_info v;
    sg_pb_decoder_field(d, f->message, 1, &v);
    sg_typeinfo *m = sg_schema_type(s, SG_T_MAP, -1, -1);
    sg_type_set_elem(m, type_of(s, d, &v, 1));
    return m;
  }
  if (whole && f->repeated) {
    sg_typeinfo *l = sg_schema_type(s, SG_T_LIST, -1, -1);
    sg_type_set_elem(l, type_of(s, d, f, 0));
    return l;
  }
  if (f->proto_type == 11) return record_of(s, d, f->message);
  return sg_schema_type(s, scalar[f->proto_type], -1, -1);
}

static sg_schema *schema_of(sg_pb_decoder *d) {
  sg_schema *s = sg_schema_new();
  char err[256];
  for (int i = 0; i < sg_pb_decoder_nfields(d, 0); i++) {
    sg_pb_field_info f;
    sg_pb_decoder_field(d, 0, i, &f);
    if (sg_schema_add_column(s, f.name, type_of(s, d, &f, 1), f.nullable, err, sizeof err) != 0) abort();
  }
  return s;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  const char *path = getenv("SG_FUZZ_FDS") ? getenv("SG_FUZZ_FDS") : SG_FUZZ_FDS;
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "cannot open %s\n", path);
    exit(1);
  }
  fds = malloc(1 << 20);
  fds_len = fread(fds, 1, 1 << 20, f);
  fclose(f);
  static const char *msg[4] = { "sgtest.All", "sgtest.All", "sgtest.All", "sgtest2.P2" };
  static const int flags[4] = { 0, SG_PB_CONFLUENT, SG_PB_OPTIONAL_NULL, 0 };
  char err[256];
  for (int i = 0; i < 4; i++) {
    dec[i] = sg_pb_decoder_new(fds, fds_len, msg[i], flags[i], err, sizeof err);
    if (!dec[i]) {
      fprintf(stderr, "%s\n", err);
      exit(1);
    }
    schema[i] = schema_of(dec[i]);
  }
  /* Framed inputs with another id than the seeds' 7 take the "not accepted" path. */
  sg_pb_decoder_accept_id(dec[1], 7);
  return 0;
}

/* Walks one packed value of type t, aborting if its bytes do not fit. */
static void walk(const unsigned char *p, size_t len, const sg_typeinfo *t) {
  sg_cursor c = { p, p + len };
  sg_val v;
  if (sg_packed_read(&c, t, &v) != 0 || c.p != c.end) abort();
}

static void check_row(const sg_batch *b, uint32_t row) {
  for (int col = 0; col < b->ncols; col++) {
    sg_val v;
    if (sg_row_val(b, row, col, &v)) continue;
    const sg_typeinfo *t = b->schema->cols[col].ti;
    if (sg_type_kind(t->type) != SG_K_NESTED) continue;
    /* The top-level cell holds the packed value itself (no length prefix). */
    walk(v.p, v.len, t);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  int mode = data[0] % 5;
  char err[256];
  if (mode == 4) {
    sg_pb_decoder *d = sg_pb_decoder_new(data + 1, size - 1, "sgtest.All", data[0] & 8 ? SG_PB_OPTIONAL_NULL : 0, err,
                                         sizeof err);
    if (!d) return 0;
    sg_schema *s = schema_of(d);
    sg_batch *b = sg_batch_new(s, 1);
    static const uint8_t msg[] = { 0x08, 0x96, 0x01, 0x72, 0x03, 'a', 'b', 'c', 0x8a, 0x01, 0x02, 0x08, 0x01 };
    int64_t row = sg_batch_push_row(b, 0, 1);
    if (sg_pb_decode(d, msg, sizeof msg, b, (uint32_t)row, 0, err, sizeof err) == 0) check_row(b, (uint32_t)row);
    sg_batch_free(b);
    sg_schema_free(s);
    sg_pb_decoder_free(d);
    return 0;
  }
  sg_batch *b = sg_batch_new(schema[mode], 1);
  int64_t row = sg_batch_push_row(b, 0, 1);
  int rc = sg_pb_decode(dec[mode], data + 1, size - 1, b, (uint32_t)row, 0, err, sizeof err);
  if (rc == 0) check_row(b, (uint32_t)row);
  else if (rc != -1 && !(rc == -2 && mode == 1)) abort();
  else if (!err[0]) abort(); /* every failure explains itself */
  sg_batch_free(b);
  return 0;
}
