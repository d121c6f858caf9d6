#!/usr/bin/env bash
# Crash consistency of replication at random moments (issue 13, security
# model 11; t_lifecycle_kill9 does the same for renewal and FORCESYNC,
# t_repl_kill9 at fixed points of a large run; with t_lifecycle_kill9's 5
# random renewal and 5 random FORCESYNC kills that makes 20 at random
# moments, 42 in all with the fixed ones): KILL9_RUNS rounds (default 10),
# each changes a small node on A (8 objects rewritten, 2 added, 1
# deleted, 4 to 160 KiB each, MAXBANDWIDTH 512K so a run lasts over a
# second), starts REPLICATE NODE with SSL=NO or SSL=YES, and kill -9s A or
# B at a random moment 0 to 1 s later. Seed printed; KILL9_SEED=N
# reproduces victims, moments, SSL and data. After each kill:
#  - the dead store opens and 'replpeer db verify' passes on both;
#  - no partial or altered object: every object B holds, read back with
#    'store get', is some version A held (sha256);
#  - after the restart the pins are whole: each side pins the other's
#    current certificate alone, as current, and PINGs by pin succeed;
#  - the next run completes and B's objects equal A's files.
source "$(dirname "$0")/lib.sh"

SEED=${KILL9_SEED:-$((RANDOM * 32768 + RANDOM))}
RUNS=${KILL9_RUNS:-10}
RANDOM=$SEED
echo "MEASURE replication kill -9 at random moments: seed $SEED, $RUNS runs (reproduce with KILL9_SEED=$SEED)"

paired_ab
conf_set A MAXBANDWIDTH 512K
restart_peer A
adm A REGISTER NODE n >/dev/null || die "REGISTER NODE n"
: >"$W/versions"
mutate_set d $((SEED % 100000)) 0 16 0; put_set A n d
out=$(adm A REPLICATE NODE n TARGET=B WAIT=YES) || die "the first run: $out"
expect_eq "$(node_manifest B n)" "$(dir_manifest d)" "the first run completes identical (16 objects)"

alive() { local p; p=$(pid_of "$1"); [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }
verify_both() {
	local n
	for n in A B; do
		"$RP" db -d "$W/$n" verify >"$W/verify.out" 2>&1 || die "$1: db verify on $n: $(cat "$W/verify.out")"
	done
	ok "$1: db verify passes on A and B"
}
pins_whole() {
	local fa fb
	fa=$(fingerprint "$W/A/cert256.pem"); fb=$(fingerprint "$W/B/cert256.pem")
	pins_are B A "$fa:current" || die "$1: B's pins for A are '$(pin_list B A)', want $fa:current"
	pins_are A B "$fb:current" || die "$1: A's pins for B are '$(pin_list A B)', want $fb:current"
	wait_until 20 ping_ok A B || die "$1: PING A->B after the restart: $(adm A PING SERVER B)"
	wait_until 20 ping_ok B A || die "$1: PING B->A after the restart: $(adm B PING SERVER A)"
	ok "$1: each side pins the other's current certificate alone; PINGs both ways succeed"
}

kills=""; completed_before=0
ssls=(NO YES); victims=(A B)
for i in $(seq 1 "$RUNS"); do
	v=${victims[RANDOM % 2]}
	ssl=${ssls[RANDOM % 2]}
	ms=$((RANDOM % 1000))
	what="round $i: SSL=$ssl, kill -9 $v $ms ms after REPLICATE"
	adm A UPDATE SERVER B SSL="$ssl" >/dev/null || die "$what: UPDATE SERVER B SSL=$ssl"
	mutate_set d $((SEED + i)) 8 2 1; put_set A n d
	adm A REPLICATE NODE n TARGET=B >"$W/start.out" 2>&1 || die "$what: REPLICATE: $(cat "$W/start.out")"
	sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
	state=$(adm A QUERY REPLICATION n 2>/dev/null | jget 'j[0]["state"]' 2>/dev/null)
	stop_peer "$v" KILL
	[ "$state" == completed ] && completed_before=$((completed_before + 1))
	kills+="$v/$ssl/${ms}ms/${state:-?} "
	verify_both "$what (with $v dead)"
	nothing_altered "$what" B n
	start_peer "$v"
	wait_admin "$v"
	pins_whole "$what"
	end=$((SECONDS + 30)); tries=0
	while :; do
		tries=$((tries + 1))
		out=$(timeout 90 "$RP" admin -d "$W/A" --json REPLICATE NODE n TARGET=B WAIT=YES 2>&1) && break
		[ $SECONDS -lt $end ] || die "$what: the re-run does not complete: $out"
		sleep 1
	done
	expect_eq "$(node_manifest B n)" "$(dir_manifest d)" "$what: the re-run completes (attempt $tries), B's objects equal A's files"
	verify_both "$what (after the re-run)"
done
echo "MEASURE kills (victim/SSL/moment/A's state of the run just before): $kills"
echo "MEASURE $completed_before of $RUNS runs had completed before the kill"
