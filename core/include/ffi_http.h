/* ffi_http.h — part of sinkgate_ffi.h: the operations HTTP endpoint.
 * sinkgate_ffi.h includes the parts in order (a part may use the types of
 * those before it); its conventions hold here. */
#ifndef SINKGATE_FFI_HTTP_H
#define SINKGATE_FFI_HTTP_H
#include <stddef.h>
#include <stdint.h>

/* ==== operations HTTP endpoint (core/http/server.c) ==== */
/* /metrics, /health, /ready and /status served by libmicrohttpd's thread
 * from the last snapshot the run loop published (never calls Lua). */
typedef struct sg_http sg_http;
/* addr "HOST:PORT" (port 0: any free port, see sg_http_port); user NULL
 * or "": no basic auth; /health fails once no snapshot came for stale_ms. */
int sg_http_start(const char *addr, const char *user, const char *pass, int64_t stale_ms, sg_http **out, char *err,
                  size_t errlen);
int sg_http_port(const sg_http *h);
const char *sg_http_version(void); /* libmicrohttpd's, for `version --json` */
/* Copies both bodies; returns 0, or -1 when out of memory (the old stays). */
int sg_http_publish(sg_http *h, const char *metrics, size_t metrics_len, const char *status, size_t status_len,
                    int ready);
void sg_http_stop(sg_http *h);
/* ==== end of operations HTTP endpoint ==== */

#endif
