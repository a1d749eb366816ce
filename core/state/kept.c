/* kept.c — kept stores (sg_state_open_kept, UPSERT sources): files that
 * outlive the process, committed only at a checkpoint with a tag, one
 * process at a time (a lock file). See store.c's header for the design. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "../util/util.h"
#include "store_internal.h"

const MDB_val TAG_KEY = TAG_KEY_INIT;

/* The lock file of a kept store: one process at a time. */
static int lock_dir(sg_state *s, const char *dir, char *err, size_t errlen) {
  char path[4096];
  if (snprintf(path, sizeof path, "%s/sinkgate.lock", dir) >= (int)sizeof path) {
    if (err && errlen) snprintf(err, errlen, "state: path too long: %s", dir);
    return -1;
  }
  s->lock_fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (s->lock_fd < 0) {
    if (err && errlen) snprintf(err, errlen, "state: cannot open %s: %s", path, strerror(errno));
    return -1;
  }
  if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
    if (err && errlen)
      snprintf(err, errlen, "busy: %s is locked by another process (%s)", dir,
               errno == EWOULDBLOCK ? "another instance of this sink" : strerror(errno));
    return -1;
  }
  return 0;
}

sg_state *sg_state_open_kept(const char *dir, uint64_t map_size, sg_buf *tag, char *err, size_t errlen) {
  sg_state *s = state_new(0); /* every key on disk: the files hold the whole state */
  if (!s) {
    state_set_err(err, errlen, "open", 0);
    return NULL;
  }
  s->kept = 1;
  int rc = 0;
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
    if (err && errlen) snprintf(err, errlen, "state: cannot create %s: %s", dir, strerror(errno));
    sg_state_close(s);
    return NULL;
  }
  if (lock_dir(s, dir, err, errlen) || state_env_open(s, dir, map_size, 0, err, errlen) ||
      state_begin(s, err, errlen) || (rc = mdb_dbi_open(s->txn, "data", MDB_CREATE, &s->dbi)) != 0 ||
      (rc = mdb_dbi_open(s->txn, "meta", MDB_CREATE, &s->meta)) != 0) {
    if (rc) state_set_err(err, errlen, "open", rc);
    sg_state_close(s);
    return NULL;
  }
  MDB_stat st;
  MDB_val v;
  if ((rc = mdb_stat(s->txn, s->dbi, &st)) != 0) {
    state_set_err(err, errlen, "open", rc);
    sg_state_close(s);
    return NULL;
  }
  s->disk_keys = st.ms_entries;
  tag->len = 0;
  rc = mdb_get(s->txn, s->meta, (MDB_val *)&TAG_KEY, &v);
  if (rc == 0 && sg_buf_append(tag, v.mv_data, v.mv_size) != 0) rc = ENOMEM;
  if (rc && rc != MDB_NOTFOUND) {
    state_set_err(err, errlen, "open", rc);
    sg_state_close(s);
    return NULL;
  }
  return s;
}

int sg_state_wants_checkpoint(const sg_state *s) {
  return s->kept && s->txn_ops >= KEPT_TXN_OPS / 2;
}

int sg_state_checkpoint(sg_state *s, const void *tag, size_t taglen, char *err, size_t errlen) {
  if (!s->kept) return 0;
  if (state_begin(s, err, errlen)) return -1;
  MDB_val v = { taglen, (void *)tag };
  int rc = mdb_put(s->txn, s->meta, (MDB_val *)&TAG_KEY, &v, 0);
  if (rc) {
    state_set_err(err, errlen, "checkpoint", rc);
    return -1;
  }
  return state_commit(s, "checkpoint", err, errlen);
}

