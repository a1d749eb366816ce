/* registry.c — a Confluent Schema Registry client on libcurl: register a
 * schema under a subject, read and set subject compatibility. One curl
 * handle per client (connections are reused), basic auth, TLS from PEM
 * text, per-request timeouts, retries with exponential backoff on
 * transport errors and 5xx. 4xx answers are final and come back with the
 * registry's error_code and message (409, 42201, 40401, 40408, …). */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../encode/encode.h"
#include "../util/util.h"

struct sg_registry {
  CURL *curl;
  char *url;
  sg_registry_opts o;
  struct curl_slist *headers;
  sg_buf body;
};

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  return sg_buf_append(ud, p, size * n) == 0 ? size * n : 0;
}

static int set_blob(CURL *c, CURLoption opt, const char *pem) {
  if (!pem) return 0;
  struct curl_blob blob = {(void *)pem, strlen(pem), CURL_BLOB_COPY};
  return curl_easy_setopt(c, opt, &blob) == CURLE_OK ? 0 : -1;
}

sg_registry *sg_registry_new(const sg_registry_opts *o, char *err, size_t errlen) {
  static int global_init;
  if (!global_init) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    global_init = 1;
  }
  sg_registry *r = calloc(1, sizeof *r);
  if (!r) return sg_fail(err, errlen, "out of memory"), NULL;
  r->o = *o;
  r->url = strdup(o->url);
  size_t n = strlen(r->url);
  while (n > 0 && r->url[n - 1] == '/') r->url[--n] = 0; /* "http://h:8081/" */
  r->curl = curl_easy_init();
  if (!r->curl) {
    sg_registry_free(r);
    return sg_fail(err, errlen, "curl_easy_init failed"), NULL;
  }
  CURL *c = r->curl;
  r->headers = curl_slist_append(NULL, "Content-Type: application/vnd.schemaregistry.v1+json");
  r->headers = curl_slist_append(r->headers, "Accept: application/vnd.schemaregistry.v1+json, application/json");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, r->headers);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(o->timeout_ms > 0 ? o->timeout_ms : 10000));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  if (o->username) {
    curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    curl_easy_setopt(c, CURLOPT_USERNAME, o->username);
    curl_easy_setopt(c, CURLOPT_PASSWORD, o->password ? o->password : "");
  }
  if (set_blob(c, CURLOPT_CAINFO_BLOB, o->ca_pem) || set_blob(c, CURLOPT_SSLCERT_BLOB, o->cert_pem) ||
      set_blob(c, CURLOPT_SSLKEY_BLOB, o->key_pem)) {
    sg_registry_free(r);
    return sg_fail(err, errlen, "this libcurl cannot take TLS certificates as PEM text"), NULL;
  }
  if (o->cert_pem) curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
  if (o->key_pem) curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
  r->o.url = r->url;
  return r;
}

void sg_registry_free(sg_registry *r) {
  if (!r) return;
  if (r->curl) curl_easy_cleanup(r->curl);
  curl_slist_free_all(r->headers);
  sg_buf_free(&r->body);
  free(r->url);
  free(r);
}

/* Finds "key": in a flat JSON object and returns a pointer past the colon. */
static const char *json_field(const char *body, const char *key) {
  char pat[64];
  snprintf(pat, sizeof pat, "\"%s\"", key);
  const char *p = strstr(body, pat);
  if (!p) return NULL;
  p += strlen(pat);
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
  if (*p != ':') return NULL;
  p++;
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
  return p;
}

static int json_int(const char *body, const char *key, long *out) {
  const char *p = json_field(body, key);
  if (!p) return -1;
  char *end;
  *out = strtol(p, &end, 10);
  return end == p ? -1 : 0;
}

/* Copies a JSON string value, undoing simple escapes. */
static int json_str(const char *body, const char *key, char *out, size_t outlen) {
  const char *p = json_field(body, key);
  if (!p || *p != '"' || outlen == 0) return -1;
  size_t k = 0;
  for (p++; *p && *p != '"' && k + 1 < outlen; p++) {
    if (*p == '\\' && p[1]) p++;
    out[k++] = *p;
  }
  out[k] = 0;
  return 0;
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* One request with retries; fills res. Returns 0 when a 2xx came back. */
static int request(sg_registry *r, const char *method, const char *path, const char *payload,
                   sg_registry_result *res) {
  memset(res, 0, sizeof *res);
  char *url = malloc(strlen(r->url) + strlen(path) + 1);
  if (!url) return sg_fail(res->message, sizeof res->message, "out of memory");
  strcpy(url, r->url);
  strcat(url, path);
  CURL *c = r->curl;
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload);
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, payload ? (long)strlen(payload) : 0L);
  if (!payload) curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  int backoff = r->o.backoff_ms > 0 ? r->o.backoff_ms : 100;
  int rc = -1;
  for (int attempt = 0; attempt <= r->o.retries; attempt++) {
    if (attempt) {
      sleep_ms(backoff);
      backoff = backoff < 10000 ? backoff * 2 : backoff;
    }
    res->attempts = attempt + 1;
    r->body.len = 0;
    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
      res->http_status = 0;
      snprintf(res->message, sizeof res->message, "%s %s: %s", method, url, curl_easy_strerror(cc));
      continue; /* transport error: retry */
    }
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    res->http_status = (int)status;
    sg_buf_putc(&r->body, 0);
    r->body.len--;
    long code = 0;
    res->error_code = json_int(r->body.data, "error_code", &code) == 0 ? (int)code : 0;
    if (json_str(r->body.data, "message", res->message, sizeof res->message) != 0)
      snprintf(res->message, sizeof res->message, "HTTP %ld", status);
    if (status >= 200 && status < 300) {
      res->message[0] = 0;
      rc = 0;
      break;
    }
    if (status < 500) break; /* 4xx: final */
  }
  free(url);
  return rc;
}

static char *subject_path(sg_registry *r, const char *prefix, const char *subject, const char *suffix) {
  char *esc = curl_easy_escape(r->curl, subject, 0);
  if (!esc) return NULL;
  char *path = malloc(strlen(prefix) + strlen(esc) + strlen(suffix) + 1);
  if (path) sprintf(path, "%s%s%s", prefix, esc, suffix);
  curl_free(esc);
  return path;
}

int sg_registry_register(sg_registry *r, const char *subject, const char *schema, sg_registry_result *res) {
  return sg_registry_register_typed(r, subject, schema, NULL, res);
}

int sg_registry_register_typed(sg_registry *r, const char *subject, const char *schema, const char *schema_type,
                               sg_registry_result *res) {
  sg_buf payload = {0};
  int rc = -1;
  char *path = subject_path(r, "/subjects/", subject, "/versions");
  /* schemaType only when it is not AVRO (the registry's default), as Confluent's clients send it */
  int typed = schema_type && strcmp(schema_type, "AVRO") != 0;
  if (path && SG_BUF_LIT(&payload, "{") == 0 &&
      (!typed || (SG_BUF_LIT(&payload, "\"schemaType\":") == 0 &&
                  sg_json_put_string(&payload, schema_type, strlen(schema_type)) == 0 &&
                  SG_BUF_LIT(&payload, ",") == 0)) &&
      SG_BUF_LIT(&payload, "\"schema\":") == 0 &&
      sg_json_put_string(&payload, schema, strlen(schema)) == 0 && SG_BUF_LIT(&payload, "}") == 0 &&
      sg_buf_putc(&payload, 0) == 0) {
    rc = request(r, "POST", path, payload.data, res);
    long id;
    if (rc == 0 && json_int(r->body.data, "id", &id) != 0) {
      snprintf(res->message, sizeof res->message, "registry answered without an id: %.200s", r->body.data);
      rc = -1;
    } else if (rc == 0) {
      res->id = (int32_t)id;
    }
  } else {
    memset(res, 0, sizeof *res);
    snprintf(res->message, sizeof res->message, "out of memory");
  }
  free(path);
  sg_buf_free(&payload);
  return rc;
}

int sg_registry_get_config(sg_registry *r, const char *subject, char *level, size_t levellen,
                           sg_registry_result *res) {
  char *path = subject_path(r, "/config/", subject, "");
  if (!path) return sg_fail(res->message, sizeof res->message, "out of memory");
  int rc = request(r, "GET", path, NULL, res);
  free(path);
  if (rc == 0) {
    if (json_str(r->body.data, "compatibilityLevel", level, levellen) == 0 ||
        json_str(r->body.data, "compatibility", level, levellen) == 0)
      return 1;
    snprintf(res->message, sizeof res->message, "registry answered without a level: %.200s", r->body.data);
    return -1;
  }
  if (res->error_code == 40401 || res->error_code == 40408) return 0;
  return -1;
}

int sg_registry_put_config(sg_registry *r, const char *subject, const char *level, sg_registry_result *res) {
  char *path = subject_path(r, "/config/", subject, "");
  char payload[128];
  if (!path) return sg_fail(res->message, sizeof res->message, "out of memory");
  snprintf(payload, sizeof payload, "{\"compatibility\":\"%s\"}", level);
  int rc = request(r, "PUT", path, payload, res);
  free(path);
  return rc;
}

/* The body of a successful GET, copied out for the caller to parse. */
static int get_body(sg_registry *r, const char *path, sg_buf *out, sg_registry_result *res) {
  int rc = request(r, "GET", path, NULL, res);
  if (rc != 0) return -1;
  out->len = 0;
  if (r->body.len && sg_buf_append(out, r->body.data, r->body.len) != 0)
    return sg_fail(res->message, sizeof res->message, "out of memory");
  return 0;
}

int sg_registry_schema_by_id(sg_registry *r, int32_t id, sg_buf *out, sg_registry_result *res) {
  char path[64];
  snprintf(path, sizeof path, "/schemas/ids/%d", (int)id);
  return get_body(r, path, out, res);
}

int sg_registry_latest(sg_registry *r, const char *subject, sg_buf *out, sg_registry_result *res) {
  char *path = subject_path(r, "/subjects/", subject, "/versions/latest");
  if (!path) return sg_fail(res->message, sizeof res->message, "out of memory");
  int rc = get_body(r, path, out, res);
  free(path);
  return rc;
}
