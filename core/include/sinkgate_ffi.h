/* sinkgate_ffi.h — the C core as Lua sees it.
 *
 * This header is the single source of the FFI declarations: the C sources
 * include it (so the compiler checks every definition against it) and the
 * build turns it into build/lua/sinkgate/cdef.lua for ffi.cdef (lines that
 * start with '#' are dropped there, so keep preprocessor use to guards).
 *
 * Conventions (after lua-resty-core): functions return 0 on success and -1
 * on failure with a message in err[errlen]; they never call the Lua C API
 * and never longjmp. Pointers returned from *_new are freed by *_free.
 */
#ifndef SINKGATE_FFI_H
#define SINKGATE_FFI_H
#include <stddef.h>
#include <stdint.h>

/* ---- build facts ---- */
const char *sg_core_version(void);
const char *sg_core_rdkafka_version(void);

/* ---- process: signals and clocks ---- */
void sg_sys_signals_install(void);
int sg_sys_signal_take(void);          /* pending signal number, or 0 */
int sg_sys_signal_pending(void);       /* 1 if SIGINT/SIGTERM arrived */
void sg_sys_reload_signal_install(void); /* SIGHUP: a reload request (run only) */
int sg_sys_isatty(int fd);             /* progress lines on a terminal only */
int sg_sys_reload_take(void);          /* 1 if SIGHUP arrived since the last call */
/* systemd's sd_notify protocol over $NOTIFY_SOCKET (core/sys/notify.c):
 * 0 sent, 1 no NOTIFY_SOCKET (nothing to do), -1 with err. */
int sg_sys_notify(const char *state, char *err, size_t errlen);
/* A second SIGINT/SIGTERM while stopping exits the process at once (status
 * 130/143); 0 turns that off again (for embedding). */
void sg_sys_second_signal_exits(int on);
void sg_sys_sleep_ms(int ms);
int64_t sg_sys_now_ms(void);           /* wall clock, epoch milliseconds */
int64_t sg_sys_mono_ns(void);          /* monotonic clock */
/* CPU time used (user + system, ms) and peak resident set size (KiB). */
void sg_sys_rusage(int64_t *cpu_ms, int64_t *maxrss_kb);

/* ---- hash functions ---- */
uint64_t sg_hash_seahash(const void *data, size_t len);
int32_t sg_hash_kafka_murmur2(const void *data, size_t len);
uint32_t sg_hash_crc32(const void *data, size_t len);

/* ---- growable byte buffer ---- */
typedef struct sg_buf {
  char *data;
  size_t len;
  size_t cap;
} sg_buf;
void sg_buf_free(sg_buf *b);

/* ---- process: files without a shell (core/sys/files.c) ---- */
uint32_t sg_sys_euid(void);
int32_t sg_sys_pid(void);
/* Creates path (and missing parents) mode 0700; refuses a symlink, a
 * non-directory or a directory owned by another user; makes ours 0700. */
int sg_sys_private_dir(const char *path, char *err, size_t errlen);
/* Replaces path atomically with data through a mkstemp file beside it
 * (removed on failure); refuses a path that exists and is not a regular
 * file (symlink, device, FIFO, directory). */
int sg_sys_write_atomic(const char *path, const void *data, size_t len, char *err, size_t errlen);
/* Appends a regular file of at most max bytes to out (never blocks on a FIFO). */
int sg_sys_read_small(const char *path, size_t max, sg_buf *out, char *err, size_t errlen);
/* Creates path and its missing parents, mode 0755 (an existing directory is
 * fine; a symlink or a file in the way is an error): `sinkgate plugin new`. */
int sg_sys_make_dirs(const char *path, char *err, size_t errlen);
/* Appends "name\n" for each entry of dir ending in suffix (dot files skipped). */
int sg_sys_list_dir(const char *dir, const char *suffix, sg_buf *out, char *err, size_t errlen);

/* ---- relation schema and row batches ---- */
typedef enum sg_type {
  SG_T_BOOL = 1, SG_T_INT2, SG_T_INT4, SG_T_INT8,
  SG_T_UINT2, SG_T_UINT4, SG_T_UINT8, SG_T_OID,
  SG_T_FLOAT4, SG_T_FLOAT8, SG_T_NUMERIC,
  SG_T_TEXT, SG_T_BYTEA, SG_T_DATE, SG_T_TIME,
  SG_T_TIMESTAMP, SG_T_TIMESTAMPTZ, SG_T_INTERVAL,
  SG_T_UUID, SG_T_JSONB, SG_T_MAP, SG_T_LIST, SG_T_ARRAY, SG_T_RECORD
} sg_type;

/* A type: scalar, or nested with an element type (list, array items and
 * map values) or fields (record). Owned by the schema that made it. */
typedef struct sg_typeinfo {
  int type;          /* sg_type */
  int precision;     /* -1 when not declared */
  int scale;         /* -1 when not declared */
  const struct sg_typeinfo *elem;
  int nfields;
  const char **field_names;
  const struct sg_typeinfo **field_types;
  const int *field_nullable;
  const char *name;  /* SQL name of a record type (DOC ON TYPE), or NULL */
} sg_typeinfo;

typedef struct sg_column {
  const char *name;
  int type;          /* = ti->type, for the encoders' switch */
  int nullable;
  const sg_typeinfo *ti;
  const char *json_key;  /* "name": quoted and escaped once, for the JSON encoder */
  size_t json_key_len;
} sg_column;

typedef struct sg_schema {
  int ncols;
  int cap;
  sg_column *cols;
  void *owned;       /* type trees made for this schema */
} sg_schema;

sg_schema *sg_schema_new(void);
sg_typeinfo *sg_schema_type(sg_schema *s, int type, int precision, int scale);
void sg_type_set_elem(sg_typeinfo *t, const sg_typeinfo *elem);
int sg_type_add_field(sg_schema *s, sg_typeinfo *record, const char *name, const sg_typeinfo *ft,
                      int nullable);
int sg_type_set_name(sg_schema *s, sg_typeinfo *record, const char *name);
int sg_schema_add_column(sg_schema *s, const char *name, const sg_typeinfo *t, int nullable,
                         char *err, size_t errlen);
void sg_schema_free(sg_schema *s);

/* One value slot. Fixed-width types live in the slot; variable-width ones
 * are an (offset, length) into the batch arena, so filling a batch never
 * mallocs per value: text, bytea, jsonb and numeric (its decimal text),
 * uuid (16 bytes), interval (16 bytes: months i32, days i32, micros i64,
 * little-endian) and nested values in the packed form of core/row/packed.h. */
typedef union sg_datum {
  int64_t i;
  uint64_t u;
  double f;
  struct { uint32_t off; uint32_t len; } s;
} sg_datum;

typedef struct sg_batch {
  const sg_schema *schema;
  int ncols;
  uint32_t nrows;
  uint32_t cap;
  sg_datum *cells;      /* nrows * ncols, row-major */
  uint8_t *nulls;       /* nrows * ncols, 1 = NULL */
  uint64_t *times;      /* logical timestamp per row */
  int64_t *diffs;       /* +1 insert, -1 delete (or multiplicities) */
  char *arena;
  size_t arena_len;
  size_t arena_cap;
} sg_batch;

sg_batch *sg_batch_new(const sg_schema *s, uint32_t cap);
void sg_batch_clear(sg_batch *b);
void sg_batch_free(sg_batch *b);
/* Appends an all-NULL row and returns its index, or -1 when out of memory. */
int64_t sg_batch_push_row(sg_batch *b, uint64_t time, int64_t diff);
void sg_batch_set_i64(sg_batch *b, uint32_t row, int col, int64_t v);
void sg_batch_set_f64(sg_batch *b, uint32_t row, int col, double v);
int sg_batch_set_bytes(sg_batch *b, uint32_t row, int col, const void *p, size_t len);
/* Drops every row from index nrows on and the arena bytes past arena_len:
 * takes a batch back to a mark taken before a row that turned out bad. */
void sg_batch_truncate(sg_batch *b, uint32_t nrows, size_t arena_len);

/* ---- encoders ---- */
/* Appends the JSON object of the given columns of one row to out. */
int sg_encode_json_row(const sg_batch *b, uint32_t row, const int *cols, int ncols,
                       sg_buf *out, char *err, size_t errlen);
/* TEXT/BYTES: the single column's bytes (NULL → empty). */
int sg_encode_raw_col(const sg_batch *b, uint32_t row, int col, sg_buf *out,
                      char *err, size_t errlen);

/* Avro binary of the given columns as the `row`/`envelope` record the
 * schema generator describes; schema_id >= 0 prepends the Confluent wire
 * header (0x00 + big-endian id). */
int sg_encode_avro_row(const sg_batch *b, uint32_t row, const int *cols, int ncols, int32_t schema_id,
                       sg_buf *out, char *err, size_t errlen);
/* Debezium value: before/after unions around whole rows (-1 = null side). */
int sg_encode_avro_debezium(const sg_batch *b, int32_t before, int32_t after, int32_t schema_id, sg_buf *out,
                            char *err, size_t errlen);

/* The same encoding through avro-c's generic value API, from the schema
 * text: the reference the hand-written encoder is checked and benchmarked
 * against. */
typedef struct sg_avro_generic sg_avro_generic;
sg_avro_generic *sg_avro_generic_new(const char *schema_json, size_t len, char *err, size_t errlen);
int sg_avro_generic_encode(sg_avro_generic *g, const sg_batch *b, uint32_t row, const int *cols, int ncols,
                           sg_buf *out, char *err, size_t errlen);
void sg_avro_generic_free(sg_avro_generic *g);

/* Parses an Avro schema with avro-c: 0 if valid, else -1 and avro-c's message. */
int sg_avro_schema_check(const char *json, size_t len, char *err, size_t errlen);

/* Decodes Avro binary (no wire header) written with schema_json and
 * appends its JSON form (avro-c's) to out. */
int sg_avro_decode_json(const char *schema_json, size_t slen, const void *data, size_t len,
                        sg_buf *out, char *err, size_t errlen);

/* ---- Confluent Schema Registry client (libcurl) ---- */
typedef struct sg_registry sg_registry;
typedef struct sg_registry_opts {
  const char *url;
  const char *username;      /* basic auth, or NULL */
  const char *password;
  const char *ca_pem;        /* TLS: CA bundle, client certificate and key (PEM text), or NULL */
  const char *cert_pem;
  const char *key_pem;
  int timeout_ms;            /* per request */
  int retries;               /* on transport errors and 5xx, with exponential backoff */
  int backoff_ms;            /* first backoff; doubles each retry */
} sg_registry_opts;
typedef struct sg_registry_result {
  int http_status;           /* 0 when no HTTP answer came back */
  int error_code;            /* the registry's error_code, or 0 */
  int32_t id;
  int attempts;
  char message[512];
} sg_registry_result;

sg_registry *sg_registry_new(const sg_registry_opts *o, char *err, size_t errlen);
/* POST /subjects/S/versions: 0 and res->id, or -1 with res filled. */
int sg_registry_register(sg_registry *r, const char *subject, const char *schema, sg_registry_result *res);
/* The same with a schemaType (\"PROTOBUF\", \"JSON\"; NULL or \"AVRO\": none sent). */
int sg_registry_register_typed(sg_registry *r, const char *subject, const char *schema, const char *schema_type,
                               sg_registry_result *res);
/* GET /config/S: 1 with the level copied out, 0 when none is set (40401/40408), -1 on error. */
int sg_registry_get_config(sg_registry *r, const char *subject, char *level, size_t levellen,
                           sg_registry_result *res);
/* PUT /config/S {"compatibility": level}: 0 or -1. */
int sg_registry_put_config(sg_registry *r, const char *subject, const char *level, sg_registry_result *res);
/* GET /schemas/ids/ID and GET /subjects/S/versions/latest: 0 with the
 * response body (JSON) in out, or -1 with res filled (40401/40403 = none). */
int sg_registry_schema_by_id(sg_registry *r, int32_t id, sg_buf *out, sg_registry_result *res);
int sg_registry_latest(sg_registry *r, const char *subject, sg_buf *out, sg_registry_result *res);
void sg_registry_free(sg_registry *r);

/* ---- load generators ---- */
/* counter: one bigint column; appends n rows counter_start.. at time. */
int sg_gen_counter_fill(sg_batch *b, int64_t counter_start, uint32_t n, uint64_t time);
/* bench: (id bigint, name text, price double, qty integer, ts timestamptz,
 * active boolean). Tick t has n changes: the first 9n/10 insert ids
 * t*n+1…, the rest delete rows inserted at tick t-1 (none at tick 0).
 * Stateless per tick. */
int sg_gen_bench_fill(sg_batch *b, int64_t tick, uint32_t n, uint64_t time, uint64_t tick_time_of_prev);

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

/* ---- YAML (libyaml) into a flat node tree with line numbers ---- */
enum { SG_Y_SCALAR = 1, SG_Y_SEQ = 2, SG_Y_MAP = 3 };
typedef struct sg_ynode {
  int kind;
  int line;          /* 1-based */
  int plain;         /* scalar written without quotes (so may be a number/bool) */
  int first_child;   /* index or -1; map children alternate key, value */
  int next_sibling;  /* index or -1 */
  uint32_t off;      /* scalar text in doc->text */
  uint32_t len;
} sg_ynode;
typedef struct sg_ydoc {
  int nnodes;
  int cap;
  sg_ynode *nodes;
  char *text;
  size_t text_len;
  size_t text_cap;
} sg_ydoc;
sg_ydoc *sg_yaml_parse(const char *src, size_t len, char *err, size_t errlen);
void sg_yaml_free(sg_ydoc *d);


/* ==== decoders (issue 11): message bytes into cells of a row ====
 * A decoder turns one Kafka key or value into the cells [first_col,
 * first_col + sg_decoder_ncols(d)) of a row the caller already pushed with
 * sg_batch_push_row; the cells' types come from the batch's schema (the
 * relation the Lua side derived, lua/sinkgate/decode/). Decoders never
 * crash on any input: they return one of the SG_DEC_* statuses with a
 * message naming the column or field and the byte offset where known.
 * See docs/sources.md "Formats". */
enum {
  SG_DEC_OK = 0,
  SG_DEC_ERROR = -1,        /* undecodable: the runtime applies its error policy */
  SG_DEC_SKIP = -2,         /* CSV record with the wrong column count: skipped and counted */
  SG_DEC_NEED_SCHEMA = -3   /* Avro: writer schema sg_decoder_avro_missing_id(d) unknown; add it and retry */
};
typedef struct sg_decoder sg_decoder;

sg_decoder *sg_decoder_text_new(char *err, size_t errlen);   /* one text column, strict UTF-8 */
sg_decoder *sg_decoder_bytes_new(char *err, size_t errlen);  /* one bytea column */
sg_decoder *sg_decoder_json_new(char *err, size_t errlen);   /* one jsonb column: validated text */
/* ncols text columns from one CSV record (delimiter e.g. ','). */
sg_decoder *sg_decoder_csv_new(int ncols, char delimiter, char *err, size_t errlen);
/* Avro with the Confluent header (0x00 + big-endian schema id), resolved
 * against reader_json (avro-c's schema resolution). confluent = 0 decodes
 * bare Avro written with the reader schema itself (no header). */
sg_decoder *sg_decoder_avro_new(const char *reader_json, size_t len, int confluent, char *err, size_t errlen);
/* Registers the writer schema of an id (fetched from the registry).
 * suffix (may be empty) is appended to every message of this writer before
 * it is read: the Avro encoding of reader defaults for fields the writer
 * lacks, which json then declares at its end (avro-c's resolver does not
 * apply defaults itself; lua/sinkgate/decode/avro_defaults.lua). */
int sg_decoder_avro_add_writer(sg_decoder *d, int32_t id, const char *json, size_t len, const uint8_t *suffix,
                               size_t suffix_len, char *err, size_t errlen);
int32_t sg_decoder_avro_missing_id(const sg_decoder *d);

/* Debezium JSON, with or without the schema/payload wrapper. names[i] is
 * the JSON field of relation column i; hints[i] one of SG_DBZ_H_* saying
 * how its JSON value encodes the column's type (from the connect schema). */
enum {
  SG_DBZ_H_AUTO = 0,        /* by the column type; timestamps: ms up to precision 3, else micros */
  SG_DBZ_H_MILLIS, SG_DBZ_H_MICROS, SG_DBZ_H_NANOS,  /* time/timestamp integer units */
  SG_DBZ_H_DAYS,            /* date as days since the epoch */
  SG_DBZ_H_BASE64_DECIMAL,  /* numeric: base64 of the big-endian unscaled value (scale = the type's) */
  SG_DBZ_H_VARIABLE_DECIMAL /* numeric: {"scale": s, "value": base64} */
};
sg_decoder *sg_decoder_debezium_new(int ncols, const char **names, const int *hints, char *err, size_t errlen);
/* What one Debezium message holds. op: 'c', 'u', 'd', 'r' (snapshot read),
 * 't' (truncate) or 0 for a tombstone (null/empty value); has_* say which
 * images are present; source position fields are -1 / empty when absent. */
typedef struct sg_dbz_info {
  int op;
  int has_before;
  int has_after;
  int snapshot;             /* source.snapshot is true/"true"/"last" */
  int64_t ts_ms;            /* payload.ts_ms */
  int64_t source_ts_ms;     /* source.ts_ms */
  int64_t lsn;              /* source.lsn (Postgres) */
  int64_t pos;              /* source.pos (MySQL binlog position) */
  int64_t row;              /* source.row (MySQL row within the event) */
  int64_t txid;             /* source.txId */
  char file[128];           /* source.file (MySQL binlog file) */
} sg_dbz_info;
/* Parses one message and keeps it in d for sg_dbz_fill. */
int sg_dbz_parse(sg_decoder *d, const uint8_t *buf, size_t len, sg_dbz_info *info, char *err, size_t errlen);
/* Writes the before (which = 0) or after (1) image of the parsed message. */
int sg_dbz_fill(sg_decoder *d, int which, sg_batch *b, uint32_t row, int first_col, char *err, size_t errlen);

/* Copies the fields of the record in cell (row, col) of src into cells
 * [first_col, first_col + nfields) of row dst_row of dst (types must match
 * the record's field types): how Avro Debezium envelopes (before/after
 * record columns) become rows. A NULL record leaves the cells NULL. */
int sg_batch_unpack_record(const sg_batch *src, uint32_t row, int col, sg_batch *dst, uint32_t dst_row,
                           int first_col, char *err, size_t errlen);

int sg_decoder_ncols(const sg_decoder *d);
/* Decodes one message into row `row` (Debezium: the after image, or the
 * before image of a delete). Returns SG_DEC_*. */
int sg_decode(sg_decoder *d, const uint8_t *buf, size_t len, sg_batch *b, uint32_t row, int first_col,
              char *err, size_t errlen);
void sg_decoder_free(sg_decoder *d);

/* A CSV header record into names (each NUL-terminated, in order); returns
 * the count or -1. */
int sg_csv_header(const uint8_t *buf, size_t len, char delimiter, sg_buf *names, char *err, size_t errlen);
/* 1 when p[0..len) is valid UTF-8 (no overlongs, surrogates or code points
 * past U+10FFFF), else 0 with the offset of the first bad byte. */
int sg_utf8_valid(const uint8_t *p, size_t len, size_t *bad_off);
/* 0 when p[0..len) is one valid JSON value (RFC 8259), else -1 with a message. */
int sg_json_validate(const uint8_t *p, size_t len, char *err, size_t errlen);
/* ==== end of decoders ==== */
/* ==== protobuf decoder (core/decode/protobuf*.c) ==== */
/* Compiled from a FileDescriptorSet (as `protoc --include_imports
 * --descriptor_set_out` writes) and a fully-qualified message name; the
 * relation's columns are the message's fields in declaration order. */
typedef struct sg_pb_decoder sg_pb_decoder;
enum {
  SG_PB_CONFLUENT = 1,      /* input has the registry's framing: 0, i32 BE id, message indexes */
  SG_PB_OPTIONAL_NULL = 2   /* fields with explicit presence (optional, oneof) are NULL when absent */
};
sg_pb_decoder *sg_pb_decoder_new(const void *fds, size_t len, const char *message, int flags,
                                 char *err, size_t errlen);
void sg_pb_decoder_free(sg_pb_decoder *d);
/* Decodes one message into cells [first_col, first_col + nfields(0)) of row
 * `row` (already pushed) of b. 0 = decoded; -1 = malformed input (err says
 * why; the row's cells are then unspecified and the caller drops the row);
 * -2 = framed with a schema id not accepted (see sg_pb_decoder_accept_id). */
int sg_pb_decode(sg_pb_decoder *d, const uint8_t *buf, size_t len, sg_batch *b, uint32_t row,
                 int first_col, char *err, size_t errlen);
/* Confluent framing: the schema id of the last framed input (-1 = none yet);
 * accept_id adds an id known to carry this schema (none accepted = any id). */
int32_t sg_pb_decoder_last_id(const sg_pb_decoder *d);
int sg_pb_decoder_accept_id(sg_pb_decoder *d, int32_t id);
/* The compiled schema, for the SQL mapping (lua/sinkgate/decode/protobuf.lua):
 * messages reachable from the root (index 0), each with its fields. */
typedef struct sg_pb_field_info {
  const char *name;
  int32_t number;
  int proto_type;          /* FieldDescriptorProto.Type: 1 double … 18 sint64 */
  int repeated;
  int map;                 /* message is the map entry: field 0 key, field 1 value */
  int nullable;            /* NULL when absent */
  int message;             /* message index of a message/map field, or -1 */
  const char *type_name;   /* message or enum full name, or NULL */
} sg_pb_field_info;
int sg_pb_decoder_flags(const sg_pb_decoder *d);
int sg_pb_decoder_nmessages(const sg_pb_decoder *d);
const char *sg_pb_decoder_message_name(const sg_pb_decoder *d, int message);
int sg_pb_decoder_nfields(const sg_pb_decoder *d, int message);
int sg_pb_decoder_field(const sg_pb_decoder *d, int message, int i, sg_pb_field_info *out);
/* The full names of the top-level messages of `file` in a descriptor set,
 * one per line into out; returns their count, or -1. */
int sg_pb_fds_messages(const void *fds, size_t len, const char *file, sg_buf *out, char *err,
                       size_t errlen);
/* Compiles .proto text with the real compiler (`protoc`, or the given
 * path; run without a shell, --include_imports, into a private temporary
 * directory) saved as file_name; the FileDescriptorSet into out. */
int sg_pb_compile_proto(const char *protoc, const char *text, size_t len, const char *file_name, sg_buf *out,
                        char *err, size_t errlen);
/* ==== end of protobuf decoder ==== */

/* ==== state store (views' keyed state; core/state/store.c) ==== */
/* Byte keys to byte values: in memory up to mem_bound bytes, beyond it in
 * LMDB under dir (NULL or "": memory only). Opening empties what an earlier
 * run left (the files are a cache; views rebuild state from their input).
 * get: 1 found (*v valid until the next call on the store), 0 not, -1 error;
 * del: 1 deleted, 0 absent, -1 error; put/flush/clear: 0 or -1. */
typedef struct sg_state sg_state;
typedef struct sg_state_stats {
  uint64_t keys_mem;
  uint64_t keys_disk;
  uint64_t bytes_mem;
  uint64_t bytes_disk;
} sg_state_stats;
sg_state *sg_state_open(const char *dir, uint64_t mem_bound, uint64_t map_size, char *err, size_t errlen);
void sg_state_close(sg_state *s);
int sg_state_get(sg_state *s, const void *k, size_t klen, const void **v, size_t *vlen, char *err,
                 size_t errlen);
int sg_state_put(sg_state *s, const void *k, size_t klen, const void *v, size_t vlen, char *err, size_t errlen);
int sg_state_del(sg_state *s, const void *k, size_t klen, char *err, size_t errlen);
/* Commits the disk writes made since the last flush (once per batch). */
int sg_state_flush(sg_state *s, char *err, size_t errlen);
int sg_state_clear(sg_state *s, char *err, size_t errlen);
void sg_state_stats_get(const sg_state *s, sg_state_stats *out);
/* The live keys: memory slots first, then the disk (LMDB cursor). next: 1
 * (*k, *v valid until the next call), 0 at the end, -1 error. The store
 * must not change while an iterator is open; free it before the next flush. */
typedef struct sg_state_iter sg_state_iter;
sg_state_iter *sg_state_iter_new(sg_state *s, char *err, size_t errlen);
int sg_state_iter_next(sg_state_iter *it, const void **k, size_t *klen, const void **v, size_t *vlen, char *err,
                       size_t errlen);
void sg_state_iter_free(sg_state_iter *it);

/* UPSERT source state (core/state/upsert.c): key bytes → the stored value,
 * [META: int32 partition, int64 offset, int64 timestamp]
 * [HEADERS: uint32 n, n × (uint32 name len, name, int32 value len or -1,
 * value)] then the raw value bytes; integers in host order. */
enum { SG_UPSERT_META = 1, SG_UPSERT_HEADERS = 2 };
typedef struct sg_upsert_progress {
  int64_t messages;           /* applied (keys put or deleted, null keys) */
  int32_t null_key_partition; /* the last null-key message with a value (-1: cleared); */
  int64_t null_key_offset;    /* left as they were when no null key came */
  int64_t poll_errors;
  char poll_error[256];       /* the last one */
} sg_upsert_progress;
/* Rebuilds the state from consumer c (assigned at positions) up to target
 * (nparts partitions), for at most budget_ms: applies messages in
 * [positions[p], target[p]) and advances positions. 1 = target reached,
 * 0 = budget spent, -1 = the store failed (err). */
int sg_upsert_rehydrate(sg_state *s, sg_consumer *c, int64_t *positions, const int64_t *target, int nparts,
                        int flags, int budget_ms, sg_upsert_progress *out, char *err, size_t errlen);
/* ==== end of state store ==== */
/* ==== operations HTTP endpoint (core/http/server.c) ==== */
/* /metrics, /health, /ready and /status served by libmicrohttpd's thread
 * from the last snapshot the run loop published (never calls Lua). */
typedef struct sg_http sg_http;
/* addr "HOST:PORT" (port 0: any free port, see sg_http_port); user NULL
 * or "": no basic auth; /health fails once no snapshot came for stale_ms. */
int sg_http_start(const char *addr, const char *user, const char *pass, int64_t stale_ms, sg_http **out, char *err,
                  size_t errlen);
int sg_http_port(const sg_http *h);
const char *sg_http_version(void); /* libmicrohttpd's, for `version --json` */
/* Copies both bodies; returns 0, or -1 when out of memory (the old stays). */
int sg_http_publish(sg_http *h, const char *metrics, size_t metrics_len, const char *status, size_t status_len,
                    int ready);
void sg_http_stop(sg_http *h);
/* ==== end of operations HTTP endpoint ==== */

#endif
