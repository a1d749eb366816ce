/* encode.h — encoder internals shared inside core/encode. */
#ifndef SG_ENCODE_H
#define SG_ENCODE_H
#include "../include/sinkgate_ffi.h"
int sg_json_put_string(sg_buf *out, const char *s, size_t n);
int sg_json_put_value(sg_buf *out, const sg_batch *b, uint32_t row, int col, char *err, size_t errlen);
void sg_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);
const char *sg_type_name(int type);
int sg_interval_text(sg_buf *out, const unsigned char *p);
int sg_decimal_twos(const char *s, size_t n, int scale, unsigned char *mag, int width, char *err, size_t errlen);
int sg_avro_numeric_width(const sg_typeinfo *t, int *scale);
int64_t sg_avro_timestamp(const sg_typeinfo *t, int64_t micros);
void sg_uuid_text(const unsigned char *u, char out[36]);
#endif
