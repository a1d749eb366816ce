/* files.c — the few file operations the status file needs, done without a
 * shell and without following links an attacker could plant:
 *   - a private directory (0700, ours, a real directory, not a symlink);
 *   - atomic replacement of a small file: a temp file made with mkstemp in
 *     the target's own directory (O_CREAT|O_EXCL: never an existing name or
 *     a symlink), written, renamed over the target; refused when the target
 *     exists and is not a regular file (a device, a FIFO, a directory or a
 *     symlink is never replaced); the temp file is removed on every
 *     failure path;
 *   - reading a small regular file (never blocks on a FIFO, never reads a
 *     device forever);
 *   - listing a directory's names with a suffix.
 * No fsync: the status file is advisory and rewritten every second; an
 * fsync per second would stall the run loop on a busy disk, and rename()
 * already gives readers the whole old or the whole new document. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "../util/util.h"

static const char *kind_name(mode_t m) {
  if (S_ISLNK(m)) return "a symbolic link";
  if (S_ISDIR(m)) return "a directory";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISSOCK(m)) return "a socket";
  if (S_ISREG(m)) return "a regular file";
  return "not a regular file";
}

uint32_t sg_sys_euid(void) { return (uint32_t)geteuid(); }
int32_t sg_sys_pid(void) { return (int32_t)getpid(); }

/* mkdir of each missing component (0700), then checks the last one. */
int sg_sys_private_dir(const char *path, char *err, size_t errlen) {
  size_t n = strlen(path);
  if (n == 0) return sg_fail(err, errlen, "empty directory name");
  char *p = malloc(n + 1);
  if (!p) return sg_fail(err, errlen, "out of memory");
  memcpy(p, path, n + 1);
  while (n > 1 && p[n - 1] == '/') p[--n] = '\0';
  for (char *s = p + 1; *s; s++) {
    if (*s != '/') continue;
    *s = '\0';
    if (mkdir(p, 0700) != 0 && errno != EEXIST) {
      int e = errno;
      sg_fail(err, errlen, "%s: %s", p, strerror(e));
      free(p);
      return -1;
    }
    *s = '/';
  }
  int rc = 0;
  if (mkdir(p, 0700) != 0 && errno != EEXIST) {
    rc = sg_fail(err, errlen, "%s: %s", p, strerror(errno));
    goto out;
  }
  /* O_NOFOLLOW|O_DIRECTORY: a symlink or a non-directory fails here, and the
   * checks below apply to the very directory we opened. */
  int fd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    struct stat ls;
    if (lstat(p, &ls) == 0 && !S_ISDIR(ls.st_mode))
      rc = sg_fail(err, errlen, "%s is %s, not a directory", p, kind_name(ls.st_mode));
    else
      rc = sg_fail(err, errlen, "%s: %s", p, strerror(errno));
    goto out;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    rc = sg_fail(err, errlen, "%s: %s", p, strerror(errno));
  } else if (st.st_uid != geteuid()) {
    rc = sg_fail(err, errlen, "%s belongs to uid %u, not to this user (uid %u)", p, (unsigned)st.st_uid,
                 (unsigned)geteuid());
  } else if ((st.st_mode & 0777) != 0700 && fchmod(fd, 0700) != 0) {
    rc = sg_fail(err, errlen, "%s: cannot make it private: %s", p, strerror(errno));
  }
  close(fd);
out:
  free(p);
  return rc;
}

/* Splits path into its directory (for the temp file) and checks the target. */
int sg_sys_write_atomic(const char *path, const void *data, size_t len, char *err, size_t errlen) {
  struct stat st;
  if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode))
    return sg_fail(err, errlen, "%s is %s: not replacing it", path, kind_name(st.st_mode));
  const char *slash = strrchr(path, '/');
  size_t dlen = slash ? (size_t)(slash - path) + 1 : 0;
  const char *base = slash ? slash + 1 : path;
  if (!*base) return sg_fail(err, errlen, "%s: no file name", path);
  size_t tlen = dlen + 1 + strlen(base) + 8;
  char *tmp = malloc(tlen);
  if (!tmp) return sg_fail(err, errlen, "out of memory");
  /* ".<name>.XXXXXX": hidden, and never a name `sinkgate status` lists. */
  snprintf(tmp, tlen, "%.*s.%s.XXXXXX", (int)dlen, path, base);
  int fd = mkostemp(tmp, O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    free(tmp);
    return sg_fail(err, errlen, "%s: cannot create a temporary file beside it: %s", path, strerror(e));
  }
  int rc = 0;
  const char *p = data;
  size_t left = len;
  while (left > 0) {
    ssize_t w = write(fd, p, left);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      rc = sg_fail(err, errlen, "%s: write: %s", path, w < 0 ? strerror(errno) : "no progress");
      break;
    }
    p += w;
    left -= (size_t)w;
  }
  /* mkstemp makes 0600; the status file carries no secret and monitoring
   * may run as another user. */
  if (rc == 0 && fchmod(fd, 0644) != 0) rc = sg_fail(err, errlen, "%s: chmod: %s", path, strerror(errno));
  if (close(fd) != 0 && rc == 0) rc = sg_fail(err, errlen, "%s: close: %s", path, strerror(errno));
  if (rc == 0 && rename(tmp, path) != 0) rc = sg_fail(err, errlen, "%s: rename: %s", path, strerror(errno));
  if (rc != 0) unlink(tmp);
  free(tmp);
  return rc;
}

int sg_sys_read_small(const char *path, size_t max, sg_buf *out, char *err, size_t errlen) {
  /* O_NONBLOCK: opening a FIFO must not wait for a writer. */
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return sg_fail(err, errlen, "%s: %s", path, strerror(errno));
  struct stat st;
  int rc = 0;
  if (fstat(fd, &st) != 0) {
    rc = sg_fail(err, errlen, "%s: %s", path, strerror(errno));
  } else if (!S_ISREG(st.st_mode)) {
    rc = sg_fail(err, errlen, "%s is %s", path, kind_name(st.st_mode));
  } else if ((size_t)st.st_size > max) {
    rc = sg_fail(err, errlen, "%s is larger than %zu bytes", path, max);
  } else {
    char chunk[4096];
    for (;;) {
      ssize_t r = read(fd, chunk, sizeof chunk);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) {
        rc = sg_fail(err, errlen, "%s: %s", path, strerror(errno));
        break;
      }
      if (r == 0) break;
      if (out->len + (size_t)r > max) {
        rc = sg_fail(err, errlen, "%s is larger than %zu bytes", path, max);
        break;
      }
      if (sg_buf_append_slow(out, chunk, (size_t)r) != 0) {
        rc = sg_fail(err, errlen, "out of memory");
        break;
      }
    }
  }
  close(fd);
  return rc;
}

int sg_sys_list_dir(const char *dir, const char *suffix, sg_buf *out, char *err, size_t errlen) {
  DIR *d = opendir(dir);
  if (!d) return sg_fail(err, errlen, "%s: %s", dir, strerror(errno));
  size_t sl = strlen(suffix);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    size_t n = strlen(e->d_name);
    if (e->d_name[0] == '.' || n < sl || memcmp(e->d_name + n - sl, suffix, sl) != 0) continue;
    if (sg_buf_append_slow(out, e->d_name, n) != 0 || sg_buf_append_slow(out, "\n", 1) != 0) {
      closedir(d);
      return sg_fail(err, errlen, "out of memory");
    }
  }
  closedir(d);
  return 0;
}
