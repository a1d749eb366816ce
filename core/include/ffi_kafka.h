/* ffi_kafka.h — part of sinkgate_ffi.h: Kafka admin, progress, logs, consumers and the dev broker.
 * sinkgate_ffi.h includes the parts in order (a part may use the types of
 * those before it); its conventions hold here. */
#ifndef SINKGATE_FFI_KAFKA_H
#define SINKGATE_FFI_KAFKA_H
#include <stddef.h>
#include <stdint.h>

/* ---- Kafka admin and progress ---- */
/* Creates topic unless it exists. 1 = created, 0 = existed, 2 = the broker
 * has no usable Admin API (caller falls back to auto-creation), -1 = error
 * worth retrying, -2 = permanent error (invalid replication factor,
 * partitions or config, authorization): retrying cannot help. */
int sg_kafka_ensure_topic(const char **keys, const char **vals, int n, const char *topic, int partitions,
                          int replication, const char **cfg_names, const char **cfg_values, int ncfg,
                          int timeout_ms, char *err, size_t errlen);
/* Whether a broker error code on topic creation is permanent (see above). */
int sg_kafka_topic_error_is_permanent(int code);
/* The last committed value under `key` in a one-partition progress topic
 * (read_committed, scanning suffixes of the topic first). 1 = found (value in
 * out), 0 = none, -1 = error (including "has N partitions, must have 1").
 * timeout_ms bounds each broker request (metadata, watermarks). */
int sg_progress_read(const char **keys, const char **vals, int n, const char *topic, const char *key,
                     int timeout_ms, sg_buf *out, char *err, size_t errlen);
/* The same read, resumable: each step makes at most one broker request or
 * polls for at most budget_ms. 2 = still reading, else as above. */
typedef struct sg_progress_reader sg_progress_reader;
sg_progress_reader *sg_progress_reader_new(const char **keys, const char **vals, int n, const char *topic,
                                           const char *key, int timeout_ms, char *err, size_t errlen);
int sg_progress_reader_step(sg_progress_reader *r, int budget_ms, sg_buf *out, char *err, size_t errlen);
void sg_progress_reader_free(sg_progress_reader *r);

/* Watches the progress topic (read_committed, from its end) for records
 * under `key` that other writers commit. poll never blocks: 1 = a record
 * arrived (the newest in out), 0 = none, -1 = error. */
typedef struct sg_progress_watch sg_progress_watch;
sg_progress_watch *sg_progress_watch_new(const char **keys, const char **vals, int n, const char *topic,
                                         const char *key, char *err, size_t errlen);
int sg_progress_watch_poll(sg_progress_watch *w, sg_buf *out, char *err, size_t errlen);
void sg_progress_watch_free(sg_progress_watch *w);

/* ---- librdkafka's log lines, for sinkgate's logger (core/kafka/log.c) ---- */
/* One line: syslog level (0..7), librdkafka's facility and message; a
 * line with dropped > 0 also says how many lines a full ring lost before
 * it (it may carry no message of its own: level 0 and an empty msg). */
typedef struct sg_kafka_log_line {
  int level;
  int64_t time_ms;
  uint64_t dropped;
  char fac[32];
  char msg[1024];
} sg_kafka_log_line;
/* 1 = a line in out, 0 = none waiting. Safe from any thread. */
int sg_kafka_log_take(sg_kafka_log_line *out);
int sg_kafka_log_pending(void);

/* ---- Kafka consumer for `sinkgate tail` ---- */
typedef struct sg_tail sg_tail;
typedef struct sg_tail_msg {
  int32_t partition;
  int64_t offset;
  int64_t timestamp;
  const char *key;
  size_t key_len;
  int key_null;
  const char *value;
  size_t value_len;
  int value_null;
  int nheaders;
} sg_tail_msg;

sg_tail *sg_tail_open(const char *brokers, const char *topic, int read_committed,
                      const char **keys, const char **vals, int n,
                      char *err, size_t errlen);
/* 1 = message in out, 0 = nothing within timeout, 2 = caught up with the
 * high watermarks taken at open, -1 = error. */
int sg_tail_next(sg_tail *t, int timeout_ms, sg_tail_msg *out, char *err, size_t errlen);
int sg_tail_header(sg_tail *t, int i, const char **name, const void **val, size_t *len);
int sg_tail_partition_count(sg_tail *t);
void sg_tail_free(sg_tail *t);

/* ---- Kafka consumer for `sg.source.kafka` (core/kafka/consumer.c) ----
 * Assigns partitions itself (no group membership), read_committed, no
 * automatic commits; messages use sg_tail_msg. */
typedef struct sg_consumer sg_consumer;
/* keys/vals: librdkafka properties (bootstrap.servers, security, group.id). */
sg_consumer *sg_consumer_new(const char **keys, const char **vals, int n, const char *topic, char *err,
                             size_t errlen);
int sg_consumer_partition_count(sg_consumer *c, int timeout_ms, char *err, size_t errlen);
/* Watermarks as last seen in fetch responses (no request); -1 when unknown. */
void sg_consumer_cached_watermarks(sg_consumer *c, int partition, int64_t *lo, int64_t *hi);
int sg_consumer_watermarks(sg_consumer *c, int partition, int timeout_ms, int64_t *lo, int64_t *hi, char *err,
                           size_t errlen);
/* out[p] = first offset with timestamp >= ts_ms in partition p (-1: none). */
int sg_consumer_offsets_for_time(sg_consumer *c, int nparts, int64_t ts_ms, int timeout_ms, int64_t *out, char *err,
                                 size_t errlen);
/* Replaces the assignment: partitions 0..n-1 at offsets[p] (negative: the end). */
int sg_consumer_assign(sg_consumer *c, const int64_t *offsets, int n, char *err, size_t errlen);
/* 1 = message in out (valid until the next poll/assign), 2 = end of partition
 * out->partition reached at offset out->offset, 0 = nothing, -1 = error. */
int sg_consumer_poll(sg_consumer *c, int timeout_ms, sg_tail_msg *out, char *err, size_t errlen);
int sg_consumer_header(sg_consumer *c, int i, const char **name, const void **val, size_t *len);
/* Asynchronous commit to the consumer's group.id, for lag monitoring only. */
int sg_consumer_commit(sg_consumer *c, const int64_t *offsets, int n, char *err, size_t errlen);
void sg_consumer_free(sg_consumer *c);

/* ---- dev broker: librdkafka's mock cluster ---- */
typedef struct sg_dev_cluster sg_dev_cluster;
sg_dev_cluster *sg_dev_cluster_new(int brokers, char *err, size_t errlen);
const char *sg_dev_cluster_bootstraps(sg_dev_cluster *c);
int sg_dev_push_request_errors(sg_dev_cluster *c, int16_t api_key, int cnt, const int *errs);
int sg_dev_broker_set_up(sg_dev_cluster *c, int32_t broker_id, int up);
int sg_dev_broker_set_rtt(sg_dev_cluster *c, int32_t broker_id, int rtt_ms);
int sg_dev_topic_create(sg_dev_cluster *c, const char *topic, int partitions,
                        int replication, char *err, size_t errlen);
void sg_dev_cluster_free(sg_dev_cluster *c);
/* librdkafka error code from its name ("REQUEST_TIMED_OUT", "_TRANSPORT"), or -9999. */
int sg_kafka_err_code(const char *name);
const char *sg_kafka_err_name(int code);

#endif
