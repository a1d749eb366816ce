/* capture.c — emission without a broker: each message the sink would
 * produce is appended to a buffer in the layout sinkgate_ffi.h describes,
 * so sinkgate.testing sees exactly what the runtime encodes, partitions and
 * heads, through the same code path (emit.c). */
#include <string.h>
#include "../util/util.h"
#include "capture.h"

static int put_u32(sg_buf *b, uint32_t v) {
  unsigned char x[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16), (unsigned char)(v >> 24)};
  return sg_buf_append(b, x, 4);
}

static int put_u64(sg_buf *b, uint64_t v) {
  return put_u32(b, (uint32_t)v) | put_u32(b, (uint32_t)(v >> 32));
}

static int put_bytes(sg_buf *b, const void *p, size_t n) {
  if (n > 0xfffffffeu) return -1;
  if (put_u32(b, (uint32_t)n) != 0) return -1;
  return n ? sg_buf_append(b, p, n) : 0;
}

int sg_capture_message(sg_capture *c, uint64_t time, int32_t partition, const void *key, size_t klen,
                       const void *val, size_t vlen, int value_is_null, const char **hnames, const void **hvals,
                       const size_t *hlens, int nh) {
  sg_buf *b = &c->out;
  uint32_t flags = (key ? 1u : 0u) | (value_is_null ? 2u : 0u);
  if (put_u64(b, time) || put_u32(b, (uint32_t)partition) || put_u32(b, flags) ||
      put_bytes(b, key, key ? klen : 0) || put_bytes(b, val, value_is_null ? 0 : vlen) ||
      put_u32(b, (uint32_t)(nh > 0 ? nh : 0)))
    return -1;
  for (int i = 0; i < nh; i++) {
    if (put_bytes(b, hnames[i], strlen(hnames[i])) != 0) return -1;
    if (hvals[i] == NULL) {
      if (put_u32(b, 0xffffffffu) != 0) return -1;
    } else if (put_bytes(b, hvals[i], hlens[i]) != 0) {
      return -1;
    }
  }
  c->n++;
  return 0;
}
