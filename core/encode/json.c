/* json.c — the JSON encoder, exact to the reference's conversion table
 * (semantics.md §4): compact, fields in the given column order. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../util/util.h"
#include "encode.h"
#include "../row/value.h"

static const char HEX[] = "0123456789abcdef";

int sg_json_put_string(sg_buf *out, const char *s, size_t n) {
  if (sg_buf_reserve(out, n + 2) != 0) return -1;
  out->data[out->len++] = '"';
  size_t i = 0;
  while (i < n) {
    /* Copy the longest run that needs no escaping in one go. */
    size_t j = i;
    while (j < n && (unsigned char)s[j] >= 0x20 && s[j] != '"' && s[j] != '\\') j++;
    if (j > i && sg_buf_append(out, s + i, j - i) != 0) return -1;
    if (j == n) break;
    unsigned char c = (unsigned char)s[j];
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
    i = j + 1;
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

static const char DIGIT_PAIRS[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* Decimal digits of an unsigned value, written backwards into end, two at
 * a time (half the divisions of the one-digit loop). */
static char *utoa_rev(uint64_t v, char *end) {
  while (v >= 100) {
    unsigned r = (unsigned)(v % 100);
    v /= 100;
    *--end = DIGIT_PAIRS[2 * r + 1];
    *--end = DIGIT_PAIRS[2 * r];
  }
  if (v >= 10) {
    *--end = DIGIT_PAIRS[2 * v + 1];
    *--end = DIGIT_PAIRS[2 * v];
  } else {
    *--end = (char)('0' + v);
  }
  return end;
}

static int put_u64(sg_buf *out, uint64_t v) {
  char tmp[24], *end = tmp + sizeof tmp;
  char *p = utoa_rev(v, end);
  return sg_buf_append(out, p, (size_t)(end - p));
}

static int put_i64(sg_buf *out, int64_t v) {
  char tmp[24], *end = tmp + sizeof tmp;
  char *p = utoa_rev(v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v, end);
  if (v < 0) *--p = '-';
  return sg_buf_append(out, p, (size_t)(end - p));
}

static const double P10[] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8};

/* Doubles that are m / 10^k exactly (k <= 8, |m| < 2^53), in the range
 * where %g prints fixed notation: the same text the printf path gives,
 * without printf. Returns 1 if it wrote the value. */
static int put_double_fast(sg_buf *out, double v, int *rc) {
  double a = fabs(v);
  if (!(a == 0 || (a >= 1e-4 && a < 1e15))) return 0;
  for (int k = 0; k <= 8; k++) {
    double scaled = v * P10[k];
    if (fabs(scaled) >= 9007199254740992.0) return 0;
    int64_t m = (int64_t)scaled;
    if ((double)m != scaled || (double)m / P10[k] != v) continue;
    uint64_t um = m < 0 ? (uint64_t)0 - (uint64_t)m : (uint64_t)m;
    /* v * 10^k can land on an integer at a k one larger than needed
     * (v * 100 misses by an ulp, v * 1000 does not): drop trailing zeros. */
    while (k > 0 && um % 10 == 0) {
      um /= 10;
      k--;
    }
    char tmp[40], *end = tmp + sizeof tmp, *p = end;
    for (int d = 0; d < k; d++) {
      *--p = (char)('0' + um % 10);
      um /= 10;
    }
    if (k) *--p = '.';
    p = utoa_rev(um, p);
    if (m < 0 || (m == 0 && signbit(v))) *--p = '-';
    *rc = sg_buf_append(out, p, (size_t)(end - p));
    return 1;
  }
  return 0;
}

/* Shortest text that reads back as the same double. */
static int put_double(sg_buf *out, double v) {
  if (!isfinite(v)) return SG_BUF_LIT(out, "null");
  int rc;
  if (put_double_fast(out, v, &rc)) return rc;
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
  int frac = (int)(micros - ms * 1000);
  char f[5] = {'.', (char)('0' + frac / 100), (char)('0' + frac / 10 % 10), (char)('0' + frac % 10), '"'};
  if (sg_buf_putc(out, '"') != 0 || put_i64(out, ms) != 0) return -1;
  return sg_buf_append(out, f, 5);
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
    if (put_u64(out, p[i]) != 0) return -1;
  }
  return sg_buf_putc(out, ']');
}

/* PostgreSQL-style interval text, as the reference prints it:
 * "1 year 2 months 3 days 04:05:06.5"; zero is "00:00:00". */
int sg_interval_text(sg_buf *out, const unsigned char *p) {
  int32_t months, days;
  int64_t us;
  sg_interval_parts(p, &months, &days, &us);
  int32_t years = months / 12, mons = months % 12;
  int any = 0;
  struct { int32_t n; const char *unit; } parts[3] = {{years, "year"}, {mons, "month"}, {days, "day"}};
  for (int i = 0; i < 3; i++) {
    if (!parts[i].n) continue;
    if (put_fmt(out, "%s%d %s%s", any ? " " : "", parts[i].n, parts[i].unit,
                parts[i].n == 1 ? "" : "s") != 0) /* PostgreSQL: "-1 days" */
      return -1;
    any = 1;
  }
  if (us == 0 && any) return 0;
  uint64_t a = us < 0 ? (uint64_t)0 - (uint64_t)us : (uint64_t)us;
  uint64_t secs = a / 1000000, frac = a % 1000000;
  if (put_fmt(out, "%s%s%02llu:%02llu:%02llu", any ? " " : "", us < 0 ? "-" : "",
              (unsigned long long)(secs / 3600), (unsigned long long)(secs / 60 % 60),
              (unsigned long long)(secs % 60)) != 0)
    return -1;
  if (!frac) return 0;
  char f[8];
  snprintf(f, sizeof f, ".%06llu", (unsigned long long)frac);
  size_t n = strlen(f);
  while (f[n - 1] == '0') n--;
  return sg_buf_append(out, f, n);
}

static int put_value(sg_buf *out, const sg_typeinfo *t, const sg_val *v, char *err, size_t errlen);

static int put_nullable(sg_buf *out, const sg_typeinfo *t, sg_cursor *c, char *err, size_t errlen) {
  sg_val v;
  int rc = sg_packed_next(c, t, &v);
  if (rc < 0) return sg_fail(err, errlen, "malformed nested value");
  if (rc == 1) return SG_BUF_LIT(out, "null");
  return put_value(out, t, &v, err, errlen);
}

static int put_nested(sg_buf *out, const sg_typeinfo *t, const sg_val *v, char *err, size_t errlen) {
  sg_cursor c = {v->p, v->p + v->len};
  uint32_t n;
  if (t->type == SG_T_RECORD) {
    if (sg_buf_putc(out, '{') != 0) return -1;
    for (int i = 0; i < t->nfields; i++) {
      if (i && sg_buf_putc(out, ',') != 0) return -1;
      if (sg_json_put_string(out, t->field_names[i], strlen(t->field_names[i])) != 0 ||
          sg_buf_putc(out, ':') != 0 || put_nullable(out, t->field_types[i], &c, err, errlen) != 0)
        return -1;
    }
    return sg_buf_putc(out, '}');
  }
  if (sg_cur_u32(&c, &n) != 0) return sg_fail(err, errlen, "malformed nested value");
  int map = t->type == SG_T_MAP;
  if (sg_buf_putc(out, map ? '{' : '[') != 0) return -1;
  for (uint32_t i = 0; i < n; i++) {
    if (i && sg_buf_putc(out, ',') != 0) return -1;
    if (map) {
      uint32_t klen;
      if (sg_cur_u32(&c, &klen) != 0 || (uint32_t)(c.end - c.p) < klen)
        return sg_fail(err, errlen, "malformed map value");
      if (sg_json_put_string(out, (const char *)c.p, klen) != 0 || sg_buf_putc(out, ':') != 0) return -1;
      c.p += klen;
    }
    if (put_nullable(out, t->elem, &c, err, errlen) != 0) return -1;
  }
  return sg_buf_putc(out, map ? '}' : ']');
}

static int put_value(sg_buf *out, const sg_typeinfo *t, const sg_val *v, char *err, size_t errlen) {
  const char *s = (const char *)v->p;
  switch (t->type) {
    case SG_T_BOOL: return v->d.i ? SG_BUF_LIT(out, "true") : SG_BUF_LIT(out, "false");
    case SG_T_INT2: case SG_T_INT4: case SG_T_INT8: return put_i64(out, v->d.i);
    case SG_T_UINT2: case SG_T_UINT4: case SG_T_UINT8: case SG_T_OID: return put_u64(out, v->d.u);
    case SG_T_FLOAT4: return put_float(out, (float)v->d.f);
    case SG_T_FLOAT8: return put_double(out, v->d.f);
    case SG_T_NUMERIC: case SG_T_TEXT: return sg_json_put_string(out, s, v->len);
    case SG_T_JSONB: return sg_buf_append(out, s, v->len);
    case SG_T_BYTEA: return put_byte_array(out, v->p, v->len);
    case SG_T_DATE: return put_date(out, v->d.i);
    case SG_T_TIME: return put_time(out, v->d.i);
    case SG_T_TIMESTAMP: case SG_T_TIMESTAMPTZ: return put_timestamp(out, v->d.i);
    case SG_T_UUID: return put_uuid(out, v->p);
    case SG_T_INTERVAL:
      if (sg_buf_putc(out, '"') != 0 || sg_interval_text(out, v->p) != 0) return -1;
      return sg_buf_putc(out, '"');
    default: return put_nested(out, t, v, err, errlen);
  }
}

int sg_json_put_value(sg_buf *out, const sg_batch *b, uint32_t row, int col, char *err, size_t errlen) {
  sg_val v;
  if (sg_row_val(b, row, col, &v)) return SG_BUF_LIT(out, "null");
  const sg_column *c = &b->schema->cols[col];
  if ((c->type == SG_T_UUID || c->type == SG_T_INTERVAL) && v.len != 16)
    return sg_fail(err, errlen, "column \"%s\": %s value is %u bytes, not 16", c->name,
                   sg_type_name(c->type), v.len);
  if (put_value(out, c->ti, &v, err, errlen) == 0) return 0;
  if (err && errlen && !err[0]) sg_fail(err, errlen, "out of memory");
  return -1;
}

int sg_encode_json_row(const sg_batch *b, uint32_t row, const int *cols, int ncols,
                       sg_buf *out, char *err, size_t errlen) {
  if (err && errlen) err[0] = 0;
  if (sg_buf_putc(out, '{') != 0) return sg_fail(err, errlen, "out of memory");
  for (int k = 0; k < ncols; k++) {
    const sg_column *c = &b->schema->cols[cols[k]];
    if ((k && sg_buf_putc(out, ',') != 0) || sg_buf_append(out, c->json_key, c->json_key_len) != 0)
      return sg_fail(err, errlen, "out of memory");
    if (sg_json_put_value(out, b, row, cols[k], err, errlen) != 0) return -1;
  }
  return sg_buf_putc(out, '}') == 0 ? 0 : sg_fail(err, errlen, "out of memory");
}
