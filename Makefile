# ruvflow build. `make` builds everything into build/; see README.md.
#
# Layout is convention-driven so modules can be added without touching this
# file: lib/*.c -> build/lib/libruvflow.a, cmd/*.c -> build/bin/ruvflow,
# workers/<name>.c -> build/bin/ruvflow-<name>, tests/unit/test_*.c -> one
# cmocka binary each, tests/fuzz/fuzz_*.c -> libFuzzer targets (clang).

CC       ?= cc
PREFIX   ?= /usr/local
DESTDIR  ?=
BUILD    ?= build
SANITIZE ?= 0
NPROC    := $(shell nproc 2>/dev/null || echo 2)

PKGS     := libcurl hiredis msgpack libzstd yaml-0.1 libcrypto jansson zlib openblas
CFLAGS_PKG := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LIBS_PKG   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter \
           -Wshadow -Wformat=2 -Wstrict-prototypes -Ilib $(CFLAGS_PKG) -MMD -MP
LDLIBS  += $(LIBS_PKG) -lm -lpthread

ifeq ($(SANITIZE),1)
  BUILD   := build-san
  CFLAGS  += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer \
             -fno-sanitize-recover=undefined
  LDFLAGS += -fsanitize=address,undefined
endif

LIB_SRC   := $(wildcard lib/*.c)
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CMD_SRC   := $(wildcard cmd/*.c)
CMD_OBJ   := $(CMD_SRC:%.c=$(BUILD)/obj/%.o)
WORKERS   := preprocess train-stage tune-trial eval-fold checkpoint-compact
WRK_BIN   := $(WORKERS:%=$(BUILD)/bin/ruvflow-%)
TEST_SRC  := $(wildcard tests/unit/test_*.c)
TEST_BIN  := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)
LIBA      := $(BUILD)/lib/libruvflow.a
CLI       := $(BUILD)/bin/ruvflow

.PHONY: all test test-only demo bench install clean deps fuzz check-deps
all: check-deps $(LIBA) $(CLI) $(WRK_BIN) $(TEST_BIN)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIBA): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(CLI): $(CMD_OBJ) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(CMD_OBJ) $(LIBA) $(LDLIBS)

$(BUILD)/bin/ruvflow-%: $(BUILD)/obj/workers/%.o $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(LIBA) $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(LIBA) $(LDLIBS) -lcmocka

# Benchmark programs: tests/bench/<name>.c -> $(BUILD)/bench/<name>.
BENCH_SRC := $(wildcard tests/bench/*.c)
BENCH_BIN := $(BENCH_SRC:tests/bench/%.c=$(BUILD)/bench/%)
all: $(BENCH_BIN)
$(BUILD)/bench/%: $(BUILD)/obj/tests/bench/%.o $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(LIBA) $(LDLIBS)

# Fuzz targets need clang's libFuzzer; built on demand by tests/run.sh. The
# library is compiled once with coverage instrumentation for all targets.
FUZZ_BIN    := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_OBJ    := $(LIB_SRC:%.c=$(BUILD)/fuzzobj/%.o)
FUZZ_CFLAGS := -g -O1 -std=c11 -D_GNU_SOURCE -Ilib $(CFLAGS_PKG) -MMD -MP
fuzz: $(FUZZ_BIN)
$(BUILD)/fuzzobj/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined -c $< -o $@
$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_OBJ)
	@mkdir -p $(dir $@)
	clang $(filter-out -MMD -MP,$(FUZZ_CFLAGS)) -fsanitize=fuzzer,address,undefined \
	  -o $@ $< $(FUZZ_OBJ) $(LDLIBS)

deps:
	@bash infra/deps.sh

# A missing -dev package shows up here with its name, not as a link error.
check-deps:
	@pkg-config --exists $(PKGS) || { pkg-config --print-errors --exists $(PKGS); \
	  echo "missing build dependencies: run 'make deps' (infra/deps.sh)" >&2; exit 1; }

test: deps
	@$(MAKE) --no-print-directory -j$(NPROC) all
	@BUILD=$(BUILD) SANITIZE=$(SANITIZE) bash tests/run.sh

# The suite without the dependency check, for quick iterations.
test-only: all
	@BUILD=$(BUILD) SANITIZE=$(SANITIZE) bash tests/run.sh

# deps runs first and in its own make, because the pkg-config lookups above
# are evaluated when make starts, before deps.sh has installed anything.
demo: deps
	@$(MAKE) --no-print-directory -j$(NPROC) all
	@BUILD=$(BUILD) bash infra/demo.sh

bench: deps
	@$(MAKE) --no-print-directory -j$(NPROC) all
	@BUILD=$(BUILD) bash tests/bench/run.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib \
	  $(DESTDIR)$(PREFIX)/include/ruvflow $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(CLI) $(WRK_BIN) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(LIBA) $(DESTDIR)$(PREFIX)/lib/
	install -m 644 lib/*.h $(DESTDIR)$(PREFIX)/include/ruvflow/
	if [ -f docs/ruvflow.1 ]; then install -m 644 docs/ruvflow.1 \
	  $(DESTDIR)$(PREFIX)/share/man/man1/; fi

clean:
	rm -rf build build-san

-include $(shell find $(BUILD)/obj $(BUILD)/fuzzobj -name '*.d' 2>/dev/null)
