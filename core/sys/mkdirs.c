/* mkdirs.c — a shared (0755) directory and its missing parents, for
 * `sinkgate plugin new` (state directories use sg_sys_private_dir). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "../util/util.h"

static int make_one(const char *p, char *err, size_t errlen) {
  if (mkdir(p, 0755) == 0) return 0;
  int e = errno;
  struct stat st;
  if (e == EEXIST && lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) return 0;
  if (e == EEXIST) return sg_fail(err, errlen, "%s exists and is not a directory", p);
  return sg_fail(err, errlen, "%s: %s", p, strerror(e));
}

int sg_sys_make_dirs(const char *path, char *err, size_t errlen) {
  size_t n = strlen(path);
  if (n == 0) return sg_fail(err, errlen, "empty directory name");
  char *p = malloc(n + 1);
  if (!p) return sg_fail(err, errlen, "out of memory");
  memcpy(p, path, n + 1);
  int rc = 0;
  for (char *s = p + 1; *s && rc == 0; s++) {
    if (*s != '/') continue;
    *s = '\0';
    rc = make_one(p, err, errlen);
    *s = '/';
  }
  if (rc == 0) rc = make_one(p, err, errlen);
  free(p);
  return rc;
}
