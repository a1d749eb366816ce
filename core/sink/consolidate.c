/* consolidate.c — a batch of changes (row, time, diff) into messages.
 *
 * Rows are sorted by (time, key, row); identical rows at one time have
 * their diffs summed and vanish at zero; then, per (time, key), deletions
 * and insertions are paired into updates (before + after) and what is left
 * becomes plain deletions or insertions. Without key columns nothing pairs:
 * each distinct row is its own group. Sorting is exact (hash first, then
 * the cells themselves), so a hash collision can never pair two keys. */
#include <stdlib.h>
#include <string.h>
#include "../row/value.h"
#include "../util/util.h"

typedef struct entry {
  uint64_t time;
  uint64_t khash;
  uint64_t rhash;
  uint32_t row;
} entry;

typedef struct ctx {
  const sg_batch *b;
  const int *key;
  int nkey;
} ctx;

static uint64_t cell_hash(const sg_batch *b, uint32_t r, int c) {
  size_t i = (size_t)r * (size_t)b->ncols + (size_t)c;
  if (b->nulls[i]) return 0x9e3779b97f4a7c15ULL;
  if (sg_type_kind(b->schema->cols[c].type) == SG_K_FIXED) return sg_hash_seahash(&b->cells[i], 8);
  return sg_hash_seahash(b->arena + b->cells[i].s.off, b->cells[i].s.len);
}

static uint64_t mix(uint64_t h, uint64_t v) {
  return h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
}

/* Total order on one cell: NULL first, then by bits or bytes. */
static int cell_cmp(const sg_batch *b, uint32_t r1, uint32_t r2, int c) {
  size_t i = (size_t)r1 * (size_t)b->ncols + (size_t)c, j = (size_t)r2 * (size_t)b->ncols + (size_t)c;
  if (b->nulls[i] || b->nulls[j]) return (int)b->nulls[j] - (int)b->nulls[i];
  if (sg_type_kind(b->schema->cols[c].type) == SG_K_FIXED)
    return b->cells[i].u < b->cells[j].u ? -1 : b->cells[i].u > b->cells[j].u;
  uint32_t l1 = b->cells[i].s.len, l2 = b->cells[j].s.len;
  int m = memcmp(b->arena + b->cells[i].s.off, b->arena + b->cells[j].s.off, l1 < l2 ? l1 : l2);
  return m ? m : (l1 < l2 ? -1 : l1 > l2);
}

static int key_cmp(const ctx *x, uint32_t r1, uint32_t r2) {
  for (int k = 0; k < x->nkey; k++) {
    int c = cell_cmp(x->b, r1, r2, x->key[k]);
    if (c) return c;
  }
  return 0;
}

static int row_cmp(const sg_batch *b, uint32_t r1, uint32_t r2) {
  for (int c = 0; c < b->ncols; c++) {
    int d = cell_cmp(b, r1, r2, c);
    if (d) return d;
  }
  return 0;
}

static int entry_cmp(const void *pa, const void *pb, void *arg) {
  const entry *a = pa, *e = pb;
  const ctx *x = arg;
  if (a->time != e->time) return a->time < e->time ? -1 : 1;
  if (a->khash != e->khash) return a->khash < e->khash ? -1 : 1;
  int c = key_cmp(x, a->row, e->row);
  if (c) return c;
  if (a->rhash != e->rhash) return a->rhash < e->rhash ? -1 : 1;
  c = row_cmp(x->b, a->row, e->row);
  if (c) return c;
  return a->row < e->row ? -1 : a->row > e->row; /* stable: same input, same output */
}

static int push(sg_updates *u, uint64_t time, int32_t before, int32_t after) {
  if (u->n == u->cap) {
    uint32_t cap = u->cap ? u->cap * 2 : 1024;
    sg_update *items = realloc(u->items, (size_t)cap * sizeof *items);
    if (!items) return -1;
    u->items = items;
    u->cap = cap;
  }
  u->items[u->n++] = (sg_update){time, before, after};
  return 0;
}

/* Row indexes repeated by multiplicity, for one side of a group. */
typedef struct side {
  int32_t *rows;
  size_t n, cap;
} side;

static int side_add(side *s, uint32_t row, int64_t count) {
  for (int64_t k = 0; k < count; k++) {
    if (s->n == s->cap) {
      size_t cap = s->cap ? s->cap * 2 : 16;
      int32_t *r = realloc(s->rows, cap * sizeof *r);
      if (!r) return -1;
      s->rows = r;
      s->cap = cap;
    }
    s->rows[s->n++] = (int32_t)row;
  }
  return 0;
}

/* Emits one (time, key) group's pairs and leftovers. */
static int flush_group(sg_updates *u, uint64_t time, side *del, side *ins, int keyed) {
  size_t pairs = del->n < ins->n ? del->n : ins->n;
  if (keyed && (del->n > 1 || ins->n > 1)) u->multi_key++;
  for (size_t i = 0; i < pairs; i++)
    if (push(u, time, del->rows[i], ins->rows[i]) != 0) return -1;
  for (size_t i = pairs; i < del->n; i++)
    if (push(u, time, del->rows[i], -1) != 0) return -1;
  for (size_t i = pairs; i < ins->n; i++)
    if (push(u, time, -1, ins->rows[i]) != 0) return -1;
  del->n = ins->n = 0;
  return 0;
}

int sg_consolidate(const sg_batch *b, const int *key_cols, int nkey, uint64_t since, int64_t as_of,
                   sg_updates *out, char *err, size_t errlen) {
  out->n = 0;
  out->multi_key = 0;
  ctx x = {b, key_cols, nkey};
  entry *e = malloc(((size_t)b->nrows + 1) * sizeof *e);
  if (!e) return sg_fail(err, errlen, "out of memory");
  uint32_t n = 0;
  for (uint32_t r = 0; r < b->nrows; r++) {
    uint64_t t = b->times[r];
    if (as_of >= 0 && t <= (uint64_t)as_of) t = (uint64_t)as_of;
    if (t < since || b->diffs[r] == 0) continue;
    uint64_t kh = 0, rh = 0;
    for (int k = 0; k < nkey; k++) kh = mix(kh, cell_hash(b, r, key_cols[k]));
    for (int c = 0; c < b->ncols; c++) rh = mix(rh, cell_hash(b, r, c));
    e[n++] = (entry){t, nkey ? kh : rh, rh, r};
  }
  qsort_r(e, n, sizeof *e, entry_cmp, &x);
  side del = {0}, ins = {0};
  int rc = 0;
  for (uint32_t i = 0; i < n && rc == 0;) {
    /* One run of identical rows at one time: its net multiplicity. */
    uint32_t j = i;
    int64_t net = 0;
    while (j < n && e[j].time == e[i].time && e[j].rhash == e[i].rhash && row_cmp(b, e[i].row, e[j].row) == 0)
      net += b->diffs[e[j++].row];
    if (net < 0) rc = side_add(&del, e[i].row, -net);
    if (net > 0) rc = side_add(&ins, e[i].row, net);
    /* End of the (time, key) group? */
    int group_ends = j == n || e[j].time != e[i].time ||
                     (nkey ? (e[j].khash != e[i].khash || key_cmp(&x, e[i].row, e[j].row) != 0) : 1);
    if (rc == 0 && group_ends) rc = flush_group(out, e[i].time, &del, &ins, nkey > 0);
    i = j;
  }
  free(del.rows);
  free(ins.rows);
  free(e);
  return rc == 0 ? 0 : sg_fail(err, errlen, "out of memory");
}

void sg_updates_free(sg_updates *u) {
  free(u->items);
  u->items = NULL;
  u->n = u->cap = 0;
}
