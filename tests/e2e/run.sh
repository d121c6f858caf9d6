#!/usr/bin/env bash
# Runs every end-to-end scenario (tests/e2e/t_*.sh) against $RP, the replpeer
# binary under test. Each scenario is its own process: it starts what it
# needs on loopback and stops it again, even when it fails.
#
# Scenarios run E2E_JOBS at a time (default 3 on this 2-core machine: they
# spend much of their time waiting for daemons and timers, about 1.2 cores
# in all at 2; timing assertions judge the load themselves, timing_judged);
# a scenario whose header has the line "# e2e: serial" (timing assertions,
# heavy load) runs alone, after the others; those with "# e2e: long" (over
# about 20 s) start first, so that the short ones fill the gaps around them.
# Usage: RP=path/to/replpeer tests/e2e/run.sh [PATTERN]
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${RP:?set RP to the replpeer binary}"
export RP
pattern=${1:-}
jobs=${E2E_JOBS:-3}
out=$(mktemp -d /tmp/rpl-e2e-run.XXXXXX)
trap 'rm -rf "$out"' EXIT
pass=0; fail=0; failed=()
parallel=(); serial=(); short=()
for t in "$here"/t_*.sh; do
	name=$(basename "$t" .sh)
	[ -n "$pattern" ] && [[ "$name" != *$pattern* ]] && continue
	if grep -q '^# e2e: serial' "$t"; then serial+=("$t")
	elif grep -q '^# e2e: long' "$t"; then parallel+=("$t")
	else short+=("$t"); fi
done
parallel+=(${short[@]+"${short[@]}"})

# run_one SCRIPT: runs it, writes its output and its status and time.
run_one() {
	local t=$1 name start rc
	name=$(basename "$t" .sh)
	start=$(date +%s)
	bash "$t" >"$out/$name.out" 2>&1
	rc=$?
	# CPU seconds of the scenario and everything it waited for (daemons,
	# clients): what it costs the others running beside it.
	# ('times' itself, not in a pipe: a forked subshell has no children)
	times >"$out/$name.times"
	echo "$rc $(( $(date +%s) - start )) $(awk 'NR == 2 { gsub(/[ms]/, " "); printf "%.1f", $1 * 60 + $2 + $3 * 60 + $4 }' "$out/$name.times")" >"$out/$name.rc"
}

report() {
	local name=$1 rc secs cpu
	read -r rc secs cpu <"$out/$name.rc"
	if [ "$rc" -eq 0 ]; then
		pass=$((pass + 1))
		printf 'PASS %-50s %3ss %4ss cpu\n' "$name" "$secs" "${cpu:-?}"
		grep -E '^(ok|MEASURE|SKIP|KNOWN_BUG) ' "$out/$name.out" | sed 's/^/     /'
	else
		fail=$((fail + 1)); failed+=("$name")
		printf 'FAIL %-50s %3ss %4ss cpu\n' "$name" "$secs" "${cpu:-?}"
		grep -E '^FAIL: ' "$out/$name.out" | sed 's/^/     > /'
		sed 's/^/     | /' "$out/$name.out" | tail -60
	fi
}

declare -A running=()
for t in "${parallel[@]}"; do
	while [ "${#running[@]}" -ge "$jobs" ]; do
		wait -n 2>/dev/null
		for n in "${!running[@]}"; do
			[ -e "$out/$n.rc" ] && { report "$n"; unset "running[$n]"; }
		done
	done
	name=$(basename "$t" .sh)
	run_one "$t" &
	running[$name]=1
done
wait
for n in "${!running[@]}"; do report "$n"; done
for t in "${serial[@]}"; do
	(run_one "$t")
	report "$(basename "$t" .sh)"
done
echo "e2e: $pass passed, $fail failed${failed:+: ${failed[*]}}"
[ "$fail" -eq 0 ]
