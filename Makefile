# ruvflow build. `make` builds everything into build/; see README.md.
#
# Layout is convention-driven so modules can be added without touching this
# file: lib/<layer>/*.c -> build/lib/libruvflow.a, cmd/*.c -> build/bin/ruvflow,
# workers/<name>.c -> build/bin/ruvflow-<name>, tests/unit/<layer>/test_*.c ->
# one cmocka binary each, tests/fuzz/fuzz_*.c -> libFuzzer targets (clang).
# lib/<layer>/*.lua are embedded as C strings (infra/build/embed_lua.sh).
# `make check-layers` (part of `make test`) refuses an include that goes up
# a layer; the layers are listed in infra/build/check_layers.sh.

CC       ?= cc
PREFIX   ?= /usr/local
DESTDIR  ?=
SYSCONFDIR ?= /etc
# systemd looks in /usr/local/lib/systemd/system too; distributions set
# UNITDIR=/usr/lib/systemd/system with PREFIX=/usr.
UNITDIR  ?= $(PREFIX)/lib/systemd/system
UNITS    := $(patsubst infra/systemd/%.in,%,$(wildcard infra/systemd/*.service.in))
BUILD    ?= build
SANITIZE ?= 0
NPROC    := $(shell nproc 2>/dev/null || echo 2)

PKGS     := libcurl hiredis msgpack libzstd yaml-0.1 libcrypto jansson zlib openblas \
            libmicrohttpd
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

LAYERS    := base store engine ml handlers
LIB_SRC   := $(foreach l,$(LAYERS),$(wildcard lib/$(l)/*.c))
LUA_SRC   := $(foreach l,$(LAYERS),$(wildcard lib/$(l)/*.lua))
LUA_GEN   := $(LUA_SRC:lib/%.lua=$(BUILD)/gen/%.lua.c)
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(LUA_GEN:%.c=%.o)
CMD_SRC   := $(wildcard cmd/*.c)
CMD_OBJ   := $(CMD_SRC:%.c=$(BUILD)/obj/%.o)
WORKERS   := preprocess train-stage tune-trial eval-fold checkpoint-compact
WRK_BIN   := $(WORKERS:%=$(BUILD)/bin/ruvflow-%)
TEST_SRC  := $(foreach l,$(LAYERS),$(wildcard tests/unit/$(l)/test_*.c))
TEST_BIN  := $(addprefix $(BUILD)/tests/,$(notdir $(TEST_SRC:.c=)))
FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)
LIBA      := $(BUILD)/lib/libruvflow.a
CLI       := $(BUILD)/bin/ruvflow

.PHONY: all test test-only demo bench install clean deps fuzz fuzz-build chaos check-deps check-layers
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

# Each Lua script becomes a C string named rf_lua_<file> (see the script).
$(BUILD)/gen/%.lua.c: lib/%.lua $(LUA_SRC) infra/build/embed_lua.sh
	@mkdir -p $(dir $@)
	sh infra/build/embed_lua.sh $< $@
$(BUILD)/gen/%.lua.o: $(BUILD)/gen/%.lua.c
	$(CC) $(CFLAGS) -c $< -o $@

# Test binaries are named after their file alone: build/tests/test_<name>.
$(BUILD)/obj/tests/unit/%.o: CFLAGS += -Itests/unit
define test_rule
$(BUILD)/tests/$(notdir $(1:.c=)): $(BUILD)/obj/$(1:.c=.o) $(LIBA)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$< $$(LIBA) $$(LDLIBS) -lcmocka
endef
$(foreach t,$(TEST_SRC),$(eval $(call test_rule,$(t))))

# Benchmark programs: tests/bench/<name>.c -> $(BUILD)/bench/<name>.
BENCH_SRC := $(wildcard tests/bench/*.c)
BENCH_BIN := $(BENCH_SRC:tests/bench/%.c=$(BUILD)/bench/%)
all: $(BENCH_BIN)
$(BUILD)/bench/%: $(BUILD)/obj/tests/bench/%.o $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(LIBA) $(LDLIBS)

# Client programs the integration scripts drive (not tests on their own):
# tests/integration/<name>.c -> $(BUILD)/itest/<name>.
ITEST_SRC := $(wildcard tests/integration/*.c)
ITEST_BIN := $(ITEST_SRC:tests/integration/%.c=$(BUILD)/itest/%)
all: $(ITEST_BIN)
$(BUILD)/itest/%: $(BUILD)/obj/tests/integration/%.o $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(LIBA) $(LDLIBS)

# Fuzz targets need clang's libFuzzer; built on demand by tests/run.sh. The
# library is compiled once with coverage instrumentation for all targets.
# `make fuzz` builds them; `make fuzz FUZZ_SECONDS=N` also runs each for N
# seconds (tests/fuzz/run.sh: corpus kept in $(BUILD)/fuzz-corpus, one line
# per target with executions and coverage; FUZZ_FILTER=SUB for a subset).
FUZZ_BIN    := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_OBJ    := $(LIB_SRC:%.c=$(BUILD)/fuzzobj/%.o) $(LUA_GEN:$(BUILD)/gen/%.c=$(BUILD)/fuzzobj/gen/%.o)
FUZZ_CFLAGS := -g -O1 -std=c11 -D_GNU_SOURCE -Ilib $(CFLAGS_PKG) -MMD -MP
fuzz-build: $(FUZZ_BIN)
# The instrumented objects are kept (make would delete them as intermediates
# and rebuild the whole library for the next `make fuzz`).
.SECONDARY: $(FUZZ_OBJ)
fuzz: fuzz-build
ifneq ($(FUZZ_SECONDS),)
	@BUILD=$(BUILD) RF_FUZZ_SECONDS=$(FUZZ_SECONDS) RF_FUZZ_FILTER=$(FUZZ_FILTER) \
	  bash tests/fuzz/run.sh
endif
$(BUILD)/fuzzobj/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined -c $< -o $@
$(BUILD)/fuzzobj/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined -c $< -o $@
$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_OBJ)
	@mkdir -p $(dir $@)
	clang $(filter-out -MMD -MP,$(FUZZ_CFLAGS)) -fsanitize=fuzzer,address,undefined \
	  -o $@ $< $(FUZZ_OBJ) $(LDLIBS)

# The chaos harness (tests/chaos/chaos.sh, docs/reliability.md): the
# 2,000-task run, fault-free then with every fault at once, once per Redis
# fsync setting. CHAOS_TASKS, CHAOS_FSYNC and CHAOS_BACKEND (s3 or file)
# override; make test runs a 200-task form (tests/integration/chaos_short.sh).
CHAOS_TASKS ?= 2000
CHAOS_FSYNC ?= everysec always
CHAOS_BACKEND ?= s3
chaos: all
	@for f in $(CHAOS_FSYNC); do \
	  echo "== chaos: $(CHAOS_TASKS) tasks, appendfsync $$f"; \
	  RF_BIN=$(CURDIR)/$(BUILD)/bin RF_CHAOS_TASKS=$(CHAOS_TASKS) RF_CHAOS_FSYNC=$$f \
	    RF_CHAOS_BACKEND=$(CHAOS_BACKEND) \
	    bash tests/chaos/chaos.sh || exit 1; \
	done

deps:
	@bash infra/deps.sh

# A missing -dev package shows up here with its name, not as a link error.
check-deps:
	@pkg-config --exists $(PKGS) || { pkg-config --print-errors --exists $(PKGS); \
	  echo "missing build dependencies: run 'make deps' (infra/deps.sh)" >&2; exit 1; }

# A module may include only its own layer and those below (infra/build/check_layers.sh).
check-layers:
	@sh infra/build/check_layers.sh

test: deps check-layers
	@$(MAKE) --no-print-directory -j$(NPROC) all
	@BUILD=$(BUILD) SANITIZE=$(SANITIZE) bash tests/run.sh

# The suite without the dependency check, for quick iterations.
test-only: check-layers all
	@BUILD=$(BUILD) SANITIZE=$(SANITIZE) bash tests/run.sh

# deps runs first and in its own make, because the pkg-config lookups above
# are evaluated when make starts, before deps.sh has installed anything.
demo: deps
	@$(MAKE) --no-print-directory -j$(NPROC) all
	@BUILD=$(BUILD) bash infra/demo.sh

bench: deps
	@$(MAKE) --no-print-directory -j$(NPROC) all
	@BUILD=$(BUILD) bash tests/bench/run.sh

# DESTDIR is honoured everywhere; the units name $(PREFIX)/bin and
# $(SYSCONFDIR)/ruvflow/ruvflow.env (an example lands in the doc folder).
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib \
	  $(foreach l,$(LAYERS),$(DESTDIR)$(PREFIX)/include/ruvflow/$(l)) \
	  $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(UNITDIR) \
	  $(DESTDIR)$(PREFIX)/share/doc/ruvflow
	install -m 755 $(CLI) $(WRK_BIN) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(LIBA) $(DESTDIR)$(PREFIX)/lib/
	for l in $(LAYERS); do install -m 644 lib/$$l/*.h \
	  $(DESTDIR)$(PREFIX)/include/ruvflow/$$l/; done
	if [ -f docs/ruvflow.1 ]; then install -m 644 docs/ruvflow.1 \
	  $(DESTDIR)$(PREFIX)/share/man/man1/; fi
	for u in $(UNITS); do sed -e 's|@BINDIR@|$(PREFIX)/bin|g' \
	  -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' infra/systemd/$$u.in \
	  >$(DESTDIR)$(UNITDIR)/$$u && chmod 644 $(DESTDIR)$(UNITDIR)/$$u; done
	install -m 644 infra/systemd/ruvflow.env.example $(DESTDIR)$(PREFIX)/share/doc/ruvflow/

clean:
	rm -rf build build-san

-include $(shell find $(BUILD)/obj $(BUILD)/gen $(BUILD)/fuzzobj -name '*.d' 2>/dev/null)
