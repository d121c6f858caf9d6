# replpeer — see README.md. `make check` and `make demo` install the Debian
# packages they need first (scripts/deps.sh), then build and run.

PREFIX   ?= /usr/local
DESTDIR  ?=
BUILD    ?= build
PKGS     := wolfssl libuv lmdb jansson libedit
CC       ?= gcc
OPT      ?= -O2 -g
WARN     := -Wall -Wextra -Wshadow -Wformat=2 -Wpedantic -Werror
# TESTCFLAGS: -DRPL_TEST_CLOCK in the builds made for the tests (check, asan):
# only they honour REPLPEER_CLOCK_OFFSET; 'make' and 'make install' do not.
TESTCFLAGS ?=
CFLAGS   += -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) $(SANITIZE) $(TESTCFLAGS)
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null)
LDLIBS   += $(PKG_LIBS) -lpthread -lm

LIB_SRC  := $(wildcard util/*.c store/*.c peer/keys/*.c peer/*.c sync/*.c)
CMD_SRC  := $(wildcard cmd/*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CMD_OBJ  := $(CMD_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
BIN      := $(BUILD)/replpeer
# The hostile-peer test tool (tests/tools): scripted attacks on a live peer.
HOSTILE_SRC := $(wildcard tests/tools/*.c)
HOSTILE  := $(BUILD)/tests/hostile

.PHONY: all deps check test-bins unit e2e demo asan bench soak install install-files clean contract format mutate fuzz fuzz-replay

all: $(BIN) replpeer $(HOSTILE)

# ./replpeer is the build's binary, for the README's examples.
replpeer: $(BIN)
	ln -sf $(BIN) replpeer

# SHARE_FROM=DIR (make check's test build): an object that TESTCFLAGS does
# not change is the one DIR's build made, copied instead of compiled again;
# only util/clock.c reads RPL_TEST_CLOCK (t_clock_test_build_only keeps
# production binaries from honouring the test clock).
ifdef SHARE_FROM
$(BUILD)/util/clock.o: util/clock.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/%.o: $(SHARE_FROM)/%.o
	@mkdir -p $(dir $@)
	cp $< $@
endif

# -MMD: each object depends on exactly the headers it includes.
$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

-include $(LIB_OBJ:.o=.d) $(CMD_OBJ:.o=.d)

$(BUILD)/librpl.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(BIN): $(CMD_OBJ) $(BUILD)/librpl.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(CMD_OBJ) $(BUILD)/librpl.a $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/librpl.a tests/unit/unit.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP -o $@ $< $(BUILD)/librpl.a $(LDLIBS) $(CHECK_LIBS)

-include $(UNIT_BIN:=.d)

$(HOSTILE): $(HOSTILE_SRC) $(BUILD)/librpl.a tests/tools/hostile.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ $(HOSTILE_SRC) $(BUILD)/librpl.a $(LDLIBS)

deps:
	@FUZZ=$(FUZZ) scripts/deps.sh

unit: $(UNIT_BIN)
	@scripts/unit.sh $(JOBS) $(UNIT_BIN)

e2e: $(BIN) $(HOSTILE)
	@RP=$(abspath $(BIN)) RP_PROD=$(abspath build/replpeer) HOSTILE=$(abspath $(HOSTILE)) tests/e2e/run.sh

# The tests run on their own build (build-test/, with the test clock); the
# production build is made too, for ./replpeer.
# The builds use every core (JOBS); the tests then run in order.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

check: deps
	$(MAKE) -j$(JOBS) all
	$(MAKE) -j$(JOBS) BUILD=build-test TESTCFLAGS=-DRPL_TEST_CLOCK SHARE_FROM=build test-bins
	$(MAKE) BUILD=build-test TESTCFLAGS=-DRPL_TEST_CLOCK unit fuzz-replay
	$(MAKE) BUILD=build-test TESTCFLAGS=-DRPL_TEST_CLOCK e2e

demo: deps
	$(MAKE) all
	@RP=$(abspath $(BIN)) scripts/demo.sh

# AddressSanitizer + UndefinedBehaviorSanitizer build, separate directory.
ASAN_MAKE = $(MAKE) BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer" \
	SANITIZE="-fsanitize=address,undefined -fno-sanitize-recover=undefined" \
	TESTCFLAGS=-DRPL_TEST_CLOCK
asan: deps
	$(MAKE) -j$(JOBS) all
	$(ASAN_MAKE) -j$(JOBS) test-bins
	$(ASAN_MAKE) unit fuzz-replay
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		RP=$(abspath build-asan/replpeer) RP_PROD=$(abspath build/replpeer) \
		HOSTILE=$(abspath build-asan/tests/hostile) RPL_ASAN=1 E2E_JOBS=2 tests/e2e/run.sh

# ---- fuzzing ---------------------------------------------------------------
# tests/fuzz/fuzz_<target>.c are libFuzzer targets, seeded from
# tests/fuzz/corpus/<target>/. 'make fuzz' (not part of check) builds them
# with clang, libFuzzer, ASan and UBSan and runs each for FUZZTIME seconds;
# what they find goes to build-fuzz/corpus/<target>/, crashes to
# build-fuzz/crash-<target>-*: copy a crash into
# tests/fuzz/corpus/<target>/ once it is fixed. 'make fuzz-replay' (part
# of check) runs every corpus file through the same entry points without
# libFuzzer.
FUZZTIME    ?= 60
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=undefined
REPLAY_BIN  := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/replay_%)

$(BUILD)/fuzz/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(BUILD)/librpl.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP -o $@ $< tests/fuzz/replay.c $(BUILD)/librpl.a $(LDLIBS)

-include $(REPLAY_BIN:=.d)

fuzz-replay: $(REPLAY_BIN)
	@set -e; for t in $(FUZZ_TARGETS); do \
		$(BUILD)/fuzz/replay_$$t tests/fuzz/corpus/$$t; done

fuzz:
	@$(MAKE) --no-print-directory deps FUZZ=1
	$(MAKE) BUILD=build-fuzz CC=clang OPT="-O1 -g" \
		SANITIZE="-fsanitize=fuzzer-no-link $(FUZZ_SAN)" build-fuzz/librpl.a
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "clang fuzz_$$t"; \
		clang $(CFLAGS) -O1 -g -fsanitize=fuzzer $(FUZZ_SAN) $(PKG_CFLAGS) \
			-o build-fuzz/fuzz_$$t tests/fuzz/fuzz_$$t.c build-fuzz/librpl.a $(LDLIBS); \
	done
	@set -e; for t in $(FUZZ_TARGETS); do \
		mkdir -p build-fuzz/corpus/$$t; \
		echo "== fuzz_$$t for $(FUZZTIME) s"; \
		(cd build-fuzz && ./fuzz_$$t -max_total_time=$(FUZZTIME) -print_final_stats=1 \
			-artifact_prefix=crash-$$t- corpus/$$t ../tests/fuzz/corpus/$$t \
			2>fuzz_$$t.log) || { tail -60 build-fuzz/fuzz_$$t.log; exit 1; }; \
		grep -E '^#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss' build-fuzz/fuzz_$$t.log; \
	done

# bench/sessload: the load client of bench/sessions.sh (the peer layer of
# many partners on one loop).
$(BUILD)/bench/%: bench/%.c $(BUILD)/librpl.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ $< $(BUILD)/librpl.a $(LDLIBS)

bench: all $(BUILD)/bench/sessload
	@$(MAKE) --no-print-directory deps BENCH=1
	@RP=$(abspath $(BIN)) bench/run.sh
	@RP=$(abspath $(BIN)) SESSLOAD=$(abspath $(BUILD)/bench/sessload) bench/sessions.sh
	@RP=$(abspath $(BIN)) SESSLOAD=$(abspath $(BUILD)/bench/sessload) bench/memory.sh
	@RP=$(abspath $(BIN)) bench/load.sh

# Soak (issue 13; not part of make check): two peers replicating on a
# short schedule with renewals every few minutes, under ASan + UBSan, for
# SOAK_SECONDS (default 3600); bench/soak.sh says what it checks.
SOAK_SECONDS ?= 3600
soak: deps
	$(ASAN_MAKE) build-asan/replpeer
	@RP=$(abspath build-asan/replpeer) RPL_ASAN=1 SOAK_SECONDS=$(SOAK_SECONDS) bench/soak.sh

# Single-line mutants of the trust code, one at a time, each against the
# tests that must notice it (tests/mutate/mutants.txt); fails naming every
# survivor. Not part of 'make check': it takes long.
mutate: deps
	scripts/mutate.py

# The shared contract check (only where ../shared exists).
contract: all
	../shared/contract/check.sh ./replpeer all

# The unit gets the installed binary's path (PREFIX, not DESTDIR: DESTDIR
# is only where the files are staged). systemd reads units, sysusers.d and
# tmpfiles.d under /usr/lib and /usr/local/lib alike.
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
DOCDIR      ?= $(PREFIX)/share/doc/replpeer
install: all
	@$(MAKE) --no-print-directory install-files

# install-files copies $(BIN) as it is (tests install a given binary with
# BIN=path, without building).
install-files:
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(DOCDIR) $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR)
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/replpeer
	install -m 0644 etc/replpeer.conf README.md $(DESTDIR)$(DOCDIR)/
	sed -e 's|@BINDIR@|$(PREFIX)/bin|g' -e 's|@DOCDIR@|$(DOCDIR)|g' etc/replpeer.service.in \
		>$(DESTDIR)$(UNITDIR)/replpeer.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/replpeer.service
	install -m 0644 etc/replpeer.sysusers $(DESTDIR)$(SYSUSERSDIR)/replpeer.conf
	install -m 0644 etc/replpeer.tmpfiles $(DESTDIR)$(TMPFILESDIR)/replpeer.conf

format:
	clang-format -i $(wildcard */*.c */*.h tests/unit/*.c)

clean:
	rm -rf build build-test build-asan build-fuzz replpeer

# Everything the tests run, built by check and asan before any test starts
# (after REPLAY_BIN is defined: prerequisites expand when the rule is read).
test-bins: $(BIN) $(HOSTILE) $(UNIT_BIN) $(REPLAY_BIN)
