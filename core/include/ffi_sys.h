/* ffi_sys.h — part of sinkgate_ffi.h: process facts: build, signals and clocks, hashes, byte buffers, files.
 * sinkgate_ffi.h includes the parts in order (a part may use the types of
 * those before it); its conventions hold here. */
#ifndef SINKGATE_FFI_SYS_H
#define SINKGATE_FFI_SYS_H
#include <stddef.h>
#include <stdint.h>

/* ---- build facts ---- */
const char *sg_core_version(void);
const char *sg_core_rdkafka_version(void);

/* ---- process: signals and clocks ---- */
void sg_sys_signals_install(void);
int sg_sys_signal_take(void);          /* pending signal number, or 0 */
int sg_sys_signal_pending(void);       /* 1 if SIGINT/SIGTERM arrived */
void sg_sys_reload_signal_install(void); /* SIGHUP: a reload request (run only) */
int sg_sys_isatty(int fd);             /* progress lines on a terminal only */
int sg_sys_reload_take(void);          /* 1 if SIGHUP arrived since the last call */
/* systemd's sd_notify protocol over $NOTIFY_SOCKET (core/sys/notify.c):
 * 0 sent, 1 no NOTIFY_SOCKET (nothing to do), -1 with err. */
int sg_sys_notify(const char *state, char *err, size_t errlen);
/* A second SIGINT/SIGTERM while stopping exits the process at once (status
 * 130/143); 0 turns that off again (for embedding). */
void sg_sys_second_signal_exits(int on);
void sg_sys_sleep_ms(int ms);
int64_t sg_sys_now_ms(void);           /* wall clock, epoch milliseconds */
int64_t sg_sys_mono_ns(void);          /* monotonic clock */
/* CPU time used (user + system, ms) and peak resident set size (KiB). */
void sg_sys_rusage(int64_t *cpu_ms, int64_t *maxrss_kb);

/* ---- hash functions ---- */
uint64_t sg_hash_seahash(const void *data, size_t len);
int32_t sg_hash_kafka_murmur2(const void *data, size_t len);
uint32_t sg_hash_crc32(const void *data, size_t len);

/* ---- growable byte buffer ---- */
typedef struct sg_buf {
  char *data;
  size_t len;
  size_t cap;
} sg_buf;
void sg_buf_free(sg_buf *b);

/* ---- process: files without a shell (core/sys/files.c) ---- */
uint32_t sg_sys_euid(void);
int32_t sg_sys_pid(void);
/* Creates path (and missing parents) mode 0700; refuses a symlink, a
 * non-directory or a directory owned by another user; makes ours 0700. */
int sg_sys_private_dir(const char *path, char *err, size_t errlen);
/* Replaces path atomically with data through a mkstemp file beside it
 * (removed on failure); refuses a path that exists and is not a regular
 * file (symlink, device, FIFO, directory). */
int sg_sys_write_atomic(const char *path, const void *data, size_t len, char *err, size_t errlen);
/* Appends a regular file of at most max bytes to out (never blocks on a FIFO). */
int sg_sys_read_small(const char *path, size_t max, sg_buf *out, char *err, size_t errlen);
/* Creates path and its missing parents, mode 0755 (an existing directory is
 * fine; a symlink or a file in the way is an error): `sinkgate plugin new`. */
int sg_sys_make_dirs(const char *path, char *err, size_t errlen);
/* Appends "name\n" for each entry of dir ending in suffix (dot files skipped). */
int sg_sys_list_dir(const char *dir, const char *suffix, sg_buf *out, char *err, size_t errlen);

#endif
