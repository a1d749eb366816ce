# The decode micro-benchmark (issue 11), included by the Makefile:
#   make build/decode_bench && build/decode_bench [messages]
$(BUILD)/decode_bench: bench/decode_bench.c $(CORE_OBJ)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(PKG_LIBS) -lm

# make bench: the decoders' ns/message too (bench/decode.lua).
bench: $(BUILD)/decode_bench
