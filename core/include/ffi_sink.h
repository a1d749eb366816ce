/* ffi_sink.h — part of sinkgate_ffi.h: the producer, transactions, consolidation, emission and capture.
 * sinkgate_ffi.h includes the parts in order (a part may use the types of
 * those before it); its conventions hold here. */
#ifndef SINKGATE_FFI_SINK_H
#define SINKGATE_FFI_SINK_H
#include <stddef.h>
#include <stdint.h>

/* ---- Kafka producer ---- */
typedef struct sg_producer sg_producer;
typedef struct sg_producer_stats {
  uint64_t produced;
  uint64_t delivered;
  uint64_t failed;
  char last_error[256];
  uint64_t delivered_bytes; /* keys + values the broker acknowledged */
} sg_producer_stats;

sg_producer *sg_producer_new(const char **keys, const char **vals, int n,
                             char *err, size_t errlen);
int sg_producer_partition_count(sg_producer *p, const char *topic, int timeout_ms,
                                char *err, size_t errlen);
int sg_producer_send(sg_producer *p, const char *topic, int32_t partition,
                     const void *key, size_t klen, const void *val, size_t vlen,
                     int value_is_null, const char **hnames, const void **hvals,
                     const size_t *hlens, int nh, char *err, size_t errlen);
int sg_producer_flush(sg_producer *p, int timeout_ms, char *err, size_t errlen);
void sg_producer_stats_get(sg_producer *p, sg_producer_stats *out);
/* A few of librdkafka's statistics (statistics.interval.ms, 5 s unless the
 * connection's options say otherwise), for /metrics; -1 where unknown. */
typedef struct sg_kafka_stats {
  int64_t at_ms;          /* when they were emitted (0: not yet) */
  int64_t queue_messages; /* msg_cnt: messages waiting in the client */
  int64_t queue_bytes;    /* msg_size */
  int64_t requests;       /* tx summed over brokers: requests sent */
  int64_t request_bytes;  /* txbytes summed over brokers */
  int64_t rtt_avg_us;     /* the largest of the brokers' average round-trip times */
  int64_t brokers_up;     /* brokers in state UP */
} sg_kafka_stats;
int sg_kafka_stats_parse(const char *json, size_t len, sg_kafka_stats *out);
void sg_producer_kafka_stats(sg_producer *p, sg_kafka_stats *out);
void sg_producer_free(sg_producer *p);     /* flushes (up to 5 s), then frees */
void sg_producer_discard(sg_producer *p);  /* purges what is queued, then frees */

/* ---- transactions ---- */
/* Outcome of a transactional call, after librdkafka's error classes.
 * FENCED is the fatal error of a producer whose transactional.id another
 * instance has taken over (PRODUCER_FENCED / INVALID_PRODUCER_EPOCH): that
 * instance must stop, never re-initialize and fence the other one back. */
enum { SG_TXN_OK = 0, SG_TXN_RETRIABLE = 1, SG_TXN_ABORTABLE = 2, SG_TXN_FATAL = 3, SG_TXN_FENCED = 4 };
/* SG_TXN_OK when the producer has no fatal error, else SG_TXN_FENCED or
 * SG_TXN_FATAL with librdkafka's reason in err. */
int sg_producer_fatal_class(sg_producer *p, char *err, size_t errlen);
int sg_producer_init_transactions(sg_producer *p, int timeout_ms, char *err, size_t errlen);
int sg_producer_begin(sg_producer *p, char *err, size_t errlen);
int sg_producer_commit(sg_producer *p, int timeout_ms, char *err, size_t errlen);
int sg_producer_abort(sg_producer *p, int timeout_ms, char *err, size_t errlen);

/* ---- consolidation: a batch's changes into paired updates ---- */
/* One message-to-be: before and/or after row (index into the batch, -1 = none). */
typedef struct sg_update {
  uint64_t time;
  int32_t before;
  int32_t after;
} sg_update;

typedef struct sg_updates {
  sg_update *items;
  uint32_t n;
  uint32_t cap;
  uint64_t multi_key;   /* (time, key) groups with more than one live row: NOT ENFORCED keys */
} sg_updates;

/* Consolidates each timestamp (identical rows' diffs summed, zeros dropped)
 * and pairs deletions with insertions of the same key (key_cols; nkey = 0
 * pairs nothing) into updates, in time order. Rows with time < since are
 * skipped. `as_of` >= 0 first moves every row with time <= as_of to time
 * as_of (a snapshot). Returns 0, or -1 when out of memory. */
int sg_consolidate(const sg_batch *b, const int *key_cols, int nkey, uint64_t since, int64_t as_of,
                   sg_updates *out, char *err, size_t errlen);
void sg_updates_free(sg_updates *u);

/* ---- emission (the per-batch hot path) ---- */
enum { SG_FMT_JSON = 1, SG_FMT_TEXT, SG_FMT_BYTES, SG_FMT_AVRO, SG_FMT_GIVEN };
enum { SG_ENV_UPSERT = 1, SG_ENV_DEBEZIUM };

/* ---- plugins: parts encoded outside the C encoders, capture mode ---- */
/* A key or value part of format SG_FMT_GIVEN (a plugin format, encoded in
 * Lua): update i of [from, to) has data[i - from] / lens[i - from]; flags
 * (may be NULL) say SG_PART_NULL (a null value: a tombstone) or
 * SG_PART_SKIP (no message for that update: its encoder failed and the
 * sink's on_error policy is to count it). */
enum { SG_PART_NULL = 1, SG_PART_SKIP = 2 };
typedef struct sg_msg_parts {
  const void **data;
  const size_t *lens;
  const uint8_t *flags;
} sg_msg_parts;

/* Capture mode (sinkgate.testing): an emit spec with a NULL producer and a
 * capture appends each message here instead of producing it. Each record,
 * little-endian: u64 time, i32 partition, u32 flags (1 = has key, 2 = null
 * value), u32 klen, key, u32 vlen, value, u32 nheaders, then per header
 * u32 nlen, name, u32 vlen (0xffffffff = null), value. Free with
 * sg_buf_free(&capture->out). */
typedef struct sg_capture {
  sg_buf out;
  uint64_t n;
} sg_capture;

typedef struct sg_emit_spec {
  sg_producer *producer;
  const char *topic;
  int partitions;
  int key_format;       /* SG_FMT_*, 0 = no key */
  int value_format;
  int envelope;         /* SG_ENV_* */
  const int *key_cols;
  int nkey;
  const char *ts_header; /* name of the timestamp header */
  int32_t key_schema_id;  /* registry ids for Avro parts */
  int32_t value_schema_id;
  /* plugins (sinkgate.plugin): parts of format SG_FMT_GIVEN for the range
   * being emitted, and capture mode (producer NULL). */
  const sg_msg_parts *given_key;
  const sg_msg_parts *given_value;
  sg_capture *capture;
} sg_emit_spec;

/* Extra headers per update (from a `headers` function): update i has
 * headers [first[i], first[i+1]) of names/values/lens; a NULL value is a
 * header with a null value. */
typedef struct sg_msg_headers {
  const uint32_t *first;
  const char **names;
  const void **values;
  const size_t *lens;
} sg_msg_headers;

/* Encodes and produces updates [from, to) of u. partitions (or NULL for the
 * default key hash) gives each update's partition; headers may be NULL.
 * Returns the number of messages sent, or -1. */
int64_t sg_emit_updates(const sg_emit_spec *spec, const sg_batch *b, const sg_updates *u, uint32_t from,
                        uint32_t to, const int32_t *partitions, const sg_msg_headers *headers,
                        char *err, size_t errlen);

/* The default partition of an update (seahash of its encoded key, header
 * stripped for Avro, mod partitions; 0 without a key), or -1 on error. */
int32_t sg_default_partition(const sg_emit_spec *spec, const sg_batch *b, const sg_update *up,
                             char *err, size_t errlen);

#endif
