/* util.c — error messages and the growable buffer. */
#include "util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sg_fail(char *err, size_t errlen, const char *fmt, ...) {
  if (err && errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return -1;
}

int sg_buf_reserve(sg_buf *b, size_t extra) {
  if (b->len + extra <= b->cap) return 0;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + extra) cap *= 2;
  char *d = realloc(b->data, cap);
  if (!d) return -1;
  b->data = d;
  b->cap = cap;
  return 0;
}

int sg_buf_append_slow(sg_buf *b, const void *p, size_t n) {
  if (sg_buf_reserve(b, n) != 0) return -1;
  if (n) memcpy(b->data + b->len, p, n);
  b->len += n;
  return 0;
}

void sg_buf_free(sg_buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}
