/* log.c — librdkafka's own log lines and error events, kept for sinkgate's
 * logger instead of going straight to stderr (where they came out twice:
 * once as a log line, once as an unhandled error event, unredacted and
 * deaf to -q). librdkafka calls back from its own threads, and C must not
 * call into Lua, so lines wait in a bounded ring under a mutex; the Lua
 * logger drains it (sinkgate.util.log) and does the level mapping,
 * redaction and deduplication. A full ring drops the newest lines and
 * counts them, so a flood can never grow memory. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <librdkafka/rdkafka.h>
#include "../util/util.h"
#include "kafka.h"

#define RING 256

static sg_kafka_log_line ring[RING];
static unsigned head, count;
static uint64_t dropped;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void push(int level, const char *fac, const char *msg) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  pthread_mutex_lock(&mu);
  if (count == RING) {
    dropped++;
  } else {
    sg_kafka_log_line *l = &ring[(head + count) % RING];
    l->level = level;
    l->time_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    l->dropped = 0;
    snprintf(l->fac, sizeof l->fac, "%s", fac ? fac : "");
    snprintf(l->msg, sizeof l->msg, "%s", msg ? msg : "");
    count++;
  }
  pthread_mutex_unlock(&mu);
}

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf) { push(level, fac, buf); }

/* Error events: without this callback librdkafka logs each one again as
 * "ERROR ... rdkafka#producer-1: <the same text>". */
static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
  push(err == RD_KAFKA_RESP_ERR__FATAL ? 2 : 3, "ERROR", reason);
}

void sg_kafka_log_attach(rd_kafka_conf_t *conf) {
  rd_kafka_conf_set_log_cb(conf, on_log);
  rd_kafka_conf_set_error_cb(conf, on_error);
}

int sg_kafka_log_take(sg_kafka_log_line *out) {
  int got = 0;
  pthread_mutex_lock(&mu);
  if (count > 0) {
    *out = ring[head];
    head = (head + 1) % RING;
    count--;
    got = 1;
  } else if (dropped > 0) {
    memset(out, 0, sizeof *out);
    got = 1;
  }
  if (got) {
    out->dropped = dropped;
    dropped = 0;
  }
  pthread_mutex_unlock(&mu);
  return got;
}

int sg_kafka_log_pending(void) {
  pthread_mutex_lock(&mu);
  int n = (int)count + (dropped > 0);
  pthread_mutex_unlock(&mu);
  return n;
}
