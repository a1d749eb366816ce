/* ffi_encode.h — part of sinkgate_ffi.h: encoders.
 * sinkgate_ffi.h includes the parts in order (a part may use the types of
 * those before it); its conventions hold here. */
#ifndef SINKGATE_FFI_ENCODE_H
#define SINKGATE_FFI_ENCODE_H
#include <stddef.h>
#include <stdint.h>

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

#endif
