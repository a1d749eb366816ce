/* notify.c — systemd's readiness protocol (sd_notify) without libsystemd:
 * one datagram of "KEY=value" lines to the AF_UNIX socket named by
 * $NOTIFY_SOCKET (a path, or "@name" in the abstract namespace). Without
 * the variable (not under systemd, or Type= is not notify) nothing is sent. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../include/sinkgate_ffi.h"

int sg_sys_notify(const char *state, char *err, size_t errlen) {
  const char *path = getenv("NOTIFY_SOCKET");
  if (!path || !*path) return 1;
  struct sockaddr_un sa;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  size_t n = strlen(path);
  if ((path[0] != '/' && path[0] != '@') || n >= sizeof sa.sun_path) {
    snprintf(err, errlen, "NOTIFY_SOCKET: not an absolute path or @abstract name: %s", path);
    return -1;
  }
  memcpy(sa.sun_path, path, n);
  if (path[0] == '@') sa.sun_path[0] = 0; /* abstract namespace */
  socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    snprintf(err, errlen, "NOTIFY_SOCKET: socket: %s", strerror(errno));
    return -1;
  }
  ssize_t sent = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
  int e = errno;
  close(fd);
  if (sent < 0) {
    snprintf(err, errlen, "NOTIFY_SOCKET %s: %s", path, strerror(e));
    return -1;
  }
  return 0;
}
