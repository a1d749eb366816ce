/* ffi_decode.h — part of sinkgate_ffi.h: decoders, Protobuf included.
 * sinkgate_ffi.h includes the parts in order (a part may use the types of
 * those before it); its conventions hold here. */
#ifndef SINKGATE_FFI_DECODE_H
#define SINKGATE_FFI_DECODE_H
#include <stddef.h>
#include <stdint.h>

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

#endif
