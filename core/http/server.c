/* server.c — the operations HTTP endpoint (/metrics, /health, /ready,
 * /status) on libmicrohttpd's own thread. That thread never touches Lua:
 * the run loop publishes a snapshot (the metrics text, the status JSON and
 * the readiness flag) after its steps, and requests are answered from a
 * copy of the last one taken under a mutex. /health says whether the loop
 * is still publishing, so a wedged loop fails the liveness check. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "../include/sinkgate_ffi.h"

struct sg_http {
  struct MHD_Daemon *daemon;
  pthread_mutex_t lock;
  char *metrics, *status;
  size_t metrics_len, status_len;
  int ready;
  int64_t published_ms; /* 0: nothing published yet */
  int64_t stale_ms;     /* /health fails when the last snapshot is older */
  char *user, *pass;    /* basic auth when user is set */
  int port;
};

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...) {
  if (!err || errlen == 0) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
}

/* Compares without stopping at the first difference, so the time taken
 * does not tell how much of a guessed password was right. */
static int same_secret(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  unsigned char diff = (unsigned char)(la != lb);
  for (size_t i = 0; i < la; i++) diff |= (unsigned char)(a[i] ^ b[lb ? i % lb : 0]);
  return diff == 0;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code, const char *type, const char *body,
                             size_t len) {
  struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
  if (!r) return MHD_NO;
  MHD_add_response_header(r, "Content-Type", type);
  MHD_add_response_header(r, "Cache-Control", "no-store");
  enum MHD_Result ok = MHD_queue_response(c, code, r);
  MHD_destroy_response(r);
  return ok;
}

static enum MHD_Result text(struct MHD_Connection *c, unsigned code, const char *msg) {
  return reply(c, code, "text/plain; charset=utf-8", msg, strlen(msg));
}

static int authorized(sg_http *h, struct MHD_Connection *c) {
  if (!h->user) return 1;
  char *pass = NULL;
  char *user = MHD_basic_auth_get_username_password(c, &pass);
  int ok = user && pass && same_secret(user, h->user) & same_secret(pass, h->pass);
  if (user) MHD_free(user);
  if (pass) MHD_free(pass);
  return ok;
}

/* The body of the snapshot named by which (0 metrics, 1 status), copied
 * under the lock into a malloc'd buffer the caller frees. */
static char *copy_snapshot(sg_http *h, int which, size_t *len, int *ready, int64_t *age) {
  pthread_mutex_lock(&h->lock);
  const char *src = which == 0 ? h->metrics : h->status;
  size_t n = which == 0 ? h->metrics_len : h->status_len;
  char *out = NULL;
  if (src) {
    out = malloc(n ? n : 1);
    if (out) memcpy(out, src, n);
  }
  *len = n;
  *ready = h->ready;
  *age = h->published_ms ? now_ms() - h->published_ms : -1;
  pthread_mutex_unlock(&h->lock);
  return out;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **state) {
  sg_http *h = cls;
  (void)version;
  (void)upload;
  if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
    if (*upload_size) {
      *upload_size = 0; /* a body is read and ignored before answering */
      return MHD_YES;
    }
    return text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
  }
  if (*state == NULL) { /* first call: headers only; answer on the next */
    *state = (void *)1;
    return MHD_YES;
  }
  if (!authorized(h, c)) {
    struct MHD_Response *r = MHD_create_response_from_buffer(13, (void *)"unauthorized\n", MHD_RESPMEM_PERSISTENT);
    if (!r) return MHD_NO;
    enum MHD_Result ok = MHD_queue_basic_auth_fail_response(c, "sinkgate", r);
    MHD_destroy_response(r);
    return ok;
  }
  size_t len = 0;
  int ready = 0;
  int64_t age = -1;
  if (strcmp(url, "/metrics") == 0 || strcmp(url, "/status") == 0) {
    int is_metrics = url[1] == 'm';
    char *body = copy_snapshot(h, is_metrics ? 0 : 1, &len, &ready, &age);
    if (!body) return text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "no snapshot yet\n");
    enum MHD_Result ok = reply(c, MHD_HTTP_OK,
                               is_metrics ? "text/plain; version=0.0.4; charset=utf-8" : "application/json",
                               body, len);
    free(body);
    return ok;
  }
  if (strcmp(url, "/health") == 0 || strcmp(url, "/ready") == 0) {
    free(copy_snapshot(h, 1, &len, &ready, &age));
    if (url[1] == 'h') {
      if (age >= 0 && age <= h->stale_ms) return text(c, MHD_HTTP_OK, "ok\n");
      return text(c, MHD_HTTP_SERVICE_UNAVAILABLE, age < 0 ? "starting\n" : "run loop not responding\n");
    }
    return ready ? text(c, MHD_HTTP_OK, "ready\n") : text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "not ready\n");
  }
  return text(c, MHD_HTTP_NOT_FOUND, "not found: try /metrics, /health, /ready, /status\n");
}

/* "HOST:PORT" (IPv4 literal or "localhost"; "[::1]:PORT" for IPv6). */
static int parse_addr(const char *addr, struct sockaddr_storage *ss, socklen_t *sl, char *err, size_t errlen) {
  char host[128];
  const char *colon = strrchr(addr, ':');
  if (!colon || colon == addr || strlen(colon + 1) == 0) goto bad;
  size_t hl = (size_t)(colon - addr);
  if (hl >= sizeof host) goto bad;
  memcpy(host, addr, hl);
  host[hl] = 0;
  char *end = NULL;
  long port = strtol(colon + 1, &end, 10);
  if (*end || port < 0 || port > 65535) goto bad;
  memset(ss, 0, sizeof *ss);
  if (host[0] == '[' && host[hl - 1] == ']') {
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    host[hl - 1] = 0;
    if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1) goto bad;
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)port);
    *sl = sizeof *a6;
    return 0;
  }
  struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
  if (strcmp(host, "localhost") == 0) strcpy(host, "127.0.0.1");
  if (inet_pton(AF_INET, host, &a4->sin_addr) != 1) goto bad;
  a4->sin_family = AF_INET;
  a4->sin_port = htons((uint16_t)port);
  *sl = sizeof *a4;
  return 0;
bad:
  set_err(err, errlen, "expected HOST:PORT with a numeric address (127.0.0.1:9644, [::1]:9644), got \"%s\"", addr);
  return -1;
}

int sg_http_start(const char *addr, const char *user, const char *pass, int64_t stale_ms, sg_http **out, char *err,
                  size_t errlen) {
  *out = NULL;
  struct sockaddr_storage ss;
  socklen_t sl;
  if (parse_addr(addr, &ss, &sl, err, errlen) != 0) return -1;
  sg_http *h = calloc(1, sizeof *h);
  if (!h) {
    set_err(err, errlen, "out of memory");
    return -1;
  }
  pthread_mutex_init(&h->lock, NULL);
  h->stale_ms = stale_ms > 0 ? stale_ms : 30000;
  if (user && *user) {
    h->user = strdup(user);
    h->pass = strdup(pass ? pass : "");
  }
  unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD;
  if (ss.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
  h->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                               MHD_OPTION_CONNECTION_LIMIT, (unsigned)64, MHD_OPTION_CONNECTION_TIMEOUT,
                               (unsigned)10, MHD_OPTION_END);
  if (!h->daemon) {
    set_err(err, errlen, "cannot listen on %s (address in use, or not an address of this machine)", addr);
    sg_http_stop(h);
    return -1;
  }
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
  h->port = info ? (int)info->port : 0;
  *out = h;
  return 0;
}

int sg_http_port(const sg_http *h) { return h ? h->port : 0; }

const char *sg_http_version(void) { return MHD_get_version(); }

int sg_http_publish(sg_http *h, const char *metrics, size_t metrics_len, const char *status, size_t status_len,
                    int ready) {
  char *m = malloc(metrics_len ? metrics_len : 1), *s = malloc(status_len ? status_len : 1);
  if (!m || !s) {
    free(m);
    free(s);
    return -1;
  }
  memcpy(m, metrics, metrics_len);
  memcpy(s, status, status_len);
  pthread_mutex_lock(&h->lock);
  char *old_m = h->metrics, *old_s = h->status;
  h->metrics = m;
  h->metrics_len = metrics_len;
  h->status = s;
  h->status_len = status_len;
  h->ready = ready;
  h->published_ms = now_ms();
  pthread_mutex_unlock(&h->lock);
  free(old_m);
  free(old_s);
  return 0;
}

void sg_http_stop(sg_http *h) {
  if (!h) return;
  if (h->daemon) MHD_stop_daemon(h->daemon);
  pthread_mutex_destroy(&h->lock);
  free(h->metrics);
  free(h->status);
  if (h->pass) memset(h->pass, 0, strlen(h->pass));
  free(h->user);
  free(h->pass);
  free(h);
}
