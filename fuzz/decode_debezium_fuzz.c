/* libFuzzer target: Debezium JSON envelopes into a row of every scalar
 * type plus a list and a record, both images filled when present. */
#include <stdio.h>
#include "decode_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static sg_decoder *d;
  static sg_batch *b;
  char err[512];
  if (!d) {
    int types[] = {SG_T_INT8, SG_T_TEXT, SG_T_NUMERIC, SG_T_TIMESTAMP, SG_T_DATE, SG_T_BOOL, SG_T_FLOAT8,
                   SG_T_BYTEA, SG_T_UUID, SG_T_JSONB, SG_T_TIME, SG_T_INT2, SG_T_NUMERIC, SG_T_LIST, SG_T_RECORD,
                   SG_T_MAP};
    int n = (int)(sizeof types / sizeof types[0]);
    sg_schema *s = sg_schema_new();
    char name[8];
    for (int i = 0; i < n; i++) {
      snprintf(name, sizeof name, "c%d", i);
      sg_typeinfo *t = sg_schema_type(s, types[i], types[i] == SG_T_NUMERIC ? 12 : -1, types[i] == SG_T_NUMERIC ? 3 : -1);
      if (types[i] == SG_T_LIST || types[i] == SG_T_MAP) sg_type_set_elem(t, sg_schema_type(s, SG_T_INT8, -1, -1));
      if (types[i] == SG_T_RECORD) {
        sg_type_add_field(s, t, "a", sg_schema_type(s, SG_T_TEXT, -1, -1), 1);
        sg_type_add_field(s, t, "b", sg_schema_type(s, SG_T_FLOAT8, -1, -1), 1);
      }
      sg_schema_add_column(s, name, t, 1, err, sizeof err);
    }
    const char *names[] = {"id", "name", "amount", "ts", "day", "ok", "x", "blob", "u", "doc", "t", "small", "vdec",
                           "xs", "rec", "m"};
    int hints[] = {0, 0, SG_DBZ_H_BASE64_DECIMAL, SG_DBZ_H_MICROS, SG_DBZ_H_DAYS, 0, 0, 0, 0, 0, SG_DBZ_H_NANOS, 0,
                   SG_DBZ_H_VARIABLE_DECIMAL, 0, 0, 0};
    b = fuzz_keep_batch(sg_batch_new(s, 4));
    d = fuzz_keep(sg_decoder_debezium_new(n, names, hints, err, sizeof err));
  }
  sg_dbz_info info;
  sg_batch_clear(b);
  if (sg_dbz_parse(d, data, size, &info, err, sizeof err) == 0) {
    for (int which = 0; which < 2; which++) {
      int64_t r = sg_batch_push_row(b, 1, which ? 1 : -1);
      sg_dbz_fill(d, which, b, (uint32_t)r, 0, err, sizeof err);
    }
  }
  fuzz_decode(d, b, data, size);
  return 0;
}
