/* progress.c — reading a sink's last committed progress record.
 *
 * The progress topic must have exactly one partition (anything else is a
 * hard error). Its high watermark is read first; then suffixes of the
 * topic are scanned with read_committed — the newest 1024 offsets, then 8×
 * further back each time — keeping the last record under the sink's key, so
 * a long, uncompacted topic does not slow start-up. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <librdkafka/rdkafka.h>
#include "../util/util.h"
#include "kafka.h"
#include "../include/sinkgate_ffi.h"

/* Partition count of topic, 0 when it does not exist, -1 on error. */
static int partitions(rd_kafka_t *rk, const char *topic, int timeout_ms, char *err, size_t errlen) {
  const struct rd_kafka_metadata *md = NULL;
  rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 1, NULL, &md, timeout_ms);
  if (e) return sg_fail(err, errlen, "metadata: %s", rd_kafka_err2str(e));
  int n = 0;
  for (int i = 0; i < md->topic_cnt; i++)
    if (strcmp(md->topics[i].topic, topic) == 0 && !md->topics[i].err) n = md->topics[i].partition_cnt;
  rd_kafka_metadata_destroy(md);
  return n;
}

/* The read is resumable: each step does at most one broker request or
 * polls for at most its budget, so a slow broker never blocks the caller's
 * loop for long (brokers may return one record batch per fetch: a topic of
 * N transactions can take N round trips). */
enum { R_META, R_WATERMARKS, R_ASSIGN, R_SCAN, R_DONE };

struct sg_progress_reader {
  rd_kafka_t *rk;
  char *topic, *key;
  int timeout_ms, phase, found, idle;
  int64_t lo, hi, from, to, window;
  sg_buf value;
};

void sg_progress_reader_free(sg_progress_reader *r) {
  if (!r) return;
  if (r->rk) {
    rd_kafka_consumer_close(r->rk);
    rd_kafka_destroy(r->rk);
  }
  sg_buf_free(&r->value);
  free(r->topic);
  free(r->key);
  free(r);
}

sg_progress_reader *sg_progress_reader_new(const char **keys, const char **vals, int n, const char *topic,
                                           const char *key, int timeout_ms, char *err, size_t errlen) {
  rd_kafka_conf_t *conf = sg_kafka_conf(keys, vals, n, err, errlen);
  if (!conf) return NULL;
  const char *fixed[][2] = {{"enable.auto.commit", "false"}, {"enable.partition.eof", "true"},
                            {"isolation.level", "read_committed"}};
  for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
    rd_kafka_conf_set(conf, fixed[i][0], fixed[i][1], NULL, 0);
  sg_progress_reader *r = calloc(1, sizeof *r);
  if (!r || !(r->topic = strdup(topic)) || !(r->key = strdup(key))) {
    rd_kafka_conf_destroy(conf);
    sg_progress_reader_free(r);
    return sg_fail(err, errlen, "out of memory"), NULL;
  }
  r->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, errlen);
  if (!r->rk) {
    rd_kafka_conf_destroy(conf);
    sg_progress_reader_free(r);
    return NULL;
  }
  rd_kafka_poll_set_consumer(r->rk);
  r->timeout_ms = timeout_ms;
  r->window = 1024;
  return r;
}

/* Polls the window [from, to) for up to budget_ms; the last value under the
 * key wins. Returns 1 when the window is finished, 0 to go on, -1 on error. */
static int scan_some(sg_progress_reader *r, int64_t deadline, char *err, size_t errlen) {
  size_t klen = strlen(r->key);
  while (sg_sys_mono_ns() < deadline) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(r->rk, 50);
    if (!m) {
      /* read_committed can end short of `to` (markers, aborted data). */
      if (++r->idle >= 100) return 1;
      continue;
    }
    r->idle = 0;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      rd_kafka_message_destroy(m);
      return 1;
    }
    if (m->err) {
      sg_fail(err, errlen, "progress topic %s: %s", r->topic, rd_kafka_message_errstr(m));
      rd_kafka_message_destroy(m);
      return -1;
    }
    int64_t off = m->offset;
    if (off < r->to && m->key_len == klen && memcmp(m->key, r->key, klen) == 0) {
      r->value.len = 0;
      if (m->payload && sg_buf_append(&r->value, m->payload, m->len) != 0) {
        rd_kafka_message_destroy(m);
        return sg_fail(err, errlen, "out of memory");
      }
      r->found = 1;
    }
    rd_kafka_message_destroy(m);
    if (off >= r->to - 1) return 1;
  }
  return 0;
}

/* The next window back from `to`, 8x wider each time (suffixes first). */
static int next_window(sg_progress_reader *r, char *err, size_t errlen) {
  if (r->found || r->to <= r->lo) {
    r->phase = R_DONE;
    return 0;
  }
  r->from = r->to - r->window > r->lo ? r->to - r->window : r->lo;
  r->window *= 8;
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(l, r->topic, 0)->offset = r->from;
  rd_kafka_resp_err_t e = rd_kafka_assign(r->rk, l);
  rd_kafka_topic_partition_list_destroy(l);
  if (e) return sg_fail(err, errlen, "assign %s: %s", r->topic, rd_kafka_err2str(e));
  r->idle = 0;
  r->phase = R_SCAN;
  return 0;
}

int sg_progress_reader_step(sg_progress_reader *r, int budget_ms, sg_buf *out, char *err, size_t errlen) {
  int64_t deadline = sg_sys_mono_ns() + (int64_t)budget_ms * 1000000;
  switch (r->phase) {
  case R_META: {
    int n = partitions(r->rk, r->topic, r->timeout_ms, err, errlen);
    if (n < 0) return -1;
    if (n > 1) return sg_fail(err, errlen, "progress topic %s has %d partitions; it must have exactly 1", r->topic, n);
    r->phase = n == 1 ? R_WATERMARKS : R_DONE;
    return 2;
  }
  case R_WATERMARKS: {
    rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(r->rk, r->topic, 0, &r->lo, &r->hi, r->timeout_ms);
    if (e) return sg_fail(err, errlen, "watermarks of %s: %s", r->topic, rd_kafka_err2str(e));
    r->to = r->hi;
    r->phase = R_ASSIGN;
    return 2;
  }
  case R_ASSIGN:
    if (next_window(r, err, errlen) < 0) return -1;
    return 2;
  case R_SCAN: {
    int rc = scan_some(r, deadline, err, errlen);
    if (rc < 0) return -1;
    if (rc == 1) {
      r->to = r->from;
      r->phase = R_ASSIGN;
    }
    return 2;
  }
  default:
    if (!r->found) return 0;
    out->len = 0;
    if (sg_buf_append(out, r->value.data, r->value.len) != 0) return sg_fail(err, errlen, "out of memory");
    return 1;
  }
}

int sg_progress_read(const char **keys, const char **vals, int n, const char *topic, const char *key,
                     int timeout_ms, sg_buf *out, char *err, size_t errlen) {
  sg_progress_reader *r = sg_progress_reader_new(keys, vals, n, topic, key, timeout_ms, err, errlen);
  if (!r) return -1;
  int rc;
  while ((rc = sg_progress_reader_step(r, 1000, out, err, errlen)) == 2) {
  }
  sg_progress_reader_free(r);
  return rc;
}

/* A progress watcher: a read_committed consumer on the progress topic from
 * its end, polled without blocking between transactions and right before
 * each commit. It sees every record committed under the sink's key after
 * the sink resumed — another instance's or a newer version's — so the sink
 * can stop before it commits again, also on brokers that do not fence. */
struct sg_progress_watch {
  rd_kafka_t *rk;
  char *key;
};

sg_progress_watch *sg_progress_watch_new(const char **keys, const char **vals, int n, const char *topic,
                                         const char *key, char *err, size_t errlen) {
  rd_kafka_conf_t *conf = sg_kafka_conf(keys, vals, n, err, errlen);
  if (!conf) return NULL;
  const char *fixed[][2] = {{"enable.auto.commit", "false"}, {"isolation.level", "read_committed"},
                            {"fetch.wait.max.ms", "20"}, {"enable.partition.eof", "false"}};
  for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
    rd_kafka_conf_set(conf, fixed[i][0], fixed[i][1], NULL, 0);
  sg_progress_watch *w = calloc(1, sizeof *w);
  if (!w || !(w->key = strdup(key))) {
    free(w);
    rd_kafka_conf_destroy(conf);
    return sg_fail(err, errlen, "out of memory"), NULL;
  }
  w->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, errlen);
  if (!w->rk) {
    rd_kafka_conf_destroy(conf);
    free(w->key);
    free(w);
    return NULL;
  }
  rd_kafka_poll_set_consumer(w->rk);
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(l, topic, 0)->offset = RD_KAFKA_OFFSET_END;
  rd_kafka_resp_err_t e = rd_kafka_assign(w->rk, l);
  rd_kafka_topic_partition_list_destroy(l);
  if (e) {
    sg_fail(err, errlen, "assign %s: %s", topic, rd_kafka_err2str(e));
    sg_progress_watch_free(w);
    return NULL;
  }
  return w;
}

int sg_progress_watch_poll(sg_progress_watch *w, sg_buf *out, char *err, size_t errlen) {
  size_t klen = strlen(w->key);
  int found = 0;
  rd_kafka_message_t *m;
  while ((m = rd_kafka_consumer_poll(w->rk, 0)) != NULL) {
    if (m->err) { /* transient consumer errors: the next poll retries */
      rd_kafka_message_destroy(m);
      continue;
    }
    if (m->key_len == klen && memcmp(m->key, w->key, klen) == 0) {
      out->len = 0;
      if (m->payload && sg_buf_append(out, m->payload, m->len) != 0) {
        rd_kafka_message_destroy(m);
        return sg_fail(err, errlen, "out of memory");
      }
      found = 1;
    }
    rd_kafka_message_destroy(m);
  }
  return found;
}

void sg_progress_watch_free(sg_progress_watch *w) {
  if (!w) return;
  rd_kafka_consumer_close(w->rk);
  rd_kafka_destroy(w->rk);
  free(w->key);
  free(w);
}
