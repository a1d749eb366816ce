# The Protobuf decoder's build rules, included by the Makefile.
#
# protobuf-c's C code for descriptor.proto (what a FileDescriptorSet is made
# of) is generated at build time with protoc-c from the copy libprotobuf-dev
# installs, so the repository holds no generated code.
PB_INCLUDE ?= /usr/include
PB_GEN     := $(BUILD)/gen
PB_DESC    := $(PB_GEN)/google/protobuf/descriptor.pb-c
CORE_OBJ   += $(BUILD)/obj/pbgen/descriptor.pb-c.o
PKG_LIBS   += $(shell pkg-config --libs libprotobuf-c 2>/dev/null || echo -lprotobuf-c)

$(PB_DESC).c: $(PB_INCLUDE)/google/protobuf/descriptor.proto
	@mkdir -p $(PB_GEN)
	protoc-c --c_out=$(PB_GEN) -I$(PB_INCLUDE) $<

$(PB_DESC).h: $(PB_DESC).c
	@test -f $@

# Generated code: compiled with the project's flags but not -Werror, since a
# newer protoc-c may emit constructs our warning set flags.
$(BUILD)/obj/pbgen/descriptor.pb-c.o: $(PB_DESC).c $(BUILD)/flags
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -Werror,$(ALL_CFLAGS)) -I$(PB_GEN) -c $< -o $@

$(BUILD)/obj/decode/protobuf_schema.o: $(PB_DESC).h
$(BUILD)/obj/decode/protobuf_schema.o: ALL_CFLAGS += -I$(PB_GEN)

# bench/decode_protobuf_bench.c: sinkgate's decoder against protobuf-c's
# generated unpacker (`make build/pb_bench && build/pb_bench`).
PB_BENCH_GEN := $(BUILD)/gen/bench

$(PB_BENCH_GEN)/row.pb-c.c: bench/protobuf/row.proto
	@mkdir -p $(PB_BENCH_GEN)
	protoc-c --c_out=$(PB_BENCH_GEN) -Ibench/protobuf row.proto

$(PB_BENCH_GEN)/row.fds: bench/protobuf/row.proto
	@mkdir -p $(PB_BENCH_GEN)
	protoc --descriptor_set_out=$@ -Ibench/protobuf row.proto

$(BUILD)/pb_bench: bench/decode_protobuf_bench.c $(PB_BENCH_GEN)/row.pb-c.c $(PB_BENCH_GEN)/row.fds $(CORE_OBJ)
	$(CC) $(ALL_CFLAGS) -I$(PB_BENCH_GEN) -DPB_BENCH_FDS='"$(abspath $(PB_BENCH_GEN)/row.fds)"' -o $@ \
	  bench/decode_protobuf_bench.c $(PB_BENCH_GEN)/row.pb-c.c $(CORE_OBJ) $(PKG_LIBS) -lm
