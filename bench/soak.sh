#!/usr/bin/env bash
# Soak (issue 13; `make soak`, never part of `make check`): two peers A and
# B, each the source of a node replicated to the other by a schedule every
# SOAK_REPL_PERIOD seconds (default 20), each renewing its certificate by a
# schedule every SOAK_RENEW_PERIOD seconds (default 180; the first at once),
# for SOAK_SECONDS (default 3600). Meant for the sanitizer build
# (make soak builds build-asan/ and sets RPL_ASAN=1), usable with any RP.
#   RP=path/to/replpeer [SOAK_SECONDS=N] bench/soak.sh
# Between runs the script changes each node (3 objects rewritten, 1 added,
# 1 deleted: the data stays about the same size). Checked, and printed:
#  - every scheduled run completes, and every run that started after the
#    last change leaves the target's objects (read back with 'store get',
#    sha256) equal to the source's files (runs that raced a change are
#    counted, not compared);
#  - renewals happen and never fail a run; PINGs by pin both ways at the
#    end; db verify passes on both;
#  - RSS of both daemons and the size of both data.mdb, sampled every
#    minute: growth over the last three quarters of the run is bounded
#    (RSS: the lowest sample of the last quarter at most +15 % + 8 MiB over
#    the lowest of the second quarter — renewals make short peaks — plus 13 MiB
#    for the FP_ECC tables that Debian's wolfSSL keeps on the loop thread
#    for the partner keys its handshakes verify — up to 15 of about
#    0.85 MiB, one more per partner renewal until full; data.mdb: at most
#    +10 % + 1 MiB over the half-time sample);
#  - at the end both daemons stop with SIGTERM and LeakSanitizer (in the
#    ASan build) reports no leak: any sanitizer line in a log fails.
set -u
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../tests/e2e/lib.sh"
trap 'exit 130' INT
trap 'exit 143' TERM

DUR=${SOAK_SECONDS:-3600}
RP_PERIOD=${SOAK_REPL_PERIOD:-20}
RN_PERIOD=${SOAK_RENEW_PERIOD:-180}
# ASan keeps up to 256 MiB of freed memory in quarantine by default, which
# would show as RSS growth; 32 MiB keeps use-after-free detection useful.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:quarantine_size_mb=32}
echo "replpeer soak: $("$RP" version 2>/dev/null | head -1); ${DUR} s, replication every ${RP_PERIOD} s, renewal every ${RN_PERIOD} s; ASAN_OPTIONS=$ASAN_OPTIONS"

paired_ab
for n in A B; do adm "$n" REGISTER NODE "n$n" >/dev/null || die "REGISTER NODE n$n on $n"; done
: >"$W/versions"
mutate_set dA 1 0 24 0; put_set A nA dA
mutate_set dB 2 0 24 0; put_set B nB dB
adm A "DEFINE SCHEDULE repl CMD=\"REPLICATE NODE nA TARGET=B\" PERIOD=${RP_PERIOD}s" >/dev/null || die "DEFINE SCHEDULE repl on A"
adm B "DEFINE SCHEDULE repl CMD=\"REPLICATE NODE nB TARGET=A\" PERIOD=${RP_PERIOD}s" >/dev/null || die "DEFINE SCHEDULE repl on B"
adm A "DEFINE SCHEDULE renew CMD=\"RENEW CERTIFICATE\" PERIOD=${RN_PERIOD}s" >/dev/null || die "DEFINE SCHEDULE renew on A"
adm B "DEFINE SCHEDULE renew CMD=\"RENEW CERTIFICATE\" PERIOD=${RN_PERIOD}s" >/dev/null || die "DEFINE SCHEDULE renew on B"
ok "A and B paired; node nA (A -> B) and nB (B -> A), 24 objects each; schedules defined"

rss_kib() { awk '/^VmRSS/{print $2}' "/proc/$(pid_of "$1")/status" 2>/dev/null || echo 0; }
mdb_bytes() { stat -c %s "$W/$1/data.mdb"; }
iso_now() { date -u +%Y-%m-%dT%H:%M:%SZ; }

declare -A seen_runs mut_end
seen_runs[A]=0; seen_runs[B]=0
mut_end[A]=$(iso_now); mut_end[B]=${mut_end[A]}
checked=0; raced=0; failed=0; mutations=0
samples="$W/samples"
: >"$samples"

# poll SRC TGT: looks at SRC's replication of nSRC; a new completed run
# that started after the last change is compared; then the node changes.
poll() {
	local src=$1 tgt=$2 q runs state start id
	q=$(adm "$src" QUERY REPLICATION "n$src" 2>/dev/null) || return 0
	runs=$(jget 'j[0]["runs"] if j else 0' <<<"$q")
	[ "$runs" -gt "${seen_runs[$src]}" ] || return 0
	state=$(jget 'j[0]["state"]' <<<"$q")
	[ "$state" == running ] && return 0
	seen_runs[$src]=$runs
	start=$(jget 'j[0]["last_start"]' <<<"$q")
	if [ "$state" != completed ]; then
		id=$(jget 'j[0]["last_message_id"] + " " + str(j[0]["last_message"])' <<<"$q")
		failed=$((failed + 1))
		echo "     run $runs of n$src ($src -> $tgt) $state: $id"
		return 0
	fi
	if [[ "$start" > "${mut_end[$src]}" ]]; then
		expect_eq "$(node_manifest "$tgt" "n$src")" "$(dir_manifest "d$src")" \
			"run $runs of n$src ($src -> $tgt, started $start) completed: $tgt's objects equal $src's files" >/dev/null
		checked=$((checked + 1))
	else
		raced=$((raced + 1))
	fi
	# Change the node only while no run of it goes on.
	[ "$(adm "$src" QUERY PROCESS | jget 'len(j)')" == 0 ] || return 0
	mutate_set "d$src" $((RANDOM * 32768 + RANDOM)) 3 1 1
	put_set "$src" "n$src" "d$src"
	mut_end[$src]=$(iso_now)
	mutations=$((mutations + 1))
}

t0=$SECONDS
next_sample=$t0
echo "MEASURE  t(s)  RSS A (KiB)  RSS B (KiB)  data.mdb A  data.mdb B  runs checked  raced  failed"
while [ $((SECONDS - t0)) -lt "$DUR" ]; do
	no_crash A; no_crash B
	poll A B
	poll B A
	if [ "$SECONDS" -ge "$next_sample" ]; then
		line="$((SECONDS - t0)) $(rss_kib A) $(rss_kib B) $(mdb_bytes A) $(mdb_bytes B) $checked $raced $failed"
		echo "$line" >>"$samples"
		printf 'MEASURE %5d  %11d  %11d  %10d  %10d  %12d  %5d  %6d\n' $line
		next_sample=$((next_sample + 60))
	fi
	sleep 3
done
line="$((SECONDS - t0)) $(rss_kib A) $(rss_kib B) $(mdb_bytes A) $(mdb_bytes B) $checked $raced $failed"
echo "$line" >>"$samples"
printf 'MEASURE %5d  %11d  %11d  %10d  %10d  %12d  %5d  %6d\n' $line

renewals() { actlog_lines "$1" | grep -c "^RPL0601I"; }
ra=$(renewals A); rb=$(renewals B)
echo "MEASURE $checked runs compared identical, $raced raced a change (not compared), $failed failed; $mutations changes; renewal lines (RPL0601I) A $ra, B $rb"
[ "$failed" -eq 0 ] || die "$failed scheduled runs failed"
[ "$checked" -ge 1 ] || die "no run could be compared"
ok "every scheduled run completed; each compared run left the target identical"
[ "$ra" -ge 1 ] && [ "$rb" -ge 1 ] || die "a peer did not renew (A $ra, B $rb)"
ping_ok A B && ping_ok B A || die "PING by pin at the end failed"
ok "A and B renewed (RPL0601I: A $ra, B $rb) and still reach each other by pin"

# Bounds. RSS jumps for a while after each renewal (key generation and a
# round of sessions on both sides), so troughs are compared: the lowest
# sample of the last quarter against the lowest of the second quarter.
# data.mdb: the end against the sample nearest half-time.
python3 - "$samples" <<'PY' || die "growth beyond the bounds (see the samples above)"
import sys
rows = [list(map(int, l.split())) for l in open(sys.argv[1]) if l.strip()]
end = rows[-1]
T = end[0]
q2 = [r for r in rows if T / 4 <= r[0] <= T / 2] or rows
last = [r for r in rows if r[0] >= 3 * T / 4] or [end]
h = min(rows, key=lambda r: abs(r[0] - T / 2))
bad = 0
for i, n in ((1, "RSS A"), (2, "RSS B")):
    a, b = min(r[i] for r in q2), min(r[i] for r in last)
    lim = a * 1.15 + 8192 + 13 * 1024
    print("MEASURE %s: lowest %d KiB in the second quarter, lowest %d KiB in the last quarter, %d KiB at the end; bound %d KiB" % (n, a, b, end[i], lim))
    bad |= b > lim
for i, n in ((3, "data.mdb A"), (4, "data.mdb B")):
    lim = h[i] * 1.10 + (1 << 20)
    print("MEASURE %s: %d bytes at %d s, %d at the end; bound %d" % (n, h[i], h[0], end[i], lim))
    bad |= end[i] > lim
sys.exit(1 if bad else 0)
PY
ok "RSS and data.mdb growth within the bounds"
for n in A B; do succeeds "db verify on $n" "$RP" db -d "$W/$n" verify; done
ok "db verify passes on A and B"
stop_peer A; stop_peer B
if grep -lE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$W"/A.log "$W"/B.log >/dev/null 2>&1; then
	grep -hE -A20 "ERROR: (Address|Leak)Sanitizer|runtime error:" "$W"/A.log "$W"/B.log | head -60 >&2
	die "sanitizer report in a daemon log"
fi
if "$RP" version 2>/dev/null | grep -qi asan || nm -an "$RP" 2>/dev/null | grep -q __asan_init; then
	ok "both daemons stopped (SIGTERM); no AddressSanitizer, LeakSanitizer or UBSan report in their logs"
else
	ok "both daemons stopped (SIGTERM); not a sanitizer build: leaks not checked"
fi
