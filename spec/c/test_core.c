/* test_core.c — C-level checks of the core, where C is tested best:
 * the hashes against librdkafka's own partitioners on random keys, batch
 * arena growth, JSON string escaping and the YAML node tree. Prints one
 * line per check and ends with "c-core: N passed, N failed". */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <librdkafka/rdkafka.h>
#include "../../core/include/sinkgate_ffi.h"

static int passed, failed;

#define CHECK(cond, ...)                         \
  do {                                           \
    if (cond) {                                  \
      passed++;                                  \
    } else {                                     \
      failed++;                                  \
      printf("FAIL %s:%d: ", __FILE__, __LINE__); \
      printf(__VA_ARGS__);                       \
      printf("\n");                              \
    }                                            \
  } while (0)

static void random_key(unsigned char *buf, size_t *len, unsigned *seed) {
  *len = (size_t)(rand_r(seed) % 64);
  for (size_t i = 0; i < *len; i++) buf[i] = (unsigned char)rand_r(seed);
}

static void test_hashes_against_librdkafka(void) {
  unsigned seed = 42;
  unsigned char key[64];
  size_t len;
  int bad_murmur = 0, bad_crc = 0;
  for (int i = 0; i < 20000; i++) {
    random_key(key, &len, &seed);
    int32_t cnt = 1 + rand_r(&seed) % 1000;
    int32_t ours = sg_hash_kafka_murmur2(key, len) % cnt;
    int32_t theirs = rd_kafka_msg_partitioner_murmur2(NULL, key, len, cnt, NULL, NULL);
    bad_murmur += ours != theirs;
    int32_t crc_ours = (int32_t)(sg_hash_crc32(key, len) % (uint32_t)cnt);
    int32_t crc_theirs = rd_kafka_msg_partitioner_consistent(NULL, key, len, cnt, NULL, NULL);
    bad_crc += crc_ours != crc_theirs;
  }
  CHECK(bad_murmur == 0, "murmur2 disagrees with librdkafka on %d of 20000 keys", bad_murmur);
  CHECK(bad_crc == 0, "crc32 disagrees with librdkafka on %d of 20000 keys", bad_crc);
  CHECK(sg_hash_kafka_murmur2("foobar", 6) == 1357151166, "murmur2(foobar)");
}

static void test_batch_growth(void) {
  sg_schema *s = sg_schema_new();
  char err[256];
  const sg_typeinfo *i8 = sg_schema_type(s, SG_T_INT8, -1, -1), *txt = sg_schema_type(s, SG_T_TEXT, -1, -1);
  CHECK(sg_schema_add_column(s, "id", i8, 0, err, sizeof err) == 0, "add id");
  CHECK(sg_schema_add_column(s, "t", txt, 1, err, sizeof err) == 0, "add t");
  CHECK(sg_schema_add_column(s, "t", txt, 1, err, sizeof err) == -1 &&
            strstr(err, "declared twice"), "duplicate column refused: %s", err);
  sg_batch *b = sg_batch_new(s, 2);
  char text[100];
  for (int i = 0; i < 5000; i++) {
    int64_t r = sg_batch_push_row(b, (uint64_t)i, 1);
    sg_batch_set_i64(b, (uint32_t)r, 0, i);
    int n = snprintf(text, sizeof text, "row-%d", i);
    if (i % 7) sg_batch_set_bytes(b, (uint32_t)r, 1, text, (size_t)n);
  }
  CHECK(b->nrows == 5000, "rows %u", b->nrows);
  int ok = 1;
  for (uint32_t r = 0; r < b->nrows; r++) {
    int n = snprintf(text, sizeof text, "row-%u", r);
    sg_datum d = b->cells[r * 2 + 1];
    if (r % 7 == 0) ok &= b->nulls[r * 2 + 1] == 1;
    else ok &= d.s.len == (uint32_t)n && memcmp(b->arena + d.s.off, text, (size_t)n) == 0;
    ok &= b->cells[r * 2].i == (int64_t)r && b->times[r] == r;
  }
  CHECK(ok, "values survive arena and row growth");
  sg_buf out = {0};
  int cols[2] = {0, 1};
  CHECK(sg_encode_json_row(b, 0, cols, 2, &out, err, sizeof err) == 0, "encode row 0");
  CHECK(out.len == strlen("{\"id\":0,\"t\":null}") && memcmp(out.data, "{\"id\":0,\"t\":null}", out.len) == 0,
        "row 0 json: %.*s", (int)out.len, out.data);
  sg_buf_free(&out);
  /* A bad row is taken back whole: rows and arena return to the mark. */
  uint32_t mark_rows = b->nrows;
  size_t mark_arena = b->arena_len;
  int64_t r = sg_batch_push_row(b, 1, 1);
  sg_batch_set_bytes(b, (uint32_t)r, 1, "half-written", 12);
  sg_batch_truncate(b, mark_rows, mark_arena);
  CHECK(b->nrows == mark_rows && b->arena_len == mark_arena, "truncate: %u rows, %zu arena bytes", b->nrows,
        b->arena_len);
  sg_batch_truncate(b, mark_rows + 10, mark_arena + 10); /* never grows */
  CHECK(b->nrows == mark_rows && b->arena_len == mark_arena, "truncate does not grow");
  sg_batch_free(b);
  sg_schema_free(s);
}

static void test_yaml_tree(void) {
  const char *src = "a: 1\nb:\n  - x\n  - \"y\"\nc: {d: true}\n";
  char err[256];
  sg_ydoc *d = sg_yaml_parse(src, strlen(src), err, sizeof err);
  CHECK(d != NULL, "parse: %s", err);
  if (!d) return;
  CHECK(d->nodes[0].kind == SG_Y_MAP, "root is a map");
  int b_key = d->nodes[d->nodes[d->nodes[0].first_child].next_sibling].next_sibling;
  CHECK(strcmp(d->text + d->nodes[b_key].off, "b") == 0 && d->nodes[b_key].line == 2, "key b on line 2");
  int seq = d->nodes[b_key].next_sibling;
  int y = d->nodes[d->nodes[seq].first_child].next_sibling;
  CHECK(d->nodes[y].plain == 0 && d->nodes[y].line == 4, "quoted y on line 4 is not plain");
  sg_yaml_free(d);
  CHECK(sg_yaml_parse("a: [1,", 6, err, sizeof err) == NULL && strncmp(err, "line ", 5) == 0, "syntax error: %s", err);
  CHECK(sg_yaml_parse("a: &x 1\nb: *x\n", 14, err, sizeof err) == NULL && strstr(err, "aliases"), "alias refused: %s", err);
}

/* librdkafka's own statistics (a producer on an in-process mock cluster
 * with messages still queued) read by the scanner behind /metrics. */
static char *stats_json;
static int on_stats_json(rd_kafka_t *rk, char *json, size_t len, void *opaque) {
  (void)rk;
  (void)opaque;
  if (!stats_json) stats_json = strndup(json, len);
  return 0;
}

static void test_kafka_stats(void) {
  char err[256];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "test.mock.num.brokers", "1", err, sizeof err);
  rd_kafka_conf_set(conf, "statistics.interval.ms", "100", err, sizeof err);
  rd_kafka_conf_set(conf, "linger.ms", "60000", err, sizeof err); /* keep them queued */
  rd_kafka_conf_set_stats_cb(conf, on_stats_json);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  CHECK(rk != NULL, "producer: %s", err);
  if (!rk) return;
  for (int i = 0; i < 7; i++)
    rd_kafka_producev(rk, RD_KAFKA_V_TOPIC("t"), RD_KAFKA_V_VALUE((void *)"12345", 5), RD_KAFKA_V_END);
  /* the first report may come before the broker is up: keep the one after 500 ms */
  for (int i = 0; i < 10; i++) rd_kafka_poll(rk, 50);
  free(stats_json);
  stats_json = NULL;
  for (int i = 0; i < 100 && !stats_json; i++) rd_kafka_poll(rk, 50);
  CHECK(stats_json != NULL, "no statistics from librdkafka");
  if (stats_json) {
    sg_kafka_stats st;
    CHECK(sg_kafka_stats_parse(stats_json, strlen(stats_json), &st) == 0, "parse");
    CHECK(st.queue_messages == 7, "msg_cnt %lld", (long long)st.queue_messages);
    CHECK(st.queue_bytes >= 35, "msg_size %lld", (long long)st.queue_bytes);
    /* the bootstrap broker answered a metadata request at least */
    CHECK(st.requests >= 1 && st.request_bytes > 0, "tx %lld, txbytes %lld", (long long)st.requests,
          (long long)st.request_bytes);
    CHECK(st.brokers_up >= 1, "brokers up %lld", (long long)st.brokers_up);
    CHECK(st.rtt_avg_us >= 0, "rtt avg %lld", (long long)st.rtt_avg_us);
  }
  sg_kafka_stats none;
  CHECK(sg_kafka_stats_parse("{\"a\":1}", 7, &none) == -1, "not statistics");
  free(stats_json);
  rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE);
  rd_kafka_destroy(rk);
}

/* The HTTP endpoint from C: a request over a real socket answered from the
 * published snapshot, readiness, basic auth, a bad address (and, under
 * ASan with detect_leaks, nothing leaked by start/publish/stop). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

static int http_get(int port, const char *req, char *out, size_t outlen) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    if (fd >= 0) close(fd);
    return -1;
  }
  if (write(fd, req, strlen(req)) < 0) {
    close(fd);
    return -1;
  }
  size_t n = 0;
  ssize_t r;
  while (n + 1 < outlen && (r = read(fd, out + n, outlen - 1 - n)) > 0) n += (size_t)r;
  out[n] = 0;
  close(fd);
  return (int)n;
}

static void test_http(void) {
  char err[256], buf[4096];
  sg_http *h = NULL;
  CHECK(sg_http_start("127.0.0.1:0", NULL, NULL, 30000, &h, err, sizeof err) == 0, "start: %s", err);
  if (!h) return;
  int port = sg_http_port(h);
  CHECK(port > 0, "port %d", port);
  http_get(port, "GET /metrics HTTP/1.0\r\n\r\n", buf, sizeof buf);
  CHECK(strstr(buf, " 503 ") != NULL, "no snapshot yet: %.60s", buf);
  const char *m = "x_total 7\n", *st = "{\"sinks\":[]}\n";
  CHECK(sg_http_publish(h, m, strlen(m), st, strlen(st), 0) == 0, "publish");
  http_get(port, "GET /metrics HTTP/1.0\r\n\r\n", buf, sizeof buf);
  CHECK(strstr(buf, " 200 ") && strstr(buf, "\r\n\r\nx_total 7\n"), "metrics: %.200s", buf);
  http_get(port, "GET /ready HTTP/1.0\r\n\r\n", buf, sizeof buf);
  CHECK(strstr(buf, " 503 ") != NULL, "not ready: %.60s", buf);
  sg_http_publish(h, m, strlen(m), st, strlen(st), 1);
  http_get(port, "GET /ready HTTP/1.0\r\n\r\n", buf, sizeof buf);
  CHECK(strstr(buf, " 200 ") != NULL, "ready: %.60s", buf);
  http_get(port, "GET /health HTTP/1.0\r\n\r\n", buf, sizeof buf);
  CHECK(strstr(buf, " 200 ") != NULL, "health: %.60s", buf);
  http_get(port, "GET /status HTTP/1.0\r\n\r\n", buf, sizeof buf);
  CHECK(strstr(buf, "application/json") && strstr(buf, "{\"sinks\":[]}"), "status: %.200s", buf);
  http_get(port, "DELETE /metrics HTTP/1.0\r\n\r\n", buf, sizeof buf);
  CHECK(strstr(buf, " 405 ") != NULL, "method: %.60s", buf);
  sg_http_stop(h);

  h = NULL;
  CHECK(sg_http_start("127.0.0.1:0", "ops", "pw-1234", 30000, &h, err, sizeof err) == 0, "start auth: %s", err);
  if (h) {
    port = sg_http_port(h);
    sg_http_publish(h, m, strlen(m), st, strlen(st), 1);
    http_get(port, "GET /metrics HTTP/1.0\r\n\r\n", buf, sizeof buf);
    CHECK(strstr(buf, " 401 ") && strstr(buf, "WWW-Authenticate"), "no credentials: %.80s", buf);
    /* ops:pw-1234 and ops:pw-1235 */
    http_get(port, "GET /metrics HTTP/1.0\r\nAuthorization: Basic b3BzOnB3LTEyMzU=\r\n\r\n", buf, sizeof buf);
    CHECK(strstr(buf, " 401 ") != NULL, "wrong password: %.60s", buf);
    http_get(port, "GET /metrics HTTP/1.0\r\nAuthorization: Basic b3BzOnB3LTEyMzQ=\r\n\r\n", buf, sizeof buf);
    CHECK(strstr(buf, " 200 ") != NULL, "right password: %.60s", buf);
    sg_http_stop(h);
  }
  h = NULL;
  CHECK(sg_http_start("localhost:http", NULL, NULL, 0, &h, err, sizeof err) == -1 && h == NULL &&
            strstr(err, "HOST:PORT"), "bad address: %s", err);
}

int main(void) {
  test_http();
  test_kafka_stats();
  test_hashes_against_librdkafka();
  test_batch_growth();
  test_yaml_tree();
  printf("c-core: %d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
