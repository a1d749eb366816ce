/* stats.c — a few numbers out of librdkafka's statistics JSON (emitted
 * every statistics.interval.ms on its own thread), for /metrics. The
 * document is large and its shape fixed, so it is scanned for the keys
 * wanted rather than parsed: top-level keys are read before "brokers"
 * (whose objects reuse some names); per-broker round-trip times and
 * states are read inside it. */
#include <stdlib.h>
#include <string.h>

#include "../include/sinkgate_ffi.h"

/* The number right after key (which includes its quotes) at p, or -1. */
static int64_t value_at(const char *p, const char *to, size_t kl) {
  const char *v = p + kl;
  while (v < to && (*v == ' ' || *v == ':')) v++;
  if (v < to && (*v == '-' || (*v >= '0' && *v <= '9'))) return strtoll(v, NULL, 10);
  return -1;
}

/* The first value of key between from and to, or -1. */
static int64_t first(const char *from, const char *to, const char *key) {
  const char *p = memmem(from, (size_t)(to - from), key, strlen(key));
  return p ? value_at(p, to, strlen(key)) : -1;
}

/* The sum of every value of key between from and to (0 when none). */
static int64_t sum(const char *from, const char *to, const char *key) {
  size_t kl = strlen(key);
  int64_t total = 0;
  for (const char *p = from; (p = memmem(p, (size_t)(to - p), key, kl)); p += kl) {
    int64_t v = value_at(p, to, kl);
    if (v > 0) total += v;
  }
  return total;
}

/* Top-level msg_cnt and msg_size come before "brokers"; the per-broker
 * objects (tx, txbytes, state, rtt) sit between "brokers" and "topics",
 * whose partitions reuse some of those names. */
int sg_kafka_stats_parse(const char *json, size_t len, sg_kafka_stats *out) {
  memset(out, 0, sizeof *out);
  const char *end = json + len;
  const char *brokers = memmem(json, len, "\"brokers\":", 10);
  if (!brokers) return -1; /* not librdkafka statistics */
  const char *topics = memmem(brokers, (size_t)(end - brokers), "\"topics\":", 9);
  const char *bend = topics ? topics : end;
  out->queue_messages = first(json, brokers, "\"msg_cnt\"");
  out->queue_bytes = first(json, brokers, "\"msg_size\"");
  if (out->queue_messages < 0) return -1;
  out->requests = sum(brokers, bend, "\"tx\"");
  out->request_bytes = sum(brokers, bend, "\"txbytes\"");
  out->rtt_avg_us = -1;
  for (const char *p = brokers; (p = memmem(p, (size_t)(bend - p), "\"state\":", 8)); p += 8) {
    const char *v = p + 8;
    while (v < bend && *v == ' ') v++;
    if ((size_t)(bend - v) >= 4 && memcmp(v, "\"UP\"", 4) == 0) out->brokers_up++;
  }
  /* each broker: "rtt": { "min":…, "max":…, "avg":… } */
  for (const char *p = brokers; (p = memmem(p, (size_t)(bend - p), "\"rtt\":", 6)); p += 6) {
    const char *close = memchr(p, '}', (size_t)(bend - p));
    int64_t avg = first(p, close ? close : bend, "\"avg\"");
    if (avg > out->rtt_avg_us) out->rtt_avg_us = avg;
  }
  return 0;
}
