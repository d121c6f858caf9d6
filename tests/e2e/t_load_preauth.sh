#!/usr/bin/env bash
# e2e: serial
# Load without replication (security model 9, README "Admission before
# authentication"): A with the default PREAUTHMAX 64 / PREAUTHPERADDR 8;
# four paired partners B1-B4 on 127.0.0.1 open 100 authenticated PING
# sessions a second in all (25 each: the per-partner session rate, bursts
# of 300, is a documented limit of its own). Every legitimate session must
# succeed, in each phase:
# 0. without any flood, for 3 s;
# 1. with 1,000 connections that never finish a TLS handshake from two
#    addresses (127.0.0.2-3; every other one sends half a ClientHello, each
#    one A closes is opened again at once), for 5 s;
# 2. with the same 1,000 from 199 addresses (127.0.0.2-127.0.0.200), 10 s.
# A holds at most PREAUTHPERADDR per flooding address and PREAUTHMAX in
# all, and survives. Today legitimate sessions fail in every phase (known
# bugs, reported; see the SKIP lines: the four partners' handshakes from
# one address exceed PREAUTHPERADDR, and with PREAUTHMAX connections from
# as many addresses the admission refuses every newcomer), so a failure is
# checked to be such an admission refusal in A's log and shown, not
# asserted; it turns into an assertion by itself once nothing fails.
# 3. One partner alone at 100 sessions a second (above its 25 a second,
#    after the burst of 300) is refused by its session rate only
#    (RPL0434E), never by the admission of unauthenticated connections.
# MEASURE lines give the floods' churn and the PINGs' latency.
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
dirs=$(printf "$W/%s," "${bs[@]}"); dirs=${dirs%,}

# flood_and_ping WHAT SOURCES SECONDS: the flood from SOURCES and PINGs from
# B1-B4 for SECONDS; the PINGs' summary in $W/pings.out.
flood_and_ping() {
	local what=$1 sources=$2 secs=$3 held F P
	if [ -z "$sources" ]; then
		python3 "$T/pingload.py" "$RP" "$dirs" A --rate 100 --seconds "$secs" --jobs 24 >"$W/pings.out" 2>&1 ||
			die "$what: pingload failed: $(cat "$W/pings.out")"
		P=$(cat "$W/pings.out")
		echo "MEASURE $what: legitimate PINGs $(jget 'j["ok"]' <<<"$P") of $(jget 'j["started"]' <<<"$P") succeeded at $(jget 'j["rate"]' <<<"$P")/s, latency median $(jget 'j.get("p50_ms")' <<<"$P") ms, p99 $(jget 'j.get("p99_ms")' <<<"$P") ms"
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
}

# all_succeeded WHAT WHY: ok when no PING failed; else each failure must be
# an admission refusal that A logged (RPL0433E) after line $n0, and the
# shortfall is a known bug.
all_succeeded() {
	local what=$1 why=$2 failed seen
	failed=$(jget 'j["failed"]' <"$W/pings.out")
	if [ "$failed" -eq 0 ]; then
		ok "$what: every legitimate PING session succeeds"
		return
	fi
	expect_eq "$(jget 'sorted(j["failures"])' <"$W/pings.out")" '["RPL0413E"]' \
		"$what: the $failed failed legitimate sessions were closed by A before authentication (RPL0413E)"
	# Refusals are logged one per 5 s, the rest counted at the window's
	# end (so a flood's refusals hide which address the others came from).
	refusal_logged() { tail -n +"$n0" "$W/A.log" | grep -qE 'RPL0433E .*(PREAUTHPERADDR|PREAUTHMAX)'; }
	wait_until 7 refusal_logged ||
		die "$what: $failed legitimate sessions failed, and A's log shows no admission refusal (RPL0433E)"
	seen=$(tail -n +"$n0" "$W/A.log" | grep -oE 'RPL0433E .*' | grep -oE '127\.0\.0\.[0-9]+ already holds [0-9]+|PREAUTHMAX [0-9]+ connections have not' |
		sed -E 's/127\.0\.0\.1 already holds [0-9]+/127.0.0.1 over PREAUTHPERADDR/; s/127\.0\.0\.[0-9]+ already holds [0-9]+/a flooding address over PREAUTHPERADDR/; s/PREAUTHMAX.*/PREAUTHMAX reached/' |
		sort | uniq -c | sed 's/^ *//' | tr '\n' ';')
	known_bug_shown "$what: every legitimate PING session succeeds" \
		"$failed of $(jget 'j["started"]' <"$W/pings.out") failed; A's RPL0433E lines logged one by one: $seen $why"
}

n0=$(($(wc -l <"$W/A.log") + 1))
flood_and_ping "no flood" "" 3
all_succeeded "no flood" "(PREAUTHPERADDR counts the handshakes of four partners behind one address as one client's: peer/conn.c admit_connection)"

n0=$(($(wc -l <"$W/A.log") + 1))
flood_and_ping "flood from 2 addresses" 127.0.0.2-127.0.0.3 5 16
all_succeeded "flood from 2 addresses" "(the floods hold 16 and 127.0.0.1 at most 8, below PREAUTHMAX: PREAUTHPERADDR on 127.0.0.1 is the only limit the partners can meet; the flood slows A, so more handshakes are in flight)"

n0=$(($(wc -l <"$W/A.log") + 1))
flood_and_ping "flood from 199 addresses" 127.0.0.2-127.0.0.200 10 64
all_succeeded "flood from 199 addresses" "(with PREAUTHMAX unauthenticated connections from as many addresses, peer/conn.c admit_connection refuses every newcomer that cannot evict: no address holds 2 more than the newcomer's own, partners included)"
ping_ok B1 A || die "PING B1->A after the floods"
ok "A answers after the floods"

# One partner alone above its session rate: refused by that rate only.
python3 "$T/pingload.py" "$RP" "$W/B1" A --rate 100 --seconds 5 --jobs 24 >"$W/one.out" 2>&1 ||
	die "pingload failed: $(cat "$W/one.out")"
O=$(cat "$W/one.out")
echo "MEASURE one partner at 100 sessions/s for 5 s: $(jget 'j["ok"]' <<<"$O") succeeded, $(jget 'j["failures"]' <<<"$O") refused"
expect_eq "$(jget 'sorted(set(j["failures"]) - {"RPL0434E"})' <<<"$O")" '[]' "one partner at up to 100 sessions/s is refused, if at all, by its session rate (RPL0434E) only"
