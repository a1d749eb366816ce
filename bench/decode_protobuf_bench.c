/* decode_protobuf_bench.c — ns/message of sinkgate's Protobuf decoder (into
 * batch cells) against protobuf-c's generated unpacker (into C structs, then
 * freed), on the same messages, encoded by protobuf-c's packer.
 *
 * Usage: build/pb_bench [messages]   (a benchmark: prints, never fails on speed) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "row.pb-c.h"
#include "../core/include/sinkgate_ffi.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t); /* CPU time: the machine is shared */
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 2000000;
  FILE *f = fopen(PB_BENCH_FDS, "rb");
  if (!f) return perror(PB_BENCH_FDS), 1;
  static unsigned char fds[1 << 16];
  size_t fds_len = fread(fds, 1, sizeof fds, f);
  fclose(f);
  char err[512];
  sg_pb_decoder *d = sg_pb_decoder_new(fds, fds_len, "sgbench.Row", 0, err, sizeof err);
  if (!d) return fprintf(stderr, "%s\n", err), 1;
  /* Columns as lua/sinkgate/decode/protobuf.lua maps them. */
  sg_schema *s = sg_schema_new();
  static const char *names[6] = { "id", "name", "price", "qty", "ts", "active" };
  static const int types[6] = { SG_T_INT8, SG_T_TEXT, SG_T_FLOAT8, SG_T_INT4, SG_T_INT8, SG_T_BOOL };
  for (int i = 0; i < 6; i++)
    if (sg_schema_add_column(s, names[i], sg_schema_type(s, types[i], -1, -1), 0, err, sizeof err) != 0) return 1;
  /* 1024 distinct messages, cycled. */
  enum { K = 1024 };
  static uint8_t msgs[K][64];
  static size_t lens[K];
  for (int i = 0; i < K; i++) {
    Sgbench__Row r = SGBENCH__ROW__INIT;
    char name[32];
    snprintf(name, sizeof name, "product-%d", i * 7919);
    r.id = 1000000 + i;
    r.name = name;
    r.price = i * 0.25;
    r.qty = i % 100;
    r.ts = 1700000000000000LL + i;
    r.active = i & 1;
    lens[i] = sgbench__row__pack(&r, msgs[i]);
  }
  sg_batch *b = sg_batch_new(s, 1024);
  double t0 = now();
  for (long i = 0; i < n; i++) {
    if ((i & 1023) == 0) sg_batch_clear(b);
    int64_t row = sg_batch_push_row(b, 1, 1);
    if (sg_pb_decode(d, msgs[i % K], lens[i % K], b, (uint32_t)row, 0, err, sizeof err) != 0)
      return fprintf(stderr, "%s\n", err), 1;
  }
  double t1 = now();
  long sink = 0;
  for (long i = 0; i < n; i++) {
    Sgbench__Row *r = sgbench__row__unpack(NULL, lens[i % K], msgs[i % K]);
    if (!r) return fprintf(stderr, "protobuf-c unpack failed\n"), 1;
    sink += r->qty;
    sgbench__row__free_unpacked(r, NULL);
  }
  double t2 = now();
  printf("protobuf decode, 6-column row (%zu bytes): sinkgate %.1f ns/message, protobuf-c unpack %.1f ns/message (%ld)\n",
         lens[1], (t1 - t0) / (double)n * 1e9, (t2 - t1) / (double)n * 1e9, sink % 2);
  sg_batch_free(b);
  sg_schema_free(s);
  sg_pb_decoder_free(d);
  return 0;
}
