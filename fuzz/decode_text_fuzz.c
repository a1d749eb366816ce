/* libFuzzer target: TEXT, BYTES and the UTF-8 validator, cross-checked:
 * TEXT must accept exactly what sg_utf8_valid accepts. */
#include <stdio.h>
#include "decode_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static sg_decoder *text, *bytes;
  static sg_batch *b;
  static sg_schema *s;
  char err[256];
  if (!text) {
    int types[] = {SG_T_TEXT};
    s = fuzz_schema_of(types, 1);
    b = fuzz_keep_batch(sg_batch_new(s, 4));
    text = fuzz_keep(sg_decoder_text_new(err, sizeof err));
    bytes = fuzz_keep(sg_decoder_bytes_new(err, sizeof err));
  }
  size_t off;
  int valid = sg_utf8_valid(data, size, &off);
  sg_batch_clear(b);
  int64_t r = sg_batch_push_row(b, 1, 1);
  int rc = sg_decode(text, data, size, b, (uint32_t)r, 0, err, sizeof err);
  if ((rc == 0) != (valid == 1)) abort();
  if (!valid && off >= size) abort();
  fuzz_decode(bytes, b, data, size);
  return 0;
}
