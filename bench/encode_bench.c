/* encode_bench.c — ns/row of sinkgate's encoders on a 6-column row, and of
 * the same row through avro-c's generic value API. A benchmark, not a test:
 * it prints figures and checks only that the Avro bytes agree. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../core/include/sinkgate_ffi.h"

#define ROWS 4096
#define ROUNDS 5

/* id bigint not null, name text, price double, qty integer not null,
 * ts timestamptz(6) not null, active boolean */
static const char *SCHEMA =
    "{\"type\":\"record\",\"name\":\"envelope\",\"fields\":["
    "{\"name\":\"id\",\"type\":\"long\"},"
    "{\"name\":\"name\",\"type\":[\"null\",\"string\"]},"
    "{\"name\":\"price\",\"type\":[\"null\",\"double\"]},"
    "{\"name\":\"qty\",\"type\":\"int\"},"
    "{\"name\":\"ts\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}},"
    "{\"name\":\"active\",\"type\":[\"null\",\"boolean\"]}]}";

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

typedef int (*encode_fn)(void *ctx, const sg_batch *b, uint32_t r, const int *cols, sg_buf *out);

static int enc_json(void *ctx, const sg_batch *b, uint32_t r, const int *cols, sg_buf *out) {
  (void)ctx;
  return sg_encode_json_row(b, r, cols, 6, out, NULL, 0);
}
static int enc_avro(void *ctx, const sg_batch *b, uint32_t r, const int *cols, sg_buf *out) {
  (void)ctx;
  return sg_encode_avro_row(b, r, cols, 6, 42, out, NULL, 0);
}
static int enc_generic(void *ctx, const sg_batch *b, uint32_t r, const int *cols, sg_buf *out) {
  return sg_avro_generic_encode(ctx, b, r, cols, 6, out, NULL, 0);
}

/* Best-of-ROUNDS ns per row; the buffer is reset per row as a sink does. */
static double measure(encode_fn fn, void *ctx, const sg_batch *b, const int *cols, size_t *bytes) {
  sg_buf out = {0};
  double best = 1e18;
  int reps = 50;
  for (int round = 0; round < ROUNDS; round++) {
    size_t total = 0;
    double t0 = now_ns();
    for (int rep = 0; rep < reps; rep++)
      for (uint32_t r = 0; r < b->nrows; r++) {
        out.len = 0;
        if (fn(ctx, b, r, cols, &out) != 0) {
          fprintf(stderr, "encode failed\n");
          exit(1);
        }
        total += out.len;
      }
    double ns = (now_ns() - t0) / ((double)reps * b->nrows);
    if (ns < best) best = ns;
    *bytes = total / ((size_t)reps * b->nrows);
  }
  sg_buf_free(&out);
  return best;
}

int main(void) {
  char err[256];
  sg_schema *s = sg_schema_new();
  struct { const char *name; int type; int nullable; int prec; } cols[6] = {
      {"id", SG_T_INT8, 0, -1}, {"name", SG_T_TEXT, 1, -1}, {"price", SG_T_FLOAT8, 1, -1},
      {"qty", SG_T_INT4, 0, -1}, {"ts", SG_T_TIMESTAMPTZ, 0, 6}, {"active", SG_T_BOOL, 1, -1}};
  for (int i = 0; i < 6; i++)
    sg_schema_add_column(s, cols[i].name, sg_schema_type(s, cols[i].type, cols[i].prec, -1), cols[i].nullable,
                         err, sizeof err);
  sg_batch *b = sg_batch_new(s, ROWS);
  char name[32];
  for (uint32_t i = 0; i < ROWS; i++) {
    int64_t r = sg_batch_push_row(b, 1000 + i, 1);
    sg_batch_set_i64(b, (uint32_t)r, 0, 1000000 + i * 7919);
    int n = snprintf(name, sizeof name, "customer-%u", i * 31 % 1000);
    if (i % 10) sg_batch_set_bytes(b, (uint32_t)r, 1, name, (size_t)n);
    sg_batch_set_f64(b, (uint32_t)r, 2, (double)(i % 1000) * 1.25);
    sg_batch_set_i64(b, (uint32_t)r, 3, i % 100);
    sg_batch_set_i64(b, (uint32_t)r, 4, 1720032185312000LL + i * 1000);
    sg_batch_set_i64(b, (uint32_t)r, 5, i & 1);
  }
  int idx[6] = {0, 1, 2, 3, 4, 5};
  sg_avro_generic *g = sg_avro_generic_new(SCHEMA, strlen(SCHEMA), err, sizeof err);
  if (!g) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  /* The hand-written bytes must equal avro-c's (after the 5-byte header). */
  sg_buf a = {0}, c = {0};
  for (uint32_t r = 0; r < ROWS; r++) {
    a.len = c.len = 0;
    sg_encode_avro_row(b, r, idx, 6, -1, &a, err, sizeof err);
    sg_avro_generic_encode(g, b, r, idx, 6, &c, err, sizeof err);
    if (a.len != c.len || memcmp(a.data, c.data, a.len) != 0) {
      fprintf(stderr, "row %u: hand-written Avro differs from avro-c\n", r);
      return 1;
    }
  }
  sg_buf_free(&a);
  sg_buf_free(&c);
  size_t jb, ab, gb;
  double json = measure(enc_json, NULL, b, idx, &jb);
  double avro = measure(enc_avro, NULL, b, idx, &ab);
  double gen = measure(enc_generic, g, b, idx, &gb);
  printf("encoders, 6-column row (bigint, text, double, integer, timestamptz, boolean), best of %d:\n", ROUNDS);
  printf("  %-34s %8.1f ns/row  %4zu bytes/row\n", "sinkgate JSON", json, jb);
  printf("  %-34s %8.1f ns/row  %4zu bytes/row\n", "sinkgate Avro (with wire header)", avro, ab);
  printf("  %-34s %8.1f ns/row  %4zu bytes/row\n", "avro-c generic value API", gen, gb);
  printf("  %-34s %8.1fx\n", "Avro speed-up over avro-c", gen / avro);
  sg_avro_generic_free(g);
  sg_batch_free(b);
  sg_schema_free(s);
  return 0;
}
