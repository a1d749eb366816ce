/* libFuzzer target: Avro messages with the Confluent header. Writer schema
 * 1 is the reader schema itself; writer 2 differs (promotions, a removed
 * field, a reordered union), writer 3 goes through the defaults bridge
 * (a suffix appended to each message), so the fuzzer drives avro-c's
 * resolver through each path. The relation's column
 * types follow the mapping of lua/sinkgate/decode/avro.lua. */
#include <stdio.h>
#include <string.h>
#include "decode_fuzz.h"

static const char *READER =
    "{\"type\":\"record\",\"name\":\"r\",\"fields\":["
    "{\"name\":\"id\",\"type\":\"long\"},"
    "{\"name\":\"name\",\"type\":[\"null\",\"string\"]},"
    "{\"name\":\"u\",\"type\":[\"null\",\"string\",\"long\"]},"
    "{\"name\":\"score\",\"type\":\"double\"},"
    "{\"name\":\"amount\",\"type\":{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":10,\"scale\":2}},"
    "{\"name\":\"ts\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}},"
    "{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"B\",\"C\"]}},"
    "{\"name\":\"tags\",\"type\":{\"type\":\"array\",\"items\":[\"null\",\"string\"]}},"
    "{\"name\":\"m\",\"type\":{\"type\":\"map\",\"values\":\"long\"}},"
    "{\"name\":\"p\",\"type\":{\"type\":\"record\",\"name\":\"P\",\"fields\":[{\"name\":\"x\",\"type\":\"int\"},"
    "{\"name\":\"y\",\"type\":[\"null\",\"double\"]}]}},"
    "{\"name\":\"uid\",\"type\":{\"type\":\"string\",\"logicalType\":\"uuid\"}},"
    "{\"name\":\"f\",\"type\":{\"type\":\"fixed\",\"name\":\"F\",\"size\":3}},"
    "{\"name\":\"nulls\",\"type\":{\"type\":\"array\",\"items\":\"null\"}}]}";

/* Writer 2: `u` reordered, int/float promoted, `extra` removed, and the
 * reader's fields after `name` appended by the defaults bridge would go at
 * the end; here the writer has them all but in another order. */
static const char *WRITER2 =
    "{\"type\":\"record\",\"name\":\"r\",\"fields\":["
    "{\"name\":\"u\",\"type\":[\"long\",\"null\",\"string\"]},"
    "{\"name\":\"extra\",\"type\":{\"type\":\"array\",\"items\":\"bytes\"}},"
    "{\"name\":\"id\",\"type\":\"int\"},"
    "{\"name\":\"score\",\"type\":\"float\"},"
    "{\"name\":\"name\",\"type\":[\"null\",\"string\"]},"
    "{\"name\":\"amount\",\"type\":\"bytes\"},"
    "{\"name\":\"ts\",\"type\":\"long\"},"
    "{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"B\",\"C\"]}},"
    "{\"name\":\"tags\",\"type\":{\"type\":\"array\",\"items\":[\"null\",\"string\"]}},"
    "{\"name\":\"m\",\"type\":{\"type\":\"map\",\"values\":\"int\"}},"
    "{\"name\":\"p\",\"type\":{\"type\":\"record\",\"name\":\"P\",\"fields\":[{\"name\":\"x\",\"type\":\"int\"},"
    "{\"name\":\"y\",\"type\":[\"null\",\"double\"]}]}},"
    "{\"name\":\"uid\",\"type\":\"string\"},"
    "{\"name\":\"f\",\"type\":{\"type\":\"fixed\",\"name\":\"F\",\"size\":3}},"
    "{\"name\":\"nulls\",\"type\":{\"type\":\"array\",\"items\":\"null\"}}]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static sg_decoder *d;
  static sg_batch *b;
  char err[512];
  if (!d) {
    sg_schema *s = sg_schema_new();
    sg_typeinfo *text = sg_schema_type(s, SG_T_TEXT, -1, -1), *i8 = sg_schema_type(s, SG_T_INT8, -1, -1);
    sg_typeinfo *list = sg_schema_type(s, SG_T_LIST, -1, -1), *map = sg_schema_type(s, SG_T_MAP, -1, -1);
    sg_typeinfo *rec = sg_schema_type(s, SG_T_RECORD, -1, -1), *nlist = sg_schema_type(s, SG_T_LIST, -1, -1);
    sg_type_set_elem(list, text);
    sg_type_set_elem(map, i8);
    sg_type_set_elem(nlist, text);
    sg_type_add_field(s, rec, "x", sg_schema_type(s, SG_T_INT4, -1, -1), 0);
    sg_type_add_field(s, rec, "y", sg_schema_type(s, SG_T_FLOAT8, -1, -1), 1);
    const sg_typeinfo *cols[] = {i8, text, text, i8, sg_schema_type(s, SG_T_FLOAT8, -1, -1),
                                 sg_schema_type(s, SG_T_NUMERIC, 10, 2), sg_schema_type(s, SG_T_TIMESTAMP, 3, -1),
                                 text, list, map, rec, sg_schema_type(s, SG_T_UUID, -1, -1),
                                 sg_schema_type(s, SG_T_BYTEA, -1, -1), nlist};
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) {
      char name[8];
      snprintf(name, sizeof name, "c%zu", i);
      sg_schema_add_column(s, name, cols[i], 1, err, sizeof err);
    }
    b = fuzz_keep_batch(sg_batch_new(s, 4));
    d = fuzz_keep(sg_decoder_avro_new(READER, strlen(READER), 1, err, sizeof err));
    if (!d) {
      fprintf(stderr, "%s\n", err);
      abort();
    }
    if (sg_decoder_avro_add_writer(d, 1, READER, strlen(READER), NULL, 0, err, sizeof err) != 0 ||
        sg_decoder_avro_add_writer(d, 2, WRITER2, strlen(WRITER2), NULL, 0, err, sizeof err) != 0 ||
        /* writer 3 lacks the last field: the defaults bridge appends it and
         * its encoding (an empty array) to each message */
        sg_decoder_avro_add_writer(d, 3, READER, strlen(READER), (const uint8_t *)"", 1, err, sizeof err) != 0) {
      fprintf(stderr, "%s\n", err);
      abort();
    }
  }
  fuzz_decode(d, b, data, size);
  return 0;
}
