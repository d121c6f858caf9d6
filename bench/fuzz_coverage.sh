#!/usr/bin/env bash
# Line coverage that each fuzz target's corpus reaches in the code it aims
# at (for bench/RESULTS.md; not part of `make check`):
#   bench/fuzz_coverage.sh [CORPUS_ROOT]
# Builds the replay binaries (tests/fuzz/replay.c, no libFuzzer) with gcc
# --coverage in build-cov/, runs each target over CORPUS_ROOT/<target>
# (default build-fuzz/corpus, what `make fuzz` collected; a directory
# corpus-<target> is taken too) plus its seeds in tests/fuzz/corpus/, and
# prints gcov's line coverage of each file the target is about. Coverage
# counters are reset between targets.
set -u
cd "$(dirname "$0")/.." || exit 1
root=${1:-build-fuzz/corpus}
B=build-cov
make -s BUILD=$B OPT="-O0 -g --coverage" TESTCFLAGS=-DRPL_TEST_CLOCK \
	$(for t in tests/fuzz/fuzz_*.c; do t=${t#tests/fuzz/fuzz_}; echo "$B/fuzz/replay_${t%.c}"; done) >/dev/null || exit 1
declare -A files=(
	[talk]="sync/talk.c peer/conn.c"
	[auth]="peer/auth.c peer/conn.c peer/keys/srp.c peer/continuity.c peer/trust.c"
	[backup]="peer/keys/backup.c"
	[peer]="peer/conn.c peer/legacy.c sync/talk.c"
	[tlv]="util/buf.c"
	[admin]="sync/admin.c"
	[conf]="util/conf.c"
	[cert]="peer/keys/identity.c"
	[ber]="util/ber.c"
)
printf '%-8s %-24s %8s %8s %s\n' target file lines covered inputs
for t in talk auth backup peer tlv admin conf cert ber; do
	[ -x "$B/fuzz/replay_$t" ] || continue
	find "$B" -name '*.gcda' -delete
	dirs=()
	for d in "$root/$t" "$root/corpus-$t" "tests/fuzz/corpus/$t"; do [ -d "$d" ] && dirs+=("$d"); done
	n=$(find "${dirs[@]}" -type f | wc -l)
	"$B/fuzz/replay_$t" "${dirs[@]}" >/dev/null 2>&1
	for f in ${files[$t]}; do
		obj="$B/$(dirname "$f")"
		line=$(gcov -n -o "$obj" "$f" 2>/dev/null | grep -A1 "^File '$f'" | grep -oE '[0-9.]+% of [0-9]+')
		printf '%-8s %-24s %8s %8s %s\n' "$t" "$f" "${line##* of }" "${line%% of*}" "$n"
	done
done
