/* pipeline_baseline.c — what a sinkgate Kafka→Kafka pipeline does, with
 * librdkafka alone: the raw baseline of the pipeline benchmarks
 * (bench/pipeline.lua).
 *
 *   pipeline_baseline seed BROKERS TOPIC N [--avro KEY_ID VALUE_ID]
 *       Fills TOPIC with N upsert messages (~10% of them update or delete
 *       an earlier key: a null value deletes), JSON or Confluent-framed Avro.
 *       Not timed: this is the input of both sides.
 *   pipeline_baseline pipe BROKERS IN OUT [--avro KEY_ID VALUE_ID] [--txn-rows N]
 *                     [--commit-ms M] [--interval-ms I] [--ceiling]
 *       Assigns every partition of IN (read_committed), reads up to the high
 *       watermarks seen at start, and produces each message to OUT with the
 *       bytes, partition and header sinkgate's JSON/Avro upsert sink writes for
 *       the `bench/pipeline.lua` configs: key {"key":K} / value
 *       {"key":K,"data":V} for JSON, key and value records with the key
 *       column first for Avro (the same body bytes behind new framing), the
 *       partition SeaHash(key) % partitions, a sinkgate-timestamp header
 *       (the logical time: wall ms quantized to I). Transactions as sinkgate
 *       cuts them: at N messages or M ms, a progress record last. A null
 *       value stays a tombstone. Unlike sinkgate it does not consolidate, so
 *       it produces every message (a conservative baseline).
 *       --ceiling instead reads everything first (untimed) and times only
 *       producing the same messages, header and transactions included: the
 *       ceiling any consume+produce pipeline stays below.
 *
 * Prints one JSON line: messages (consumed), produced, seconds (process
 * start to the last commit), cpu_ms, maxrss_kb. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <librdkafka/rdkafka.h>
#include "../core/include/sinkgate_ffi.h"

typedef struct opts {
  const char *mode, *brokers, *in, *out;
  long long n;
  int32_t key_id, value_id; /* -1: JSON */
  int txn_rows, commit_ms, interval_ms, ceiling;
} opts;

typedef struct buf {
  char *p;
  size_t len, cap;
} buf;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void die(const char *what, const char *why) {
  fprintf(stderr, "pipeline_baseline: %s: %s\n", what, why);
  exit(1);
}

static void put(buf *b, const void *p, size_t n) {
  if (b->len + n > b->cap) {
    b->cap = (b->len + n) * 2 + 64;
    b->p = realloc(b->p, b->cap);
    if (!b->p) die("realloc", "out of memory");
  }
  memcpy(b->p + b->len, p, n);
  b->len += n;
}

static void put_s(buf *b, const char *s) { put(b, s, strlen(s)); }

static void put_frame(buf *b, int32_t id) {
  unsigned char h[5] = {0, (unsigned char)(id >> 24), (unsigned char)(id >> 16), (unsigned char)(id >> 8),
                        (unsigned char)id};
  put(b, h, 5);
}

static void put_long(buf *b, int64_t v) { /* Avro: zigzag varint */
  uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
  unsigned char t[10];
  int n = 0;
  do {
    t[n] = (unsigned char)(z & 0x7f);
    z >>= 7;
    if (z) t[n] |= 0x80;
    n++;
  } while (z);
  put(b, t, (size_t)n);
}

static void parse(int argc, char **argv, opts *o) {
  memset(o, 0, sizeof *o);
  o->key_id = o->value_id = -1;
  o->txn_rows = 100000;
  o->commit_ms = 100;
  o->interval_ms = 1000;
  if (argc < 5) die("usage", "pipeline_baseline seed BROKERS TOPIC N | pipe BROKERS IN OUT [options]");
  o->mode = argv[1];
  o->brokers = argv[2];
  o->in = argv[3];
  if (!strcmp(o->mode, "seed")) o->n = atoll(argv[4]);
  else if (!strcmp(o->mode, "pipe")) o->out = argv[4];
  else die("unknown mode", o->mode);
  for (int i = 5; i < argc; i++) {
    if (!strcmp(argv[i], "--avro") && i + 2 < argc) {
      o->key_id = atoi(argv[++i]);
      o->value_id = atoi(argv[++i]);
    } else if (!strcmp(argv[i], "--txn-rows") && i + 1 < argc) o->txn_rows = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--commit-ms") && i + 1 < argc) o->commit_ms = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--interval-ms") && i + 1 < argc) o->interval_ms = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--ceiling")) o->ceiling = 1;
    else die("unknown option", argv[i]);
  }
}

static void conf_set(rd_kafka_conf_t *c, const char *k, const char *v) {
  char err[512];
  if (rd_kafka_conf_set(c, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) die(k, err);
}

/* The producer as sinkgate's sink configures it (sink/txn.lua). */
static rd_kafka_t *producer(const opts *o, const char *txn_id) {
  char err[512], q[32];
  rd_kafka_conf_t *c = rd_kafka_conf_new();
  conf_set(c, "bootstrap.servers", o->brokers);
  conf_set(c, "enable.idempotence", "true");
  conf_set(c, "socket.nagle.disable", "true");
  conf_set(c, "linger.ms", "5");
  snprintf(q, sizeof q, "%d", o->txn_rows * 2 + 1000 > 100000 ? o->txn_rows * 2 + 1000 : 100000);
  conf_set(c, "queue.buffering.max.messages", q);
  if (txn_id) conf_set(c, "transactional.id", txn_id);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof err);
  if (!rk) die("rd_kafka_new", err);
  if (txn_id) {
    rd_kafka_error_t *e = rd_kafka_init_transactions(rk, 30000);
    if (e) die("init_transactions", rd_kafka_error_string(e));
  }
  return rk;
}

static int partitions_of(rd_kafka_t *rk, const char *topic) {
  rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
  const struct rd_kafka_metadata *md;
  rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, t, &md, 10000);
  if (e) die("metadata", rd_kafka_err2str(e));
  int n = md->topic_cnt == 1 ? md->topics[0].partition_cnt : 0;
  rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(t);
  if (n <= 0) die("no partitions", topic);
  return n;
}

static void produce_one(rd_kafka_t *rk, rd_kafka_topic_t *t, int32_t part, const void *k, size_t kl, const void *v,
                 size_t vl, rd_kafka_headers_t *h) {
  for (;;) {
    rd_kafka_resp_err_t e =
        h ? rd_kafka_producev(rk, RD_KAFKA_V_RKT(t), RD_KAFKA_V_PARTITION(part),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(k, kl),
                              RD_KAFKA_V_VALUE((void *)v, vl), RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END)
          : rd_kafka_producev(rk, RD_KAFKA_V_RKT(t), RD_KAFKA_V_PARTITION(part),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(k, kl),
                              RD_KAFKA_V_VALUE((void *)v, vl), RD_KAFKA_V_END);
    if (!e) break;
    /* on failure the headers stay ours: retried as they are */
    if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) die("producev", rd_kafka_err2str(e));
    rd_kafka_poll(rk, 1);
  }
  rd_kafka_poll(rk, 0);
}

/* ------------------------------------------------------------------ seed */

static void seed(const opts *o) {
  rd_kafka_t *rk = producer(o, NULL);
  rd_kafka_topic_t *t = rd_kafka_topic_new(rk, o->in, NULL);
  int avro = o->key_id >= 0;
  buf k = {0}, v = {0};
  for (long long i = 0; i < o->n; i++) {
    /* every tenth message revisits the key five before it: alternately a
     * delete (null value) and an update */
    long long id = i, qty = i % 100;
    int del = 0;
    if (i % 10 == 9 && i >= 10) {
      id = i - 5;
      del = (i / 10) % 2 == 0;
      qty = (i - 5) % 100 + 1;
    }
    k.len = v.len = 0;
    char tmp[160];
    double price = (double)(id % 10000) / 100.0;
    if (avro) {
      put_frame(&k, o->key_id);
      put_long(&k, id);
      if (!del) {
        put_frame(&v, o->value_id);
        int n = snprintf(tmp, sizeof tmp, "widget-%lld", id % 1000);
        put_long(&v, n);
        put(&v, tmp, (size_t)n);
        put(&v, &price, 8); /* little-endian hosts only (x86_64, arm64) */
        put_long(&v, qty);
        put_long(&v, 1700000000000000LL + id);
        put(&v, (id % 3) ? "\1" : "\0", 1);
      }
    } else {
      int n = snprintf(tmp, sizeof tmp, "{\"id\":%lld}", id);
      put(&k, tmp, (size_t)n);
      if (!del) {
        n = snprintf(tmp, sizeof tmp,
                     "{\"id\":%lld,\"name\":\"widget-%lld\",\"price\":%.2f,\"qty\":%lld,\"ts\":\"2023-11-14T22:13:20.%06lld+00:00\","
                     "\"active\":%s}",
                     id, id % 1000, price, qty, id % 1000000, (id % 3) ? "true" : "false");
        put(&v, tmp, (size_t)n);
      }
    }
    produce_one(rk, t, RD_KAFKA_PARTITION_UA, k.p, k.len, del ? NULL : v.p, del ? 0 : v.len, NULL);
  }
  rd_kafka_flush(rk, 60000);
  rd_kafka_topic_destroy(t);
  rd_kafka_destroy(rk);
  free(k.p);
  free(v.p);
  printf("{\"messages\":%lld}\n", o->n);
}

/* ------------------------------------------------------------------ pipe */

typedef struct held { /* --ceiling: the messages, read before timing */
  char *k, *v;
  size_t kl, vl;
  int32_t part;
  int null;
} held;

typedef struct pipe_state {
  const opts *o;
  rd_kafka_t *prod;
  rd_kafka_topic_t *out;
  int nout, nin, in_txn, avro;
  long long in_txn_n, txns, produced;
  double txn_started;
  char ts[24];
  size_t tslen;
  int64_t *pos;
} pipe_state;

/* Out key/value bytes of one input message, as the sink encodes them. */
static void transform(const pipe_state *s, const rd_kafka_message_t *m, buf *k, buf *v) {
  k->len = v->len = 0;
  const char *key = m->key;
  size_t kl = m->key_len;
  if (s->avro) {
    put_frame(k, s->o->key_id);
    if (kl >= 5) put(k, key + 5, kl - 5);
    if (m->payload) {
      put_frame(v, s->o->value_id);
      if (kl >= 5) put(v, key + 5, kl - 5);
      if (m->len >= 5) put(v, (const char *)m->payload + 5, m->len - 5);
    }
  } else {
    put_s(k, "{\"key\":");
    put(k, key, kl);
    put_s(k, "}");
    if (m->payload) {
      put_s(v, "{\"key\":");
      put(v, key, kl);
      put_s(v, ",\"data\":");
      put(v, m->payload, m->len);
      put_s(v, "}");
    }
  }
}

static void begin(pipe_state *s) {
  if (s->in_txn) return;
  rd_kafka_error_t *e = rd_kafka_begin_transaction(s->prod);
  if (e) die("begin_transaction", rd_kafka_error_string(e));
  s->in_txn = 1;
  s->in_txn_n = 0;
  s->txn_started = now_s();
  int64_t t = wall_ms() / s->o->interval_ms * s->o->interval_ms; /* one logical time per interval */
  s->tslen = (size_t)snprintf(s->ts, sizeof s->ts, "%" PRId64, t);
}

static void commit(pipe_state *s) {
  if (!s->in_txn) return;
  char rec[512];
  int n = snprintf(rec, sizeof rec, "{\"frontier\":[%s],\"version\":1,\"sources\":{\"in\":{\"offsets\":[", s->ts);
  for (int p = 0; p < s->nin && n < (int)sizeof rec - 32; p++)
    n += snprintf(rec + n, sizeof rec - (size_t)n, "%s%" PRId64, p ? "," : "", s->pos[p]);
  n += snprintf(rec + n, sizeof rec - (size_t)n, "]}}}");
  rd_kafka_producev(s->prod, RD_KAFKA_V_TOPIC("_sinkgate-progress"), RD_KAFKA_V_PARTITION(0),
                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY("pipeline-baseline", 17),
                    RD_KAFKA_V_VALUE(rec, (size_t)n), RD_KAFKA_V_END);
  rd_kafka_error_t *e = rd_kafka_commit_transaction(s->prod, 60000);
  if (e) die("commit_transaction", rd_kafka_error_string(e));
  s->in_txn = 0;
  s->txns++;
}

static void emit(pipe_state *s, const void *k, size_t kl, const void *v, size_t vl, int null) {
  begin(s);
  const char *kb = k;
  size_t skip = s->avro ? 5 : 0;
  int32_t part = (int32_t)(sg_hash_seahash(kb + skip, kl > skip ? kl - skip : 0) % (uint64_t)s->nout);
  rd_kafka_headers_t *h = rd_kafka_headers_new(1);
  rd_kafka_header_add(h, "sinkgate-timestamp", -1, s->ts, (ssize_t)s->tslen);
  produce_one(s->prod, s->out, part, k, kl, null ? NULL : v, null ? 0 : vl, h);
  s->produced++;
  s->in_txn_n++;
  if (s->in_txn_n >= s->o->txn_rows || (now_s() - s->txn_started) * 1000 >= s->o->commit_ms) commit(s);
}

static rd_kafka_t *consumer(const opts *o) {
  char err[512];
  rd_kafka_conf_t *c = rd_kafka_conf_new();
  conf_set(c, "bootstrap.servers", o->brokers);
  conf_set(c, "group.id", "pipeline-baseline");
  conf_set(c, "enable.auto.commit", "false");
  conf_set(c, "enable.auto.offset.store", "false");
  conf_set(c, "enable.partition.eof", "true");
  conf_set(c, "auto.offset.reset", "earliest");
  conf_set(c, "isolation.level", "read_committed");
  conf_set(c, "socket.nagle.disable", "true");
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof err);
  if (!rk) die("rd_kafka_new consumer", err);
  rd_kafka_poll_set_consumer(rk);
  return rk;
}

static void pipe_run(const opts *o) {
  double t0 = now_s();
  pipe_state s = {.o = o, .avro = o->key_id >= 0};
  rd_kafka_t *cons = consumer(o);
  s.nin = partitions_of(cons, o->in);
  int64_t *target = calloc((size_t)s.nin, sizeof *target);
  s.pos = calloc((size_t)s.nin, sizeof *s.pos);
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(s.nin);
  for (int p = 0; p < s.nin; p++) {
    int64_t lo, hi;
    rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(cons, o->in, p, &lo, &hi, 10000);
    if (e) die("watermarks", rd_kafka_err2str(e));
    target[p] = hi;
    s.pos[p] = lo;
    rd_kafka_topic_partition_list_add(l, o->in, p)->offset = lo;
  }
  if (rd_kafka_assign(cons, l)) die("assign", o->in);
  rd_kafka_topic_partition_list_destroy(l);
  held *hold = NULL;
  size_t nheld = 0, capheld = 0;
  if (!o->ceiling) {
    s.prod = producer(o, "pipeline-baseline");
    s.out = rd_kafka_topic_new(s.prod, o->out, NULL);
    s.nout = partitions_of(s.prod, o->out);
  }
  long long consumed = 0;
  buf k = {0}, v = {0};
  for (;;) {
    int done = 1;
    for (int p = 0; p < s.nin; p++)
      if (s.pos[p] < target[p]) done = 0;
    if (done) break;
    rd_kafka_message_t *m = rd_kafka_consumer_poll(cons, s.in_txn ? 0 : 100);
    if (!m) {
      if (s.in_txn && (now_s() - s.txn_started) * 1000 >= o->commit_ms) commit(&s);
      continue;
    }
    int p = m->partition;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      if (m->offset > s.pos[p]) s.pos[p] = m->offset < target[p] ? m->offset : target[p];
    } else if (m->err) {
      die("consume", rd_kafka_message_errstr(m));
    } else if (m->offset >= s.pos[p] && m->offset < target[p]) {
      transform(&s, m, &k, &v);
      s.pos[p] = m->offset + 1;
      consumed++;
      if (o->ceiling) {
        if (nheld == capheld) {
          capheld = capheld * 2 + 1024;
          hold = realloc(hold, capheld * sizeof *hold);
          if (!hold) die("realloc", "out of memory");
        }
        held *h = &hold[nheld++];
        h->k = malloc(k.len + v.len + 1);
        memcpy(h->k, k.p, k.len);
        h->kl = k.len;
        h->v = h->k + k.len;
        if (v.len) memcpy(h->v, v.p, v.len);
        h->vl = v.len;
        h->null = m->payload == NULL;
      } else {
        emit(&s, k.p, k.len, v.p, v.len, m->payload == NULL);
      }
    }
    rd_kafka_message_destroy(m);
  }
  if (o->ceiling) { /* the produce side alone, timed from its own start */
    t0 = now_s();
    s.prod = producer(o, "pipeline-baseline");
    s.out = rd_kafka_topic_new(s.prod, o->out, NULL);
    s.nout = partitions_of(s.prod, o->out);
    for (size_t i = 0; i < nheld; i++) emit(&s, hold[i].k, hold[i].kl, hold[i].v, hold[i].vl, hold[i].null);
  }
  commit(&s);
  double secs = now_s() - t0;
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("{\"messages\":%lld,\"produced\":%lld,\"transactions\":%lld,\"seconds\":%.3f,\"cpu_ms\":%ld,"
         "\"maxrss_kb\":%ld}\n",
         consumed, s.produced, s.txns, secs,
         (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000L + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000L,
         ru.ru_maxrss);
  for (size_t i = 0; i < nheld; i++) free(hold[i].k);
  free(hold);
  free(k.p);
  free(v.p);
  free(target);
  free(s.pos);
  rd_kafka_topic_destroy(s.out);
  rd_kafka_destroy(s.prod);
  rd_kafka_consumer_close(cons);
  rd_kafka_destroy(cons);
}

int main(int argc, char **argv) {
  opts o;
  parse(argc, argv, &o);
  if (!strcmp(o.mode, "seed")) seed(&o);
  else pipe_run(&o);
  return 0;
}
