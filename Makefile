# replpeer — see README.md. `make check` and `make demo` install the Debian
# packages they need first (scripts/deps.sh), then build and run.

PREFIX   ?= /usr/local
DESTDIR  ?=
BUILD    ?= build
PKGS     := wolfssl libuv lmdb jansson
CC       ?= gcc
OPT      ?= -O2 -g
WARN     := -Wall -Wextra -Wshadow -Wformat=2 -Werror
CFLAGS   += -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) $(SANITIZE)
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

.PHONY: all deps check unit e2e demo asan bench install clean contract format

all: $(BIN) replpeer $(HOSTILE)

# ./replpeer is the build's binary, for the README's examples.
replpeer: $(BIN)
	ln -sf $(BIN) replpeer

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
	@scripts/deps.sh

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

e2e: $(BIN) $(HOSTILE)
	@RP=$(abspath $(BIN)) HOSTILE=$(abspath $(HOSTILE)) tests/e2e/run.sh

check: deps
	$(MAKE) all
	$(MAKE) unit
	$(MAKE) e2e

demo: deps
	$(MAKE) all
	@RP=$(abspath $(BIN)) scripts/demo.sh

# AddressSanitizer + UndefinedBehaviorSanitizer build, separate directory.
asan: deps
	$(MAKE) BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer" \
		SANITIZE="-fsanitize=address,undefined -fno-sanitize-recover=undefined" \
		build-asan/replpeer build-asan/tests/hostile
	$(MAKE) BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer" \
		SANITIZE="-fsanitize=address,undefined -fno-sanitize-recover=undefined" unit
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		RP=$(abspath build-asan/replpeer) HOSTILE=$(abspath build-asan/tests/hostile) \
		RPL_ASAN=1 tests/e2e/run.sh

bench: all
	@RP=$(abspath $(BIN)) bench/run.sh

# The shared contract check (only where ../shared exists).
contract: all
	../shared/contract/check.sh ./replpeer all

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/doc/replpeer
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/replpeer
	install -m 0644 etc/replpeer.conf README.md $(DESTDIR)$(PREFIX)/share/doc/replpeer/
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system
	install -m 0644 etc/replpeer.service $(DESTDIR)$(PREFIX)/lib/systemd/system/replpeer.service

format:
	clang-format -i $(wildcard */*.c */*.h tests/unit/*.c)

clean:
	rm -rf build build-asan replpeer
