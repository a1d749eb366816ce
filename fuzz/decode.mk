# Decoder fuzz targets (issue 11), included at the end of the Makefile.
# `make fuzz-decode` builds them with libFuzzer + ASan + UBSan into
# build/fuzz/; `make fuzz` (scripts/fuzz.sh) runs each briefly. By hand:
#   build/fuzz/decode_avro_fuzz -max_total_time=3600 CORPUS fuzz/seeds/decode_avro
# (copy the seeds to a scratch corpus first to keep the repo's seeds small).
#
# Every target links the same instrumented core objects as config_fuzz
# (FUZZ_OBJ, compiled once with -fsanitize=fuzzer-no-link), so adding a
# target costs one small compile and a link, not a rebuild of the core.
DECODE_FUZZ  := decode_avro_fuzz decode_csv_fuzz decode_text_fuzz decode_json_fuzz decode_debezium_fuzz \
                decode_protobuf_fuzz
# protoc-c's descriptor code, which the Protobuf schema reader needs.
FUZZ_PB_OBJ  := $(FUZZ_DIR)/obj/pbgen/descriptor.pb-c.o

.PHONY: fuzz-decode
fuzz-decode: $(BUILD)/lua/sinkgate/cdef.lua $(addprefix $(FUZZ_DIR)/,$(DECODE_FUZZ))

# Generated code: the fuzz flags without -Werror (see core/decode/protobuf.mk).
$(FUZZ_PB_OBJ): $(PB_DESC).c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(filter-out -Werror,$(FUZZ_CFLAGS)) -fsanitize=fuzzer-no-link -I$(PB_GEN) -c $< -o $@

$(FUZZ_DIR)/obj/decode/protobuf_schema.o: $(PB_DESC).h
$(FUZZ_DIR)/obj/decode/protobuf_schema.o: FUZZ_CFLAGS += -I$(PB_GEN)
# config_fuzz links the whole core too (its rule is in the Makefile).
$(FUZZ_DIR)/config_fuzz: $(FUZZ_PB_OBJ)

$(FUZZ_DIR)/decode_%_fuzz: fuzz/decode_%_fuzz.c fuzz/decode_fuzz.h $(FUZZ_OBJ) $(FUZZ_PB_OBJ) $(HEADERS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJ) $(FUZZ_PB_OBJ) $(PKG_LIBS) -lm

# `make fuzz` builds and runs the decoder targets too (scripts/fuzz.sh).
fuzz-build: fuzz-decode
