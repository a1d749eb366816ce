/* test_core.c — C-level checks of the core, where C is tested best:
 * the hashes against librdkafka's own partitioners on random keys, batch
 * arena growth, JSON string escaping and the YAML node tree. Prints one
 * line per check and ends with "c-core: N passed, N failed". */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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
  /* reserve: room ahead, so filling that much moves nothing; the rows kept */
  CHECK(sg_batch_reserve(b, 20000, 200000) == 0, "reserve");
  CHECK(b->cap >= mark_rows + 20000 && b->arena_cap >= mark_arena + 200000, "reserved %u rows, %zu bytes", b->cap,
        b->arena_cap);
  const sg_datum *cells = b->cells;
  const char *arena = b->arena;
  for (int i = 0; i < 20000; i++) {
    int64_t rr = sg_batch_push_row(b, 2, 1);
    sg_batch_set_bytes(b, (uint32_t)rr, 1, "0123456789", 10);
  }
  CHECK(b->cells == cells && b->arena == arena, "a reserved batch is not reallocated while it fills");
  CHECK(sg_batch_reserve(b, UINT32_MAX, 0) == -1, "reserve past 2^32 rows is refused");
  CHECK(b->nrows == mark_rows + 20000 && b->cells[0].i == 0, "a refused reserve leaves the batch as it was");
  sg_batch_free(b);
  sg_schema_free(s);
}

/* Capture mode (sinkgate.testing): emit.c records what it would produce;
 * given (plugin) values replace the encoder and SG_PART_SKIP leaves one out. */
static void test_emit_capture(void) {
  char err[256];
  sg_schema *s = sg_schema_new();
  CHECK(sg_schema_add_column(s, "id", sg_schema_type(s, SG_T_INT8, -1, -1), 0, err, sizeof err) == 0, "add id");
  sg_batch *b = sg_batch_new(s, 4);
  for (int i = 1; i <= 3; i++) sg_batch_set_i64(b, (uint32_t)sg_batch_push_row(b, 7, 1), 0, i);
  int key[1] = {0};
  sg_updates u = {0};
  CHECK(sg_consolidate(b, key, 1, 0, -1, &u, err, sizeof err) == 0 && u.n == 3, "3 updates");
  sg_capture cap = {0};
  sg_emit_spec spec = {0};
  spec.topic = "t";
  spec.partitions = 1;
  spec.key_format = SG_FMT_JSON;
  spec.value_format = SG_FMT_GIVEN;
  spec.envelope = SG_ENV_UPSERT;
  spec.key_cols = key;
  spec.nkey = 1;
  spec.ts_header = "ts";
  spec.capture = &cap;
  const void *data[3] = {"a", "bb", "ccc"};
  size_t lens[3] = {1, 2, 3};
  uint8_t flags[3] = {0, SG_PART_SKIP, 0};
  sg_msg_parts given = {data, lens, flags};
  spec.given_value = &given;
  int64_t n = sg_emit_updates(&spec, b, &u, 0, 3, NULL, NULL, err, sizeof err);
  CHECK(n == 2 && cap.n == 2, "two messages captured, one skipped: %lld, %s", (long long)n, err);
  /* first record: time 7, partition 0, flags 1 (key), the key of the first
   * update as JSON, value "a", one header ts=7 */
  char keyjson[32];
  int kl = snprintf(keyjson, sizeof keyjson, "{\"id\":%lld}", (long long)b->cells[u.items[0].after].i);
  unsigned char want[64] = {7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, (unsigned char)kl, 0, 0, 0};
  size_t w = 20;
  memcpy(want + w, keyjson, (size_t)kl);
  w += (size_t)kl;
  const unsigned char rest[] = {1, 0, 0, 0, 'a', 1, 0, 0, 0, 2, 0, 0, 0, 't', 's', 1, 0, 0, 0, '7'};
  memcpy(want + w, rest, sizeof rest);
  w += sizeof rest;
  CHECK(cap.out.len > w && memcmp(cap.out.data, want, w) == 0, "first captured record layout");
  sg_buf_free(&cap.out);
  sg_updates_free(&u);
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

/* The views' state store: memory up to the bound, LMDB beyond, one place
 * per key, against a model array under random puts and deletes (under ASan
 * this also checks the hash table's deletion and growth for bad accesses). */
static void test_state_store(void) {
  char err[256], dir[] = "/tmp/sg-test-state-XXXXXX";
  CHECK(mkdtemp(dir) != NULL, "mkdtemp");
  sg_state *s = sg_state_open(dir, 32 * 1024, 0, err, sizeof err);
  CHECK(s != NULL, "open: %s", err);
  if (!s) return;
  enum { NKEYS = 2000 };
  static int model[NKEYS]; /* value length + 1, 0 = absent */
  unsigned seed = 7;
  int bad = 0;
  for (int i = 0; i < 50000; i++) {
    int k = rand_r(&seed) % NKEYS, op = rand_r(&seed) % 10;
    char key[16], val[300];
    int klen = snprintf(key, sizeof key, "k%d", k);
    if (op < 6) {
      int vlen = rand_r(&seed) % 250;
      memset(val, 'a' + k % 26, (size_t)vlen);
      bad += sg_state_put(s, key, (size_t)klen, val, (size_t)vlen, err, sizeof err) != 0;
      model[k] = vlen + 1;
    } else if (op < 8) {
      bad += sg_state_del(s, key, (size_t)klen, err, sizeof err) != (model[k] ? 1 : 0);
      model[k] = 0;
    } else {
      const void *v;
      size_t vlen;
      int rc = sg_state_get(s, key, (size_t)klen, &v, &vlen, err, sizeof err);
      bad += rc != (model[k] ? 1 : 0) || (rc == 1 && (int)vlen != model[k] - 1);
      bad += rc == 1 && vlen > 0 && ((const char *)v)[vlen - 1] != 'a' + k % 26;
    }
    if (i % 1000 == 0) bad += sg_state_flush(s, err, sizeof err) != 0;
  }
  sg_state_stats st;
  sg_state_stats_get(s, &st);
  uint64_t present = 0;
  for (int k = 0; k < NKEYS; k++) present += model[k] != 0;
  CHECK(bad == 0, "%d operations disagreed with the model (%s)", bad, err);
  CHECK(st.keys_mem + st.keys_disk == present, "keys %llu + %llu != %llu", (unsigned long long)st.keys_mem,
        (unsigned long long)st.keys_disk, (unsigned long long)present);
  CHECK(st.keys_disk > 0 && st.bytes_mem <= 32 * 1024, "spilled to disk, memory %llu within the bound",
        (unsigned long long)st.bytes_mem);
  /* the iterator sees every live key once (memory, then disk), with its value */
  static int seen[NKEYS];
  int iter_bad = 0, iter_n = 0, rc;
  const void *ik, *iv;
  size_t iklen, ivlen;
  sg_state_iter *it = sg_state_iter_new(s, err, sizeof err);
  CHECK(it != NULL, "iter_new: %s", err);
  while (it && (rc = sg_state_iter_next(it, &ik, &iklen, &iv, &ivlen, err, sizeof err)) == 1) {
    char key[16];
    int k = -1;
    if (iklen > 1 && iklen < sizeof key) {
      memcpy(key, ik, iklen);
      key[iklen] = 0;
      k = atoi(key + 1);
    }
    if (k < 0 || k >= NKEYS || !model[k] || seen[k]++ || (int)ivlen != model[k] - 1 ||
        (ivlen > 0 && ((const char *)iv)[0] != 'a' + k % 26))
      iter_bad++;
    iter_n++;
  }
  CHECK(it == NULL || rc == 0, "iter_next: %s", err);
  sg_state_iter_free(it);
  CHECK(iter_bad == 0 && (uint64_t)iter_n == present, "iterated %d keys (%d wrong), %llu live", iter_n, iter_bad,
        (unsigned long long)present);
  CHECK(sg_state_flush(s, err, sizeof err) == 0, "flush after iterating: %s", err);
  CHECK(sg_state_clear(s, err, sizeof err) == 0, "clear: %s", err);
  sg_state_stats_get(s, &st);
  CHECK(st.keys_mem == 0 && st.keys_disk == 0, "clear empties both parts");
  sg_state_close(s);
  char cmd[64];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  CHECK(system(cmd) == 0, "rm");
}

/* A kept store (UPSERT sources): what a reopen finds is the state and tag of
 * the last checkpoint, never writes made after it (flushes included); a
 * second open of the same directory is refused while the first lives. */
static int kept_has(sg_state *s, const char *k) {
  const void *v;
  size_t vlen;
  char err[256];
  return sg_state_get(s, k, strlen(k), &v, &vlen, err, sizeof err);
}

static void test_state_kept(void) {
  char err[256], dir[] = "/tmp/sg-test-kept-XXXXXX";
  CHECK(mkdtemp(dir) != NULL, "mkdtemp");
  sg_buf tag = { 0 };
  sg_state *s = sg_state_open_kept(dir, 0, &tag, err, sizeof err);
  CHECK(s != NULL && tag.len == 0, "first open: no tag (%s)", s ? "" : err);
  if (!s) return;
  sg_state *twin = sg_state_open_kept(dir, 0, &tag, err, sizeof err);
  CHECK(twin == NULL && strncmp(err, "busy:", 5) == 0, "a second open is refused as busy: %s", err);
  sg_state_close(twin);
  CHECK(sg_state_put(s, "a", 1, "1", 1, err, sizeof err) == 0 && sg_state_put(s, "b", 1, "2", 1, err, sizeof err) == 0,
        "put: %s", err);
  CHECK(sg_state_checkpoint(s, "T1", 2, err, sizeof err) == 0, "checkpoint: %s", err);
  CHECK(sg_state_del(s, "a", 1, err, sizeof err) == 1 && sg_state_put(s, "c", 1, "3", 1, err, sizeof err) == 0,
        "writes after the checkpoint");
  CHECK(sg_state_flush(s, err, sizeof err) == 0, "flush: %s", err);
  sg_state_stats st;
  sg_state_stats_get(s, &st);
  CHECK(st.keys_mem == 0 && st.keys_disk == 2 && st.writes == 4, "all on disk: %llu + %llu keys, %llu writes",
        (unsigned long long)st.keys_mem, (unsigned long long)st.keys_disk, (unsigned long long)st.writes);
  sg_state_close(s); /* as a crash would: the writes after T1 are not committed */
  s = sg_state_open_kept(dir, 0, &tag, err, sizeof err);
  CHECK(s != NULL && tag.len == 2 && memcmp(tag.data, "T1", 2) == 0, "reopen finds tag T1");
  if (!s) return;
  CHECK(kept_has(s, "a") == 1 && kept_has(s, "b") == 1 && kept_has(s, "c") == 0, "and the state of T1 exactly");
  sg_state_stats_get(s, &st);
  CHECK(st.keys_disk == 2, "2 keys counted after reopening, got %llu", (unsigned long long)st.keys_disk);
  /* clearing drops the tag with the keys, once checkpointed */
  CHECK(sg_state_clear(s, err, sizeof err) == 0 && sg_state_put(s, "z", 1, "9", 1, err, sizeof err) == 0, "clear");
  CHECK(sg_state_checkpoint(s, "T2", 2, err, sizeof err) == 0, "checkpoint 2: %s", err);
  sg_state_close(s);
  s = sg_state_open_kept(dir, 0, &tag, err, sizeof err);
  CHECK(s != NULL && tag.len == 2 && memcmp(tag.data, "T2", 2) == 0 && kept_has(s, "z") == 1 && kept_has(s, "b") == 0,
        "reopen after clear + checkpoint: T2 and only its key");
  sg_state_close(s);
  sg_buf_free(&tag);
  char cmd[64];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  CHECK(system(cmd) == 0, "rm");
}

/* The Kafka source consumer (core/kafka/consumer.c) against an in-process
 * mock cluster: partitions, watermarks, assignment at offsets, messages with
 * headers and null keys/values, end-of-partition events, lag commits. */
static void test_source_consumer(void) {
  char err[512];
  sg_dev_cluster *mc = sg_dev_cluster_new(1, err, sizeof err);
  CHECK(mc != NULL, "mock cluster: %s", err);
  if (!mc) return;
  CHECK(sg_dev_topic_create(mc, "src", 2, 1, err, sizeof err) == 0, "topic: %s", err);
  const char *keys[] = {"bootstrap.servers"}, *vals[] = {sg_dev_cluster_bootstraps(mc)};
  sg_producer *p = sg_producer_new(keys, vals, 1, err, sizeof err);
  CHECK(p != NULL, "producer: %s", err);
  if (!p) return sg_dev_cluster_free(mc);
  const char *hn[] = {"h"};
  const void *hv[] = {"v1"};
  size_t hl[] = {2};
  for (int i = 0; i < 6; i++) {
    char v[16];
    int n = snprintf(v, sizeof v, "m%d", i);
    CHECK(sg_producer_send(p, "src", i % 2, i == 4 ? NULL : "k", i == 4 ? 0 : 1, v, (size_t)n, i == 5, hn, hv, hl,
                           i != 0, err, sizeof err) == 0, "send: %s", err);
  }
  CHECK(sg_producer_flush(p, 10000, err, sizeof err) == 0, "flush: %s", err);
  sg_producer_free(p);

  const char *ck[] = {"bootstrap.servers", "group.id"}, *cv[] = {sg_dev_cluster_bootstraps(mc), "sg-test-lag"};
  sg_consumer *c = sg_consumer_new(ck, cv, 2, "src", err, sizeof err);
  CHECK(c != NULL, "consumer: %s", err);
  if (!c) return sg_dev_cluster_free(mc);
  CHECK(sg_consumer_partition_count(c, 5000, err, sizeof err) == 2, "partition count: %s", err);
  int64_t lo = -1, hi = -1;
  CHECK(sg_consumer_watermarks(c, 1, 5000, &lo, &hi, err, sizeof err) == 0 && lo == 0 && hi == 3,
        "watermarks of partition 1: %lld..%lld %s", (long long)lo, (long long)hi, err);
  int64_t start[2] = {1, 0}; /* partition 0 from offset 1: m0 is not read */
  CHECK(sg_consumer_assign(c, start, 2, err, sizeof err) == 0, "assign: %s", err);
  int got = 0, eof = 0, headers = 0, null_key = 0, null_value = 0, saw_m0 = 0;
  sg_tail_msg m;
  for (int tries = 0; tries < 100 && eof < 2; tries++) {
    int rc = sg_consumer_poll(c, 100, &m, err, sizeof err);
    if (rc == 2) eof++;
    if (rc != 1) continue;
    got++;
    if (m.value && m.value_len == 2 && memcmp(m.value, "m0", 2) == 0) saw_m0 = 1;
    null_key += m.key_null;
    null_value += m.value_null;
    const char *name;
    const void *val;
    size_t len;
    if (m.nheaders == 1 && sg_consumer_header(c, 0, &name, &val, &len) == 0 && strcmp(name, "h") == 0 && len == 2)
      headers++;
  }
  CHECK(eof == 2, "both partitions reach their end (%d)", eof);
  CHECK(got == 5 && !saw_m0, "5 messages from the start offsets (got %d, m0 read: %d)", got, saw_m0);
  CHECK(null_key == 1 && null_value == 1, "a null key and a null value (%d, %d)", null_key, null_value);
  CHECK(headers == 5, "headers on the messages that have them (%d)", headers);
  int64_t ts[2] = {-2, -2};
  err[0] = 0;
  int trc = sg_consumer_offsets_for_time(c, 2, 0, 5000, ts, err, sizeof err);
  /* A real broker answers offset 0 for time 0; the 2.0.2 mock answers -1
   * (it implements only the earliest/latest lookups): the source then
   * starts at the end, as for a time past the last message. */
  CHECK(trc == 0 && (ts[0] == 0 || ts[0] == -1) && (ts[1] == 0 || ts[1] == -1), "offsets for time 0: %lld %lld %s",
        (long long)ts[0], (long long)ts[1], err);
  int64_t done[2] = {3, 3};
  CHECK(sg_consumer_commit(c, done, 2, err, sizeof err) == 0, "lag commit: %s", err);
  /* Assignments back to back, as a source repositioning twice in a row:
   * librdkafka 2.0.2 aborts when a second one stops partitions whose
   * first stop is not acknowledged yet (sg_consumer_assign spaces them). */
  int reassigned = 0;
  for (int i = 0; i < 8; i++) {
    int64_t at[2] = {i % 3, -1};
    reassigned += sg_consumer_assign(c, at, 2, err, sizeof err) == 0;
  }
  CHECK(reassigned == 8, "8 assignments back to back: %s", err);
  /* The same offsets again with nothing read since: nothing to do, so no
   * spacing wait (a new sink's start rewinds twice). Once a message was
   * taken, the same offsets are assigned again and it is read again. */
  int64_t again[2] = {1, 1};
  struct timespec t0, t1;
  CHECK(sg_consumer_assign(c, again, 2, err, sizeof err) == 0, "assign 1,1: %s", err);
  clock_gettime(CLOCK_MONOTONIC, &t0);
  CHECK(sg_consumer_assign(c, again, 2, err, sizeof err) == 0, "assign 1,1 again: %s", err);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double waited = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  CHECK(waited < 0.1, "the same assignment again is not made again (%.3f s)", waited);
  int64_t first_off = -1, first_part = -1, reread = 0;
  for (int tries = 0; tries < 100 && first_off < 0; tries++)
    if (sg_consumer_poll(c, 100, &m, err, sizeof err) == 1) first_off = m.offset, first_part = m.partition;
  CHECK(first_off == 1, "read from offset 1 (%lld)", (long long)first_off);
  CHECK(sg_consumer_assign(c, again, 2, err, sizeof err) == 0, "assign 1,1 after a read: %s", err);
  for (int tries = 0; tries < 100 && !reread; tries++)
    if (sg_consumer_poll(c, 100, &m, err, sizeof err) == 1 && m.partition == first_part && m.offset == 1) reread = 1;
  CHECK(reread, "after a read, the same offsets are assigned again: offset 1 comes again");
  sg_consumer_free(c);
  sg_dev_cluster_free(mc);
}

/* The UPSERT rehydration fast path (core/state/upsert.c): messages from the
 * mock cluster applied to a store up to a target, with the stored layout
 * (metadata, headers, raw value), deletes, a null key's error state, and
 * messages at or past the target left alone. */
static void test_upsert_rehydrate(void) {
  char err[512];
  sg_dev_cluster *mc = sg_dev_cluster_new(1, err, sizeof err);
  CHECK(mc != NULL, "mock cluster: %s", err);
  if (!mc) return;
  CHECK(sg_dev_topic_create(mc, "up", 2, 1, err, sizeof err) == 0, "topic: %s", err);
  const char *keys[] = {"bootstrap.servers"}, *vals[] = {sg_dev_cluster_bootstraps(mc)};
  sg_producer *p = sg_producer_new(keys, vals, 1, err, sizeof err);
  CHECK(p != NULL, "producer: %s", err);
  if (!p) return sg_dev_cluster_free(mc);
  const char *hn[] = {"h"};
  const void *hv[] = {"v1"};
  size_t hl[] = {2};
  /* partition 0: k1=a, k2=b, k1=c, k2 deleted, a null key with a value;
   * partition 1: k3=d, then k3=e past the target */
  struct { int part; const char *k, *v; } msgs[] = {{0, "k1", "a"}, {0, "k2", "b"}, {0, "k1", "c"}, {0, "k2", NULL},
                                                   {0, NULL, "x"}, {1, "k3", "d"}, {1, "k3", "e"}};
  for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++)
    CHECK(sg_producer_send(p, "up", msgs[i].part, msgs[i].k, msgs[i].k ? 2 : 0, msgs[i].v, msgs[i].v ? 1 : 0,
                           msgs[i].v == NULL, hn, hv, hl, 1, err, sizeof err) == 0, "send: %s", err);
  CHECK(sg_producer_flush(p, 10000, err, sizeof err) == 0, "flush: %s", err);
  sg_producer_free(p);
  const char *ck[] = {"bootstrap.servers", "group.id"}, *cv[] = {sg_dev_cluster_bootstraps(mc), "sg-test-up"};
  sg_consumer *c = sg_consumer_new(ck, cv, 2, "up", err, sizeof err);
  sg_state *s = sg_state_open(NULL, 1 << 20, 0, err, sizeof err);
  CHECK(c && s, "consumer and store: %s", err);
  if (!c || !s) return sg_dev_cluster_free(mc);
  int64_t pos[2] = {0, 0}, target[2] = {5, 1};
  CHECK(sg_consumer_assign(c, pos, 2, err, sizeof err) == 0, "assign: %s", err);
  sg_upsert_progress pr;
  memset(&pr, 0, sizeof pr);
  pr.null_key_partition = -2;
  int rc = 0;
  for (int tries = 0; tries < 50 && rc == 0; tries++)
    rc = sg_upsert_rehydrate(s, c, pos, target, 2, SG_UPSERT_META | SG_UPSERT_HEADERS, 100, &pr, err, sizeof err);
  CHECK(rc == 1 && pos[0] == 5 && pos[1] == 1, "target reached: rc %d, positions %lld %lld %s", rc,
        (long long)pos[0], (long long)pos[1], err);
  CHECK(pr.messages == 6 && pr.null_key_partition == 0 && pr.null_key_offset == 4,
        "6 messages applied, the null key at 0/4 (%lld, %d/%lld)", (long long)pr.messages, pr.null_key_partition,
        (long long)pr.null_key_offset);
  const void *v;
  size_t vlen;
  CHECK(sg_state_get(s, "k2", 2, &v, &vlen, err, sizeof err) == 0, "k2 deleted");
  CHECK(sg_state_get(s, "k3", 2, &v, &vlen, err, sizeof err) == 1 && vlen > 0 && ((const char *)v)[vlen - 1] == 'd',
        "k3 is d (e is past the target)");
  CHECK(sg_state_get(s, "k1", 2, &v, &vlen, err, sizeof err) == 1, "k1 kept");
  /* 20 bytes of metadata, 4 + (4 + 1 + 4 + 2) of headers, then "c" */
  const char *b = v;
  int32_t part, nh, nlen, hlen;
  int64_t off;
  memcpy(&part, b, 4);
  memcpy(&off, b + 4, 8);
  memcpy(&nh, b + 20, 4);
  memcpy(&nlen, b + 24, 4);
  memcpy(&hlen, b + 29, 4);
  CHECK(vlen == 20 + 4 + 4 + 1 + 4 + 2 + 1 && part == 0 && off == 2 && nh == 1 && nlen == 1 && b[28] == 'h' &&
            hlen == 2 && memcmp(b + 33, "v1", 2) == 0 && b[35] == 'c',
        "k1's stored layout (%zu bytes, partition %d offset %lld)", vlen, part, (long long)off);
  sg_state_close(s);
  sg_consumer_free(c);
  sg_dev_cluster_free(mc);
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
  test_state_store();
  test_state_kept();
  test_emit_capture();
  test_source_consumer();
  test_upsert_rehydrate();
  printf("c-core: %d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
