/* protobuf_map.c — map<K, V> fields as map[text=>V] values (see protobuf_wire.c
 * for the reading machinery). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "protobuf.h"
#include "../util/util.h"

typedef struct map_ent {
  size_t key, klen;  /* in d->keys */
  size_t val, vlen;  /* in d->out: null flag + value */
  size_t seq;
  const char *kp;    /* d->keys.data + key, once every key is in */
} map_ent;

static int cmp_ent(const void *x, const void *y) {
  const map_ent *a = x, *b = y;
  size_t n = a->klen < b->klen ? a->klen : b->klen;
  int r = memcmp(a->kp, b->kp, n);
  if (r) return r;
  if (a->klen != b->klen) return a->klen < b->klen ? -1 : 1;
  return (a->seq > b->seq) - (a->seq < b->seq);
}

/* A map key in text form (as proto3's JSON mapping writes keys) into d->keys. */
static int put_key(pb_ctx *c, const pb_field *kf, const pb_occ *o) {
  sg_pb_decoder *d = c->d;
  char num[32];
  const void *p = num;
  size_t n;
  if (kf->type == PB_STRING) {
    p = o ? (const void *)o->p : kf->def_s;
    n = o ? (size_t)o->v : kf->def_len;
    if (!pb_utf8_ok(p, n)) return sg_fail(c->err, c->errlen, "map key: invalid UTF-8");
  } else {
    int64_t v = o ? pb_as_int(kf->type, o->v) : kf->def_i;
    if (kf->type == PB_BOOL) n = (size_t)snprintf(num, sizeof num, "%s", v ? "true" : "false");
    else if (kf->type == PB_UINT64 || kf->type == PB_FIXED64) n = (size_t)snprintf(num, sizeof num, "%" PRIu64, (uint64_t)v);
    else n = (size_t)snprintf(num, sizeof num, "%" PRId64, v);
  }
  if (sg_buf_append_slow(&d->keys, p, n) != 0) return sg_fail(c->err, c->errlen, "out of memory");
  return 0;
}

/* map<K, V> as map[text=>V]: entries sorted by key (the bytes rows.pack
 * makes for the same map), a repeated key keeping its last value. */
int pb_put_map(pb_ctx *c, const pb_field *f, size_t a, size_t b, int depth) {
  sg_pb_decoder *d = c->d;
  const pb_msg *e = &d->msgs[f->msg];
  size_t at = d->out.len, keys_at = d->keys.len, n = b - a;
  map_ent *ents = n ? malloc(n * sizeof *ents) : NULL;
  if (n && !ents) return sg_fail(c->err, c->errlen, "out of memory");
  int rc = -1;
  for (size_t k = 0; k < n; k++) {
    size_t raw = d->nocc, cbase = d->ncounts;
    pb_occ o = ((pb_occ *)d->occ)[a + k];
    pb_scanned s;
    if (pb_scan(c, e, o.p, (size_t)o.v, 0, 0, depth + 1, &s) != 0) goto out;
    const uint32_t *start = d->counts + s.cbase;
    ents[k].key = d->keys.len;
    ents[k].seq = k;
    pb_occ key = start[0] < start[1] ? ((pb_occ *)d->occ)[s.base + start[1] - 1] : (pb_occ){ 0 };
    if (put_key(c, &e->fields[0], start[0] < start[1] ? &key : NULL) != 0) goto out;
    ents[k].klen = d->keys.len - ents[k].key;
    ents[k].val = d->out.len;
    if (sg_buf_putc(&d->out, 0) != 0) {
      sg_fail(c->err, c->errlen, "out of memory");
      goto out;
    }
    start = d->counts + s.cbase;
    int r = pb_put_field(c, e, 1, s.base + start[1], s.base + start[2], 0, depth + 1);
    /* An entry without its message value holds the empty message, not NULL. */
    if (r == 1 && e->fields[1].type == PB_MESSAGE) r = pb_decode_record(c, e->fields[1].msg, NULL, 0, 0, 0, depth + 2);
    if (r < 0) goto out;
    if (r == 1) d->out.data[ents[k].val] = 1;
    ents[k].vlen = d->out.len - ents[k].val;
    pb_pop(d, raw, cbase);
  }
  size_t total = 4;
  for (size_t k = 0; k < n; k++) {
    ents[k].kp = d->keys.data ? d->keys.data + ents[k].key : ""; /* all keys empty: no buffer yet */
    total += 4 + ents[k].klen + ents[k].vlen;
  }
  if (n) qsort(ents, n, sizeof *ents, cmp_ent);
  /* Reserved up front: the entries below are copied from d->out itself. */
  if (sg_buf_reserve(&d->out, total) != 0) {
    sg_fail(c->err, c->errlen, "out of memory");
    goto out;
  }
  size_t final = d->out.len;
  uint32_t count = 0;
  if (pb_put_u32(c, 0) != 0) goto out;
  for (size_t k = 0; k < n; k++) {
    if (k + 1 < n && ents[k + 1].klen == ents[k].klen &&
        memcmp(ents[k].kp, ents[k + 1].kp, ents[k].klen) == 0)
      continue; /* a later entry has the same key */
    if (pb_put_u32(c, (uint32_t)ents[k].klen) != 0) goto out;
    if (sg_buf_append_slow(&d->out, ents[k].kp, ents[k].klen) != 0 ||
        sg_buf_append_slow(&d->out, d->out.data + ents[k].val, ents[k].vlen) != 0) {
      sg_fail(c->err, c->errlen, "out of memory");
      goto out;
    }
    count++;
  }
  for (int k = 0; k < 4; k++) d->out.data[final + k] = (char)(count >> (8 * k));
  memmove(d->out.data + at, d->out.data + final, d->out.len - final);
  d->out.len = at + (d->out.len - final);
  rc = 0;
out:
  d->keys.len = keys_at;
  free(ents);
  return rc;
}
