/* libFuzzer target: CSV records of 3 columns, and header parsing; the first
 * byte picks the delimiter so quoting interacts with several. */
#include <stdio.h>
#include "decode_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static sg_decoder *d[3];
  static sg_batch *b;
  static const char delims[3] = {',', ';', '\t'};
  char err[256];
  if (!b) {
    int types[] = {SG_T_TEXT, SG_T_TEXT, SG_T_TEXT};
    b = fuzz_keep_batch(sg_batch_new(fuzz_schema_of(types, 3), 4));
    for (int i = 0; i < 3; i++) d[i] = fuzz_keep(sg_decoder_csv_new(3, delims[i], err, sizeof err));
  }
  if (size == 0) return 0;
  int k = data[0] % 3;
  fuzz_decode(d[k], b, data + 1, size - 1);
  sg_buf names = {0};
  sg_csv_header(data + 1, size - 1, delims[k], &names, err, sizeof err);
  sg_buf_free(&names);
  return 0;
}
