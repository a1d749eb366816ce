# libFuzzer target for the Protobuf decoder (included by the Makefile).
#
#   make fuzz-protobuf                     build build/fuzz/decode_protobuf_fuzz
#   make fuzz-protobuf-run FUZZ_SECONDS=60 run it on a copy of the seeds
#
# The whole core is compiled with clang's fuzzer, address and undefined
# sanitizers in one step, so no object built with other flags is mixed in.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_PB      := $(BUILD)/fuzz/decode_protobuf_fuzz
FUZZ_PB_FDS  := $(BUILD)/fuzz/sgtest.fds

.PHONY: fuzz-protobuf fuzz-protobuf-run

fuzz-protobuf: $(FUZZ_PB)

$(FUZZ_PB_FDS): spec/fixtures/protobuf/sgtest.proto spec/fixtures/protobuf/sgtest2.proto
	@mkdir -p $(dir $@)
	protoc --include_imports --descriptor_set_out=$@ -Ispec/fixtures/protobuf sgtest.proto sgtest2.proto

$(FUZZ_PB): fuzz/decode_protobuf_fuzz.c $(CORE_SRC) $(HEADERS) $(PB_DESC).c $(FUZZ_PB_FDS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	  -DSG_VERSION='"$(VERSION)"' -DSG_LUADIR='"$(LUADIR)"' -DSG_FUZZ_FDS='"$(abspath $(FUZZ_PB_FDS))"' \
	  -I$(LUA_INCDIR) $(PKG_CFLAGS) -I$(PB_GEN) -o $@ fuzz/decode_protobuf_fuzz.c $(CORE_SRC) $(PB_DESC).c \
	  $(PKG_LIBS) -lm

fuzz-protobuf-run: $(FUZZ_PB)
	@mkdir -p $(BUILD)/fuzz/corpus-protobuf
	$(FUZZ_PB) -max_total_time=$(FUZZ_SECONDS) -timeout=5 -rss_limit_mb=1024 -artifact_prefix=$(BUILD)/fuzz/ \
	  $(BUILD)/fuzz/corpus-protobuf fuzz/seeds/protobuf
