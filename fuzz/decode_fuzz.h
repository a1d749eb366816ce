/* decode_fuzz.h — what the decoder fuzz targets share: a relation wide
 * enough for any decoder's columns, built once, and a batch each input
 * decodes into. Each target then only says how to make its decoder. */
#ifndef SG_DECODE_FUZZ_H
#define SG_DECODE_FUZZ_H
#include <stdint.h>
#include <stdlib.h>
#include "../core/include/sinkgate_ffi.h"

/* Decoders and batches made once per process are freed at exit, so the
 * leak check at the end of a run reports only memory really lost. */
static sg_decoder *fuzz_decoders[8];
static sg_batch *fuzz_batches[8];
static void fuzz_free_all(void) {
  for (int i = 0; i < 8; i++) {
    sg_decoder_free(fuzz_decoders[i]);
    if (!fuzz_batches[i]) continue;
    sg_schema *s = (sg_schema *)fuzz_batches[i]->schema; /* the fuzz targets own their schemas */
    sg_batch_free(fuzz_batches[i]);
    sg_schema_free(s);
  }
}
__attribute__((unused)) static sg_decoder *fuzz_keep(sg_decoder *d) {
  static int registered, n;
  if (!registered) atexit(fuzz_free_all), registered = 1;
  if (n < 8) fuzz_decoders[n++] = d;
  return d;
}
__attribute__((unused)) static sg_batch *fuzz_keep_batch(sg_batch *b) {
  static int n;
  if (n < 8) fuzz_batches[n++] = b;
  return b;
}

__attribute__((unused)) static sg_schema *fuzz_schema_of(const int *types, int n) {
  sg_schema *s = sg_schema_new();
  char err[256], name[16];
  for (int i = 0; i < n; i++) {
    snprintf(name, sizeof name, "c%d", i);
    sg_typeinfo *t = sg_schema_type(s, types[i], types[i] == SG_T_NUMERIC ? 10 : -1, types[i] == SG_T_NUMERIC ? 2 : -1);
    if (sg_schema_add_column(s, name, t, 1, err, sizeof err) != 0) abort();
  }
  return s;
}

/* Decodes one input into a fresh row; the status is ignored (any is
 * fine), crashes and sanitizer reports are what the fuzzer looks for. */
__attribute__((unused)) static void fuzz_decode(sg_decoder *d, sg_batch *b, const uint8_t *data, size_t size) {
  char err[512];
  sg_batch_clear(b);
  int64_t r = sg_batch_push_row(b, 1, 1);
  if (r < 0) abort();
  int rc = sg_decode(d, data, size, b, (uint32_t)r, 0, err, sizeof err);
#ifdef FUZZ_DEBUG /* clang -DFUZZ_DEBUG …: see what each seed decodes to */
  fprintf(stderr, "status %d%s%s\n", rc, rc ? ": " : "", rc ? err : "");
#else
  (void)rc;
#endif
}
#endif
