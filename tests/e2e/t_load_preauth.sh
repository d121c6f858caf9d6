#!/usr/bin/env bash
# e2e: serial
# Load with replication (issue 13, security model 9, README "Admission
# before authentication"): A with the default PREAUTHMAX 64 /
# PREAUTHPERADDR 8; four paired partners B1-B4 on 127.0.0.1 open 100
# authenticated PING sessions a second in all (25 each: the per-partner
# session rate, bursts of 300, is a documented limit of its own) while B1
# replicates a changed node to A (SSL=NO: the bulk channel is one more
# connection A must admit; MAXBANDWIDTH keeps the run going through the
# phase). Every legitimate session and the replication must succeed (and
# A's copy equal B1's files), in each phase (the same load without a flood,
# for comparison, is a make bench figure: bench/load.sh):
# 1. with 1,000 connections that never finish a TLS handshake from two
#    addresses (127.0.0.2-3; every other one sends half a ClientHello, each
#    one A closes is opened again at once), for 5 s;
# 2. with the same 1,000 from 199 addresses (127.0.0.2-127.0.0.200), 7 s.
# A holds at most PREAUTHPERADDR per flooding address and PREAUTHMAX in
# all, and survives. (Until the addresses partners authenticated from got a
# pre-authentication pool of their own, legitimate sessions failed in every
# phase: the four partners' handshakes from one address exceeded
# PREAUTHPERADDR, and PREAUTHMAX connections from as many addresses made
# the admission refuse every newcomer.)
# 3. One partner alone at 100 sessions a second (above its 25 a second,
#    after the burst of 300) is refused by its session rate only
#    (RPL0434E), never by the admission of unauthenticated connections.
# MEASURE lines give the floods' churn, the PINGs' latency and the
# replication's duration.
source "$(dirname "$0")/lib.sh"

T=$(dirname "$0")/tools
ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null
[ "$(ulimit -n)" -ge 2500 ] || die "the test needs 2500 descriptors, the limit is $(ulimit -n)"

mapfile -t ports < <(unique_ports 5)
init_peer A "${ports[0]}"
bs=()
for i in 1 2 3 4; do init_peer "B$i" "${ports[i]}"; bs+=("B$i"); done
start_peers A "${bs[@]}"
pair_many A "${bs[@]}"
for b in "${bs[@]}"; do ping_ok "$b" A || die "PING $b->A before the load"; done
ok "A and four partners B1-B4, paired; PINGs by pin work"
pa=$(peer_port A)
conf_set B1 MAXBANDWIDTH 512K
restart_peer B1
ping_ok B1 A || die "PING B1->A after B1's restart"
adm B1 REGISTER NODE r >/dev/null || die "REGISTER NODE r on B1"
: >"$W/versions"
mutate_set d 7 0 12 0; put_set B1 r d
out=$(adm B1 REPLICATE NODE r TARGET=A WAIT=YES) || die "the first replication B1 -> A: $out"
expect_eq "$(node_manifest A r)" "$(dir_manifest d)" "B1 replicates node r to A (12 objects, identical)"
dirs=$(printf "$W/%s," "${bs[@]}"); dirs=${dirs%,}

# flood_and_ping WHAT SOURCES SECONDS: the flood from SOURCES and PINGs from
# B1-B4 for SECONDS; the PINGs' summary in $W/pings.out.
# repl_start / repl_done WHAT: B1 changes node r and replicates it to A in
# the background; then the run must have completed and A's copy must equal
# B1's files.
repl_start() {
	mutate_set d "$RANDOM" 8 2 1; put_set B1 r d
	REPL_T0=$(date +%s%N)
	adm B1 REPLICATE NODE r TARGET=A WAIT=YES >"$W/repl.out" 2>&1 &
	REPL=$!
}
repl_done() {
	local rc
	wait "$REPL"; rc=$?
	[ $rc -eq 0 ] || die "$1: the replication B1 -> A during the load failed: $(cat "$W/repl.out")"
	echo "MEASURE $1: replication B1 -> A of $(jget 'j["bytes_replicated"]' <"$W/repl.out") bytes (MAXBANDWIDTH 512K) took $(( ($(date +%s%N) - REPL_T0) / 1000000 )) ms"
	expect_eq "$(jget 'j["state"]' <"$W/repl.out")" completed "$1: the replication B1 -> A during the load completes"
	expect_eq "$(node_manifest A r)" "$(dir_manifest d)" "$1: A's copy of node r equals B1's files"
}

flood_and_ping() {
	local what=$1 sources=$2 secs=$3 held F P
	if [ -z "$sources" ]; then
		repl_start
		python3 "$T/pingload.py" "$RP" "$dirs" A --rate 100 --seconds "$secs" --jobs 24 >"$W/pings.out" 2>&1 ||
			die "$what: pingload failed: $(cat "$W/pings.out")"
		P=$(cat "$W/pings.out")
		echo "MEASURE $what: legitimate PINGs $(jget 'j["ok"]' <<<"$P") of $(jget 'j["started"]' <<<"$P") succeeded at $(jget 'j["rate"]' <<<"$P")/s, latency median $(jget 'j.get("p50_ms")' <<<"$P") ms, p99 $(jget 'j.get("p99_ms")' <<<"$P") ms"
		repl_done "$what"
		return
	fi
	rm -f "$W/flood.stop"
	python3 "$T/rawpeer.py" flood "$pa" 1000 --sources "$sources" --seconds $((secs + 8)) \
		--stop "$W/flood.stop" >"$W/flood.out" 2>&1 &
	FLOOD=$!
	PIDS+=($FLOOD)
	wait_until 30 grep -q filled "$W/flood.out" || die "$what: the flood did not open its connections: $(cat "$W/flood.out")"
	expect_eq "$(head -1 "$W/flood.out" | jget 'j["open"]')" 1000 "$what: 1000 connections from $sources open"
	sleep 1
	# Refused connections are listed as "closing" until their close completes.
	held=$(adm A QUERY SESSION | jget 'len([s for s in j if s["address"] != "127.0.0.1" and s["state"] != "closing"])')
	[ "$held" -le "$4" ] || die "$what: A holds $held unauthenticated connections (at most $4)"
	ok "$what: A holds $held unauthenticated connections, at most $4"
	repl_start
	python3 "$T/pingload.py" "$RP" "$dirs" A --rate 100 --seconds "$secs" --jobs 24 >"$W/pings.out" 2>&1 ||
		die "$what: pingload failed: $(cat "$W/pings.out")"
	touch "$W/flood.stop"
	wait "$FLOOD"
	F=$(tail -1 "$W/flood.out")
	P=$(cat "$W/pings.out")
	echo "MEASURE $what: flood $(jget 'j["opened"]' <<<"$F") connections opened, $(jget 'j["closed_by_server"]' <<<"$F") closed by A, at least $(jget 'j["min_open"]' <<<"$F") open at any time"
	echo "MEASURE $what: legitimate PINGs $(jget 'j["ok"]' <<<"$P") of $(jget 'j["started"]' <<<"$P") succeeded at $(jget 'j["rate"]' <<<"$P")/s, latency median $(jget 'j.get("p50_ms")' <<<"$P") ms, p99 $(jget 'j.get("p99_ms")' <<<"$P") ms"
	[ "$(jget 'j["started"]' <<<"$P")" -ge $((secs * 90)) ] || die "$what: only $(jget 'j["started"]' <<<"$P") PINGs were started (want $((secs * 100)))"
	no_crash A
	repl_done "$what"
}

# all_succeeded WHAT: no legitimate PING failed; otherwise the failures and
# A's admission refusals (RPL0433E) after line $n0 are shown.
all_succeeded() {
	local what=$1 failed seen
	failed=$(jget 'j["failed"]' <"$W/pings.out")
	if [ "$failed" -eq 0 ]; then
		ok "$what: every legitimate PING session succeeds"
		return
	fi
	sleep 6 # refusals are logged one per 5 s, the rest counted at the window's end
	seen=$(tail -n +"$n0" "$W/A.log" | grep -oE 'RPL0433E .*' | sort | uniq -c | sort -rn | head -5 | tr '\n' ';')
	die "$what: $failed of $(jget 'j["started"]' <"$W/pings.out") legitimate PING sessions failed ($(jget 'j["failures"]' <"$W/pings.out")); A's admission refusals: ${seen:-none}"
}

n0=$(($(wc -l <"$W/A.log") + 1))
flood_and_ping "flood from 2 addresses" 127.0.0.2-127.0.0.3 5 16
all_succeeded "flood from 2 addresses"

n0=$(($(wc -l <"$W/A.log") + 1))
flood_and_ping "flood from 199 addresses" 127.0.0.2-127.0.0.200 7 64
all_succeeded "flood from 199 addresses"
ping_ok B1 A || die "PING B1->A after the floods"
ok "A answers after the floods"

# One partner alone above its session rate: refused by that rate only.
python3 "$T/pingload.py" "$RP" "$W/B1" A --rate 100 --seconds 5 --jobs 24 >"$W/one.out" 2>&1 ||
	die "pingload failed: $(cat "$W/one.out")"
O=$(cat "$W/one.out")
echo "MEASURE one partner at 100 sessions/s for 5 s: $(jget 'j["ok"]' <<<"$O") succeeded, $(jget 'j["failures"]' <<<"$O") refused"
expect_eq "$(jget 'sorted(set(j["failures"]) - {"RPL0434E"})' <<<"$O")" '[]' "one partner at up to 100 sessions/s is refused, if at all, by its session rate (RPL0434E) only"
