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

/* Scans offsets [from, to) of partition 0; the last value under key wins.
 * Returns 1 if one was found, 0 if not, -1 on error. */
static int scan(rd_kafka_t *rk, const char *topic, int64_t from, int64_t to, const char *key, sg_buf *out,
                char *err, size_t errlen) {
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(l, topic, 0)->offset = from;
  rd_kafka_resp_err_t e = rd_kafka_assign(rk, l);
  rd_kafka_topic_partition_list_destroy(l);
  if (e) return sg_fail(err, errlen, "assign %s: %s", topic, rd_kafka_err2str(e));
  size_t klen = strlen(key);
  int found = 0, idle = 0;
  for (;;) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
    if (!m) {
      /* read_committed can end short of `to` (markers, aborted data). */
      if (++idle >= 25) break;
      continue;
    }
    idle = 0;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      rd_kafka_message_destroy(m);
      break;
    }
    if (m->err) {
      sg_fail(err, errlen, "progress topic %s: %s", topic, rd_kafka_message_errstr(m));
      rd_kafka_message_destroy(m);
      return -1;
    }
    int64_t off = m->offset;
    if (off < to && m->key_len == klen && memcmp(m->key, key, klen) == 0) {
      out->len = 0;
      if (m->payload && sg_buf_append(out, m->payload, m->len) != 0) {
        rd_kafka_message_destroy(m);
        return sg_fail(err, errlen, "out of memory");
      }
      found = 1;
    }
    rd_kafka_message_destroy(m);
    if (off >= to - 1) break;
  }
  return found;
}

int sg_progress_read(const char **keys, const char **vals, int n, const char *topic, const char *key,
                     int timeout_ms, sg_buf *out, char *err, size_t errlen) {
  rd_kafka_conf_t *conf = sg_kafka_conf(keys, vals, n, err, errlen);
  if (!conf) return -1;
  const char *fixed[][2] = {{"enable.auto.commit", "false"}, {"enable.partition.eof", "true"},
                            {"isolation.level", "read_committed"}};
  for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
    rd_kafka_conf_set(conf, fixed[i][0], fixed[i][1], NULL, 0);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, errlen);
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    return -1;
  }
  rd_kafka_poll_set_consumer(rk);
  int rc = partitions(rk, topic, timeout_ms, err, errlen);
  if (rc > 1) {
    rc = sg_fail(err, errlen, "progress topic %s has %d partitions; it must have exactly 1", topic, rc);
  } else if (rc == 1) {
    int64_t lo = 0, hi = 0;
    rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(rk, topic, 0, &lo, &hi, timeout_ms);
    if (e) {
      rc = sg_fail(err, errlen, "watermarks of %s: %s", topic, rd_kafka_err2str(e));
    } else {
      rc = 0;
      int64_t window = 1024, to = hi;
      while (rc == 0 && to > lo) {
        int64_t from = to - window > lo ? to - window : lo;
        rc = scan(rk, topic, from, to, key, out, err, errlen);
        to = from;
        window *= 8;
      }
    }
  }
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
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
