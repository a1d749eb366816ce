/* raw.c — TEXT and BYTES formats: one column's bytes, NULL as empty bytes.
 * Single-column and scalar-only rules are checked when the sink is planned
 * (lua/sinkgate/plan.lua); here only what a value can still get wrong. */
#include "../util/util.h"
#include <string.h>
#include "encode.h"

static const char *const TYPE_NAMES[] = {
    "?", "boolean", "smallint", "integer", "bigint", "uint2", "uint4", "uint8", "oid",
    "real", "double precision", "numeric", "text", "bytea", "date", "time", "timestamp",
    "timestamptz", "interval", "uuid", "jsonb", "map", "list", "array", "record"};

const char *sg_type_name(int type) {
  return (type >= SG_T_BOOL && type <= SG_T_RECORD) ? TYPE_NAMES[type] : "?";
}

int sg_encode_raw_col(const sg_batch *b, uint32_t row, int col, sg_buf *out,
                      char *err, size_t errlen) {
  size_t i = (size_t)row * b->ncols + col;
  if (b->nulls[i]) return 0;
  const sg_column *c = &b->schema->cols[col];
  switch (c->type) {
    case SG_T_TEXT: case SG_T_BYTEA: case SG_T_JSONB: case SG_T_NUMERIC:
      return sg_buf_append(out, b->arena + b->cells[i].s.off, b->cells[i].s.len) == 0
                 ? 0 : sg_fail(err, errlen, "out of memory");
    default: {
      /* Other scalars go out as their JSON text without quotes, which is
       * the value cast to text for numbers and booleans. */
      size_t start = out->len;
      if (sg_json_put_value(out, b, row, col, err, errlen) != 0) return -1;
      if (out->len - start >= 2 && out->data[start] == '"') {
        memmove(out->data + start, out->data + start + 1, out->len - start - 2);
        out->len -= 2;
      }
      return 0;
    }
  }
}
