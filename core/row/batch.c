/* batch.c — a batch of rows: fixed-width cells plus one arena for
 * variable-width values, so filling a batch costs no malloc per value. */
#include <stdlib.h>
#include <string.h>
#include "../util/util.h"

sg_batch *sg_batch_new(const sg_schema *s, uint32_t cap) {
  sg_batch *b = calloc(1, sizeof *b);
  if (!b) return NULL;
  b->schema = s;
  b->ncols = s->ncols;
  if (cap == 0) cap = 1024;
  size_t cells = (size_t)cap * (size_t)(s->ncols ? s->ncols : 1);
  b->cap = cap;
  b->cells = malloc(cells * sizeof *b->cells);
  b->nulls = malloc(cells);
  b->times = malloc(cap * sizeof *b->times);
  b->diffs = malloc(cap * sizeof *b->diffs);
  if (!b->cells || !b->nulls || !b->times || !b->diffs) {
    sg_batch_free(b);
    return NULL;
  }
  return b;
}

void sg_batch_clear(sg_batch *b) {
  b->nrows = 0;
  b->arena_len = 0;
}

void sg_batch_free(sg_batch *b) {
  if (!b) return;
  free(b->cells);
  free(b->nulls);
  free(b->times);
  free(b->diffs);
  free(b->arena);
  free(b);
}

static int grow_rows_to(sg_batch *b, uint32_t cap) {
  size_t cells = (size_t)cap * (size_t)(b->ncols ? b->ncols : 1);
  sg_datum *c = realloc(b->cells, cells * sizeof *c);
  if (!c) return -1;
  b->cells = c;
  uint8_t *n = realloc(b->nulls, cells);
  if (!n) return -1;
  b->nulls = n;
  uint64_t *t = realloc(b->times, cap * sizeof *t);
  if (!t) return -1;
  b->times = t;
  int64_t *d = realloc(b->diffs, cap * sizeof *d);
  if (!d) return -1;
  b->diffs = d;
  b->cap = cap;
  return 0;
}

static int grow_arena_to(sg_batch *b, size_t cap) {
  char *a = realloc(b->arena, cap);
  if (!a) return -1;
  b->arena = a;
  b->arena_cap = cap;
  return 0;
}

/* Room for rows more rows and arena more arena bytes in one step: a batch
 * whose size is known ahead (a snapshot from keyed state) is not copied
 * and faulted in again at every doubling. Best effort: on failure the
 * batch is as it was and still grows as it fills. */
int sg_batch_reserve(sg_batch *b, uint32_t rows, size_t arena) {
  if (rows > UINT32_MAX - b->nrows) return -1;
  if (b->nrows + rows > b->cap && grow_rows_to(b, b->nrows + rows) != 0) return -1;
  if (arena > UINT32_MAX - b->arena_len) arena = UINT32_MAX - b->arena_len;
  if (b->arena_len + arena > b->arena_cap && grow_arena_to(b, b->arena_len + arena) != 0) return -1;
  return 0;
}

int64_t sg_batch_push_row(sg_batch *b, uint64_t time, int64_t diff) {
  if (b->nrows == b->cap && (b->cap > UINT32_MAX / 2 || grow_rows_to(b, b->cap * 2) != 0)) return -1;
  uint32_t r = b->nrows++;
  memset(b->nulls + (size_t)r * b->ncols, 1, (size_t)b->ncols);
  b->times[r] = time;
  b->diffs[r] = diff;
  return r;
}

void sg_batch_set_i64(sg_batch *b, uint32_t row, int col, int64_t v) {
  size_t i = (size_t)row * b->ncols + col;
  b->cells[i].i = v;
  b->nulls[i] = 0;
}

void sg_batch_set_f64(sg_batch *b, uint32_t row, int col, double v) {
  size_t i = (size_t)row * b->ncols + col;
  b->cells[i].f = v;
  b->nulls[i] = 0;
}

int sg_batch_set_bytes(sg_batch *b, uint32_t row, int col, const void *p, size_t len) {
  if (len > UINT32_MAX || b->arena_len + len > UINT32_MAX) return -1;
  /* An empty value still gets an arena, so readers never offset a NULL pointer. */
  if (b->arena_len + len > b->arena_cap || !b->arena) {
    size_t cap = b->arena_cap ? b->arena_cap : 4096;
    while (cap < b->arena_len + len) cap *= 2;
    if (grow_arena_to(b, cap) != 0) return -1;
  }
  if (len) memcpy(b->arena + b->arena_len, p, len);
  size_t i = (size_t)row * b->ncols + col;
  b->cells[i].s.off = (uint32_t)b->arena_len;
  b->cells[i].s.len = (uint32_t)len;
  b->nulls[i] = 0;
  b->arena_len += len;
  return 0;
}

void sg_batch_truncate(sg_batch *b, uint32_t nrows, size_t arena_len) {
  if (nrows < b->nrows) b->nrows = nrows;
  if (arena_len < b->arena_len) b->arena_len = arena_len;
}
