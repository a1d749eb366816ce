/* encode.h — encoder internals shared inside core/encode. */
#ifndef SG_ENCODE_H
#define SG_ENCODE_H
#include "../include/sinkgate_ffi.h"
int sg_json_put_string(sg_buf *out, const char *s, size_t n);
int sg_json_put_value(sg_buf *out, const sg_batch *b, uint32_t row, int col, char *err, size_t errlen);
void sg_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);
const char *sg_type_name(int type);
int sg_interval_text(sg_buf *out, const unsigned char *p);
#endif
