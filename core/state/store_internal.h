/* store_internal.h — what core/state/store.c (the store) and
 * core/state/kept.c (kept stores: checkpoints and the lock) share. */
#ifndef SG_STATE_STORE_INTERNAL_H
#define SG_STATE_STORE_INTERNAL_H
#include <stdint.h>
#include <lmdb.h>
#include "../include/sinkgate_ffi.h"

typedef struct entry {
  uint64_t hash;
  uint32_t klen, vlen;
  char data[];          /* key bytes, then value bytes */
} entry;

struct sg_state {
  entry **slots;        /* open addressing, linear probing; NULL = empty */
  uint32_t *tags;       /* the top of each slot's hash: a probe compares it
                         * before following the pointer (a cache miss) */
  size_t cap;           /* power of two */
  size_t count;
  uint64_t mem_bytes;
  uint64_t mem_bound;
  uint64_t disk_keys;
  MDB_env *env;         /* NULL: memory only (no directory given) */
  MDB_dbi dbi;
  MDB_txn *txn;         /* the open write transaction, or NULL */
  unsigned txn_ops;     /* disk writes in it */
  uint64_t writes;      /* puts and deletes since opening */
  int kept;             /* sg_state_open_kept: committed only with a tag */
  MDB_dbi meta;         /* kept: "tag" → the tag of the committed state */
  int lock_fd;          /* kept: the flock'd lock file, or -1 */
};

#define TXN_OPS 4096
#define KEPT_TXN_OPS 16384 /* at most ~64 MiB of dirty 4 KiB pages */
#define TAG_KEY_INIT { 3, (void *)"tag" }
extern const MDB_val TAG_KEY;


void state_set_err(char *err, size_t errlen, const char *what, int rc);
int state_begin(sg_state *s, char *err, size_t errlen);
/* Commits the open write transaction (there must be one); what names it in an error. */
int state_commit(sg_state *s, const char *what, char *err, size_t errlen);
sg_state *state_new(uint64_t mem_bound);
int state_env_open(sg_state *s, const char *dir, uint64_t map_size, unsigned flags, char *err, size_t errlen);
#endif
