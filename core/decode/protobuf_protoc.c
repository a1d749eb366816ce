/* protobuf_protoc.c — .proto text (a registry schema) compiled by the real
 * compiler: the `protoc` binary, started without a shell, writing a
 * FileDescriptorSet into a private temporary directory. sinkgate never
 * parses .proto text itself. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "../util/util.h"

extern char **environ;

static int write_all(const char *path, const char *p, size_t n) {
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return -1;
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      close(fd);
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return close(fd);
}

static int read_all(const char *path, sg_buf *out, size_t max) {
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return -1;
  char tmp[8192];
  for (;;) {
    ssize_t r = read(fd, tmp, sizeof tmp);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      close(fd);
      return -1;
    }
    if (r == 0) break;
    size_t n = (size_t)r;
    if (out->len + n > max) n = max - out->len;
    if (n && sg_buf_append_slow(out, tmp, n) != 0) {
      close(fd);
      return -1;
    }
    if (out->len >= max) break;
  }
  close(fd);
  return 0;
}

/* Runs protoc on `text` saved as `file_name`; 0 with the descriptor set in
 * out, or -1 with protoc's own message. */
int sg_pb_compile_proto(const char *protoc, const char *text, size_t len, const char *file_name, sg_buf *out,
                        char *err, size_t errlen) {
  if (!file_name || !*file_name || strchr(file_name, '/') || strcmp(file_name, "..") == 0 || strcmp(file_name, ".") == 0)
    return sg_fail(err, errlen, "bad schema file name");
  const char *tmp = getenv("TMPDIR");
  char dir[512], src[1024], dst[1024], log[1024], arg_out[1100], arg_inc[1100];
  snprintf(dir, sizeof dir, "%s/sinkgate-protoc-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(dir)) return sg_fail(err, errlen, "protoc: cannot make a temporary directory: %s", strerror(errno));
  snprintf(src, sizeof src, "%s/%s", dir, file_name);
  snprintf(dst, sizeof dst, "%s/.descriptor_set", dir);
  snprintf(log, sizeof log, "%s/.protoc.log", dir);
  snprintf(arg_out, sizeof arg_out, "--descriptor_set_out=%s", dst);
  snprintf(arg_inc, sizeof arg_inc, "--proto_path=%s", dir);
  int rc = -1;
  if (write_all(src, text, len) != 0) {
    sg_fail(err, errlen, "protoc: cannot write the schema: %s", strerror(errno));
    goto cleanup;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  char *argv[] = { (char *)(protoc && *protoc ? protoc : "protoc"), "--include_imports", arg_out, arg_inc,
                   (char *)file_name, NULL };
  pid_t pid;
  int e = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (e != 0) {
    sg_fail(err, errlen, "cannot run %s (install protobuf-compiler): %s", argv[0], strerror(e));
    goto cleanup;
  }
  int status;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      sg_fail(err, errlen, "protoc: waitpid: %s", strerror(errno));
      goto cleanup;
    }
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    sg_buf msg = { 0 };
    read_all(log, &msg, 400);
    /* protoc names the file with our temporary directory: keep only its message. */
    size_t n = msg.len;
    while (n > 0 && (msg.data[n - 1] == '\n' || msg.data[n - 1] == '\r')) n--;
    sg_fail(err, errlen, "protoc rejected the schema: %.*s", (int)n, msg.data ? msg.data : "");
    sg_buf_free(&msg);
    goto cleanup;
  }
  if (read_all(dst, out, (size_t)1 << 30) != 0) {
    sg_fail(err, errlen, "protoc: no descriptor set written");
    goto cleanup;
  }
  rc = 0;
cleanup:
  unlink(src);
  unlink(dst);
  unlink(log);
  rmdir(dir);
  return rc;
}
