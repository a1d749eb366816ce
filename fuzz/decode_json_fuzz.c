/* libFuzzer target: the JSON parser and the jsonb decoder. A value that
 * parses is stored as text that parses again to the same span. */
#include <stdio.h>
#include <string.h>
#include "decode_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static sg_decoder *d;
  static sg_batch *b;
  char err[256];
  if (!d) {
    int types[] = {SG_T_JSONB};
    b = fuzz_keep_batch(sg_batch_new(fuzz_schema_of(types, 1), 4));
    d = fuzz_keep(sg_decoder_json_new(err, sizeof err));
  }
  sg_batch_clear(b);
  int64_t r = sg_batch_push_row(b, 1, 1);
  if (sg_decode(d, data, size, b, (uint32_t)r, 0, err, sizeof err) == 0) {
    sg_datum c = b->cells[0];
    if (sg_json_validate((const uint8_t *)b->arena + c.s.off, c.s.len, err, sizeof err) != 0) abort();
  }
  return 0;
}
