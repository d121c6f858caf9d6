#!/usr/bin/env bash
# e2e: long
# PING stays quick while the database is busy: A and B are paired; the
# median rtt of 'PING SERVER B' from A, and of 'PING SERVER A' from B, is
# measured unloaded, then again while A's store takes many writes:
#  - a third partner C signs on to A in a loop (two loops of 'PING SERVER A'
#    from C, about 20 sessions a second in all: A admits 25 a second per
#    partner), and every session commits its last contact on A through the
#    database writer;
#  - 'replpeer store put' of 48 MiB files into a node of A (each put stages
#    its chunks in transactions of up to 32 MiB, holding LMDB's one writer),
#    rm and put again, from the CLI while A serves.
# Prints both medians (rtt_ms of the PING reply, and the wall time of the
# whole admin command, which includes the session set-up and its commit);
# the loaded rtt median must stay within 5x the unloaded one (asserted
# unless lib.sh timing_judged says the timing says nothing here: the
# sanitizer build, or a machine busy with other work — a SKIP line then).
source "$(dirname "$0")/lib.sh"

N=${PINGS:-25}
paired_ab
pc=$(port)
init_peer C "$pc"
start_peer C
define_pair A C
ping_ok C A || die "first contact C->A failed"

# pings FROM TO COUNT OUT: one line per PING, "rtt_ms wall_ms"; a failed
# PING is a failure of the scenario.
pings() {
	local from=$1 to=$2 n=$3 out=$4 i t0 t1 doc
	: >"$out"
	for i in $(seq "$n"); do
		t0=$(date +%s%N)
		doc=$(adm "$from" "PING SERVER $to") || die "PING SERVER $to from $from failed: $doc"
		t1=$(date +%s%N)
		echo "$(jget 'j["rtt_ms"]' <<<"$doc") $(( (t1 - t0) / 1000 ))" >>"$out"
	done
}
# median FILE COLUMN: median of a column in ms (wall time is kept in
# microseconds); spread FILE COLUMN: "median/p90/max".
median() {
	python3 -c 'import statistics,sys
v=[float(l.split()[int(sys.argv[2])]) for l in open(sys.argv[1]) if l.strip()]
d=1000.0 if sys.argv[2]=="1" else 1.0
print("%.3f" % (statistics.median(v)/d))' "$1" "$2"
}
spread() {
	python3 -c 'import statistics,sys
v=sorted(float(l.split()[int(sys.argv[2])]) for l in open(sys.argv[1]) if l.strip())
d=1000.0 if sys.argv[2]=="1" else 1.0
print("%.3f/%.3f/%.3f" % (statistics.median(v)/d, v[int(0.9*(len(v)-1))]/d, v[-1]/d))' "$1" "$2"
}

pings A B "$N" "$W/idle.ab"
pings B A "$N" "$W/idle.ba"

# ---- the load ----------------------------------------------------------
adm A REGISTER NODE load >/dev/null || die "REGISTER NODE load"
mkdir -p "$W/files"
for i in 1 2 3; do head -c $((48 << 20)) /dev/urandom >"$W/files/f$i"; done
touch "$W/load.on"
c_loop() {
	local n=0
	while [ -e "$W/load.on" ]; do
		adm C "PING SERVER A" >/dev/null 2>&1 && n=$((n + 1))
		sleep 0.08
	done
	echo "$n" >"$W/c_loop.$1"
}
put_loop() {
	local n=0 i
	while [ -e "$W/load.on" ]; do
		for i in 1 2 3; do
			"$RP" store -d "$W/A" put load "$W/files/f$i" --as "f$i" >/dev/null 2>>"$W/put.err" &&
				n=$((n + 1))
		done
		for i in 1 2 3; do "$RP" store -d "$W/A" rm load "f$i" >/dev/null 2>>"$W/put.err"; done
	done
	echo "$n" >"$W/put_loop.count"
}
c_loop 1 &
L1=$!
c_loop 2 &
L2=$!
put_loop &
L3=$!
sleep 1
contacts0=$(grep -c "RPL0422I session .* from server C " "$W/A.log")
pings A B "$N" "$W/load.ab"
pings B A "$N" "$W/load.ba"
contacts1=$(grep -c "RPL0422I session .* from server C " "$W/A.log")
rm -f "$W/load.on"
wait "$L1" "$L2" "$L3"
no_crash A

c_sessions=$(( $(cat "$W/c_loop.1") + $(cat "$W/c_loop.2") ))
puts=$(cat "$W/put_loop.count")
[ "$puts" -ge 1 ] || die "no store put completed during the load: $(tail -3 "$W/put.err")"
[ "$c_sessions" -ge 10 ] || die "C completed only $c_sessions sessions with A during the load"

ia=$(median "$W/idle.ab" 0); la=$(median "$W/load.ab" 0)
ib=$(median "$W/idle.ba" 0); lb=$(median "$W/load.ba" 0)
wia=$(median "$W/idle.ab" 1); wla=$(median "$W/load.ab" 1)
wib=$(median "$W/idle.ba" 1); wlb=$(median "$W/load.ba" 1)
echo "MEASURE load: $c_sessions sessions C->A (RPL0422I on A during the loaded PINGs: $((contacts1 - contacts0))), $puts puts of 48 MiB into A"
echo "MEASURE PING A->B rtt_ms median: unloaded $ia, loaded $la; admin command wall ms median: unloaded $wia, loaded $wla ($N each)"
echo "MEASURE PING B->A rtt_ms median: unloaded $ib, loaded $lb; admin command wall ms median: unloaded $wib, loaded $wlb ($N each)"
echo "MEASURE median/p90/max rtt_ms A->B unloaded $(spread "$W/idle.ab" 0) loaded $(spread "$W/load.ab" 0); B->A unloaded $(spread "$W/idle.ba" 0) loaded $(spread "$W/load.ba" 0)"
echo "MEASURE median/p90/max wall ms A->B unloaded $(spread "$W/idle.ab" 1) loaded $(spread "$W/load.ab" 1); B->A unloaded $(spread "$W/idle.ba" 1) loaded $(spread "$W/load.ba" 1)"

within5() { python3 -c 'import sys; sys.exit(0 if float(sys.argv[2]) <= 5*float(sys.argv[1]) else 1)' "$1" "$2"; }
if timing_judged; then
	within5 "$ia" "$la" || die "PING A->B: loaded rtt median $la ms is more than 5x the unloaded $ia ms"
	ok "PING A->B rtt median under load ($la ms) within 5x unloaded ($ia ms)"
	within5 "$ib" "$lb" || die "PING B->A: loaded rtt median $lb ms is more than 5x the unloaded $ib ms"
	ok "PING B->A rtt median under load ($lb ms) within 5x unloaded ($ib ms)"
fi
! grep -E "RPL0(201|206)E|RPL0004E" "$W/A.log" >/dev/null || die "database errors in A's log: $(grep -E 'RPL0(201|206)E|RPL0004E' "$W/A.log" | head -3)"
ok "no database error in A's log"
