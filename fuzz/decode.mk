# Decoder fuzz targets (issue 11), included by the Makefile. `make fuzz`
# builds them with libFuzzer + ASan + UBSan into build/fuzz/; run one with
#   build/fuzz/decode_avro_fuzz fuzz/seeds/decode_avro -max_total_time=300
# (copy the seeds to a scratch corpus first to keep the repo's seeds small).
DECODE_FUZZ_CC      ?= clang
DECODE_FUZZ_FLAGS   := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
DECODE_FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE $(WARN) -DSG_VERSION='"$(VERSION)"' -DSG_LUADIR='"$(LUADIR)"' -I$(LUA_INCDIR) $(PKG_CFLAGS)
DECODE_FUZZ  := decode_avro_fuzz decode_csv_fuzz decode_text_fuzz decode_json_fuzz decode_debezium_fuzz
# The core without the CLI, built with the fuzzer's sanitizers (no main()).
DECODE_FUZZ_CORE    := $(filter-out core/cli/main.c,$(wildcard core/*/*.c))

.PHONY: fuzz fuzz-decode
fuzz: fuzz-decode
fuzz-decode: $(addprefix $(BUILD)/fuzz/,$(DECODE_FUZZ))

# A static pattern rule: it applies to these targets only, not to other fuzz/ targets.
$(addprefix $(BUILD)/fuzz/,$(DECODE_FUZZ)): $(BUILD)/fuzz/%: fuzz/%.c fuzz/decode_fuzz.h $(DECODE_FUZZ_CORE) $(HEADERS) core/include/sinkgate_ffi.h
	@mkdir -p $(dir $@)
	$(DECODE_FUZZ_CC) $(DECODE_FUZZ_FLAGS) $(DECODE_FUZZ_CFLAGS) -o $@ $< $(DECODE_FUZZ_CORE) $(PKG_LIBS) -lm
