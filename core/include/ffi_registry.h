/* ffi_registry.h — part of sinkgate_ffi.h: the Confluent Schema Registry client.
 * sinkgate_ffi.h includes the parts in order (a part may use the types of
 * those before it); its conventions hold here. */
#ifndef SINKGATE_FFI_REGISTRY_H
#define SINKGATE_FFI_REGISTRY_H
#include <stddef.h>
#include <stdint.h>

/* ---- Confluent Schema Registry client (libcurl) ---- */
typedef struct sg_registry sg_registry;
typedef struct sg_registry_opts {
  const char *url;
  const char *username;      /* basic auth, or NULL */
  const char *password;
  const char *ca_pem;        /* TLS: CA bundle, client certificate and key (PEM text), or NULL */
  const char *cert_pem;
  const char *key_pem;
  int timeout_ms;            /* per request */
  int retries;               /* on transport errors and 5xx, with exponential backoff */
  int backoff_ms;            /* first backoff; doubles each retry */
} sg_registry_opts;
typedef struct sg_registry_result {
  int http_status;           /* 0 when no HTTP answer came back */
  int error_code;            /* the registry's error_code, or 0 */
  int32_t id;
  int attempts;
  char message[512];
} sg_registry_result;

sg_registry *sg_registry_new(const sg_registry_opts *o, char *err, size_t errlen);
/* POST /subjects/S/versions: 0 and res->id, or -1 with res filled. */
int sg_registry_register(sg_registry *r, const char *subject, const char *schema, sg_registry_result *res);
/* The same with a schemaType (\"PROTOBUF\", \"JSON\"; NULL or \"AVRO\": none sent). */
int sg_registry_register_typed(sg_registry *r, const char *subject, const char *schema, const char *schema_type,
                               sg_registry_result *res);
/* GET /config/S: 1 with the level copied out, 0 when none is set (40401/40408), -1 on error. */
int sg_registry_get_config(sg_registry *r, const char *subject, char *level, size_t levellen,
                           sg_registry_result *res);
/* PUT /config/S {"compatibility": level}: 0 or -1. */
int sg_registry_put_config(sg_registry *r, const char *subject, const char *level, sg_registry_result *res);
/* GET /schemas/ids/ID and GET /subjects/S/versions/latest: 0 with the
 * response body (JSON) in out, or -1 with res filled (40401/40403 = none). */
int sg_registry_schema_by_id(sg_registry *r, int32_t id, sg_buf *out, sg_registry_result *res);
int sg_registry_latest(sg_registry *r, const char *subject, sg_buf *out, sg_registry_result *res);
void sg_registry_free(sg_registry *r);

#endif
