/* ffi_state.h — part of sinkgate_ffi.h: the state store.
 * sinkgate_ffi.h includes the parts in order (a part may use the types of
 * those before it); its conventions hold here. */
#ifndef SINKGATE_FFI_STATE_H
#define SINKGATE_FFI_STATE_H
#include <stddef.h>
#include <stdint.h>

/* ==== state store (views' keyed state; core/state/store.c) ==== */
/* Byte keys to byte values: in memory up to mem_bound bytes, beyond it in
 * LMDB under dir (NULL or "": memory only). Opening empties what an earlier
 * run left (the files are a cache; views rebuild state from their input).
 * get: 1 found (*v valid until the next call on the store), 0 not, -1 error;
 * del: 1 deleted, 0 absent, -1 error; put/flush/clear: 0 or -1. */
typedef struct sg_state sg_state;
typedef struct sg_state_stats {
  uint64_t keys_mem;
  uint64_t keys_disk;
  uint64_t bytes_mem;
  uint64_t bytes_disk;
  uint64_t writes;      /* puts and deletes since opening */
} sg_state_stats;
sg_state *sg_state_open(const char *dir, uint64_t mem_bound, uint64_t map_size, char *err, size_t errlen);
/* A kept store: every key on disk, under dir, and what an earlier run
 * committed is kept. *tag gets the tag of the last checkpoint (len 0: none;
 * the state on disk then matches no offsets and must be cleared). One
 * process at a time: when another holds dir, NULL with err starting
 * "busy:". Writes are committed only by sg_state_checkpoint (flush commits
 * a long transaction without its tag). */
sg_state *sg_state_open_kept(const char *dir, uint64_t map_size, sg_buf *tag, char *err, size_t errlen);
/* Commits the writes so far with tag (what the state reflects). 0 or -1;
 * a store that is not kept ignores it. */
int sg_state_checkpoint(sg_state *s, const void *tag, size_t taglen, char *err, size_t errlen);
/* 1 when a kept store's open transaction is long enough that a writer
 * should checkpoint now (past twice as many writes it commits without its
 * tag); else 0. */
int sg_state_wants_checkpoint(const sg_state *s);
void sg_state_close(sg_state *s);
int sg_state_get(sg_state *s, const void *k, size_t klen, const void **v, size_t *vlen, char *err,
                 size_t errlen);
int sg_state_put(sg_state *s, const void *k, size_t klen, const void *v, size_t vlen, char *err, size_t errlen);
int sg_state_del(sg_state *s, const void *k, size_t klen, char *err, size_t errlen);
/* Commits the disk writes made since the last flush (once per batch). */
int sg_state_flush(sg_state *s, char *err, size_t errlen);
int sg_state_clear(sg_state *s, char *err, size_t errlen);
void sg_state_stats_get(const sg_state *s, sg_state_stats *out);
/* The live keys: memory slots first, then the disk (LMDB cursor). next: 1
 * (*k, *v valid until the next call), 0 at the end, -1 error. The store
 * must not change while an iterator is open; free it before the next flush. */
typedef struct sg_state_iter sg_state_iter;
sg_state_iter *sg_state_iter_new(sg_state *s, char *err, size_t errlen);
int sg_state_iter_next(sg_state_iter *it, const void **k, size_t *klen, const void **v, size_t *vlen, char *err,
                       size_t errlen);
void sg_state_iter_free(sg_state_iter *it);

/* UPSERT source state (core/state/upsert.c): key bytes → the stored value,
 * [META: int32 partition, int64 offset, int64 timestamp]
 * [HEADERS: uint32 n, n × (uint32 name len, name, int32 value len or -1,
 * value)] then the raw value bytes; integers in host order. */
enum { SG_UPSERT_META = 1, SG_UPSERT_HEADERS = 2 };
typedef struct sg_upsert_progress {
  int64_t messages;           /* applied (keys put or deleted, null keys) */
  int32_t null_key_partition; /* the last null-key message with a value (-1: cleared); */
  int64_t null_key_offset;    /* left as they were when no null key came */
  int64_t poll_errors;
  char poll_error[256];       /* the last one */
} sg_upsert_progress;
/* Rebuilds the state from consumer c (assigned at positions) up to target
 * (nparts partitions), for at most budget_ms: applies messages in
 * [positions[p], target[p]) and advances positions. 1 = target reached,
 * 0 = budget spent or a kept store wants a checkpoint (at positions: the
 * caller's), -1 = the store failed (err). */
int sg_upsert_rehydrate(sg_state *s, sg_consumer *c, int64_t *positions, const int64_t *target, int nparts,
                        int flags, int budget_ms, sg_upsert_progress *out, char *err, size_t errlen);
/* The UPSERT snapshot (flags 0, C decoders): decodes the live keys of it
 * into insertions at time t, key cells by kd at key_first (kd NULL: no key
 * columns), value cells by vd at value_first, counting them in *rows.
 * 1 at the end, -1 on a store failure (err), 0 when a decoder refused an
 * entry: nothing of it was pushed, and *k, *v hold it for the caller (fetch
 * a writer schema, or report the error), who may then call again. */
int sg_upsert_snapshot_rows(sg_state_iter *it, sg_decoder *kd, int key_first, sg_decoder *vd, int value_first,
                            sg_batch *b, uint64_t t, const void **k, size_t *klen, const void **v, size_t *vlen,
                            int64_t *rows, char *err, size_t errlen);
/* ==== end of state store ==== */

#endif
