# The Protobuf decoder's fuzz target (its build rule is fuzz/decode.mk's):
#
#   make fuzz-protobuf                     build build/fuzz/decode_protobuf_fuzz
#   make fuzz-protobuf-run FUZZ_SECONDS=60 run it on a copy of the seeds
#
# Its schemas are the .proto files of spec/fixtures/protobuf, compiled into
# a descriptor set whose path the target is built with.
FUZZ_SECONDS ?= 60
FUZZ_PB      := $(FUZZ_DIR)/decode_protobuf_fuzz
FUZZ_PB_FDS  := $(FUZZ_DIR)/sgtest.fds

.PHONY: fuzz-protobuf fuzz-protobuf-run

fuzz-protobuf: $(FUZZ_PB)

$(FUZZ_PB_FDS): spec/fixtures/protobuf/sgtest.proto spec/fixtures/protobuf/sgtest2.proto
	@mkdir -p $(dir $@)
	protoc --include_imports --descriptor_set_out=$@ -Ispec/fixtures/protobuf sgtest.proto sgtest2.proto

$(FUZZ_PB): $(FUZZ_PB_FDS)
$(FUZZ_PB): FUZZ_CFLAGS += -DSG_FUZZ_FDS='"$(abspath $(FUZZ_PB_FDS))"'

fuzz-protobuf-run: $(FUZZ_PB)
	@mkdir -p $(FUZZ_DIR)/corpus-protobuf
	$(FUZZ_PB) -max_total_time=$(FUZZ_SECONDS) -timeout=5 -rss_limit_mb=1024 -artifact_prefix=$(FUZZ_DIR)/ \
	  $(FUZZ_DIR)/corpus-protobuf fuzz/seeds/protobuf
