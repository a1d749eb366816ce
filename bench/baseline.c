/* baseline.c — the raw librdkafka producer sinkgate is measured against.
 *
 * It builds exactly the messages a sinkgate bench scenario sends — the same
 * generated rows, consolidated and encoded by the same core code, the same
 * partitions and headers — and then times only what a hand-written
 * producer would do: producev per message with explicit partitions, the
 * same compression, and (when transactional) the same transaction cadence
 * with a progress-sized record last. Encoding happens outside the timed
 * part, chunk by chunk, so memory stays bounded for 10M rows.
 *
 *   baseline BROKERS TOPIC ROWS [--rows-per-tick N] [--txn-rows N] [--compression C]
 *            [--envelope upsert|debezium] [--headers] [--no-txn] [--kcat-file FILE]
 *            [--partition-by-id] [--avro KEY_ID VALUE_ID]
 *
 * Prints one JSON line: rows, messages, bytes, seconds (timed part), cpu_ms, maxrss_kb.
 * With --kcat-file it instead writes "key<TAB>value" lines for `kcat -P -K '\t'`. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <librdkafka/rdkafka.h>
#include "../core/include/sinkgate_ffi.h"
#include "../core/util/util.h"

typedef struct opts {
  const char *brokers, *topic, *compression, *kcat_file;
  long long rows;
  int rows_per_tick, txn_rows, debezium, headers, txn, partition_by_id;
  int32_t key_id, value_id; /* Avro schema ids, or -1 for JSON */
  const char *conf[16];      /* extra k=v librdkafka properties (experiments) */
  int nconf;
} opts;

typedef struct msg {
  char *key, *value;
  size_t klen, vlen;
  int32_t partition;
  uint64_t time;
} msg;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *why) {
  fprintf(stderr, "baseline: %s: %s\n", what, why);
  exit(1);
}

static void parse(int argc, char **argv, opts *o) {
  if (argc < 4) die("usage", "baseline BROKERS TOPIC ROWS [options]");
  memset(o, 0, sizeof *o);
  *o = (opts){.brokers = argv[1], .topic = argv[2], .compression = "none", .rows = atoll(argv[3]),
              .rows_per_tick = 1000, .txn_rows = 100000, .txn = 1, .key_id = -1, .value_id = -1};
  for (int i = 4; i < argc; i++) {
    if (!strcmp(argv[i], "--rows-per-tick") && i + 1 < argc) o->rows_per_tick = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--txn-rows") && i + 1 < argc) o->txn_rows = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--compression") && i + 1 < argc) o->compression = argv[++i];
    else if (!strcmp(argv[i], "--envelope") && i + 1 < argc) o->debezium = !strcmp(argv[++i], "debezium");
    else if (!strcmp(argv[i], "--headers")) o->headers = 1;
    else if (!strcmp(argv[i], "--no-txn")) o->txn = 0;
    else if (!strcmp(argv[i], "--kcat-file") && i + 1 < argc) o->kcat_file = argv[++i];
    else if (!strcmp(argv[i], "--partition-by-id")) o->partition_by_id = 1;
    else if (!strcmp(argv[i], "-X") && i + 1 < argc && o->nconf < 16) o->conf[o->nconf++] = argv[++i];
    else if (!strcmp(argv[i], "--avro") && i + 2 < argc) {
      o->key_id = atoi(argv[++i]);
      o->value_id = atoi(argv[++i]);
    }
    else die("unknown option", argv[i]);
  }
}

/* The bench relation's schema, as lua/sinkgate/source/generators.lua declares it. */
static sg_schema *bench_schema(void) {
  char err[256];
  sg_schema *s = sg_schema_new();
  struct { const char *n; int t, nullable, prec; } c[6] = {
      {"id", SG_T_INT8, 0, -1}, {"name", SG_T_TEXT, 1, -1}, {"price", SG_T_FLOAT8, 1, -1},
      {"qty", SG_T_INT4, 0, -1}, {"ts", SG_T_TIMESTAMPTZ, 0, 6}, {"active", SG_T_BOOL, 1, -1}};
  for (int i = 0; i < 6; i++)
    sg_schema_add_column(s, c[i].n, sg_schema_type(s, c[i].t, c[i].prec, -1), c[i].nullable, err, sizeof err);
  return s;
}

/* {"before":…,"after":…}: the bytes the emitter writes for DEBEZIUM JSON. */
static void json_debezium(const sg_batch *b, const sg_update *up, const int *all, sg_buf *out) {
  char err[256];
  int32_t sides[2] = {up->before, up->after};
  out->len = 0;
  for (int k = 0; k < 2; k++) {
    if (k == 0) SG_BUF_LIT(out, "{\"before\":");
    else SG_BUF_LIT(out, ",\"after\":");
    if (sides[k] < 0) SG_BUF_LIT(out, "null");
    else sg_encode_json_row(b, (uint32_t)sides[k], all, 6, out, err, sizeof err);
  }
  SG_BUF_LIT(out, "}");
}

/* Fills the next chunk of ticks (about txn_rows changes) and encodes its
 * updates into msgs; returns the number of messages. */
static size_t encode_chunk(const opts *o, sg_batch *b, sg_updates *u, long long *tick, long long last_tick,
                           msg **msgs, size_t *cap, long long *rows) {
  static const int key_col[1] = {0};
  static int all[6] = {0, 1, 2, 3, 4, 5};
  char err[256];
  const uint64_t start = 1700000000000ULL;
  sg_batch_clear(b);
  while (*tick < last_tick && b->nrows < (uint32_t)o->txn_rows) {
    sg_gen_bench_fill(b, *tick, (uint32_t)o->rows_per_tick, start + (uint64_t)*tick, start + (uint64_t)*tick - 1);
    (*tick)++;
  }
  *rows += b->nrows;
  if (sg_consolidate(b, key_col, 1, 0, -1, u, err, sizeof err) != 0) die("consolidate", err);
  if (u->n > *cap) {
    *cap = u->n;
    *msgs = realloc(*msgs, *cap * sizeof **msgs);
  }
  sg_buf kb = {0}, vb = {0};
  for (uint32_t i = 0; i < u->n; i++) {
    const sg_update *up = &u->items[i];
    uint32_t r = (uint32_t)(up->after >= 0 ? up->after : up->before);
    kb.len = vb.len = 0;
    int avro = o->key_id >= 0;
    if (avro) sg_encode_avro_row(b, r, key_col, 1, o->key_id, &kb, err, sizeof err);
    else sg_encode_json_row(b, r, key_col, 1, &kb, err, sizeof err);
    msg *m = &(*msgs)[i];
    if (o->partition_by_id) { /* partition_by = seahash(tostring(row.id)) */
      char id[24];
      int n = snprintf(id, sizeof id, "%" PRId64, b->cells[(size_t)r * 6].i);
      m->partition = (int32_t)(sg_hash_seahash(id, (size_t)n) % 4);
    } else {
      m->partition = (int32_t)(sg_hash_seahash(kb.data + (avro ? 5 : 0), kb.len - (avro ? 5 : 0)) % 4);
    }
    m->time = up->time;
    m->key = malloc(kb.len);
    memcpy(m->key, kb.data, kb.len);
    m->klen = kb.len;
    m->value = NULL;
    m->vlen = 0;
    if (o->debezium) {
      json_debezium(b, up, all, &vb);
    } else if (up->after >= 0 && avro) {
      sg_encode_avro_row(b, (uint32_t)up->after, all, 6, o->value_id, &vb, err, sizeof err);
    } else if (up->after >= 0) {
      sg_encode_json_row(b, (uint32_t)up->after, all, 6, &vb, err, sizeof err);
    }
    if (o->debezium || up->after >= 0) {
      m->value = malloc(vb.len ? vb.len : 1);
      memcpy(m->value, vb.data, vb.len);
      m->vlen = vb.len;
    }
  }
  sg_buf_free(&kb);
  sg_buf_free(&vb);
  return u->n;
}

static void free_chunk(msg *msgs, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(msgs[i].key);
    free(msgs[i].value);
  }
}

static rd_kafka_t *producer(const opts *o) {
  char err[512];
  rd_kafka_conf_t *c = rd_kafka_conf_new();
  const char *kv[][2] = {{"bootstrap.servers", o->brokers}, {"enable.idempotence", "true"},
                         {"socket.nagle.disable", "true"}, {"compression.type", o->compression},
                         {"linger.ms", "5"}, {"queue.buffering.max.messages", "1000000"},
                         {"transactional.id", o->txn ? "sinkgate-baseline" : NULL}};
  for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
    if (kv[i][1] && rd_kafka_conf_set(c, kv[i][0], kv[i][1], err, sizeof err) != RD_KAFKA_CONF_OK) die(kv[i][0], err);
  for (int i = 0; i < o->nconf; i++) {
    char k[128];
    const char *eq = strchr(o->conf[i], '=');
    if (!eq || (size_t)(eq - o->conf[i]) >= sizeof k) die("-X", o->conf[i]);
    memcpy(k, o->conf[i], (size_t)(eq - o->conf[i]));
    k[eq - o->conf[i]] = 0;
    if (rd_kafka_conf_set(c, k, eq + 1, err, sizeof err) != RD_KAFKA_CONF_OK) die(k, err);
  }
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof err);
  if (!rk) die("rd_kafka_new", err);
  if (o->txn) {
    rd_kafka_error_t *e = rd_kafka_init_transactions(rk, 30000);
    if (e) die("init_transactions", rd_kafka_error_string(e));
  }
  return rk;
}

/* A held topic handle, as a careful hand-written producer would use:
 * producev(V_TOPIC(name)) looks the name up on every message. */
static rd_kafka_topic_t *rkt;

static void produce(rd_kafka_t *rk, const opts *o, const msg *m) {
  if (!rkt) rkt = rd_kafka_topic_new(rk, o->topic, NULL);
  char ts[24];
  int n = snprintf(ts, sizeof ts, "%" PRIu64, m->time);
  rd_kafka_headers_t *h = rd_kafka_headers_new(2);
  rd_kafka_header_add(h, "sinkgate-timestamp", -1, ts, n);
  if (o->headers) rd_kafka_header_add(h, "source", -1, "demo", 4);
  for (;;) {
    rd_kafka_resp_err_t e = rd_kafka_producev(
        rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_PARTITION(m->partition), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(m->key, m->klen), RD_KAFKA_V_VALUE(m->value, m->vlen), RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
    if (!e) break;
    if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) die("producev", rd_kafka_err2str(e));
    rd_kafka_poll(rk, 1);
  }
  rd_kafka_poll(rk, 0);
}

static void write_kcat(FILE *f, const msg *m, size_t n) {
  for (size_t i = 0; i < n; i++) {
    fwrite(m[i].key, 1, m[i].klen, f);
    fputc('\t', f);
    if (m[i].value) fwrite(m[i].value, 1, m[i].vlen, f);
    fputc('\n', f);
  }
}

int main(int argc, char **argv) {
  opts o;
  parse(argc, argv, &o);
  sg_schema *s = bench_schema();
  sg_batch *b = sg_batch_new(s, (uint32_t)o.txn_rows + (uint32_t)o.rows_per_tick);
  sg_updates u = {0};
  msg *msgs = NULL;
  size_t cap = 0;
  long long tick = 0, last_tick = o.rows / o.rows_per_tick, rows = 0, messages = 0, bytes = 0;
  FILE *kf = o.kcat_file ? fopen(o.kcat_file, "w") : NULL;
  rd_kafka_t *rk = kf ? NULL : producer(&o);
  double timed = 0;
  while (tick < last_tick) {
    size_t n = encode_chunk(&o, b, &u, &tick, last_tick, &msgs, &cap, &rows);
    for (size_t i = 0; i < n; i++) bytes += (long long)(msgs[i].klen + msgs[i].vlen);
    messages += (long long)n;
    if (kf) {
      write_kcat(kf, msgs, n);
    } else {
      double t0 = now_s();
      if (o.txn) rd_kafka_begin_transaction(rk);
      for (size_t i = 0; i < n; i++) produce(rk, &o, &msgs[i]);
      if (o.txn) {
        /* the progress record, last, as sinkgate writes it */
        char rec[96];
        int rn = snprintf(rec, sizeof rec, "{\"frontier\":[%lld],\"version\":1}", 1700000000000LL + tick);
        rd_kafka_producev(rk, RD_KAFKA_V_TOPIC("_sinkgate-progress"), RD_KAFKA_V_PARTITION(0),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY("baseline", 8),
                          RD_KAFKA_V_VALUE(rec, (size_t)rn), RD_KAFKA_V_END);
        rd_kafka_error_t *e = rd_kafka_commit_transaction(rk, 60000);
        if (e) die("commit", rd_kafka_error_string(e));
      }
      timed += now_s() - t0;
    }
    free_chunk(msgs, n);
  }
  if (rk) {
    double t0 = now_s();
    rd_kafka_flush(rk, 60000);
    timed += now_s() - t0;
    rd_kafka_destroy(rk);
  }
  if (kf) fclose(kf);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("{\"rows\":%lld,\"messages\":%lld,\"bytes\":%lld,\"seconds\":%.3f,\"cpu_ms\":%ld,\"maxrss_kb\":%ld}\n", rows,
         messages, bytes, timed, (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000L +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000L, ru.ru_maxrss);
  free(msgs);
  sg_updates_free(&u);
  sg_batch_free(b);
  sg_schema_free(s);
  return 0;
}
