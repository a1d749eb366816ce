/* csv.c — CSV with libcsv: one message is one record of ncols text
 * columns (column1…columnN, or names from a header the runtime reads with
 * sg_csv_header). A record with another field count is SG_DEC_SKIP, which
 * the runtime counts as skipped rather than an error (as the reference
 * skips and logs it). Fields are not trimmed (libcsv trims spaces and tabs
 * by default) and must be UTF-8; strict mode rejects stray quotes. */
#include <csv.h>
#include <stdlib.h>
#include <string.h>
#include "../util/util.h"
#include "decode.h"

typedef struct csv_state {
  struct csv_parser p;
  char delim;
  sg_buf text;       /* the fields' bytes, back to back */
  size_t *offs;      /* field i = text[offs[i] .. offs[i+1]) */
  size_t nfields, cap;
  int records;
  int oom;
} csv_state;

static int no_space(unsigned char c) { return 0; }

/* Field i's bytes (the text buffer stays NULL while every field is empty). */
static const uint8_t *field(const csv_state *st, size_t i) {
  return st->text.data ? (const uint8_t *)st->text.data + st->offs[i] : (const uint8_t *)"";
}

static void on_field(void *s, size_t len, void *ud) {
  csv_state *st = ud;
  if (st->records > 0) { /* a field after the first record: counted, not kept */
    st->nfields++;
    return;
  }
  if (st->nfields + 2 > st->cap) {
    size_t cap = st->cap ? st->cap * 2 : 16;
    size_t *o = realloc(st->offs, cap * sizeof *o);
    if (!o) {
      st->oom = 1;
      return;
    }
    st->offs = o;
    st->cap = cap;
  }
  if (len && sg_dec_append(&st->text, s, len) != 0) st->oom = 1;
  st->offs[++st->nfields] = st->text.len;
}

static void on_record(int c, void *ud) {
  ((csv_state *)ud)->records++;
}

static int parse(csv_state *st, const uint8_t *buf, size_t len, char *err, size_t errlen) {
  st->text.len = 0;
  st->nfields = 0;
  st->records = 0;
  st->oom = 0;
  if (!st->offs) {
    st->offs = malloc(16 * sizeof *st->offs);
    if (!st->offs) return sg_fail(err, errlen, "out of memory");
    st->cap = 16;
  }
  st->offs[0] = 0;
  size_t done = csv_parse(&st->p, buf, len, on_field, on_record, st);
  if (done != len || csv_fini(&st->p, on_field, on_record, st) != 0) {
    sg_fail(err, errlen, "invalid CSV near byte %zu: %s", done, csv_strerror(csv_error(&st->p)));
    /* a parser left mid-error starts over for the next message */
    csv_free(&st->p);
    if (csv_init(&st->p, CSV_STRICT | CSV_STRICT_FINI) == 0) {
      csv_set_delim(&st->p, (unsigned char)st->delim);
      csv_set_space_func(&st->p, no_space);
    }
    return -1;
  }
  if (st->oom) return sg_fail(err, errlen, "out of memory");
  if (st->records > 1) return sg_fail(err, errlen, "CSV message holds %d records, expected one", st->records);
  return 0;
}

static void free_csv(void *p) {
  csv_state *st = p;
  if (!st) return;
  csv_free(&st->p);
  sg_buf_free(&st->text);
  free(st->offs);
  free(st);
}

static csv_state *csv_state_new(char delim) {
  csv_state *st = calloc(1, sizeof *st);
  if (!st) return NULL;
  if (csv_init(&st->p, CSV_STRICT | CSV_STRICT_FINI) != 0) {
    free(st);
    return NULL;
  }
  st->delim = delim;
  csv_set_delim(&st->p, (unsigned char)delim);
  csv_set_space_func(&st->p, no_space);
  return st;
}

static int decode_csv(sg_decoder *d, const uint8_t *buf, size_t len, sg_batch *b, uint32_t row, int first_col,
                      char *err, size_t errlen) {
  csv_state *st = d->state;
  if (parse(st, buf, len, err, errlen) != 0) return SG_DEC_ERROR;
  if (st->nfields != (size_t)d->ncols) {
    sg_fail(err, errlen, "CSV record has %zu columns, expected %d", st->nfields, d->ncols);
    return SG_DEC_SKIP;
  }
  for (int i = 0; i < d->ncols; i++) {
    const uint8_t *f = field(st, (size_t)i);
    size_t n = st->offs[i + 1] - st->offs[i], off;
    if (!sg_utf8_valid(f, n, &off))
      return sg_fail(err, errlen, "CSV column %d: invalid UTF-8 at byte %zu of the field", i + 1, off);
    if (sg_batch_set_bytes(b, row, first_col + i, f, n) != 0) return sg_fail(err, errlen, "batch arena is full");
  }
  return SG_DEC_OK;
}

sg_decoder *sg_decoder_csv_new(int ncols, char delimiter, char *err, size_t errlen) {
  if (ncols < 1 || ncols > 100000) return sg_fail(err, errlen, "CSV needs 1..100000 columns, got %d", ncols), NULL;
  if (delimiter == '"' || delimiter == '\n' || delimiter == '\r' || delimiter == 0)
    return sg_fail(err, errlen, "CSV delimiter cannot be a quote, a newline or NUL"), NULL;
  csv_state *st = csv_state_new(delimiter);
  if (!st) return sg_fail(err, errlen, "out of memory"), NULL;
  return sg_decoder_make("csv", ncols, decode_csv, free_csv, st, err, errlen);
}

int sg_csv_header(const uint8_t *buf, size_t len, char delimiter, sg_buf *names, char *err, size_t errlen) {
  csv_state *st = csv_state_new(delimiter);
  if (!st) return sg_fail(err, errlen, "out of memory");
  int rc = parse(st, buf ? buf : (const uint8_t *)"", buf ? len : 0, err, errlen);
  if (rc == 0 && st->nfields == 0) rc = sg_fail(err, errlen, "CSV header is empty");
  for (size_t i = 0; rc == 0 && i < st->nfields; i++) {
    size_t n = st->offs[i + 1] - st->offs[i], off;
    const uint8_t *f = field(st, (size_t)i);
    if (n == 0 || memchr(f, 0, n)) rc = sg_fail(err, errlen, "CSV header column %zu: empty or has a NUL byte", i + 1);
    else if (!sg_utf8_valid(f, n, &off)) rc = sg_fail(err, errlen, "CSV header column %zu: invalid UTF-8", i + 1);
    else if (sg_dec_append(names, f, n) != 0 || sg_buf_putc(names, 0) != 0) rc = sg_fail(err, errlen, "out of memory");
  }
  int count = rc == 0 ? (int)st->nfields : -1;
  free_csv(st);
  return count;
}
