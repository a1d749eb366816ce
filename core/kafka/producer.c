/* producer.c — a librdkafka producer that sends to explicit partitions
 * (the librdkafka partitioner is never used) and counts deliveries. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <librdkafka/rdkafka.h>
#include "../util/util.h"
#include "kafka.h"

/* producev(V_TOPIC(name)) looks the topic up by name on every message
 * (~2 µs in librdkafka 2.0.2); a sink writes to two topics, so their
 * handles are kept here and passed as V_RKT. */
#define SG_MAX_TOPICS 8

struct sg_producer {
  rd_kafka_t *rk;
  rd_kafka_topic_t *topics[SG_MAX_TOPICS];
  int ntopics;
  atomic_ullong produced, delivered, failed;
  atomic_ullong delivered_bytes; /* keys + values acknowledged by the broker */
  pthread_mutex_t stats_lock;    /* kstats: written by librdkafka's thread */
  sg_kafka_stats kstats;
  char last_error[256];
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  sg_producer *p = opaque;
  if (m->err) {
    atomic_fetch_add(&p->failed, 1);
    snprintf(p->last_error, sizeof p->last_error, "%s", rd_kafka_err2str(m->err));
  } else {
    atomic_fetch_add(&p->delivered, 1);
    atomic_fetch_add(&p->delivered_bytes, (unsigned long long)(m->len + m->key_len));
  }
}

rd_kafka_conf_t *sg_kafka_conf(const char **keys, const char **vals, int n, char *err,
                               size_t errlen) {
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  sg_kafka_log_attach(conf); /* every client sinkgate makes logs through sinkgate */
  for (int i = 0; i < n; i++) {
    if (rd_kafka_conf_set(conf, keys[i], vals[i], err, errlen) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return NULL;
    }
  }
  return conf;
}

static int on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque) {
  (void)rk;
  sg_producer *p = opaque;
  sg_kafka_stats s;
  if (sg_kafka_stats_parse(json, len, &s) == 0) {
    s.at_ms = sg_sys_now_ms();
    pthread_mutex_lock(&p->stats_lock);
    p->kstats = s;
    pthread_mutex_unlock(&p->stats_lock);
  }
  return 0; /* librdkafka frees json */
}

void sg_producer_kafka_stats(sg_producer *p, sg_kafka_stats *out) {
  pthread_mutex_lock(&p->stats_lock);
  *out = p->kstats;
  pthread_mutex_unlock(&p->stats_lock);
}

sg_producer *sg_producer_new(const char **keys, const char **vals, int n, char *err,
                             size_t errlen) {
  sg_producer *p = calloc(1, sizeof *p);
  if (!p) return sg_fail(err, errlen, "out of memory"), NULL;
  rd_kafka_conf_t *conf = sg_kafka_conf(keys, vals, n, err, errlen);
  if (!conf) return free(p), NULL;
  /* statistics for /metrics, unless the connection's options set their own interval */
  int has_interval = 0;
  for (int i = 0; i < n; i++) has_interval |= strcmp(keys[i], "statistics.interval.ms") == 0;
  if (!has_interval) rd_kafka_conf_set(conf, "statistics.interval.ms", "5000", NULL, 0);
  pthread_mutex_init(&p->stats_lock, NULL);
  rd_kafka_conf_set_stats_cb(conf, on_stats);
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_conf_set_opaque(conf, p);
  p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, errlen);
  if (!p->rk) {
    rd_kafka_conf_destroy(conf);
    pthread_mutex_destroy(&p->stats_lock);
    free(p);
    return NULL;
  }
  return p;
}

int sg_kafka_partition_count(rd_kafka_t *rk, const char *topic, int timeout_ms, char *err,
                             size_t errlen) {
  rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
  const struct rd_kafka_metadata *md = NULL;
  rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, t, &md, timeout_ms);
  rd_kafka_topic_destroy(t);
  if (e) return sg_fail(err, errlen, "metadata for topic %s: %s", topic, rd_kafka_err2str(e));
  int n = -1;
  if (md->topic_cnt == 1 && !md->topics[0].err) n = md->topics[0].partition_cnt;
  else if (md->topic_cnt == 1)
    sg_fail(err, errlen, "topic %s: %s", topic, rd_kafka_err2str(md->topics[0].err));
  else
    sg_fail(err, errlen, "topic %s: not in metadata", topic);
  rd_kafka_metadata_destroy(md);
  return n;
}

int sg_producer_partition_count(sg_producer *p, const char *topic, int timeout_ms, char *err,
                                size_t errlen) {
  return sg_kafka_partition_count(p->rk, topic, timeout_ms, err, errlen);
}

static rd_kafka_topic_t *topic_handle(sg_producer *p, const char *name) {
  for (int i = 0; i < p->ntopics; i++)
    if (strcmp(rd_kafka_topic_name(p->topics[i]), name) == 0) return p->topics[i];
  rd_kafka_topic_t *t = rd_kafka_topic_new(p->rk, name, NULL);
  if (t && p->ntopics < SG_MAX_TOPICS) p->topics[p->ntopics++] = t;
  return t; /* beyond the cache (never for a sink): leaked until exit, bounded by topic count */
}

static rd_kafka_headers_t *make_headers(const char **hnames, const void **hvals,
                                        const size_t *hlens, int nh) {
  if (nh <= 0) return NULL;
  rd_kafka_headers_t *h = rd_kafka_headers_new((size_t)nh);
  for (int i = 0; i < nh; i++)
    rd_kafka_header_add(h, hnames[i], -1, hvals[i], hvals[i] ? (ssize_t)hlens[i] : 0);
  return h;
}

int sg_producer_send(sg_producer *p, const char *topic, int32_t partition, const void *key,
                     size_t klen, const void *val, size_t vlen, int value_is_null,
                     const char **hnames, const void **hvals, const size_t *hlens, int nh,
                     char *err, size_t errlen) {
  rd_kafka_topic_t *rkt = topic_handle(p, topic);
  if (!rkt) return sg_fail(err, errlen, "topic %s: %s", topic, rd_kafka_err2str(rd_kafka_last_error()));
  rd_kafka_headers_t *h = make_headers(hnames, hvals, hlens, nh);
  /* Plain locals: librdkafka's V_ macros cast their argument without
   * parentheses, which would bind to the condition of a ?: expression. */
  void *value = value_is_null ? NULL : (void *)val;
  size_t value_len = value_is_null ? 0 : vlen;
  void *k = (void *)key;
  size_t key_len = key ? klen : 0;
  for (;;) {
    rd_kafka_resp_err_t e = rd_kafka_producev(
        p->rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_PARTITION(partition),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(k, key_len),
        RD_KAFKA_V_VALUE(value, value_len),
        RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
    if (!e) break;
    if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) { /* let deliveries drain, then retry */
      rd_kafka_poll(p->rk, 1);
      continue;
    }
    if (h) rd_kafka_headers_destroy(h);
    return sg_fail(err, errlen, "produce to %s[%d]: %s", topic, partition, rd_kafka_err2str(e));
  }
  atomic_fetch_add(&p->produced, 1);
  rd_kafka_poll(p->rk, 0);
  return 0;
}

int sg_producer_flush(sg_producer *p, int timeout_ms, char *err, size_t errlen) {
  rd_kafka_resp_err_t e = rd_kafka_flush(p->rk, timeout_ms);
  if (e) return sg_fail(err, errlen, "flush: %s", rd_kafka_err2str(e));
  return 0;
}

void sg_producer_stats_get(sg_producer *p, sg_producer_stats *out) {
  out->produced = atomic_load(&p->produced);
  out->delivered = atomic_load(&p->delivered);
  out->failed = atomic_load(&p->failed);
  out->delivered_bytes = atomic_load(&p->delivered_bytes);
  memcpy(out->last_error, p->last_error, sizeof out->last_error);
}

/* Without flushing: what is queued is purged (a producer replaced after a
 * fatal error, or whose transaction was aborted, has nothing worth sending). */
void sg_producer_discard(sg_producer *p) {
  if (!p) return;
  rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_poll(p->rk, 0);
  for (int i = 0; i < p->ntopics; i++) rd_kafka_topic_destroy(p->topics[i]);
  rd_kafka_destroy(p->rk);
  pthread_mutex_destroy(&p->stats_lock);
  free(p);
}

void sg_producer_free(sg_producer *p) {
  if (!p) return;
  rd_kafka_flush(p->rk, 5000);
  for (int i = 0; i < p->ntopics; i++) rd_kafka_topic_destroy(p->topics[i]);
  rd_kafka_destroy(p->rk);
  pthread_mutex_destroy(&p->stats_lock);
  free(p);
}

/* librdkafka normalizes the broker's fencing errors to _FENCED; the raw
 * codes are listed too in case a version reports them unnormalized. */
static int is_fencing(rd_kafka_resp_err_t code) {
  return code == RD_KAFKA_RESP_ERR__FENCED || code == RD_KAFKA_RESP_ERR_PRODUCER_FENCED ||
         code == RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH;
}

/* Classifies a transactional error object (and frees it). A fatal error is
 * looked up as the producer's fatal error too: a commit that fails because
 * a produce request was fenced reports a generic fatal state. */
static int txn_result(rd_kafka_t *rk, rd_kafka_error_t *e, const char *what, char *err, size_t errlen) {
  if (!e) return SG_TXN_OK;
  char fatal[256] = "";
  int fenced = is_fencing(rd_kafka_error_code(e)) ||
               (rd_kafka_error_is_fatal(e) && is_fencing(rd_kafka_fatal_error(rk, fatal, sizeof fatal)));
  int rc = fenced                                  ? SG_TXN_FENCED
           : rd_kafka_error_is_fatal(e)             ? SG_TXN_FATAL
           : rd_kafka_error_txn_requires_abort(e) ? SG_TXN_ABORTABLE
           : rd_kafka_error_is_retriable(e)       ? SG_TXN_RETRIABLE
                                                  : SG_TXN_FATAL;
  if (err && errlen) snprintf(err, errlen, "%s: %s", what, rd_kafka_error_string(e));
  rd_kafka_error_destroy(e);
  return rc;
}

int sg_producer_fatal_class(sg_producer *p, char *err, size_t errlen) {
  char why[256];
  rd_kafka_resp_err_t code = rd_kafka_fatal_error(p->rk, why, sizeof why);
  if (!code) return SG_TXN_OK;
  if (err && errlen) snprintf(err, errlen, "%s", why);
  return is_fencing(code) ? SG_TXN_FENCED : SG_TXN_FATAL;
}

int sg_producer_init_transactions(sg_producer *p, int timeout_ms, char *err, size_t errlen) {
  return txn_result(p->rk, rd_kafka_init_transactions(p->rk, timeout_ms), "init_transactions", err, errlen);
}

int sg_producer_begin(sg_producer *p, char *err, size_t errlen) {
  return txn_result(p->rk, rd_kafka_begin_transaction(p->rk), "begin_transaction", err, errlen);
}

int sg_producer_commit(sg_producer *p, int timeout_ms, char *err, size_t errlen) {
  return txn_result(p->rk, rd_kafka_commit_transaction(p->rk, timeout_ms), "commit_transaction", err, errlen);
}

int sg_producer_abort(sg_producer *p, int timeout_ms, char *err, size_t errlen) {
  return txn_result(p->rk, rd_kafka_abort_transaction(p->rk, timeout_ms), "abort_transaction", err, errlen);
}
