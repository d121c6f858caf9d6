#!/bin/sh
# Runs the Check suites given as arguments, JOBS (first argument) at a time,
# and prints each suite's output whole, in the order given. Exit status 1
# when any suite failed (each failure is in its output). The suites make
# their own temporary directories (mkdtemp), so they do not collide.
set -u
jobs=$1; shift
out=$(mktemp -d /tmp/rpl-unit.XXXXXX)
trap 'rm -rf "$out"' EXIT INT TERM
i=0
for t in "$@"; do
	i=$((i + 1))
	printf '%s %s\n' "$i" "$t"
done | xargs -P "$jobs" -L 1 sh -c '"$2" >"$0/$1.out" 2>&1; echo $? >"$0/$1.rc"' "$out"
rc=0; i=0
for t in "$@"; do
	i=$((i + 1))
	echo "== $t"
	cat "$out/$i.out"
	[ "$(cat "$out/$i.rc" 2>/dev/null)" = 0 ] || { echo "FAILED: $t"; rc=1; }
done
exit $rc
