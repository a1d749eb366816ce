/* decode_bench.c — ns per message of each source decoder, and avro-c's
 * generic reader alone (avro_value_read of the same bytes into a generic
 * value, no schema resolution, no cells) as the baseline the Avro decoder
 * is compared with. Messages are one 6-column row like the encoder bench's
 * (id, name, price, qty, ts, active); "avro" is written with the reader
 * schema (read directly), "avro-resol" by a writer with one more field
 * (through avro-c's resolver). Best of 5 runs; one line per format. */
#include <avro.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../core/include/sinkgate_ffi.h"

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static size_t put_long(uint8_t *p, int64_t v) {
  uint64_t u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
  size_t n = 0;
  while (u >= 0x80) p[n++] = (uint8_t)(u | 0x80), u >>= 7;
  p[n++] = (uint8_t)u;
  return n;
}

static const char *SCHEMA =
    "{\"type\":\"record\",\"name\":\"row\",\"fields\":[{\"name\":\"id\",\"type\":\"long\"},"
    "{\"name\":\"name\",\"type\":\"string\"},{\"name\":\"price\",\"type\":\"double\"},"
    "{\"name\":\"qty\",\"type\":\"int\"},{\"name\":\"ts\",\"type\":{\"type\":\"long\",\"logicalType\":"
    "\"timestamp-micros\"}},{\"name\":\"active\",\"type\":\"boolean\"}]}";

static sg_schema *row_schema(int avro_like) {
  sg_schema *s = sg_schema_new();
  char err[256];
  int types[] = {SG_T_INT8, SG_T_TEXT, SG_T_FLOAT8, SG_T_INT4, SG_T_TIMESTAMP, SG_T_BOOL};
  const char *names[] = {"id", "name", "price", "qty", "ts", "active"};
  for (int i = 0; i < 6; i++) {
    int t = avro_like ? types[i] : SG_T_TEXT;
    sg_schema_add_column(s, names[i], sg_schema_type(s, t, t == SG_T_TIMESTAMP ? 6 : -1, -1), 1, err, sizeof err);
  }
  return s;
}

static void run(const char *label, sg_decoder *d, sg_schema *s, const uint8_t *msg, size_t len, int n) {
  char err[512];
  sg_batch *b = sg_batch_new(s, 1024);
  double best = 1e18;
  for (int rep = 0; rep < 5; rep++) {
    double t0 = now_ns();
    for (int i = 0; i < n; i++) {
      if ((i & 1023) == 0) sg_batch_clear(b);
      int64_t r = sg_batch_push_row(b, 1, 1);
      if (sg_decode(d, msg, len, b, (uint32_t)r, 0, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", label, err);
        exit(1);
      }
    }
    double per = (now_ns() - t0) / n;
    if (per < best) best = per;
  }
  printf("decode %-10s %8.1f ns/msg  (%zu bytes)\n", label, best, len);
  sg_batch_free(b);
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 200000;
  char err[512];
  sg_schema *typed = row_schema(1), *texts = row_schema(0), *one;
  /* Avro: the same row, Confluent-framed with id 1 */
  uint8_t avro[64];
  size_t al = 0;
  avro[al++] = 0, avro[al++] = 0, avro[al++] = 0, avro[al++] = 0, avro[al++] = 1;
  al += put_long(avro + al, 123456789);
  al += put_long(avro + al, 6);
  memcpy(avro + al, "widget", 6), al += 6;
  double price = 19.99;
  memcpy(avro + al, &price, 8), al += 8;
  al += put_long(avro + al, 42);
  al += put_long(avro + al, 1704164645678901LL);
  avro[al++] = 1;
  sg_decoder *d = sg_decoder_avro_new(SCHEMA, strlen(SCHEMA), 1, err, sizeof err);
  if (!d || sg_decoder_avro_add_writer(d, 1, SCHEMA, strlen(SCHEMA), NULL, 0, err, sizeof err) != 0) {
    fprintf(stderr, "avro: %s\n", err);
    return 1;
  }
  run("avro", d, typed, avro, al, n);
  /* the same row from a writer with one more field (skipped): avro-c's resolver path */
  char w2[1024];
  snprintf(w2, sizeof w2, "%.*s,{\"name\":\"extra\",\"type\":\"boolean\"}]}", (int)strlen(SCHEMA) - 2, SCHEMA);
  uint8_t avro2[64];
  memcpy(avro2, avro, al);
  avro2[4] = 2;
  avro2[al] = 0;
  if (sg_decoder_avro_add_writer(d, 2, w2, strlen(w2), NULL, 0, err, sizeof err) != 0) {
    fprintf(stderr, "avro writer 2: %s\n", err);
    return 1;
  }
  run("avro-resol", d, typed, avro2, al + 1, n);
  sg_decoder_free(d);

  /* avro-c's generic reader on the same bytes (header skipped) */
  avro_schema_t schema;
  avro_schema_from_json_length(SCHEMA, strlen(SCHEMA), &schema);
  avro_value_iface_t *iface = avro_generic_class_from_schema(schema);
  avro_value_t v;
  avro_generic_value_new(iface, &v);
  avro_reader_t rd = avro_reader_memory((const char *)avro + 5, (int64_t)al - 5);
  double best = 1e18;
  for (int rep = 0; rep < 5; rep++) {
    double t0 = now_ns();
    for (int i = 0; i < n; i++) {
      avro_reader_memory_set_source(rd, (const char *)avro + 5, (int64_t)al - 5);
      avro_value_reset(&v);
      if (avro_value_read(rd, &v) != 0) return 1;
    }
    double per = (now_ns() - t0) / n;
    if (per < best) best = per;
  }
  printf("decode %-10s %8.1f ns/msg  (avro-c generic reader alone, no cells)\n", "avro-c", best);
  avro_reader_free(rd);
  avro_value_decref(&v);
  avro_value_iface_decref(iface);
  avro_schema_decref(schema);

  const char *json = "{\"id\":123456789,\"name\":\"widget\",\"price\":19.99,\"qty\":42,"
                     "\"ts\":\"2024-01-02T03:04:05.678901Z\",\"active\":true}";
  const char *csv = "123456789,widget,19.99,42,2024-01-02T03:04:05.678901Z,true";
  const char *dbz = "{\"before\":null,\"after\":{\"id\":123456789,\"name\":\"widget\",\"price\":19.99,\"qty\":42,"
                    "\"ts\":1704164645678901,\"active\":true},\"source\":{\"lsn\":123456,\"ts_ms\":1704164645000},"
                    "\"op\":\"c\",\"ts_ms\":1704164645999}";
  int types1[] = {SG_T_JSONB};
  one = sg_schema_new();
  sg_schema_add_column(one, "data", sg_schema_type(one, types1[0], -1, -1), 1, err, sizeof err);
  d = sg_decoder_json_new(err, sizeof err);
  run("json", d, one, (const uint8_t *)json, strlen(json), n);
  sg_decoder_free(d);
  d = sg_decoder_text_new(err, sizeof err);
  run("text", d, one, (const uint8_t *)json, strlen(json), n); /* the cell's type is not checked by TEXT */
  sg_decoder_free(d);
  d = sg_decoder_bytes_new(err, sizeof err);
  run("bytes", d, one, (const uint8_t *)json, strlen(json), n);
  sg_decoder_free(d);
  d = sg_decoder_csv_new(6, ',', err, sizeof err);
  run("csv", d, texts, (const uint8_t *)csv, strlen(csv), n);
  sg_decoder_free(d);
  const char *names[] = {"id", "name", "price", "qty", "ts", "active"};
  int hints[] = {0, 0, 0, 0, SG_DBZ_H_MICROS, 0};
  d = sg_decoder_debezium_new(6, names, hints, err, sizeof err);
  run("debezium", d, typed, (const uint8_t *)dbz, strlen(dbz), n);
  sg_decoder_free(d);
  sg_schema_free(typed);
  sg_schema_free(texts);
  sg_schema_free(one);
  return 0;
}
