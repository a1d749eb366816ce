/* avro_dec.h — shared between the Avro decoder's files. */
#ifndef SG_AVRO_DEC_H
#define SG_AVRO_DEC_H
#include <avro.h>
#include <stddef.h>
#include <stdint.h>
#include "../include/sinkgate_ffi.h"

/* Items of arrays and maps one message may hold beyond one per byte: items
 * of zero-width types (null, empty records) cost no bytes, so without a
 * cap a 10-byte message could declare 2^62 of them. */
#define SG_AVRO_ZERO_WIDTH_ITEMS 65536

/* Checks that p[0..len) starts with one well-formed value of writer; sets
 * *used to its length. 0 or -1 with a message and byte offset. */
int sg_avro_check(avro_schema_t writer, const uint8_t *p, size_t len, size_t *used, char *err, size_t errlen);

/* Converting reader values into cells (avro_conv.c). field names the
 * value in error messages; scratch holds packed nested values. */
typedef struct sg_avro_conv {
  const char *field;
  sg_buf *scratch;
  char *err;
  size_t errlen;
} sg_avro_conv;
int sg_avro_put_cell(sg_avro_conv *c, avro_value_t *v, sg_batch *b, uint32_t row, int col);

#endif
