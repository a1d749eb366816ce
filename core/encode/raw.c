/* raw.c — TEXT and BYTES formats: one column's bytes, NULL as empty bytes.
 * Single-column and scalar-only rules are checked when the sink is planned
 * (lua/sinkgate/plan.lua); here only what a value can still get wrong. */
#include "../util/util.h"
#include <string.h>
#include "encode.h"
#include "../row/value.h"

static const char *const TYPE_NAMES[] = {
    "?", "boolean", "smallint", "integer", "bigint", "uint2", "uint4", "uint8", "oid",
    "real", "double precision", "numeric", "text", "bytea", "date", "time", "timestamp",
    "timestamptz", "interval", "uuid", "jsonb", "map", "list", "array", "record"};

const char *sg_type_name(int type) {
  return (type >= SG_T_BOOL && type <= SG_T_RECORD) ? TYPE_NAMES[type] : "?";
}

int sg_encode_raw_col(const sg_batch *b, uint32_t row, int col, sg_buf *out,
                      char *err, size_t errlen) {
  sg_val v;
  if (sg_row_val(b, row, col, &v)) return 0;
  const sg_column *c = &b->schema->cols[col];
  int rc;
  switch (c->type) {
    case SG_T_TEXT: case SG_T_BYTEA: case SG_T_JSONB: case SG_T_NUMERIC:
      rc = sg_buf_append(out, v.p, v.len);
      break;
    case SG_T_INTERVAL:
      rc = v.len == 16 ? sg_interval_text(out, v.p) : sg_fail(err, errlen, "column \"%s\": bad interval", c->name);
      break;
    case SG_T_MAP: case SG_T_LIST: case SG_T_ARRAY: case SG_T_RECORD:
      return sg_fail(err, errlen, "column \"%s\": TEXT/BYTES cannot encode type %s", c->name,
                     sg_type_name(c->type));
    default: {
      /* Other scalars go out as their text: the JSON form without quotes. */
      size_t start = out->len;
      if (sg_json_put_value(out, b, row, col, err, errlen) != 0) return -1;
      if (out->len - start >= 2 && out->data[start] == '"') {
        memmove(out->data + start, out->data + start + 1, out->len - start - 2);
        out->len -= 2;
      }
      return 0;
    }
  }
  return rc == 0 ? 0 : sg_fail(err, errlen, "out of memory");
}
