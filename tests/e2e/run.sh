#!/usr/bin/env bash
# Runs every end-to-end scenario (tests/e2e/t_*.sh) against $RP, the replpeer
# binary under test. Each scenario is its own process: it starts what it
# needs on loopback and stops it again, even when it fails.
# Usage: RP=path/to/replpeer tests/e2e/run.sh [PATTERN]
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${RP:?set RP to the replpeer binary}"
export RP
pattern=${1:-}
pass=0; fail=0; failed=()
for t in "$here"/t_*.sh; do
	name=$(basename "$t" .sh)
	[ -n "$pattern" ] && [[ "$name" != *$pattern* ]] && continue
	start=$(date +%s)
	out=$(mktemp)
	if bash "$t" >"$out" 2>&1; then
		pass=$((pass + 1))
		printf 'PASS %-50s %3ss\n' "$name" $(( $(date +%s) - start ))
		grep -E '^(ok|MEASURE|KNOWN_BUG) ' "$out" | sed 's/^/     /'
	else
		fail=$((fail + 1)); failed+=("$name")
		printf 'FAIL %-50s %3ss\n' "$name" $(( $(date +%s) - start ))
		sed 's/^/     | /' "$out" | tail -60
	fi
	rm -f "$out"
done
echo "e2e: $pass passed, $fail failed${failed:+: ${failed[*]}}"
[ "$fail" -eq 0 ]
