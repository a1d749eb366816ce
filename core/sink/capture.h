/* capture.h — capture mode of emission (not part of the FFI: Lua reads the
 * records through sg_capture, see sinkgate_ffi.h). */
#ifndef SG_CAPTURE_H
#define SG_CAPTURE_H
#include "../include/sinkgate_ffi.h"

/* Appends one message; 0, or -1 when out of memory. */
int sg_capture_message(sg_capture *c, uint64_t time, int32_t partition, const void *key, size_t klen,
                       const void *val, size_t vlen, int value_is_null, const char **hnames, const void **hvals,
                       const size_t *hlens, int nh);
#endif
