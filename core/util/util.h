/* util.h — small helpers shared by the core's modules (not part of the FFI). */
#ifndef SG_UTIL_H
#define SG_UTIL_H
#include <stdarg.h>
#include <stddef.h>
#include "../include/sinkgate_ffi.h"

/* Writes a formatted message into err (if any) and returns -1, so that a
 * failure path reads `return sg_fail(err, errlen, "...", ...);`. */
int sg_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

int sg_buf_reserve(sg_buf *b, size_t extra);
int sg_buf_append_slow(sg_buf *b, const void *p, size_t n);

/* Encoders append many short pieces: keep the common case inline and copy
 * short runs byte by byte instead of calling into libc. */
static inline int sg_buf_append(sg_buf *b, const void *p, size_t n) {
  if (n > 16 || b->len + n > b->cap) return sg_buf_append_slow(b, p, n);
  char *d = b->data + b->len;
  const char *s = p;
  for (size_t i = 0; i < n; i++) d[i] = s[i];
  b->len += n;
  return 0;
}
static inline int sg_buf_putc(sg_buf *b, char c) {
  if (b->len + 1 > b->cap && sg_buf_reserve(b, 1) != 0) return -1;
  b->data[b->len++] = c;
  return 0;
}
/* Literal strings only: the "" s "" pasting refuses anything else at compile time. */
#define SG_BUF_LIT(b, s) sg_buf_append((b), "" s "", sizeof("" s "") - 1)

#endif
