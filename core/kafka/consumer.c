/* consumer.c — the consumer behind `sg.source.kafka`. Like the reference,
 * a source assigns the partitions of its topic itself (no group
 * membership, so no rebalances can move its positions), reads with
 * isolation.level=read_committed, and never resumes from group offsets:
 * its positions come from the sink's progress record. Offsets may be
 * committed to a group for lag monitoring only (sg_consumer_commit).
 *
 * Partition EOF events are delivered (enable.partition.eof): their offset
 * is the end of what can be read (past transaction markers under
 * read_committed), which is how a snapshot or a rehydration knows it has
 * reached its target even when the last offsets hold no message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <librdkafka/rdkafka.h>
#include "../util/util.h"
#include "kafka.h"
#include "../include/sinkgate_ffi.h"

struct sg_consumer {
  rd_kafka_t *rk;
  char *topic;
  rd_kafka_message_t *cur;
  rd_kafka_headers_t *cur_headers;
  uint64_t assigned_ns; /* when the last assignment was made (0: never) */
  int64_t *assigned;    /* the offsets it was made at (nassigned of them) */
  int nassigned;
  int moved; /* a message or event was taken since: the positions may differ from `assigned` */
};

sg_consumer *sg_consumer_new(const char **keys, const char **vals, int n, const char *topic, char *err,
                             size_t errlen) {
  rd_kafka_conf_t *conf = sg_kafka_conf(keys, vals, n, err, errlen);
  if (!conf) return NULL;
  /* The prefetch queue (queued.max.messages.kbytes) keeps librdkafka's
   * 64 MiB default. A 16 MiB queue (used until 2026-12-01 to keep a
   * catch-up's RSS down) cost a third of the catch-up's speed: one fetch
   * response for 32 partitions can overshoot it, and no new fetch is sent
   * until the queue drains, so the reader waits for every fetch. Measured
   * (1M messages, 32 partitions, dev broker): a new UPSERT sink's snapshot
   * took 11.1-12.6 s with 16 MiB, 9.2-10.2 s with 64 MiB, 18-20 s with
   * 4 MiB. */
  /* Fixed: what exactly-once resumption relies on. */
  const char *fixed[][2] = {{"enable.auto.commit", "false"},
                            {"enable.auto.offset.store", "false"},
                            {"enable.partition.eof", "true"},
                            {"auto.offset.reset", "earliest"},
                            {"isolation.level", "read_committed"}};
  for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
    if (rd_kafka_conf_set(conf, fixed[i][0], fixed[i][1], err, errlen) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return NULL;
    }
  sg_consumer *c = calloc(1, sizeof *c);
  if (!c) {
    rd_kafka_conf_destroy(conf);
    return sg_fail(err, errlen, "out of memory"), NULL;
  }
  c->topic = strdup(topic);
  c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, errlen);
  if (!c->rk || !c->topic) {
    if (!c->rk) rd_kafka_conf_destroy(conf);
    sg_consumer_free(c);
    return NULL;
  }
  rd_kafka_poll_set_consumer(c->rk);
  return c;
}

int sg_consumer_partition_count(sg_consumer *c, int timeout_ms, char *err, size_t errlen) {
  return sg_kafka_partition_count(c->rk, c->topic, timeout_ms, err, errlen);
}

/* The watermarks librdkafka last saw in fetch responses: no request, so a
 * metrics scrape never waits on the broker. -1 when none is known yet. */
void sg_consumer_cached_watermarks(sg_consumer *c, int partition, int64_t *lo, int64_t *hi) {
  if (rd_kafka_get_watermark_offsets(c->rk, c->topic, partition, lo, hi) != RD_KAFKA_RESP_ERR_NO_ERROR) *lo = *hi = -1;
}

int sg_consumer_watermarks(sg_consumer *c, int partition, int timeout_ms, int64_t *lo, int64_t *hi, char *err,
                           size_t errlen) {
  rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(c->rk, c->topic, partition, lo, hi, timeout_ms);
  if (e) return sg_fail(err, errlen, "watermarks of %s[%d]: %s", c->topic, partition, rd_kafka_err2str(e));
  return 0;
}

int sg_consumer_offsets_for_time(sg_consumer *c, int nparts, int64_t ts_ms, int timeout_ms, int64_t *out, char *err,
                                 size_t errlen) {
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(nparts);
  for (int p = 0; p < nparts; p++) rd_kafka_topic_partition_list_add(l, c->topic, p)->offset = ts_ms;
  rd_kafka_resp_err_t e = rd_kafka_offsets_for_times(c->rk, l, timeout_ms);
  int rc = 0;
  if (e) {
    rc = sg_fail(err, errlen, "offsets for time %lld in %s: %s", (long long)ts_ms, c->topic, rd_kafka_err2str(e));
  } else {
    for (int i = 0; i < l->cnt; i++) {
      int p = l->elems[i].partition;
      if (p < 0 || p >= nparts) continue;
      if (l->elems[i].err) {
        rc = sg_fail(err, errlen, "offsets for time in %s[%d]: %s", c->topic, p, rd_kafka_err2str(l->elems[i].err));
        break;
      }
      out[p] = l->elems[i].offset; /* -1: no message at or after ts (the end) */
    }
  }
  rd_kafka_topic_partition_list_destroy(l);
  return rc;
}

static void release_current(sg_consumer *c) {
  if (c->cur) rd_kafka_message_destroy(c->cur);
  c->cur = NULL;
  c->cur_headers = NULL;
}

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* librdkafka 2.0.2 aborts (assertion rktp_started in
 * rd_kafka_assignment_partition_stopped) when an assignment replaces one
 * whose partitions' fetch stops are still being acknowledged: both ask
 * the same partition to stop and the second reply finds it stopped
 * (librdkafka issue #5573). The stops are answered by its main thread
 * within milliseconds, so assignments made back to back are spaced out;
 * sources reassign only when they reposition (start, rewind, the end of a
 * catch-up, new partitions), so this costs nothing while reading. */
#define SG_ASSIGN_SPACING_NS 300000000u

static void settle(sg_consumer *c) {
  uint64_t now = mono_ns();
  if (c->assigned_ns && now - c->assigned_ns < SG_ASSIGN_SPACING_NS) {
    uint64_t wait = SG_ASSIGN_SPACING_NS - (now - c->assigned_ns);
    struct timespec ts = {(time_t)(wait / 1000000000u), (long)(wait % 1000000000u)};
    nanosleep(&ts, NULL);
  }
}

/* An assignment at the offsets already assigned, with nothing taken since,
 * changes nothing: it is skipped, which also spares its spacing (a new
 * sink's start rewinds the source twice, once per phase). */
static int same_assignment(const sg_consumer *c, const int64_t *offsets, int n) {
  if (c->moved || !c->assigned || c->nassigned != n) return 0;
  return memcmp(c->assigned, offsets, (size_t)n * sizeof *offsets) == 0;
}

/* Out of memory: nothing remembered, so the next assignment is made. */
static void remember_assignment(sg_consumer *c, const int64_t *offsets, int n) {
  free(c->assigned);
  c->assigned = malloc((size_t)(n > 0 ? n : 1) * sizeof *offsets);
  c->nassigned = n;
  if (c->assigned) memcpy(c->assigned, offsets, (size_t)n * sizeof *offsets);
  c->moved = 0;
}

int sg_consumer_assign(sg_consumer *c, const int64_t *offsets, int n, char *err, size_t errlen) {
  release_current(c);
  if (same_assignment(c, offsets, n)) return 0;
  settle(c);
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(n > 0 ? n : 1);
  for (int p = 0; p < n; p++)
    rd_kafka_topic_partition_list_add(l, c->topic, p)->offset = offsets[p] < 0 ? RD_KAFKA_OFFSET_END : offsets[p];
  rd_kafka_resp_err_t e = rd_kafka_assign(c->rk, l);
  rd_kafka_topic_partition_list_destroy(l);
  c->assigned_ns = mono_ns();
  if (e) {
    c->moved = 1;
    return sg_fail(err, errlen, "assign %s: %s", c->topic, rd_kafka_err2str(e));
  }
  remember_assignment(c, offsets, n);
  return 0;
}

int sg_consumer_poll(sg_consumer *c, int timeout_ms, sg_tail_msg *out, char *err, size_t errlen) {
  release_current(c);
  rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, timeout_ms);
  if (!m) return 0;
  c->moved = 1;
  memset(out, 0, sizeof *out);
  out->partition = m->partition;
  out->offset = m->offset;
  if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
    rd_kafka_message_destroy(m);
    return 2;
  }
  if (m->err) {
    int rc = sg_fail(err, errlen, "%s[%d]: %s", c->topic, (int)m->partition, rd_kafka_message_errstr(m));
    rd_kafka_message_destroy(m);
    return rc;
  }
  c->cur = m;
  rd_kafka_message_headers(m, &c->cur_headers);
  out->timestamp = rd_kafka_message_timestamp(m, NULL);
  out->key = m->key;
  out->key_len = m->key_len;
  out->key_null = m->key == NULL;
  out->value = m->payload;
  out->value_len = m->len;
  out->value_null = m->payload == NULL;
  out->nheaders = c->cur_headers ? (int)rd_kafka_header_cnt(c->cur_headers) : 0;
  return 1;
}

rd_kafka_t *sg_consumer_handle(sg_consumer *c) {
  release_current(c);
  c->moved = 1; /* the caller reads from it directly */
  return c->rk;
}

int sg_consumer_header(sg_consumer *c, int i, const char **name, const void **val, size_t *len) {
  if (!c->cur_headers) return -1;
  return rd_kafka_header_get_all(c->cur_headers, (size_t)i, name, val, len) ? -1 : 0;
}

int sg_consumer_commit(sg_consumer *c, const int64_t *offsets, int n, char *err, size_t errlen) {
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(n > 0 ? n : 1);
  for (int p = 0; p < n; p++)
    if (offsets[p] >= 0) rd_kafka_topic_partition_list_add(l, c->topic, p)->offset = offsets[p];
  rd_kafka_resp_err_t e = l->cnt ? rd_kafka_commit(c->rk, l, 1) : RD_KAFKA_RESP_ERR_NO_ERROR;
  rd_kafka_topic_partition_list_destroy(l);
  if (e) return sg_fail(err, errlen, "commit offsets of %s: %s", c->topic, rd_kafka_err2str(e));
  return 0;
}

void sg_consumer_free(sg_consumer *c) {
  if (!c) return;
  release_current(c);
  if (c->rk) {
    settle(c); /* closing unassigns too */
    rd_kafka_consumer_close(c->rk);
    rd_kafka_destroy(c->rk);
  }
  free(c->assigned);
  free(c->topic);
  free(c);
}
