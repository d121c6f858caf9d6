#!/usr/bin/env bash
# e2e: long
# Interrupted replication resumes (acceptance 4): kill -9 of the target, and
# separately of the source, in the middle of a large replication (256 MiB,
# one object of 160 MiB announced in several frames; 32 MiB under the
# sanitizer build). While it runs, objects are polled on
# the target with 'store get': each equals the source's file or is absent
# (never partial). After a restart, the next run completes; every object is
# identical; db verify --deep passes on both sides; and the bytes
# transferred by all runs together stay under 1.2 times the data (chunks
# the target committed are not sent again).
source "$(dirname "$0")/lib.sh"

# One object of 160 MiB (about 1,300 chunks) is announced in several frames.
if [ -n "${RPL_ASAN:-}" ]; then files=8; size=$((4 << 20)); huge=0; bw=3M; else files=12; size=$((8 << 20)); huge=$((160 << 20)); bw=32M; fi
total=$((files * size + huge))
paired_ab
# MAXBANDWIDTH keeps the run long enough to be killed in its middle. A
# reaches B through a counting proxy: the bytes on the wire of every run,
# the killed ones included.
conf_set A MAXBANDWIDTH "$bw"
restart_peer A
pp=$(port)
echo none >"$W/proxy.mode"
python3 "$(dirname "$0")/tools/flipproxy.py" "$pp" "$pb" "$W/proxy.mode" "$W/proxy.ready" >>"$W/proxy.log" 2>&1 &
PIDS+=($!)
wait_until 10 test -e "$W/proxy.ready" || die "the proxy did not start"
adm A UPDATE SERVER B LLADDRESS="$pp" >/dev/null || die "UPDATE SERVER B LLADDRESS"
cd "$W" || die cd
mkdir -p big
for i in $(seq -w 0 $((files - 1))); do head -c "$size" /dev/urandom >"big/f$i"; done
[ "$huge" -gt 0 ] && head -c "$huge" /dev/urandom >"big/huge"
nobj=$((files + (huge > 0 ? 1 : 0)))
adm A REGISTER NODE big >/dev/null || die "REGISTER NODE big"
succeeds "store put of $((total >> 20)) MiB" "$RP" store -d "$W/A" put big big

# poll_target [N]: every object present on B equals A's file (with N, only
# N objects, round robin).
poll_i=0
poll_target() {
	local f present=0 list=(big/*) k
	if [ -n "${1:-}" ]; then
		list=(big/[fg]*) # during the run: the 8 MiB objects (a get of 160 MiB takes too long)
		local some=()
		for k in $(seq 1 "$1"); do some+=("${list[$(( (poll_i + k) % ${#list[@]} ))]}"); done
		poll_i=$((poll_i + $1))
		list=("${some[@]}")
	fi
	for f in "${list[@]}"; do
		if "$RP" store -d "$W/B" get big "$f" -o "$W/poll" >/dev/null 2>&1; then
			cmp -s "$W/poll" "$f" || die "$f on B differs from A's while the run goes on"
			present=$((present + 1))
		fi
	done
	echo "$present"
}

# run_until_killed VICTIM: starts a run, polls B, kills VICTIM with -9 once
# a third of the run's objects are answered or of its bytes sent, restarts
# it.
wire_total=0
run_until_killed() {
	local victim=$1 present polls=0 q
	adm A REPLICATE NODE big TARGET=B >/dev/null || die "REPLICATE (to be killed)"
	for _ in $(seq 400); do
		q=$(adm A QUERY PROCESS)
		[ "$(jget 'len(j)' <<<"$q")" = 0 ] && die "the run ended before it could be killed"
		done_bytes=$(jget 'j[0]["chunk_bytes_sent"]' <<<"$q")
		# a third of this run's objects answered, or of its bytes sent
		# (chunks an interrupted run committed are not sent again)
		jget 'j[0]["objects_total"] > 0 and (3 * j[0]["objects_replicated"] >= j[0]["objects_total"] or 3 * j[0]["chunk_bytes_sent"] >= j[0]["bytes_total"])' <<<"$q" | grep -q true && break
		present=$(poll_target 2); polls=$((polls + 1))
		sleep 0.05
	done
	ok "polled B $polls times while the run went on: every object present was identical to A's"
	stop_peer "$victim" KILL
	ok "kill -9 of $victim with $((done_bytes >> 20)) MiB of chunk bytes sent by this run ($((total >> 20)) MiB in all)"
	present=$(poll_target)
	ok "after the kill, B holds $present whole objects, each identical"
	start_peer "$victim"
	wait_admin "$victim"
}

run_until_killed B
# Killing the target fails the source's run.
for _ in $(seq 100); do adm A QUERY PROCESS | jget 'len(j)' | grep -q '^0$' && break; sleep 0.1; done
# More data, so that the run that resumes is long enough to be killed too.
# (As much again: a faster target commits more before the first kill, and
# a short resumed run could end before the killer looks.)
for i in $(seq -w 0 $((files - 1))); do head -c "$size" /dev/urandom >"big/g$i"; done
succeeds "store put of more data" "$RP" store -d "$W/A" put big big
total=$((total + files * size))
nobj=$((nobj + files))
run_until_killed A
expect_eq "$(adm A QUERY REPLICATION big | jget 'j[0]["state"]')" failed \
	"the run interrupted by the source's kill is recorded as failed after its restart"

out=$(adm A REPLICATE NODE big TARGET=B WAIT=YES) || die "the resumed run failed: $out"
expect_eq "$(jget 'j["state"]' <<<"$out")" completed "the resumed run completes"
expect_eq "$(poll_target)" "$nobj" "all $nobj objects are on B, identical to A's"
sleep 0.5
wire_total=$(cat "$W/proxy.mode.bytes")
ratio=$(python3 -c "print('%.3f' % ($wire_total / $total))")
python3 -c "import sys; sys.exit(0 if $wire_total < 1.2 * $total else 1)" ||
	die "the runs transferred $wire_total bytes for $total bytes of data ($ratio x)"
ok "the proxy saw $wire_total bytes for all runs (and PINGs) together, for $total bytes of data (${ratio}x < 1.2x)"
echo "MEASURE kill -9 and resume: ${ratio}x the data on the wire"
succeeds "db verify --deep on A" "$RP" db -d "$W/A" verify --deep
succeeds "db verify --deep on B" "$RP" db -d "$W/B" --json verify --deep
expect_eq "$(jget 'str(j["faults"]) + " " + str(j["staged_records"])' <"$W/out")" "0 0" \
	"B is clean, and the staging of the interrupted runs was taken over and cleared"
