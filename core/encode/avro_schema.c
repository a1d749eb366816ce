/* avro_schema.c — schema checks through avro-c, so every schema sinkgate
 * generates is one the reference Avro C library accepts. */
#include <avro.h>
#include <stdlib.h>
#include <string.h>
#include "../util/util.h"

int sg_avro_schema_check(const char *json, size_t len, char *err, size_t errlen) {
  avro_schema_t s;
  if (avro_schema_from_json_length(json, len, &s) != 0)
    return sg_fail(err, errlen, "invalid Avro schema: %s", avro_strerror());
  avro_schema_decref(s);
  return 0;
}

int sg_avro_decode_json(const char *schema_json, size_t slen, const void *data, size_t len,
                        sg_buf *out, char *err, size_t errlen) {
  avro_schema_t s;
  if (avro_schema_from_json_length(schema_json, slen, &s) != 0)
    return sg_fail(err, errlen, "invalid Avro schema: %s", avro_strerror());
  avro_value_iface_t *iface = avro_generic_class_from_schema(s);
  avro_value_t v;
  int rc = -1;
  if (!iface || avro_generic_value_new(iface, &v) != 0) {
    sg_fail(err, errlen, "avro: %s", avro_strerror());
    goto done_iface;
  }
  avro_reader_t r = avro_reader_memory(data, (int64_t)len);
  char *text = NULL;
  if (avro_value_read(r, &v) != 0) {
    sg_fail(err, errlen, "avro decode: %s", avro_strerror());
  } else if (avro_value_to_json(&v, 1, &text) != 0) {
    sg_fail(err, errlen, "avro to json: %s", avro_strerror());
  } else {
    rc = sg_buf_append(out, text, strlen(text)) == 0 ? 0 : sg_fail(err, errlen, "out of memory");
  }
  free(text);
  avro_reader_free(r);
  avro_value_decref(&v);
done_iface:
  if (iface) avro_value_iface_decref(iface);
  avro_schema_decref(s);
  return rc;
}
