/* avro_schema.c — schema checks through avro-c, so every schema sinkgate
 * generates is one the reference Avro C library accepts. */
#include <avro.h>
#include "../util/util.h"

int sg_avro_schema_check(const char *json, size_t len, char *err, size_t errlen) {
  avro_schema_t s;
  if (avro_schema_from_json_length(json, len, &s) != 0)
    return sg_fail(err, errlen, "invalid Avro schema: %s", avro_strerror());
  avro_schema_decref(s);
  return 0;
}
