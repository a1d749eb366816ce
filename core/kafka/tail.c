/* tail.c — the consumer behind `sinkgate tail`: reads every partition of a
 * topic from the beginning (read_committed by default) and reports when it
 * has caught up with the high watermarks seen at open. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <librdkafka/rdkafka.h>
#include "../util/util.h"
#include "kafka.h"

struct sg_tail {
  rd_kafka_t *rk;
  int npart;
  int64_t *high;      /* high watermark per partition at open */
  int64_t *next;      /* next offset expected per partition */
  rd_kafka_message_t *cur;
  rd_kafka_headers_t *cur_headers;
};

static int caught_up(const sg_tail *t) {
  for (int i = 0; i < t->npart; i++)
    if (t->next[i] < t->high[i]) return 0;
  return 1;
}

/* 1 if topic is in the cluster's topic list, 0 if not, -1 on error. */
static int topic_listed(rd_kafka_t *rk, const char *topic, int timeout_ms, char *err, size_t errlen) {
  const struct rd_kafka_metadata *md = NULL;
  rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 1, NULL, &md, timeout_ms);
  if (e) return sg_fail(err, errlen, "metadata: %s", rd_kafka_err2str(e));
  int found = 0;
  for (int i = 0; i < md->topic_cnt && !found; i++)
    found = strcmp(md->topics[i].topic, topic) == 0 && md->topics[i].err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
  rd_kafka_metadata_destroy(md);
  return found;
}

static int assign_all(sg_tail *t, const char *topic, char *err, size_t errlen) {
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(t->npart);
  for (int p = 0; p < t->npart; p++) {
    int64_t lo = 0, hi = 0;
    rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(t->rk, topic, p, &lo, &hi, 10000);
    if (e) {
      rd_kafka_topic_partition_list_destroy(l);
      return sg_fail(err, errlen, "watermarks of %s[%d]: %s", topic, p, rd_kafka_err2str(e));
    }
    t->high[p] = hi;
    t->next[p] = lo;
    rd_kafka_topic_partition_list_add(l, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_resp_err_t e = rd_kafka_assign(t->rk, l);
  rd_kafka_topic_partition_list_destroy(l);
  if (e) return sg_fail(err, errlen, "assign %s: %s", topic, rd_kafka_err2str(e));
  return 0;
}

sg_tail *sg_tail_open(const char *brokers, const char *topic, int read_committed,
                      const char **keys, const char **vals, int n, char *err, size_t errlen) {
  rd_kafka_conf_t *conf = sg_kafka_conf(keys, vals, n, err, errlen);
  if (!conf) return NULL;
  char group[64];
  snprintf(group, sizeof group, "sinkgate-tail-%ld", (long)rd_kafka_version());
  const char *fixed[][2] = {{"bootstrap.servers", brokers},
                            {"group.id", group},
                            {"enable.auto.commit", "false"},
                            {"enable.partition.eof", "false"},
                            {"isolation.level", read_committed ? "read_committed" : "read_uncommitted"}};
  for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
    if (rd_kafka_conf_set(conf, fixed[i][0], fixed[i][1], err, errlen) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return NULL;
    }
  sg_tail *t = calloc(1, sizeof *t);
  t->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, errlen);
  if (!t->rk) {
    rd_kafka_conf_destroy(conf);
    free(t);
    return NULL;
  }
  rd_kafka_poll_set_consumer(t->rk);
  /* Asking for the topic by name may create it (the dev broker does):
   * look in the full topic list first, so a missing topic is an error. */
  int found = topic_listed(t->rk, topic, 10000, err, errlen);
  if (found < 0) goto fail;
  if (!found) {
    sg_fail(err, errlen, "topic %s does not exist", topic);
    goto fail;
  }
  t->npart = sg_kafka_partition_count(t->rk, topic, 10000, err, errlen);
  if (t->npart <= 0) goto fail;
  t->high = calloc((size_t)t->npart, sizeof *t->high);
  t->next = calloc((size_t)t->npart, sizeof *t->next);
  if (assign_all(t, topic, err, errlen) != 0) goto fail;
  return t;
fail:
  sg_tail_free(t);
  return NULL;
}

static void release_current(sg_tail *t) {
  if (t->cur) rd_kafka_message_destroy(t->cur);
  t->cur = NULL;
  t->cur_headers = NULL;
}

int sg_tail_next(sg_tail *t, int timeout_ms, sg_tail_msg *out, char *err, size_t errlen) {
  release_current(t);
  /* Once caught up, only take what is already there: --follow callers
   * sleep between calls, others stop. */
  int done = caught_up(t);
  rd_kafka_message_t *m = rd_kafka_consumer_poll(t->rk, done ? 0 : timeout_ms);
  if (!m) return done ? 2 : 0;
  if (m->err) {
    int rc = sg_fail(err, errlen, "%s", rd_kafka_message_errstr(m));
    rd_kafka_message_destroy(m);
    return rc;
  }
  t->cur = m;
  if (m->partition >= 0 && m->partition < t->npart) t->next[m->partition] = m->offset + 1;
  rd_kafka_message_headers(m, &t->cur_headers);
  out->partition = m->partition;
  out->offset = m->offset;
  out->timestamp = rd_kafka_message_timestamp(m, NULL);
  out->key = m->key;
  out->key_len = m->key_len;
  out->key_null = m->key == NULL;
  out->value = m->payload;
  out->value_len = m->len;
  out->value_null = m->payload == NULL;
  out->nheaders = t->cur_headers ? (int)rd_kafka_header_cnt(t->cur_headers) : 0;
  return 1;
}

int sg_tail_header(sg_tail *t, int i, const char **name, const void **val, size_t *len) {
  if (!t->cur_headers) return -1;
  return rd_kafka_header_get_all(t->cur_headers, (size_t)i, name, val, len) ? -1 : 0;
}

int sg_tail_partition_count(sg_tail *t) { return t->npart; }

void sg_tail_free(sg_tail *t) {
  if (!t) return;
  release_current(t);
  if (t->rk) {
    rd_kafka_consumer_close(t->rk);
    rd_kafka_destroy(t->rk);
  }
  free(t->high);
  free(t->next);
  free(t);
}
