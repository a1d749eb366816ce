/* convert.c — value conversions the Avro and Debezium decoders share:
 * decimals from two's complement bytes, UUID text, ISO date/time text,
 * and the little-endian words of the packed nested form. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../row/value.h"
#include "../util/util.h"
#include "decode.h"

int sg_pack_u32(sg_buf *out, uint32_t v) {
  uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
  return sg_dec_append(out, b, 4);
}

int sg_pack_u64(sg_buf *out, uint64_t v) {
  uint8_t b[8];
  for (int i = 0; i < 8; i++) b[i] = (uint8_t)(v >> (8 * i));
  return sg_dec_append(out, b, 8);
}

/* Magnitude by long division of a base-256 number by 10, digit by digit:
 * any width (Avro decimals may be wider than 128 bits), quadratic only in
 * the value's length, which the caller bounds. */
int sg_dec_decimal_text(const uint8_t *p, size_t n, int scale, sg_buf *out) {
  if (n > 64 || scale < 0 || scale > 1000) return -1;
  uint8_t mag[64];
  /* 64 bytes hold at most 155 decimal digits; zeros are then padded up to
   * scale + 1 (scale <= 1000), so the buffer must hold 1001 digits */
  char digits[1008];
  int neg = n > 0 && (p[0] & 0x80);
  int carry = 1;
  for (size_t i = n; i-- > 0;) { /* two's complement negation when negative */
    unsigned v = neg ? (unsigned)(uint8_t)~p[i] + (unsigned)carry : p[i];
    if (neg) carry = v > 0xFF;
    mag[i] = (uint8_t)v;
  }
  int nd = 0;
  size_t start = 0;
  while (start < n && mag[start] == 0) start++;
  while (start < n) {
    unsigned rem = 0;
    for (size_t i = start; i < n; i++) {
      unsigned cur = rem * 256 + mag[i];
      mag[i] = (uint8_t)(cur / 10);
      rem = cur % 10;
    }
    digits[nd++] = (char)('0' + rem);
    while (start < n && mag[start] == 0) start++;
  }
  while (nd <= scale) digits[nd++] = '0'; /* at least one digit before the point */
  if (neg && sg_buf_putc(out, '-') != 0) return -1;
  for (int i = nd - 1; i >= 0; i--) {
    if (i == scale - 1 && sg_buf_putc(out, '.') != 0) return -1;
    if (sg_buf_putc(out, digits[i]) != 0) return -1;
  }
  return 0;
}

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int sg_dec_uuid(const char *s, size_t n, uint8_t out[16]) {
  int k = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '-' && (i == 8 || i == 13 || i == 18 || i == 23) && n == 36) continue;
    if (k >= 32) return -1;
    int v = hexval((unsigned char)s[i]);
    if (v < 0) return -1;
    if (k % 2 == 0) out[k / 2] = (uint8_t)(v << 4);
    else out[k / 2] |= (uint8_t)v;
    k++;
  }
  return k == 32 ? 0 : -1;
}

static int digits(const char *s, size_t n, size_t *i, int count, int64_t *out) {
  int64_t v = 0;
  for (int k = 0; k < count; k++) {
    if (*i >= n || s[*i] < '0' || s[*i] > '9') return -1;
    v = v * 10 + (s[(*i)++] - '0');
  }
  *out = v;
  return 0;
}

static int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static int date_at(const char *s, size_t n, size_t *i, int64_t *days) {
  int64_t y, m, d;
  int neg = *i < n && s[*i] == '-';
  if (neg) (*i)++;
  if (digits(s, n, i, 4, &y) != 0) return -1;
  while (*i < n && s[*i] >= '0' && s[*i] <= '9' && y < 1000000) y = y * 10 + (s[(*i)++] - '0');
  if (*i >= n || s[(*i)++] != '-' || digits(s, n, i, 2, &m) != 0 || *i >= n || s[(*i)++] != '-' ||
      digits(s, n, i, 2, &d) != 0)
    return -1;
  if (m < 1 || m > 12 || d < 1 || d > 31) return -1;
  *days = days_from_civil(neg ? -y : y, m, d);
  return 0;
}

static int time_at(const char *s, size_t n, size_t *i, int64_t *micros) {
  int64_t h, mi, sec = 0, frac = 0;
  if (digits(s, n, i, 2, &h) != 0 || *i >= n || s[(*i)++] != ':' || digits(s, n, i, 2, &mi) != 0) return -1;
  if (*i < n && s[*i] == ':') {
    (*i)++;
    if (digits(s, n, i, 2, &sec) != 0) return -1;
    if (*i < n && s[*i] == '.') {
      (*i)++;
      int k = 0;
      while (*i < n && s[*i] >= '0' && s[*i] <= '9') {
        if (k < 6) frac = frac * 10 + (s[*i] - '0'), k++;
        (*i)++;
      }
      if (k == 0) return -1;
      while (k++ < 6) frac *= 10;
    }
  }
  if (h > 24 || mi > 59 || sec > 60) return -1;
  *micros = ((h * 60 + mi) * 60 + sec) * 1000000 + frac;
  return 0;
}

int sg_dec_date_text(const char *s, size_t n, int64_t *days) {
  size_t i = 0;
  return date_at(s, n, &i, days) == 0 && i == n ? 0 : -1;
}

int sg_dec_time_text(const char *s, size_t n, int64_t *micros) {
  size_t i = 0;
  if (time_at(s, n, &i, micros) != 0) return -1;
  if (i < n && s[i] == 'Z') i++;
  return i == n ? 0 : -1;
}

int sg_dec_timestamp_text(const char *s, size_t n, int64_t *micros) {
  size_t i = 0;
  int64_t days, us, oh = 0, om = 0;
  if (date_at(s, n, &i, &days) != 0 || i >= n || (s[i] != 'T' && s[i] != ' ')) return -1;
  i++;
  if (time_at(s, n, &i, &us) != 0) return -1;
  if (i < n && s[i] == 'Z') i++;
  else if (i < n && (s[i] == '+' || s[i] == '-')) {
    int sign = s[i++] == '-' ? -1 : 1;
    if (digits(s, n, &i, 2, &oh) != 0) return -1;
    if (i < n && s[i] == ':') i++;
    if (i < n && digits(s, n, &i, 2, &om) != 0) return -1;
    us -= sign * (oh * 3600 + om * 60) * 1000000LL;
  }
  if (i != n) return -1;
  /* dates go to year 5874897, timestamps only where micros fit in int64
   * (about ±292,000 years): beyond that the text is out of range */
  if (days > INT64_MAX / 86400000000LL - 1 || days < INT64_MIN / 86400000000LL + 1) return -1;
  *micros = days * 86400000000LL + us;
  return 0;
}

static int unpack(const sg_typeinfo *t, sg_val v, sg_batch *dst, uint32_t dst_row, int first_col, char *err,
                  size_t errlen);

int sg_batch_unpack_record(const sg_batch *src, uint32_t row, int col, sg_batch *dst, uint32_t dst_row,
                           int first_col, char *err, size_t errlen) {
  if (!src || col < 0 || col >= src->ncols || row >= src->nrows) return sg_fail(err, errlen, "no such source cell");
  const sg_typeinfo *t = src->schema->cols[col].ti;
  if (t->type != SG_T_RECORD) return sg_fail(err, errlen, "column %d is not a record", col);
  if (sg_dec_check_col(dst, first_col, t->nfields, err, errlen) != 0) return -1;
  if (dst_row >= dst->nrows) return sg_fail(err, errlen, "row %u was not pushed", dst_row);
  sg_val v = {{0}, NULL, 0};
  if (sg_row_val(src, row, col, &v)) return 0; /* NULL record: cells stay NULL */
  /* the same batch's arena may move while we append to it: read a copy */
  unsigned char *copy = NULL;
  if (src == dst) {
    copy = malloc(v.len ? v.len : 1);
    if (!copy) return sg_fail(err, errlen, "out of memory");
    memcpy(copy, v.p, v.len);
    v.p = copy;
  }
  int rc = unpack(t, v, dst, dst_row, first_col, err, errlen);
  free(copy);
  return rc;
}

static int unpack(const sg_typeinfo *t, sg_val v, sg_batch *dst, uint32_t dst_row, int first_col, char *err,
                  size_t errlen) {
  sg_cursor c = {v.p, v.p + v.len};
  for (int i = 0; i < t->nfields; i++) {
    const sg_typeinfo *ft = t->field_types[i];
    const sg_typeinfo *dt = dst->schema->cols[first_col + i].ti;
    if (dt->type != ft->type) return sg_fail(err, errlen, "field \"%s\": column %d has another type", t->field_names[i], first_col + i);
    sg_val fv;
    const unsigned char *start = c.p + 1;
    int rc = sg_packed_next(&c, ft, &fv);
    if (rc < 0) return sg_fail(err, errlen, "malformed record value");
    if (rc == 1) continue;
    int kind = sg_type_kind(ft->type);
    if (kind == SG_K_FIXED) {
      sg_batch_set_i64(dst, dst_row, first_col + i, fv.d.i);
      continue;
    }
    /* variable-width values lose their length prefix; raw16 and nested ones are their bytes */
    const unsigned char *p = kind == SG_K_VAR ? fv.p : start;
    size_t n = kind == SG_K_VAR ? fv.len : (size_t)(c.p - start);
    if (sg_batch_set_bytes(dst, dst_row, first_col + i, p, n) != 0) return sg_fail(err, errlen, "batch arena is full");
  }
  return 0;
}
