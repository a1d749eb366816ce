/* store.c — keyed state of stateful views (distinct_on, group_by): byte
 * keys to byte values, in memory up to a bound and beyond it in LMDB under
 * a directory. A key lives in exactly one place: keys arriving while the
 * memory part is full go to disk and stay there, so no eviction pass ever
 * runs on the hot path and memory never exceeds the bound by more than one
 * entry.
 *
 * The files are a cache, never the truth: the input is (views rebuild their
 * state from it after a restart), so opening a store empties what an
 * earlier run left, and LMDB runs without fsync (MDB_NOSYNC). Disk writes go
 * into one write transaction kept open across calls and committed by
 * sg_state_flush (once per batch), since a transaction per key would cost
 * far more than the write itself. That transaction is committed every
 * TXN_OPS disk writes too: LMDB keeps a write transaction's dirty pages in
 * malloc'd memory until commit, so an unbounded one (a rehydration of
 * millions of keys is one batch) would grow the RSS with the input.
 *
 * A kept store (sg_state_open_kept: UPSERT sources) is the exception: its
 * files outlive the process as a cache that is verified before use. Every
 * key lives on disk, the open write transaction is committed only by
 * sg_state_checkpoint together with a tag (the source offsets the state
 * reflects), so what a crash leaves on disk is always the state of the last
 * tag. Its dirty pages are malloc'd until then, so past KEPT_TXN_OPS writes
 * it is committed without its tag (the files then match no offsets until
 * the next checkpoint); sg_state_wants_checkpoint tells a long writer (a
 * rebuild) to checkpoint before that. Not MDB_WRITEMAP, which would spare
 * the malloc: it makes the file as large as the map, sparse, and a full
 * disk then kills the process with SIGBUS instead of failing a write. A
 * lock file keeps a second process away from the same files. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <lmdb.h>
#include "../include/sinkgate_ffi.h"
#include "../util/util.h"
#include "store_internal.h"

#define ENTRY_COST(k, v) ((uint64_t)sizeof(entry) + (k) + (v) + 2 * (sizeof(entry *) + sizeof(uint32_t)))
#define TAG(h) ((uint32_t)((h) >> 32))

void state_set_err(char *err, size_t errlen, const char *what, int rc) {
  if (err && errlen) snprintf(err, errlen, "state: %s: %s", what, rc ? mdb_strerror(rc) : "out of memory");
}

/* FNV-1a: keys are short (encoded group columns); quality is enough for
 * linear probing with a load factor of at most 1/2. */
static uint64_t hash_bytes(const void *p, size_t n) {
  const unsigned char *s = p;
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 1099511628211ULL;
  return h ^ (h >> 29);
}

static size_t find_slot(const sg_state *s, const void *k, size_t klen, uint64_t h) {
  size_t mask = s->cap - 1, i = (size_t)h & mask;
  uint32_t tag = TAG(h);
  for (;;) {
    entry *e = s->slots[i];
    if (!e || (s->tags[i] == tag && e->hash == h && e->klen == klen && memcmp(e->data, k, klen) == 0)) return i;
    i = (i + 1) & mask;
  }
}

static int grow(sg_state *s) {
  size_t ncap = s->cap ? s->cap * 2 : 1024;
  entry **old = s->slots;
  uint32_t *otags = s->tags;
  size_t ocap = s->cap;
  s->slots = calloc(ncap, sizeof(entry *));
  s->tags = malloc(ncap * sizeof(uint32_t));
  if (!s->slots || !s->tags) {
    free(s->slots);
    free(s->tags);
    s->slots = old;
    s->tags = otags;
    return -1;
  }
  s->cap = ncap;
  for (size_t i = 0; i < ocap; i++) {
    if (!old[i]) continue;
    size_t j = find_slot(s, old[i]->data, old[i]->klen, old[i]->hash);
    s->slots[j] = old[i];
    s->tags[j] = TAG(old[i]->hash);
  }
  s->mem_bytes += (ncap - ocap) * (sizeof(entry *) + sizeof(uint32_t));
  free(old);
  free(otags);
  return 0;
}

/* Backward-shift deletion keeps probe chains intact without tombstones. */
static void remove_slot(sg_state *s, size_t i) {
  size_t mask = s->cap - 1, j = i;
  entry *e = s->slots[i];
  s->mem_bytes -= ENTRY_COST(e->klen, e->vlen);
  free(e);
  s->slots[i] = NULL;
  s->count--;
  for (;;) {
    j = (j + 1) & mask;
    entry *n = s->slots[j];
    if (!n) return;
    size_t home = (size_t)n->hash & mask;
    /* n may move into the hole at i when its home is not in (i, j] */
    if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
      s->slots[i] = n;
      s->tags[i] = s->tags[j];
      s->slots[j] = NULL;
      i = j;
    }
  }
}

int state_begin(sg_state *s, char *err, size_t errlen) {
  if (s->txn) return 0;
  int rc = mdb_txn_begin(s->env, NULL, 0, &s->txn);
  if (rc) {
    s->txn = NULL;
    state_set_err(err, errlen, "begin", rc);
    return -1;
  }
  return 0;
}

static int drop_all(sg_state *s, char *err, size_t errlen) {
  if (!s->env) return 0;
  if (state_begin(s, err, errlen)) return -1;
  int rc = mdb_drop(s->txn, s->dbi, 0);
  if (!rc && s->kept) {
    rc = mdb_del(s->txn, s->meta, (MDB_val *)&TAG_KEY, NULL);
    if (rc == MDB_NOTFOUND) rc = 0;
  }
  if (rc) {
    state_set_err(err, errlen, "drop", rc);
    return -1;
  }
  s->disk_keys = 0;
  return sg_state_flush(s, err, errlen);
}

sg_state *state_new(uint64_t mem_bound) {
  sg_state *s = calloc(1, sizeof *s);
  if (!s || grow(s)) {
    free(s);
    return NULL;
  }
  s->mem_bound = mem_bound;
  s->lock_fd = -1;
  return s;
}

/* The LMDB environment under dir (created if missing). */
int state_env_open(sg_state *s, const char *dir, uint64_t map_size, unsigned flags, char *err, size_t errlen) {
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
    if (err && errlen) snprintf(err, errlen, "state: cannot create %s: %s", dir, strerror(errno));
    return -1;
  }
  int rc = mdb_env_create(&s->env);
  if (!rc && s->kept) rc = mdb_env_set_maxdbs(s->env, 2);
  if (!rc) rc = mdb_env_set_mapsize(s->env, map_size ? map_size : (size_t)64 << 30);
  if (!rc) rc = mdb_env_open(s->env, dir, MDB_NOSYNC | MDB_NOMETASYNC | MDB_NOTLS | flags, 0600);
  if (rc) {
    if (err && errlen) snprintf(err, errlen, "state: cannot open %s: %s", dir, mdb_strerror(rc));
    if (s->env) mdb_env_close(s->env);
    s->env = NULL;
    return -1;
  }
  return 0;
}

sg_state *sg_state_open(const char *dir, uint64_t mem_bound, uint64_t map_size, char *err, size_t errlen) {
  sg_state *s = state_new(mem_bound);
  if (!s) {
    state_set_err(err, errlen, "open", 0);
    return NULL;
  }
  if (!dir || !*dir) return s;
  int rc = 0;
  if (state_env_open(s, dir, map_size, 0, err, errlen) || state_begin(s, err, errlen) ||
      (rc = mdb_dbi_open(s->txn, NULL, 0, &s->dbi)) != 0) {
    if (rc) state_set_err(err, errlen, "open", rc);
    sg_state_close(s);
    return NULL;
  }
  /* what an earlier run left is a cache of an older position: rebuilt */
  if (drop_all(s, err, errlen)) {
    sg_state_close(s);
    return NULL;
  }
  return s;
}

void sg_state_close(sg_state *s) {
  if (!s) return;
  for (size_t i = 0; i < s->cap; i++) free(s->slots[i]);
  free(s->slots);
  free(s->tags);
  if (s->txn) mdb_txn_abort(s->txn); /* kept: the disk stays at the last checkpoint */
  if (s->env) mdb_env_close(s->env);
  if (s->lock_fd >= 0) close(s->lock_fd);
  free(s);
}

int sg_state_get(sg_state *s, const void *k, size_t klen, const void **v, size_t *vlen, char *err,
                 size_t errlen) {
  uint64_t h = hash_bytes(k, klen);
  entry *e = s->slots[find_slot(s, k, klen, h)];
  if (e) {
    *v = e->data + e->klen;
    *vlen = e->vlen;
    return 1;
  }
  if (!s->env || s->disk_keys == 0) return 0;
  if (state_begin(s, err, errlen)) return -1;
  MDB_val key = { klen, (void *)k }, val;
  int rc = mdb_get(s->txn, s->dbi, &key, &val);
  if (rc == MDB_NOTFOUND) return 0;
  if (rc) {
    state_set_err(err, errlen, "get", rc);
    return -1;
  }
  *v = val.mv_data;
  *vlen = val.mv_size;
  return 1;
}

static int disk_put(sg_state *s, const void *k, size_t klen, const void *v, size_t vlen, char *err, size_t errlen) {
  if (state_begin(s, err, errlen)) return -1;
  if (klen > (size_t)mdb_env_get_maxkeysize(s->env)) {
    if (err && errlen)
      snprintf(err, errlen, "state: a key of %zu bytes is longer than the disk store takes (%d)", klen,
               mdb_env_get_maxkeysize(s->env));
    return -1;
  }
  MDB_val key = { klen, (void *)k }, val = { vlen, (void *)v };
  int rc = mdb_put(s->txn, s->dbi, &key, &val, MDB_NOOVERWRITE);
  if (rc == MDB_KEYEXIST) {
    /* LMDB pointed val at the existing value: give it the new one again */
    val.mv_size = vlen;
    val.mv_data = (void *)v;
    rc = mdb_put(s->txn, s->dbi, &key, &val, 0);
  } else if (rc == 0) {
    s->disk_keys++;
  }
  if (rc) {
    state_set_err(err, errlen, "put", rc);
    return -1;
  }
  return ++s->txn_ops >= TXN_OPS ? sg_state_flush(s, err, errlen) : 0;
}

static int disk_del(sg_state *s, const void *k, size_t klen, char *err, size_t errlen) {
  if (!s->env || s->disk_keys == 0) return 0;
  if (state_begin(s, err, errlen)) return -1;
  MDB_val key = { klen, (void *)k };
  int rc = mdb_del(s->txn, s->dbi, &key, NULL);
  if (rc == MDB_NOTFOUND) return 0;
  if (rc) {
    state_set_err(err, errlen, "del", rc);
    return -1;
  }
  s->disk_keys--;
  if (++s->txn_ops >= TXN_OPS && sg_state_flush(s, err, errlen)) return -1;
  return 1;
}

int sg_state_put(sg_state *s, const void *k, size_t klen, const void *v, size_t vlen, char *err, size_t errlen) {
  s->writes++;
  if (klen > UINT32_MAX || vlen > UINT32_MAX) {
    if (err && errlen) snprintf(err, errlen, "state: key or value too large");
    return -1;
  }
  uint64_t h = hash_bytes(k, klen);
  size_t i = find_slot(s, k, klen, h);
  entry *e = s->slots[i];
  uint64_t old_cost = e ? ENTRY_COST(e->klen, e->vlen) : 0;
  int fits = !s->env || s->mem_bytes - old_cost + ENTRY_COST(klen, vlen) <= s->mem_bound;
  if (!fits) {
    if (e) remove_slot(s, i); /* it grew past the bound: it moves to disk */
    return disk_put(s, k, klen, v, vlen, err, errlen);
  }
  if (!e && disk_del(s, k, klen, err, errlen) < 0) return -1; /* never in both places */
  entry *n = malloc(sizeof(entry) + klen + vlen);
  if (!n) {
    state_set_err(err, errlen, "put", 0);
    return -1;
  }
  n->hash = h;
  n->klen = (uint32_t)klen;
  n->vlen = (uint32_t)vlen;
  memcpy(n->data, k, klen);
  if (vlen) memcpy(n->data + klen, v, vlen);
  if (e) {
    free(e);
  } else {
    s->count++;
  }
  s->slots[i] = n;
  s->tags[i] = TAG(h);
  s->mem_bytes = s->mem_bytes - old_cost + ENTRY_COST(klen, vlen);
  if (s->count * 2 > s->cap && grow(s)) {
    state_set_err(err, errlen, "put", 0);
    return -1;
  }
  return 0;
}

int sg_state_del(sg_state *s, const void *k, size_t klen, char *err, size_t errlen) {
  s->writes++;
  uint64_t h = hash_bytes(k, klen);
  size_t i = find_slot(s, k, klen, h);
  if (s->slots[i]) {
    remove_slot(s, i);
    return 1;
  }
  return disk_del(s, k, klen, err, errlen);
}

int sg_state_flush(sg_state *s, char *err, size_t errlen) {
  if (!s->txn) return 0;
  if (s->kept) {
    if (s->txn_ops < KEPT_TXN_OPS) return 0; /* committed with its tag by sg_state_checkpoint */
    int drc = mdb_del(s->txn, s->meta, (MDB_val *)&TAG_KEY, NULL); /* the files match no offsets now */
    if (drc && drc != MDB_NOTFOUND) {
      state_set_err(err, errlen, "commit", drc);
      return -1;
    }
  }
  return state_commit(s, "commit", err, errlen);
}

int state_commit(sg_state *s, const char *what, char *err, size_t errlen) {
  int rc = mdb_txn_commit(s->txn);
  s->txn = NULL;
  s->txn_ops = 0;
  if (rc) {
    state_set_err(err, errlen, what, rc);
    return -1;
  }
  return 0;
}

int sg_state_clear(sg_state *s, char *err, size_t errlen) {
  for (size_t i = 0; i < s->cap; i++) {
    if (!s->slots[i]) continue;
    s->mem_bytes -= ENTRY_COST(s->slots[i]->klen, s->slots[i]->vlen);
    free(s->slots[i]);
    s->slots[i] = NULL;
  }
  s->count = 0;
  return drop_all(s, err, errlen);
}

void sg_state_stats_get(const sg_state *s, sg_state_stats *out) {
  memset(out, 0, sizeof *out);
  out->keys_mem = s->count;
  out->keys_disk = s->disk_keys;
  out->bytes_mem = s->mem_bytes;
  out->writes = s->writes;
  if (s->env) {
    MDB_envinfo info;
    MDB_stat st;
    if (mdb_env_info(s->env, &info) == 0 && mdb_env_stat(s->env, &st) == 0)
      out->bytes_disk = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
  }
}

/* Iteration over the live keys: the memory slots, then the LMDB cursor
 * (inside the open write transaction, so writes not yet flushed are seen).
 * The store must not change while an iterator is open, and the iterator is
 * freed before the next flush (a write transaction's cursor ends with it). */
struct sg_state_iter {
  sg_state *s;
  size_t slot;          /* the next memory slot to look at */
  MDB_cursor *cur;      /* NULL until the memory part is done */
  int disk_started, done;
};

sg_state_iter *sg_state_iter_new(sg_state *s, char *err, size_t errlen) {
  sg_state_iter *it = calloc(1, sizeof *it);
  if (!it) {
    state_set_err(err, errlen, "iterate", 0);
    return NULL;
  }
  it->s = s;
  return it;
}

int sg_state_iter_next(sg_state_iter *it, const void **k, size_t *klen, const void **v, size_t *vlen, char *err,
                       size_t errlen) {
  sg_state *s = it->s;
  if (it->done) return 0;
  while (it->slot < s->cap) {
    entry *e = s->slots[it->slot++];
    if (!e) continue;
    *k = e->data;
    *klen = e->klen;
    *v = e->data + e->klen;
    *vlen = e->vlen;
    return 1;
  }
  if (!s->env || s->disk_keys == 0) {
    it->done = 1;
    return 0;
  }
  MDB_val key, val;
  int rc;
  if (!it->disk_started) {
    if (state_begin(s, err, errlen)) return -1;
    rc = mdb_cursor_open(s->txn, s->dbi, &it->cur);
    if (rc) {
      it->cur = NULL;
      state_set_err(err, errlen, "cursor", rc);
      return -1;
    }
    it->disk_started = 1;
    rc = mdb_cursor_get(it->cur, &key, &val, MDB_FIRST);
  } else {
    rc = mdb_cursor_get(it->cur, &key, &val, MDB_NEXT);
  }
  if (rc == MDB_NOTFOUND) {
    it->done = 1;
    return 0;
  }
  if (rc) {
    state_set_err(err, errlen, "cursor", rc);
    return -1;
  }
  *k = key.mv_data;
  *klen = key.mv_size;
  *v = val.mv_data;
  *vlen = val.mv_size;
  return 1;
}

void sg_state_iter_free(sg_state_iter *it) {
  if (!it) return;
  if (it->cur) mdb_cursor_close(it->cur);
  free(it);
}
