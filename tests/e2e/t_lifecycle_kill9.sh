#!/usr/bin/env bash
# e2e: long
# Lifecycle acceptance 7: kill -9 of either side at some instant of a rollover
# (RENEW CERTIFICATE on A) or of a FORCESYNC (B re-pins a rebuilt A) leaves
# consistent state:
#  - B's pins for A are never empty, each pin is A's old or A's new
#    certificate, exactly one of them is "current";
#  - FORCESYNC is atomic: B pins the new certificate iff its mark is cleared;
#  - A's own certificates (read offline with 'replpeer cert list') have
#    exactly one "current" and at most one "next".
# After both sides run again, the next PINGs succeed and the exchange
# finishes: B pins A's current certificate alone, as current, A has exactly
# one current certificate and no next, and B's mark is cleared.
# Then at random moments (seed printed; KILL9_SEED=N reproduces it,
# KILL9_RUNS runs of each kind, default 5): kill -9 of A or one of its
# three partners B, C, D during RENEW CERTIFICATE rounds, and of A or B
# during FORCESYNC exchanges; after each restart every store passes
# 'replpeer db verify', every partner's pins for A are whole (A's old or new
# certificates, one current), and the exchange finishes as above.
source "$(dirname "$0")/lib.sh"

paired_ab

# A's own certificates, offline (works while A is dead or running).
own_offline() { "$RP" cert -d "$W/A" --json list | jget "[c['fingerprint'] + ':' + c['state'] for c in j if c.get('kind', 'own') == 'own' and 'state' in c]"; }
own_offline_fps() { "$RP" cert -d "$W/A" --json list | jget "' '.join(c['fingerprint'] for c in j if 'state' in c)"; }
count_state() { own_offline | jget "len([x for x in j if x.endswith(':$1')])"; }
alive() { local p; p=$(pid_of "$1"); [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }
ensure_up() { alive "$1" || { start_peer "$1"; wait_admin "$1"; }; }

# check_pins_of P WHAT ALLOWED-FPS: P's pins for A are sane (P must run).
check_pins_of() {
	local who=$1 what=$2 allowed=$3 pins fp st ncur=0
	pins=$(pin_list "$who" A)
	[ -n "$pins" ] || die "$what: $who's pins for A are empty"
	for p in $pins; do
		fp=${p%%:*}; st=${p#*:}
		[[ " $allowed " == *" $fp "* ]] || die "$what: $who pins $fp for A, neither A's old nor new certificate ($allowed)"
		[ "$st" == current ] && ncur=$((ncur + 1))
	done
	[ "$ncur" -eq 1 ] || die "$what: $who's pins for A have $ncur current entries: $pins"
	ok "$what: $who's pins for A are consistent ($pins)"
}
check_b_pins() { check_pins_of B "$@"; }

check_a_own() {
	local what=$1
	expect_eq "$(count_state current)" 1 "$what: A has exactly one current certificate (offline)"
	[ "$(count_state next)" -le 1 ] || die "$what: A has more than one next certificate: $(own_offline)"
}

# finish WHAT: both sides run; the next PINGs complete the exchange.
finish() {
	local what=$1 cur
	ensure_up A; ensure_up B
	wait_until 20 ping_ok A B || die "$what: PING A->B does not succeed after the restart: $(adm A PING SERVER B)"
	wait_until 20 ping_ok B A || die "$what: PING B->A does not succeed after the restart: $(adm B PING SERVER A)"
	ok "$what: PING both ways succeeds after the restart"
	cur_is_pinned() { cur=$(own_fp A current); [ -n "$cur" ] && pins_are B A "$cur:current" && [ -z "$(own_fp A next)" ]; }
	wait_until 30 cur_is_pinned ||
		die "$what: exchange not finished: A current=$(own_fp A current) next=$(own_fp A next); B pins $(pin_list B A)"
	ok "$what: B pins A's current certificate alone, as current; A has no next"
	expect_eq "$(own_count A current)" 1 "$what: A has exactly one current certificate"
	expect_eq "$(srv_field B A 's["forcesync_pending"]')" false "$what: no FORCESYNC pending on B"
	expect_eq "$(fingerprint "$W/A/cert256.pem")" "$(own_fp A current)" "$what: A's cert256.pem is its current certificate"
}

# kill_after VICTIM DELAY [LOG REGEX N]: kill -9 VICTIM DELAY seconds after
# LOG has more than N lines matching REGEX (a tight poll, about 1 ms), or
# DELAY seconds from now without an anchor.
kill_after() {
	local victim=$1 delay=$2 log=${3:-} re=${4:-} n=${5:-0} end=$((SECONDS + 15))
	if [ -n "$log" ]; then
		while [ "$(grep -cE -- "$re" "$log")" -le "$n" ]; do
			[ $SECONDS -lt $end ] || die "anchor '$re' never appeared in $log"
		done
	fi
	sleep "$delay"
	stop_peer "$victim" KILL
}

# describe_pins OLD: B's pins for A with "old"/"new" instead of fingerprints.
describe_pins() { local p out=""; for p in $(pin_list B A); do
	if [ "${p%%:*}" == "$1" ]; then out+=" old:${p#*:}"; else out+=" new:${p#*:}"; fi; done; echo "${out# }"; }

# ---- rollover: RENEW on A, kill -9 one side at some point ----
rollover() { # rollover VICTIM DELAY [SIDE REGEX]: anchor on SIDE's log
	local victim=$1 delay=$2 side=${3:-} re=${4:-} what before old allowed n=0 rpid
	what="rollover, kill -9 $victim ${delay}s after ${re:-RENEW}"
	old=$(own_fp A current)
	before=$(own_offline_fps)
	[ -n "$side" ] && n=$(grep -cE -- "$re" "$W/$side.log")
	adm A RENEW CERTIFICATE >"$W/renew.out" 2>&1 &
	rpid=$!
	if [ -n "$side" ]; then kill_after "$victim" "$delay" "$W/$side.log" "$re" "$n"
	else kill_after "$victim" "$delay"; fi
	wait "$rpid"
	check_a_own "$what"
	# The certificates A created in this iteration count as "new".
	allowed="$old"
	for fp in $(own_offline_fps); do [[ " $before " == *" $fp "* ]] || allowed+=" $fp"; done
	ensure_up B
	check_b_pins "$what" "$allowed"
	echo "     (B's pins for A after the kill: $(describe_pins "$old"); A: $(own_offline | jget "' '.join(x.split(':')[1] for x in j)"))"
	finish "$what"
}

# ---- FORCESYNC: A is rebuilt with a new key; B re-pins it ----
rebuild_A() {
	stop_peer A
	rm -rf "$W/A"
	init_peer A "$pa"
	start_peer A
	wait_admin A
	adm A "DEFINE SERVER B HLADDRESS=127.0.0.1 LLADDRESS=$pb SERVERPASSWORD=$(cat "$W/B.pw")" >/dev/null || die "define B on the rebuilt A"
}
check_fs_atomic() { # WHAT OLD NEW
	local pins mark
	pins=$(pin_list B A); mark=$(srv_field B A 's["forcesync_pending"]')
	if [ "$pins" == "$3:current" ]; then
		expect_eq "$mark" false "$1: B pins the new certificate and its mark is cleared (one transaction)"
	elif [ "$pins" == "$2:current" ]; then
		expect_eq "$mark" true "$1: B still pins the old certificate and its mark is still set"
	else
		die "$1: B's pins for A are '$pins' (want $2 or $3 as the only current pin)"
	fi
}
fs_requests() { actlog_lines B | grep -c "^RPL0509I FORCESYNC requested for server A"; }
forcesync() { # forcesync VICTIM DELAY HOW [SIDE REGEX] (HOW out: B's session; in: A's PING)
	local victim=$1 delay=$2 how=$3 side=${4:-} re=${5:-} what old new jpid n=0 req0
	what="FORCESYNC ($how), kill -9 $victim ${delay}s after ${re:-the request}"
	old=$(own_fp A current)
	if [ "$how" == in ]; then
		stop_peer A
		forcesync_mark B A >/dev/null || die "$what: UPDATE SERVER A FORCESYNC=YES"
		rebuild_A
		new=$(fingerprint "$W/A/cert256.pem")
		req0=$(fs_requests)
		[ -n "$side" ] && n=$(grep -cE -- "$re" "$W/$side.log")
		adm A PING SERVER B >"$W/fs.out" 2>&1 &
		jpid=$!
	else
		rebuild_A
		new=$(fingerprint "$W/A/cert256.pem")
		req0=$(fs_requests)
		[ -n "$side" ] && n=$(grep -cE -- "$re" "$W/$side.log")
		adm B "UPDATE SERVER A FORCESYNC=YES" >"$W/fs.out" 2>&1 &
		jpid=$!
	fi
	if [ -n "$side" ]; then kill_after "$victim" "$delay" "$W/$side.log" "$re" "$n"
	else kill_after "$victim" "$delay"; fi
	wait "$jpid"
	check_a_own "$what"
	ensure_up B
	check_b_pins "$what" "$old $new"
	if [ "$how" == out ] && [ "$(fs_requests)" -eq "$req0" ]; then
		# Killed before UPDATE SERVER committed: nothing was requested.
		expect_eq "$(pin_list B A):$(srv_field B A 's["forcesync_pending"]')" "$old:current:false" \
			"$what: the request never committed: old pin, no mark"
		forcesync_mark B A >/dev/null || die "$what: UPDATE SERVER A FORCESYNC=YES again"
	else
		check_fs_atomic "$what" "$old" "$new"
	fi
	finish "$what"
	expect_eq "$(pin_list B A)" "$new:current" "$what: B ends up pinning the rebuilt A's certificate"
}

rollover A 0
rollover B 0.003
rollover A 0 A "RPL0601I certificate renewal by"
rollover B 0 A "RPL0601I certificate renewal by"
rollover A 0 B "announced its next certificate"
rollover B 0 B "announced its next certificate"
rollover A 0 A "RPL0602I"
rollover B 0 A "RPL0602I"
rollover A 0 A "RPL0601I certificate confirmation round"
rollover B 0 A "RPL0601I certificate confirmation round"
rollover A 0.002 A "RPL0601I certificate confirmation round"
forcesync B 0.002 out
forcesync A 0.004 out
forcesync B 0 out A "RPL0424I server B moved to STRICT"
forcesync A 0 out A "RPL0424I server B moved to STRICT"
forcesync B 0.006 in
forcesync A 0.01 in
forcesync B 0 in B "session .* from server A .*certificate by first-contact"
forcesync A 0 in B "session .* from server A .*certificate by first-contact"
forcesync A 0.001 out

# ---- kill -9 at random moments ------------------------------------------------
SEED=${KILL9_SEED:-$((RANDOM * 32768 + RANDOM))}
RUNS=${KILL9_RUNS:-5}
RANDOM=$SEED
echo "MEASURE kill -9 at random moments: seed $SEED, $RUNS runs of each kind (reproduce with KILL9_SEED=$SEED)"
mapfile -t more < <(unique_ports 2)
init_peer C "${more[0]}"
init_peer D "${more[1]}"
start_peers C D
pair_many A C D

verify_all() { # WHAT: every store verifies (offline check; the daemons may run)
	local n
	for n in A B C D; do
		"$RP" db -d "$W/$n" verify >"$W/verify.out" 2>&1 || die "$1: db verify on $n: $(cat "$W/verify.out")"
	done
	ok "$1: db verify passes on A, B, C and D"
}
finish_all() { # WHAT: everyone runs; C and D end up like B (finish)
	local what=$1 cur p
	for p in A B C D; do ensure_up "$p"; done
	finish "$what"
	cur=$(own_fp A current)
	for p in C D; do
		wait_until 20 ping_ok "$p" A || die "$what: PING $p->A does not succeed after the restart"
		wait_until 30 pins_are "$p" A "$cur:current" || die "$what: $p does not pin A's current certificate alone: $(pin_list "$p" A)"
	done
	ok "$what: C and D pin A's current certificate alone, as current"
}

for i in $(seq 1 "$RUNS"); do
	victims=(A B C D)
	v=${victims[RANDOM % 4]}
	ms=$((RANDOM % 400))
	what="random rollover $i: kill -9 $v ${ms} ms after RENEW (3 partners)"
	old=$(own_fp A current)
	before=$(own_offline_fps)
	adm A RENEW CERTIFICATE >"$W/renew.out" 2>&1 &
	rpid=$!
	sleep "$(printf '0.%03d' "$ms")"
	stop_peer "$v" KILL
	wait "$rpid"
	check_a_own "$what"
	allowed="$old"
	for fp in $(own_offline_fps); do [[ " $before " == *" $fp "* ]] || allowed+=" $fp"; done
	for p in B C D; do ensure_up "$p"; check_pins_of "$p" "$what" "$allowed"; done
	verify_all "$what"
	finish_all "$what"
done

for i in $(seq 1 "$RUNS"); do
	victims=(A B); hows=(out in)
	v=${victims[RANDOM % 2]}
	how=${hows[RANDOM % 2]}
	delay=$(printf '0.%03d' $((RANDOM % 60)))
	forcesync "$v" "$delay" "$how"
	verify_all "random FORCESYNC $i ($how, kill -9 $v ${delay}s after the request)"
done
