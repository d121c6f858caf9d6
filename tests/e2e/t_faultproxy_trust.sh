#!/usr/bin/env bash
# Renewal and FORCESYNC through a hostile network (security model 6, 5 and
# 11): every session between A and B passes a fault-injecting proxy
# (tests/e2e/tools/faultproxy.py; A defines B at B's proxy, B defines A at
# A's), which per run delays, fragments to 1-byte writes, stalls longer than
# COMMTIMEOUT, resets at a random offset, flips a bit, or duplicates a
# chunk, per connection from a seed. Per run:
#  - renewal: RENEW CERTIFICATE on A, and a PING from B, under faults;
#  - FORCESYNC: A rotates with COMPROMISED=YES (no faults), then B's
#    UPDATE SERVER A FORCESYNC=YES and a PING under faults.
# Each command under faults succeeds or fails cleanly (JSON with a message
# ID), both daemons live, nothing altered is stored (every pin B holds for
# A is one of A's real certificates, 'replpeer db verify' passes on both,
# FORCESYNC is atomic: B pins the new certificate iff its mark is cleared),
# and the next run without faults completes: B pins A's current
# certificate alone, as current. Seeds: FAULT_SEED (default: random, printed;
# rerun with FAULT_SEED=N to reproduce), FAULT_RUNS runs of each kind
# (default 3; the modes of the 2 x 3 runs are the six modes, in an order the
# seed picks).
source "$(dirname "$0")/lib.sh"

T=$(dirname "$0")/tools/faultproxy.py
SEED=${FAULT_SEED:-$((RANDOM * 32768 + RANDOM))}
RUNS=${FAULT_RUNS:-3}
echo "MEASURE fault seed $SEED ($RUNS runs of each kind; reproduce with FAULT_SEED=$SEED)"
modes=(delay frag stall reset flip dup)
# The order of the modes for this seed (a rotation and a direction).
rot=$((SEED % 6)); step=$((SEED % 2 ? 1 : 5))

mapfile -t ports < <(unique_ports 4)
pa=${ports[0]} pb=${ports[1]} ppa=${ports[2]} ppb=${ports[3]}
init_peer A "$pa"
init_peer B "$pb"
for n in A B; do
	conf_set "$n" COMMTIMEOUT 2
	conf_set "$n" HANDSHAKETIMEOUT 3
	conf_set "$n" ROUNDTIMEOUT 8
done
start_proxy() { # NAME LISTEN TARGET
	python3 "$T" --listen "$2" --target "$3" --control "$W/$1.ctl" --log "$W/$1.proxy.log" \
		--stall-seconds 3 --max-offset 1100 --ready "$W/$1.ready" >>"$W/$1.proxy.err" 2>&1 &
	PIDS+=($!)
	wait_until 10 test -e "$W/$1.ready" || die "proxy $1 did not start: $(cat "$W/$1.proxy.err")"
}
faults() { # MODE SEED
	printf '{"mode": "%s", "seed": %d}\n' "$1" "$2" >"$W/PA.ctl"
	printf '{"mode": "%s", "seed": %d}\n' "$1" "$(($2 + 7919))" >"$W/PB.ctl"
}
faults pass 0
start_proxy PA "$ppa" "$pa"
start_proxy PB "$ppb" "$pb"
start_peer A
start_peer B
adm A "DEFINE SERVER B HLADDRESS=127.0.0.1 LLADDRESS=$ppb SERVERPASSWORD=$(cat "$W/B.pw")" >/dev/null || die "define B on A"
adm B "DEFINE SERVER A HLADDRESS=127.0.0.1 LLADDRESS=$ppa SERVERPASSWORD=$(cat "$W/A.pw")" >/dev/null || die "define A on B"
ping_ok A B || die "first contact A->B through the proxies"
ping_ok B A || die "PING B->A through the proxies"
ok "A and B paired through the proxies (no faults)"

# All certificates A ever had (offline listing: current, next, previous,
# retired), as fingerprints.
a_certs() { "$RP" cert -d "$W/A" --json list | jget "' '.join(c['fingerprint'] for c in j if 'state' in c)"; }

# clean_or_ok WHAT OUTPUT STATUS: a command under faults succeeded, or failed
# with a JSON error that carries a message ID.
clean_or_ok() {
	local id
	if [ "$3" -eq 0 ]; then return 0; fi
	id=$(jget 'j.get("message_id", "")' <<<"$2" 2>/dev/null)
	[[ "$id" =~ ^RPL[0-9]{4}[EW]$ ]] || die "$1 failed without a message ID (exit $3): $2 (stderr: $(tail -3 "$W/adm.err" 2>/dev/null))"
	echo "     ($1 failed cleanly: $id $(jget 'j.get("error", j.get("message", ""))' <<<"$2" | cut -c1-150))"
}

# stored_ok WHAT: B's pins for A are A's real certificates, exactly one
# current; the stores of both verify.
stored_ok() {
	local real pins ncur=0 p
	real=" $(a_certs) "
	pins=$(pin_list B A)
	[ -n "$pins" ] || die "$1: B's pins for A are empty"
	for p in $pins; do
		[[ "$real" == *" ${p%%:*} "* ]] || die "$1: B pins ${p%%:*} for A, which is none of A's certificates ($real)"
		[ "${p#*:}" == current ] && ncur=$((ncur + 1))
	done
	[ "$ncur" -eq 1 ] || die "$1: B's pins for A have $ncur current entries: $pins"
	for n in A B; do
		"$RP" db -d "$W/$n" verify >"$W/verify.out" 2>&1 || die "$1: db verify on $n: $(cat "$W/verify.out")"
	done
	ok "$1: B's pins for A are A's real certificates, one current; db verify passes on A and B"
}

# settle WHAT: no faults; PINGs both ways succeed and B pins A's current
# certificate alone, as current, with no FORCESYNC pending and no next.
settle() {
	local cur
	faults pass 0
	wait_until 30 ping_ok B A || die "$1: PING B->A without faults does not succeed: $(adm B PING SERVER A)"
	wait_until 30 ping_ok A B || die "$1: PING A->B without faults does not succeed: $(adm A PING SERVER B)"
	cur_alone() { cur=$(own_fp A current); [ -z "$(own_fp A next)" ] && pins_are B A "$cur:current"; }
	wait_until 40 cur_alone || die "$1: without faults the exchange does not finish: A current $(own_fp A current) next $(own_fp A next), B pins $(pin_list B A)"
	expect_eq "$(srv_field B A 's["forcesync_pending"]')" false "$1: the next run without faults completes: B pins A's current certificate alone, as current, nothing pending"
	expect_eq "$(fingerprint "$W/A/cert256.pem")" "$cur" "$1: A's cert256.pem is the certificate B pins"
}

log_count() { grep -cE -- "$2" "$W/$1.log"; }

# injected_since N: connections of both proxies with a fault injected, in
# log lines after the first N (of the two logs together).
plog_lines() { cat "$W/PA.proxy.log" "$W/PB.proxy.log" 2>/dev/null | wc -l; }
injected_since() {
	cat "$W/PA.proxy.log" "$W/PB.proxy.log" 2>/dev/null | tail -n +"$(($1 + 1))" | grep -c '"injected": true'
}
# faulted WHAT N0: at least one connection of this run had its fault
# injected; PINGs (under the same faults) until one has, at most 6.
faulted() {
	local k out rc
	for k in 1 2 3 4 5 6; do
		[ "$(injected_since "$2")" -gt 0 ] && break
		if [ $((k % 2)) -eq 1 ]; then out=$(adm B PING SERVER A 2>>"$W/adm.err"); else out=$(adm A PING SERVER B 2>>"$W/adm.err"); fi
		rc=$?
		clean_or_ok "$1: PING" "$out" "$rc"
		sleep 0.3 # the proxy logs a connection when it ends
	done
	[ "$(injected_since "$2")" -gt 0 ] || die "$1: no connection had its fault injected"
	ok "$1: $(injected_since "$2") connections had the fault injected; every command succeeded or failed cleanly"
}

for i in $(seq 0 $((RUNS - 1))); do
	# ---- renewal under faults ----
	m=${modes[$(( (rot + step * i) % 6 ))]}
	s=$((SEED + i))
	what="renewal run $((i + 1)) ($m, seed $s)"
	n610=$(log_count A "RPL0610I certificate confirmation round|RPL0611E")
	p0=$(plog_lines)
	faults "$m" "$s"
	out=$(adm A RENEW CERTIFICATE 2>>"$W/adm.err"); rc=$?
	clean_or_ok "$what: RENEW CERTIFICATE" "$out" "$rc"
	out=$(adm B PING SERVER A 2>>"$W/adm.err"); rc=$?
	clean_or_ok "$what: PING B->A" "$out" "$rc"
	round_over() { [ "$(log_count A "RPL0610I certificate confirmation round|RPL0611E")" -gt "$n610" ]; }
	wait_until 40 round_over || echo "     ($what: A's rounds did not end within 40 s under faults)"
	faulted "$what" "$p0"
	no_crash A; no_crash B
	stored_ok "$what"
	settle "$what"

	# ---- FORCESYNC under faults ----
	m=${modes[$(( (rot + step * (i + RUNS)) % 6 ))]}
	s=$((SEED + 1000 + i))
	what="FORCESYNC run $((i + 1)) ($m, seed $s)"
	old=$(own_fp A current)
	out=$(adm A RENEW CERTIFICATE COMPROMISED=YES) || die "$what: RENEW CERTIFICATE COMPROMISED=YES: $out"
	new=$(own_fp A current)
	[ "$new" != "$old" ] || die "$what: A's certificate did not change"
	p0=$(plog_lines)
	faults "$m" "$s"
	out=$(adm B UPDATE SERVER A FORCESYNC=YES 2>>"$W/adm.err"); rc=$?
	clean_or_ok "$what: UPDATE SERVER A FORCESYNC=YES" "$out" "$rc"
	out=$(adm B PING SERVER A 2>>"$W/adm.err"); rc=$?
	clean_or_ok "$what: PING B->A" "$out" "$rc"
	faulted "$what" "$p0"
	no_crash A; no_crash B
	stored_ok "$what"
	pins=$(pin_list B A); mark=$(srv_field B A 's["forcesync_pending"]')
	if [ "$pins" == "$new:current" ]; then
		expect_eq "$mark" false "$what: B pins the new certificate and its mark is cleared (one transaction)"
	else
		expect_eq "$pins:$mark" "$old:current:true" "$what: B still pins the old certificate and its mark is still set"
	fi
	settle "$what"
	expect_eq "$(pin_list B A)" "$new:current" "$what: B ends up pinning A's new certificate"
done
injected=$(python3 -c '
import json, sys
n = {}
for f in sys.argv[1:]:
    for l in open(f):
        d = json.loads(l)
        if d.get("injected"):
            n[d["mode"]] = n.get(d["mode"], 0) + 1
print(" ".join("%s:%d" % kv for kv in sorted(n.items())))' "$W/PA.proxy.log" "$W/PB.proxy.log")
echo "MEASURE connections with a fault injected, by mode: $injected"
