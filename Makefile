# heapprof - the only build file.
#
# Knobs (set on the command line: make DEBUG=1):
#   DEBUG=1            -O0 and assert() enabled (default: -O2, NDEBUG)
#   SANITIZE=address   build the analyzer and unit tests with a sanitizer
#                      (address or undefined; never applied to the preload)
#   JEMALLOC=1         link libheapprof.so against jemalloc, so it profiles
#                      jemalloc instead of glibc's malloc
#   WERROR=1           turn warnings into errors (CI sets it)
#   V=1                echo full commands
#   PREFIX=/usr/local  install prefix;  DESTDIR=  staging root
#   BUILD=build        output directory
#   CFLAGS, LDFLAGS    yours; the project's own flags are in HP_CFLAGS
#
# Run `make help` for the targets.

DEBUG ?=
SANITIZE ?=
JEMALLOC ?=
WERROR ?=
V ?=
PREFIX ?= /usr/local
DESTDIR ?=
BUILD ?= build
CC ?= cc
CXX ?= c++
CFLAGS ?=
LDFLAGS ?=
FUZZ_CC ?= clang

B := $(BUILD)
Q := $(if $(V),,@)

ifeq ($(DEBUG),1)
HP_OPT := -O0 -g
else
HP_OPT := -O2 -g -DNDEBUG
endif
HP_WARN := -Wall -Wextra $(if $(WERROR),-Werror)
HP_CFLAGS := -std=gnu11 $(HP_OPT) $(HP_WARN) -Iinclude -MMD -MP -D_GNU_SOURCE
HP_CXXFLAGS := -std=gnu++17 $(HP_OPT) $(HP_WARN) -Iinclude -MMD -MP
HP_SAN := $(if $(SANITIZE),-fsanitize=$(SANITIZE) -fno-omit-frame-pointer)
HP_VERSION := $(shell cat VERSION 2>/dev/null || echo 0.1.0)

# Libraries, found by pkg-config (deferred: `make deps` may install them first).
PRELOAD_LIBS = $(shell pkg-config --libs libunwind libzstd 2>/dev/null || echo -lunwind -lzstd) \
               $(if $(JEMALLOC),-ljemalloc) -ldl -lpthread
ANALYZER_LIBS = $(shell pkg-config --libs libdw libzstd zlib libprotobuf-c 2>/dev/null || \
                  echo -ldw -lelf -lzstd -lz -lprotobuf-c) -lstdc++ -lm
CMOCKA_LIBS = $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka)

# ---- sources ----
PRELOAD_SRCS := $(wildcard preload/*.c)
PRELOAD_OBJS := $(PRELOAD_SRCS:%.c=$(B)/obj/%.o)
# Everything but the exported hooks, for unit tests (hooks.o would
# interpose the test binary's own malloc).
PRELOAD_CORE_OBJS := $(filter-out $(B)/obj/preload/hooks.o,$(PRELOAD_OBJS))
ANALYZER_SRCS := $(wildcard analyzer/*.c)
# pprof.c's protobuf-c code, generated from analyzer/profile.proto (protoc-c).
GEN_PB_C := $(B)/gen/profile.pb-c.c
GEN_PB_H := $(B)/gen/profile.pb-c.h
ANALYZER_OBJS := $(ANALYZER_SRCS:%.c=$(B)/obj/%.o) $(B)/obj/gen/profile.pb-c.o
ANALYZER_LIB_OBJS := $(filter-out $(B)/obj/analyzer/main.o,$(ANALYZER_OBJS))
SUPPORT_SRCS := $(wildcard tests/support/*.c)
SUPPORT_OBJS := $(SUPPORT_SRCS:%.c=$(B)/obj/%.o)

# Preload modules, header-only ones (countdown.h) included: their unit
# tests build with -Ipreload.
PRELOAD_MODS := $(sort $(basename $(notdir $(PRELOAD_SRCS) $(wildcard preload/*.h))))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_PRELOAD_SRCS := $(filter $(PRELOAD_MODS:%=tests/unit/test_%.c),$(UNIT_SRCS))
UNIT_ANALYZER_SRCS := $(filter-out $(UNIT_PRELOAD_SRCS),$(UNIT_SRCS))
UNIT_PRELOAD_BINS := $(UNIT_PRELOAD_SRCS:tests/unit/%.c=$(B)/tests/unit/%)
UNIT_ANALYZER_BINS := $(UNIT_ANALYZER_SRCS:tests/unit/%.c=$(B)/tests/unit/%)

# Integration programs: <name>.c / <name>.cpp -> executable; lib<name>.c -> .so
INTEG_LIB_SRCS := $(wildcard tests/integration/lib*.c)
INTEG_C_SRCS := $(filter-out $(INTEG_LIB_SRCS),$(wildcard tests/integration/*.c))
INTEG_CXX_SRCS := $(wildcard tests/integration/*.cpp)
INTEG_BINS := $(INTEG_C_SRCS:tests/integration/%.c=$(B)/tests/integration/%) \
              $(INTEG_CXX_SRCS:tests/integration/%.cpp=$(B)/tests/integration/%) \
              $(INTEG_LIB_SRCS:tests/integration/%.c=$(B)/tests/integration/%.so)

EXAMPLE_C_SRCS := $(wildcard examples/*.c)
EXAMPLE_CXX_SRCS := $(wildcard examples/*.cpp)
EXAMPLE_BINS := $(EXAMPLE_C_SRCS:examples/%.c=$(B)/examples/%) \
                $(EXAMPLE_CXX_SRCS:examples/%.cpp=$(B)/examples/%)

BENCH_SRCS := $(filter-out bench/refwrap.c,$(wildcard bench/*.c))
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(B)/bench/%) $(B)/bench/librefwrap.so

FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(B)/fuzz/%)

LAUNCHER_SRCS := $(wildcard launcher/*.c)

TEST_PROGS := $(UNIT_PRELOAD_BINS) $(UNIT_ANALYZER_BINS) $(INTEG_BINS) $(EXAMPLE_BINS) \
              $(if $(shell command -v $(FUZZ_CC)),$(FUZZ_BINS))

.PHONY: all preload analyzer launcher test check fuzz examples bench demo deps deps-test \
        install uninstall clean help
.DEFAULT_GOAL := all

## all: build libheapprof.so, heapanalyze and the heapprof launcher
all: preload analyzer launcher

## preload: build $(BUILD)/libheapprof.so
preload: $(B)/libheapprof.so
## analyzer: build $(BUILD)/heapanalyze
analyzer: $(B)/heapanalyze
## launcher: build $(BUILD)/heapprof
launcher: $(B)/heapprof
## examples: build the example programs
examples: $(EXAMPLE_BINS)

## deps: install the Debian packages the build needs, when missing (apt-get)
deps:
	$(Q)sh scripts/install-deps.sh
## deps-test: install what the tests also need (valgrind, clang, chromium, ...)
deps-test:
	$(Q)sh scripts/install-deps.sh --test

## test: install missing packages, build everything, run every test; ends with "N passed, N failed"
test: deps-test
	$(Q)$(MAKE) -s --no-print-directory all $(TEST_PROGS)
	$(Q)HP_BUILD=$(abspath $(B)) sh tests/run.sh
## check: same as test
check: test

## fuzz: build the trace-reader fuzz target with clang and run it for FUZZ_SECONDS (default 60)
fuzz: $(FUZZ_BINS)
	$(Q)mkdir -p $(B)/fuzz/corpus
	$(Q)for f in $(FUZZ_BINS); do $$f -max_total_time=$${FUZZ_SECONDS:-60} $(B)/fuzz/corpus tests/fuzz/corpus || exit 1; done

## bench: overhead benchmarks (profiled vs unprofiled vs heaptrack); see bench/README.md
bench: deps-test
	$(Q)$(MAKE) -s --no-print-directory all $(BENCH_BINS)
	$(Q)HP_BUILD=$(abspath $(B)) sh bench/run.sh

## demo: install what is missing, build, profile an example and report on it
demo: deps
	$(Q)$(MAKE) --no-print-directory all examples
	$(Q)HP_BUILD=$(abspath $(B)) sh scripts/demo.sh

## install: install the library, tools, header and man pages under $(DESTDIR)$(PREFIX)
install: all
	install -d $(DESTDIR)$(PREFIX)/lib/heapprof $(DESTDIR)$(PREFIX)/bin \
	    $(DESTDIR)$(PREFIX)/include/heapprof $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0755 $(B)/libheapprof.so $(DESTDIR)$(PREFIX)/lib/heapprof/libheapprof.so
	install -m 0755 $(B)/heapanalyze $(B)/heapprof $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 include/heapprof/heapprof.h include/heapprof/error.h \
	    include/heapprof/trace_format.h $(DESTDIR)$(PREFIX)/include/heapprof/
	for m in docs/*.1; do [ -f "$$m" ] && install -m 0644 "$$m" $(DESTDIR)$(PREFIX)/share/man/man1/ || true; done

## uninstall: remove what install put in place
uninstall:
	rm -rf $(DESTDIR)$(PREFIX)/lib/heapprof $(DESTDIR)$(PREFIX)/include/heapprof
	rm -f $(DESTDIR)$(PREFIX)/bin/heapanalyze $(DESTDIR)$(PREFIX)/bin/heapprof
	rm -f $(DESTDIR)$(PREFIX)/share/man/man1/heapanalyze.1 $(DESTDIR)$(PREFIX)/share/man/man1/heapprof.1

## clean: remove $(BUILD)
clean:
	rm -rf $(B)

## help: list the targets
help:
	@sed -n 's/^## //p' $(MAKEFILE_LIST)

# ---- flags stamp: a changed knob rebuilds everything ----
HP_STAMP_TEXT := $(CC) $(CXX) $(HP_CFLAGS) $(CFLAGS) $(LDFLAGS) $(SANITIZE) $(JEMALLOC) $(HP_VERSION)
$(B)/.flags: FORCE
	@mkdir -p $(B)
	@echo '$(HP_STAMP_TEXT)' | cmp -s - $@ || echo '$(HP_STAMP_TEXT)' > $@
FORCE:

# ---- rules ----
$(B)/obj/preload/%.o: preload/%.c $(B)/.flags
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(HP_CFLAGS) -fPIC -fvisibility=hidden -ftls-model=initial-exec \
	    $(if $(JEMALLOC),-DHP_JEMALLOC=1) $(CFLAGS) -c $< -o $@

$(B)/libheapprof.so: $(PRELOAD_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -shared -Wl,-z,now -Wl,-soname,libheapprof.so $(LDFLAGS) -o $@ $^ $(PRELOAD_LIBS)

$(B)/obj/analyzer/%.o: analyzer/%.c $(B)/.flags
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(HP_CFLAGS) $(HP_SAN) -I$(B)/gen -DHP_VERSION='"$(HP_VERSION)"' $(CFLAGS) -c $< -o $@

$(GEN_PB_H): $(GEN_PB_C)
$(GEN_PB_C): analyzer/profile.proto
	@mkdir -p $(@D)
	@$(if $(Q),echo "  PROTOC  $<")
	$(Q)protoc-c --c_out=$(@D) --proto_path=analyzer analyzer/profile.proto
$(B)/obj/gen/profile.pb-c.o: $(GEN_PB_C) $(B)/.flags
	@mkdir -p $(@D)
	$(Q)$(CC) $(HP_CFLAGS) $(HP_SAN) -I$(B)/gen $(CFLAGS) -c $< -o $@
$(B)/obj/analyzer/pprof.o: $(GEN_PB_H)

$(B)/heapanalyze: $(ANALYZER_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(HP_SAN) $(LDFLAGS) -o $@ $^ $(ANALYZER_LIBS)

$(B)/heapprof: $(LAUNCHER_SRCS) $(B)/.flags
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(HP_CFLAGS) -DHP_VERSION='"$(HP_VERSION)"' \
	    -DHP_LIBDIR='"$(PREFIX)/lib/heapprof"' -DHP_BINDIR='"$(PREFIX)/bin"' \
	    $(CFLAGS) $(LDFLAGS) -o $@ $(LAUNCHER_SRCS)

$(B)/obj/tests/support/%.o: tests/support/%.c $(B)/.flags
	@mkdir -p $(@D)
	$(Q)$(CC) $(HP_CFLAGS) $(HP_SAN) -Ianalyzer $(CFLAGS) -c $< -o $@

$(UNIT_PRELOAD_BINS): $(B)/tests/unit/%: tests/unit/%.c $(PRELOAD_CORE_OBJS) $(B)/.flags
	@mkdir -p $(@D)
	@$(if $(Q),echo "  TEST    $@")
	$(Q)$(CC) $(HP_CFLAGS) -Ipreload $(CFLAGS) $(LDFLAGS) -o $@ $< $(PRELOAD_CORE_OBJS) \
	    $(PRELOAD_LIBS) $(CMOCKA_LIBS) -lm

$(UNIT_ANALYZER_BINS): $(B)/tests/unit/%: tests/unit/%.c $(ANALYZER_LIB_OBJS) $(SUPPORT_OBJS) $(B)/.flags
	@mkdir -p $(@D)
	@$(if $(Q),echo "  TEST    $@")
	$(Q)$(CC) $(HP_CFLAGS) $(HP_SAN) -Ianalyzer -Itests/support -I$(B)/gen $(CFLAGS) $(LDFLAGS) -o $@ $< \
	    $(ANALYZER_LIB_OBJS) $(SUPPORT_OBJS) $(ANALYZER_LIBS) $(CMOCKA_LIBS)

# Test and example programs: -O1 keeps call sites real, -g for symbols.
HP_PROG_FLAGS := -std=gnu11 -O1 -g -fno-omit-frame-pointer -fno-inline-functions-called-once \
                 $(HP_WARN) -Iinclude -D_GNU_SOURCE -pthread
$(B)/tests/integration/lib%.so: tests/integration/lib%.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(HP_PROG_FLAGS) -fPIC -shared $(CFLAGS) -o $@ $<
$(B)/tests/integration/%: tests/integration/%.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(HP_PROG_FLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< -ldl -lm
$(B)/tests/integration/%: tests/integration/%.cpp
	@mkdir -p $(@D)
	$(Q)$(CXX) $(filter-out -std=gnu11,$(HP_PROG_FLAGS)) -std=gnu++17 $(CFLAGS) $(LDFLAGS) -o $@ $< -ldl
$(B)/examples/%: examples/%.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(HP_PROG_FLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< -ldl -lm
$(B)/examples/%: examples/%.cpp
	@mkdir -p $(@D)
	$(Q)$(CXX) $(filter-out -std=gnu11,$(HP_PROG_FLAGS)) -std=gnu++17 $(CFLAGS) $(LDFLAGS) -o $@ $<
$(B)/bench/librefwrap.so: bench/refwrap.c
	@mkdir -p $(@D)
	$(Q)$(CC) -std=gnu11 -O2 -g $(HP_WARN) -D_GNU_SOURCE -fPIC -shared -fvisibility=hidden \
		$(CFLAGS) $(LDFLAGS) -o $@ $< -ldl
$(B)/bench/%: bench/%.c
	@mkdir -p $(@D)
	$(Q)$(CC) -std=gnu11 -O2 -g $(HP_WARN) -D_GNU_SOURCE -pthread $(CFLAGS) $(LDFLAGS) -o $@ $< -lm

# The fuzz target compiles the analyzer's sources itself, with clang's libFuzzer.
$(B)/fuzz/%: tests/fuzz/%.c $(filter-out analyzer/main.c,$(ANALYZER_SRCS)) $(GEN_PB_C) $(GEN_PB_H) $(B)/.flags
	@mkdir -p $(@D)
	$(Q)$(FUZZ_CC) -std=gnu11 -O1 -g -D_GNU_SOURCE -Iinclude -Ianalyzer -I$(B)/gen \
	    -fsanitize=fuzzer,address,undefined -o $@ $< $(filter-out analyzer/main.c,$(ANALYZER_SRCS)) \
	    $(GEN_PB_C) $(ANALYZER_LIBS)

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
