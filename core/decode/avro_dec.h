/* avro_dec.h — shared between the Avro decoder's files. */
#ifndef SG_AVRO_DEC_H
#define SG_AVRO_DEC_H
#include <avro.h>
#include <stddef.h>
#include <stdint.h>

/* Items of arrays and maps one message may hold beyond one per byte: items
 * of zero-width types (null, empty records) cost no bytes, so without a
 * cap a 10-byte message could declare 2^62 of them. */
#define SG_AVRO_ZERO_WIDTH_ITEMS 65536

/* Checks that p[0..len) starts with one well-formed value of writer; sets
 * *used to its length. 0 or -1 with a message and byte offset. */
int sg_avro_check(avro_schema_t writer, const uint8_t *p, size_t len, size_t *used, char *err, size_t errlen);

#endif
