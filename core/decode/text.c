/* text.c — the decoder object every format shares (sg_decode dispatches
 * through its vtable), strict UTF-8 validation, and the two simplest
 * formats: TEXT (one text column, invalid UTF-8 is an error) and BYTES
 * (one bytea column, any bytes). */
#include <stdlib.h>
#include <string.h>
#include "../util/util.h"
#include "decode.h"

sg_decoder *sg_decoder_make(const char *format, int ncols, sg_decode_fn fn, void (*free_state)(void *),
                            void *state, char *err, size_t errlen) {
  sg_decoder *d = calloc(1, sizeof *d);
  if (!d) {
    if (free_state) free_state(state);
    return sg_fail(err, errlen, "out of memory"), NULL;
  }
  d->format = format;
  d->ncols = ncols;
  d->decode = fn;
  d->free_state = free_state;
  d->state = state;
  return d;
}

int sg_decoder_ncols(const sg_decoder *d) { return d ? d->ncols : 0; }

void sg_decoder_free(sg_decoder *d) {
  if (!d) return;
  if (d->free_state) d->free_state(d->state);
  free(d);
}

int sg_dec_check_col(const sg_batch *b, int col, int ncols_needed, char *err, size_t errlen) {
  if (!b || col < 0 || col + ncols_needed > b->ncols)
    return sg_fail(err, errlen, "decoder writes columns %d..%d but the batch has %d", col, col + ncols_needed - 1,
                   b ? b->ncols : 0);
  return 0;
}

int sg_decode(sg_decoder *d, const uint8_t *buf, size_t len, sg_batch *b, uint32_t row, int first_col,
              char *err, size_t errlen) {
  if (!d) return sg_fail(err, errlen, "no decoder");
  if (sg_dec_check_col(b, first_col, d->ncols, err, errlen) != 0) return SG_DEC_ERROR;
  if (row >= b->nrows) return sg_fail(err, errlen, "row %u was not pushed (batch has %u)", row, b->nrows);
  if (!buf && len) return sg_fail(err, errlen, "no message bytes");
  return d->decode(d, buf ? buf : (const uint8_t *)"", len, b, row, first_col, err, errlen);
}

/* Unicode's table 3-7 of well-formed sequences: the second byte's range
 * depends on the first, which excludes overlongs (C0, C1, E0 80..9F,
 * F0 80..8F), surrogates (ED A0..BF) and code points past U+10FFFF. */
int sg_utf8_valid(const uint8_t *p, size_t len, size_t *bad_off) {
  size_t i = 0;
  while (i < len) {
    /* ASCII runs, eight bytes at a time */
    while (len - i >= 8) {
      uint64_t w;
      memcpy(&w, p + i, 8);
      if (w & 0x8080808080808080ULL) break;
      i += 8;
    }
    if (i >= len) break;
    uint8_t c = p[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    int n;
    uint8_t lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) n = 1;
    else if (c == 0xE0) n = 2, lo = 0xA0;
    else if (c == 0xED) n = 2, hi = 0x9F;
    else if (c >= 0xE1 && c <= 0xEF) n = 2;
    else if (c == 0xF0) n = 3, lo = 0x90;
    else if (c >= 0xF1 && c <= 0xF3) n = 3;
    else if (c == 0xF4) n = 3, hi = 0x8F;
    else goto bad;
    if (len - i <= (size_t)n) goto bad;
    if (p[i + 1] < lo || p[i + 1] > hi) goto bad;
    for (int k = 2; k <= n; k++)
      if ((p[i + k] & 0xC0) != 0x80) goto bad;
    i += (size_t)n + 1;
  }
  return 1;
bad:
  if (bad_off) *bad_off = i;
  return 0;
}

static int decode_text(sg_decoder *d, const uint8_t *buf, size_t len, sg_batch *b, uint32_t row, int col,
                       char *err, size_t errlen) {
  size_t off;
  if (!sg_utf8_valid(buf, len, &off))
    return sg_fail(err, errlen, "column \"text\": invalid UTF-8 at byte %zu", off);
  if (sg_batch_set_bytes(b, row, col, buf, len) != 0) return sg_fail(err, errlen, "batch arena is full");
  return SG_DEC_OK;
}

static int decode_bytes(sg_decoder *d, const uint8_t *buf, size_t len, sg_batch *b, uint32_t row, int col,
                        char *err, size_t errlen) {
  if (sg_batch_set_bytes(b, row, col, buf, len) != 0) return sg_fail(err, errlen, "batch arena is full");
  return SG_DEC_OK;
}

sg_decoder *sg_decoder_text_new(char *err, size_t errlen) {
  return sg_decoder_make("text", 1, decode_text, NULL, NULL, err, errlen);
}

sg_decoder *sg_decoder_bytes_new(char *err, size_t errlen) {
  return sg_decoder_make("bytes", 1, decode_bytes, NULL, NULL, err, errlen);
}
