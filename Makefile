# sinkgate — build, test and install.
#
# LuaRocks conventions: PREFIX, DESTDIR, BINDIR, LIBDIR, LUADIR, LUA_INCDIR,
# LIBFLAG and CFLAGS can all be overridden (the rockspec passes them).
#
#   make            build build/sinkgate and build/sinkgate_core.so
#   make run        install missing Debian packages, build, run the quickstart
#   make test       install missing Debian packages, build, run every test
#   make asan       build with AddressSanitizer + UBSan into build/asan
#   make lint       luacheck over lua/, spec/, examples/, plugins/
#   make fuzz       libFuzzer (clang): the YAML parser and the config path, FUZZ_SECONDS (30) in all,
#                   then each decoder (fuzz/decode.mk) 15 s
#   make install / uninstall

VERSION    := 0.1.0
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib/lua/5.1
LUADIR     ?= $(PREFIX)/share/lua/5.1
LUA_INCDIR ?= $(shell pkg-config --variable=includedir luajit 2>/dev/null)
LIBFLAG    ?= -shared
DESTDIR    ?=
BUILD      ?= build
SANITIZE   ?=

PKGS       := luajit rdkafka avro-c libcurl yaml-0.1 zlib libmicrohttpd
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# libcsv (the CSV source format) ships no pkg-config file.
PKG_LIBS   += -lcsv
# LMDB (views' state on disk, core/state/store.c): linked by name, as libcsv.
PKG_LIBS   += -llmdb

# The binary's allocator: tcmalloc (Debian's libtcmalloc-minimal4, no -dev
# package needed). librdkafka frees on its own threads what the main thread
# allocated and the other way round; glibc malloc serializes that on its
# arena locks, which cost a Kafka→Kafka pipeline about a third of its wall
# time here (docs/performance.md). Empty = the C library's malloc, which is
# also what a build without the package gets (`make deps` installs it);
# never under the sanitizers, which bring their own.
TCMALLOC   := $(shell $(CC) -print-file-name=libtcmalloc_minimal.so.4 2>/dev/null)
ALLOCATOR  ?= $(if $(filter /%,$(TCMALLOC)),-l:libtcmalloc_minimal.so.4)

CFLAGS     ?= -O2 -g
WARN       := -Wall -Wextra -Werror -Wno-unused-parameter
comma      := ,
SAN_FLAGS  := $(if $(SANITIZE),-fsanitize=address$(comma)undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE -fPIC $(WARN) $(CFLAGS) $(SAN_FLAGS) \
              -DSG_VERSION='"$(VERSION)"' -DSG_LUADIR='"$(LUADIR)"' -I$(LUA_INCDIR) $(PKG_CFLAGS)

CORE_SRC   := $(filter-out core/cli/main.c,$(wildcard core/*/*.c))
CORE_OBJ   := $(patsubst core/%.c,$(BUILD)/obj/%.o,$(CORE_SRC))
HEADERS    := $(wildcard core/*/*.h)
LUA_SRC    := $(shell find lua -name '*.lua')

.PHONY: all deps run test asan lint install uninstall clean bench fuzz fuzz-build FORCE

all: $(BUILD)/sinkgate $(BUILD)/sinkgate_core.so $(BUILD)/lua/sinkgate/cdef.lua $(BUILD)/test_core

# Per-component build rules (generated code, extra libraries).
include core/decode/protobuf.mk

# Objects depend on the flags they were built with, so a changed CFLAGS or
# LUADIR (LuaRocks passes its own) rebuilds them.
$(BUILD)/flags: FORCE
	@mkdir -p $(BUILD)
	@echo '$(CC) $(ALL_CFLAGS)' | cmp -s - $@ || echo '$(CC) $(ALL_CFLAGS)' > $@

$(BUILD)/obj/%.o: core/%.c $(HEADERS) $(BUILD)/flags
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# The binary exports the core's symbols so Lua's ffi.C finds them.
$(BUILD)/sinkgate: $(BUILD)/obj/cli/main.o $(CORE_OBJ)
	$(CC) $(SAN_FLAGS) -Wl,-E -o $@ $^ $(PKG_LIBS) -lm $(if $(SANITIZE),,$(ALLOCATOR))

# The same core as a shared object, for plain LuaJIT (busted, LuaRocks).
$(BUILD)/sinkgate_core.so: $(CORE_OBJ)
	$(CC) $(SAN_FLAGS) $(LIBFLAG) -o $@ $^ $(PKG_LIBS) -lm

# C-level tests (spec/c), linked against the same core objects.
$(BUILD)/test_core: spec/c/test_core.c $(CORE_OBJ)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(PKG_LIBS) -lm

# ffi.cdef text generated from the one FFI header.
$(BUILD)/lua/sinkgate/cdef.lua: core/include/sinkgate_ffi.h $(wildcard core/include/ffi_*.h) tools/gen-cdef.sh
	@mkdir -p $(dir $@)
	sh tools/gen-cdef.sh $< > $@

deps:
	@sh scripts/deps.sh

run: deps
	@$(MAKE) --no-print-directory all
	@sh scripts/quickstart.sh

test: deps
	@$(MAKE) --no-print-directory all
	@sh scripts/test.sh

asan:
	@$(MAKE) --no-print-directory BUILD=build/asan SANITIZE=1 CFLAGS='-O1 -g' all

lint:
	luacheck --quiet lua spec examples plugins bench tools fuzz

# Benchmarks build with -O2 (no sanitizers) and print figures; they never fail on speed.
$(BUILD)/encode_bench: bench/encode_bench.c $(CORE_OBJ)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(PKG_LIBS) -lm

$(BUILD)/baseline: bench/baseline.c $(CORE_OBJ)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(PKG_LIBS) -lm

# The Kafka→Kafka pipelines' raw baseline and input seeder (bench/pipeline.lua).
$(BUILD)/pipeline_baseline: bench/pipeline_baseline.c $(CORE_OBJ)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(PKG_LIBS) -lm

bench:
	@sh scripts/deps.sh bench
	@$(MAKE) --no-print-directory all $(BUILD)/encode_bench $(BUILD)/decode_bench $(BUILD)/baseline \
	  $(BUILD)/pipeline_baseline
	@luajit bench/run.lua

# Fuzz targets (fuzz/): clang's libFuzzer with ASan + UBSan. The core is
# rebuilt instrumented into build/fuzz so coverage guides the fuzzer.
FUZZ_DIR     := build/fuzz
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 30
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE -fPIC $(WARN) -g -O1 $(FUZZ_SAN) -DSG_VERSION='"$(VERSION)"' \
                -DSG_LUADIR='"$(LUADIR)"' -I$(LUA_INCDIR) $(PKG_CFLAGS)
FUZZ_OBJ     := $(patsubst core/%.c,$(FUZZ_DIR)/obj/%.o,$(CORE_SRC))

$(FUZZ_DIR)/obj/%.o: core/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_DIR)/yaml_fuzz: fuzz/yaml_fuzz.c $(FUZZ_DIR)/obj/config/yaml.o $(FUZZ_DIR)/obj/util/util.o
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS)

# Exports the core's symbols (-Wl,-E) so the loader's ffi.C finds them.
$(FUZZ_DIR)/config_fuzz: fuzz/config_fuzz.c $(FUZZ_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -Wl,-E -o $@ $^ $(PKG_LIBS) -lm

fuzz-build: $(BUILD)/lua/sinkgate/cdef.lua $(FUZZ_DIR)/yaml_fuzz $(FUZZ_DIR)/config_fuzz

fuzz:
	@$(MAKE) --no-print-directory fuzz-build
	@sh scripts/fuzz.sh $(FUZZ_SECONDS)

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(LUADIR)/sinkgate
	install -m 0755 $(BUILD)/sinkgate $(DESTDIR)$(BINDIR)/sinkgate
	install -m 0755 $(BUILD)/sinkgate_core.so $(DESTDIR)$(LIBDIR)/sinkgate_core.so
	cd lua && find . -name '*.lua' -exec install -D -m 0644 {} $(DESTDIR)$(LUADIR)/{} \;
	install -m 0644 $(BUILD)/lua/sinkgate/cdef.lua $(DESTDIR)$(LUADIR)/sinkgate/cdef.lua

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/sinkgate $(DESTDIR)$(LIBDIR)/sinkgate_core.so
	rm -rf $(DESTDIR)$(LUADIR)/sinkgate
	rm -f $(DESTDIR)$(LUADIR)/sinkgate.lua

clean:
	rm -rf build

# Decoder fuzz targets: `make fuzz` (rules in their own file to keep merges apart).
-include fuzz/decode.mk
-include bench/decode.mk
# Fuzz targets, one included makefile per decoder.
-include fuzz/protobuf.mk
