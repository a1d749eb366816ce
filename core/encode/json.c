/* json.c — the JSON encoder, exact to the reference's conversion table
 * (semantics.md §4): compact, fields in the given column order. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../util/util.h"
#include "encode.h"

static const char HEX[] = "0123456789abcdef";

int sg_json_put_string(sg_buf *out, const char *s, size_t n) {
  if (sg_buf_reserve(out, n + 2) != 0) return -1;
  out->data[out->len++] = '"';
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c != '"' && c != '\\') {
      if (sg_buf_putc(out, (char)c) != 0) return -1;
      continue;
    }
    char esc[7] = {'\\', 0};
    size_t k = 2;
    switch (c) {
      case '"': esc[1] = '"'; break;
      case '\\': esc[1] = '\\'; break;
      case '\n': esc[1] = 'n'; break;
      case '\r': esc[1] = 'r'; break;
      case '\t': esc[1] = 't'; break;
      case '\b': esc[1] = 'b'; break;
      case '\f': esc[1] = 'f'; break;
      default:
        memcpy(esc + 1, "u00", 3);
        esc[4] = HEX[c >> 4];
        esc[5] = HEX[c & 15];
        k = 6;
    }
    if (sg_buf_append(out, esc, k) != 0) return -1;
  }
  return sg_buf_putc(out, '"');
}

static int put_fmt(sg_buf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int put_fmt(sg_buf *out, const char *fmt, ...) {
  char tmp[64];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof tmp) return -1;
  return sg_buf_append(out, tmp, (size_t)n);
}

/* Shortest text that reads back as the same double. */
static int put_double(sg_buf *out, double v) {
  if (!isfinite(v)) return SG_BUF_LIT(out, "null");
  char tmp[32];
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(tmp, sizeof tmp, "%.*g", prec, v);
    if (prec == 17 || strtod(tmp, NULL) == v) break;
  }
  return sg_buf_append(out, tmp, strlen(tmp));
}

static int put_float(sg_buf *out, float v) {
  if (!isfinite(v)) return SG_BUF_LIT(out, "null");
  char tmp[32];
  for (int prec = 6; prec <= 9; prec++) {
    snprintf(tmp, sizeof tmp, "%.*g", prec, (double)v);
    if (prec == 9 || strtof(tmp, NULL) == v) break;
  }
  return sg_buf_append(out, tmp, strlen(tmp));
}

/* Days since 1970-01-01 to a civil date (H. Hinnant's algorithm). */
void sg_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = (unsigned)(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t yy = (int64_t)yoe + era * 400;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = yy + (*m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* "<epoch millis>.<sub-millisecond micros, 3 digits>" from epoch micros. */
static int put_timestamp(sg_buf *out, int64_t micros) {
  int64_t ms = floor_div(micros, 1000);
  int64_t frac = micros - ms * 1000;
  return put_fmt(out, "\"%" PRId64 ".%03" PRId64 "\"", ms, frac);
}

static int put_date(sg_buf *out, int64_t days) {
  int64_t y;
  unsigned m, d;
  sg_civil_from_days(days, &y, &m, &d);
  return put_fmt(out, "\"%04" PRId64 "-%02u-%02u\"", y, m, d);
}

static int put_time(sg_buf *out, int64_t micros) {
  int64_t s = micros / 1000000, us = micros % 1000000;
  int hh = (int)(s / 3600), mm = (int)(s / 60 % 60), ss = (int)(s % 60);
  if (us == 0) return put_fmt(out, "\"%02d:%02d:%02d\"", hh, mm, ss);
  if (us % 1000 == 0)
    return put_fmt(out, "\"%02d:%02d:%02d.%03d\"", hh, mm, ss, (int)(us / 1000));
  return put_fmt(out, "\"%02d:%02d:%02d.%06d\"", hh, mm, ss, (int)us);
}

static int put_uuid(sg_buf *out, const unsigned char *u) {
  char t[38];
  size_t k = 0;
  t[k++] = '"';
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) t[k++] = '-';
    t[k++] = HEX[u[i] >> 4];
    t[k++] = HEX[u[i] & 15];
  }
  t[k++] = '"';
  return sg_buf_append(out, t, k);
}

static int put_byte_array(sg_buf *out, const unsigned char *p, size_t n) {
  if (sg_buf_putc(out, '[') != 0) return -1;
  for (size_t i = 0; i < n; i++) {
    if (i && sg_buf_putc(out, ',') != 0) return -1;
    if (put_fmt(out, "%u", p[i]) != 0) return -1;
  }
  return sg_buf_putc(out, ']');
}

int sg_json_put_value(sg_buf *out, const sg_batch *b, uint32_t row, int col,
                      char *err, size_t errlen) {
  size_t i = (size_t)row * b->ncols + col;
  const sg_column *c = &b->schema->cols[col];
  if (b->nulls[i]) return SG_BUF_LIT(out, "null");
  sg_datum v = b->cells[i];
  const char *s = b->arena + v.s.off;
  int rc;
  switch (c->type) {
    case SG_T_BOOL: rc = v.i ? SG_BUF_LIT(out, "true") : SG_BUF_LIT(out, "false"); break;
    case SG_T_INT2: case SG_T_INT4: case SG_T_INT8:
      rc = put_fmt(out, "%" PRId64, v.i); break;
    case SG_T_UINT2: case SG_T_UINT4: case SG_T_UINT8: case SG_T_OID:
      rc = put_fmt(out, "%" PRIu64, v.u); break;
    case SG_T_FLOAT4: rc = put_float(out, (float)v.f); break;
    case SG_T_FLOAT8: rc = put_double(out, v.f); break;
    case SG_T_NUMERIC: case SG_T_TEXT: rc = sg_json_put_string(out, s, v.s.len); break;
    case SG_T_JSONB: rc = sg_buf_append(out, s, v.s.len); break;
    case SG_T_BYTEA: rc = put_byte_array(out, (const unsigned char *)s, v.s.len); break;
    case SG_T_DATE: rc = put_date(out, v.i); break;
    case SG_T_TIME: rc = put_time(out, v.i); break;
    case SG_T_TIMESTAMP: case SG_T_TIMESTAMPTZ: rc = put_timestamp(out, v.i); break;
    case SG_T_UUID:
      if (v.s.len != 16) return sg_fail(err, errlen, "column \"%s\": uuid value is %u bytes, not 16", c->name, v.s.len);
      rc = put_uuid(out, (const unsigned char *)s);
      break;
    default:
      return sg_fail(err, errlen, "column \"%s\": JSON encoding of type %s is not supported yet",
                     c->name, sg_type_name(c->type));
  }
  return rc == 0 ? 0 : sg_fail(err, errlen, "out of memory");
}

int sg_encode_json_row(const sg_batch *b, uint32_t row, const int *cols, int ncols,
                       sg_buf *out, char *err, size_t errlen) {
  if (sg_buf_putc(out, '{') != 0) return sg_fail(err, errlen, "out of memory");
  for (int k = 0; k < ncols; k++) {
    const sg_column *c = &b->schema->cols[cols[k]];
    if (k && sg_buf_putc(out, ',') != 0) return sg_fail(err, errlen, "out of memory");
    if (sg_json_put_string(out, c->name, strlen(c->name)) != 0 || sg_buf_putc(out, ':') != 0)
      return sg_fail(err, errlen, "out of memory");
    if (sg_json_put_value(out, b, row, cols[k], err, errlen) != 0) return -1;
  }
  return sg_buf_putc(out, '}') == 0 ? 0 : sg_fail(err, errlen, "out of memory");
}
