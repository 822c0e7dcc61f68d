# koble — one Makefile, everything built into build/.
#
#   make            build libkoble.a, kobled, tests and benchmarks
#   make test       install missing packages, build, run every test, then
#                   all of them again under ASan+UBSan+LSan (make test-asan)
#   make run        install missing packages, build, start a private Redis and kobled with demo data
#   make bench      benchmarks, quick (a few minutes); make bench-full: 1M everywhere
#   make fuzz       libFuzzer targets (clang), FUZZ_TIME seconds each (60)
#   make format     clang-format every C file
#
# Sources are found by wildcard so adding a module needs no edit here:
# engine/*.c is libkoble except engine/kobled.c (the daemon's main);
# tests/test_*.c are unit tests, tests/it_*.c integration tests, each its own
# Criterion binary; bench/*.c with a main are benchmark programs.

CC      ?= cc
BUILD   ?= build
PKGS    := libuv jansson hiredis libxxhash libsodium
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
           -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
           -Iinclude -Iengine -MMD -MP
# Code for the building machine's CPU, where the compiler can tell what it
# is (`make run` builds where it serves): matching counts shared skills,
# slots and tags with __builtin_popcountll, which is otherwise a libgcc call
# (5% of the instructions of a batch assignment's candidate lists), and
# match.c's word loop works on 512 bits at a time, one or two vector
# instructions with AVX2 or AVX-512 (1.33x the queries/s of the loop on 64
# bits in central Copenhagen; 1.07x without them). Not in the sanitizer
# builds: the fake stack frames of AddressSanitizer's use-after-return
# checks (tests/run.sh turns them on) are not aligned for the 64-byte stack
# slots gcc gives AVX-512 values, and a store to one faults (the runtime
# was fixed in 2025, llvm-project PR 152819). Their code is plain x86-64.
ifeq ($(SANITIZE),)
NATIVE  := $(shell $(CC) -march=native -x c -c -o /dev/null /dev/null 2>/dev/null && \
             echo -march=native)
endif
CFLAGS  += $(NATIVE)
# SANITIZE=1 (what `make test-asan` passes, with BUILD=build/asan): ASan,
# UBSan and LeakSanitizer, every report fatal. UBSan's checks blur gcc's
# value ranges into false -Wformat-truncation warnings, hence that one off.
ifeq ($(SANITIZE),1)
CFLAGS  += -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
           -Wno-format-truncation
endif
# SANITIZE=fuzz (what `make fuzz` passes, with CC=clang-14 BUILD=build/fuzz):
# libFuzzer's coverage in every object, ASan and UBSan as above.
ifeq ($(SANITIZE),fuzz)
CFLAGS  += -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
           -fno-omit-frame-pointer
endif
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
LDLIBS  := $(PKG_LIBS) -lhttp_parser -lxxhash -lm

LIB_SRC   := $(filter-out engine/kobled.c,$(wildcard engine/*.c))
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC  := $(wildcard tests/test_*.c)
IT_SRC    := $(wildcard tests/it_*.c)
TEST_HELP := $(filter-out $(UNIT_SRC) $(IT_SRC),$(wildcard tests/*.c))
BENCH_SRC := $(wildcard bench/*.c)
BENCH_MAIN:= $(shell grep -l '^int main' $(BENCH_SRC) 2>/dev/null)
BENCH_HELP:= $(filter-out $(BENCH_MAIN),$(BENCH_SRC))

LIB     := $(BUILD)/libkoble.a
KOBLED  := $(BUILD)/kobled
UNITS   := $(UNIT_SRC:tests/%.c=$(BUILD)/tests/%)
ITS     := $(IT_SRC:tests/%.c=$(BUILD)/tests/%)
BENCHES := $(BENCH_MAIN:bench/%.c=$(BUILD)/bench/%)
FUZZ_SRC:= $(wildcard tests/fuzz/fuzz_*.c)
FUZZERS := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/%)
FUZZ_TIME ?= 60

.PHONY: all deps test unit it test-asan check fuzz fuzzers run bench bench-full format clean
all: $(LIB) $(KOBLED) $(UNITS) $(ITS) $(BENCHES)

deps:
	@./deploy/install-deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(KOBLED): $(BUILD)/engine/kobled.o $(LIB)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(TEST_HELP:%.c=$(BUILD)/%.o) $(LIB)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) -lcriterion

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(BENCH_HELP:%.c=$(BUILD)/%.o) $(LIB)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# Unit tests first (fast, no processes); integration tests start real
# kobled and redis-server processes of their own on free loopback ports.
test: deps
	@$(MAKE) --no-print-directory all
	@./tests/run.sh $(UNITS) $(ITS)
	@$(MAKE) --no-print-directory test-asan

# The whole suite once more under the sanitizers, built apart in build/asan;
# the integration tests start build/asan/kobled. tests/run.sh sets the
# sanitizer options and fails on any report, from a test or from kobled.
test-asan:
	@$(MAKE) --no-print-directory BUILD=build/asan SANITIZE=1 check

check: $(LIB) $(KOBLED) $(UNITS) $(ITS)
	@KOBLED=$(KOBLED) ./tests/run.sh $(UNITS) $(ITS)

# libFuzzer targets (tests/fuzz/), built with clang apart in build/fuzz, each
# run for FUZZ_TIME seconds on its corpus (tests/fuzz/corpus/<target>, new
# inputs go to build/fuzz/corpus/<target>), crashes to build/fuzz/crashes/<target>.
fuzz:
	@./deploy/install-deps.sh --fuzz
	@$(MAKE) --no-print-directory BUILD=build/fuzz CC=clang-14 SANITIZE=fuzz fuzzers
	@./tests/fuzz/run.sh $(FUZZ_TIME) $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)

fuzzers: $(FUZZERS)

$(BUILD)/fuzz_%: $(BUILD)/tests/fuzz/fuzz_%.o $(BUILD)/tests/fuzz/fuzz.o $(LIB)
	$(CC) $(CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

run: deps
	@$(MAKE) --no-print-directory all
	@./deploy/run-demo.sh

bench:
	@./deploy/install-deps.sh --bench
	@$(MAKE) --no-print-directory all
	@./bench/run.sh quick

bench-full:
	@./deploy/install-deps.sh --bench
	@$(MAKE) --no-print-directory all
	@./bench/run.sh full

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD)

# Keep object files between builds (make would delete them as intermediates).
.SECONDARY:

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
