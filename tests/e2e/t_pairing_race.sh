#!/usr/bin/env bash
# e2e: long
# Concurrent sessions while a pairing key is being replaced (security model
# 3): after UPDATE SERVER A FORCESYNC=YES on B (rounds 1-3), then UPDATE
# SERVER B FORCESYNC=YES on A (rounds 4-6), eight PINGs B->A at once. The
# sessions that prove both passwords each store a new pairing key, on both
# sides; a session that starts in between proves the key it finds. Every
# session must succeed and none may count as a failed sign-on (five of those
# a minute lock the partner out, RPL0402E): the client lets one
# password-proof session to a partner run at a time; the server numbers
# the keys it stores and the client keeps the highest; the server accepts
# the key it just replaced for 120 s. After the window, the two sides must
# hold the same keys (A restarted 200 s ahead).
source "$(dirname "$0")/lib.sh"

paired_ab
failed=0; wrong=0; ids=""
# Rounds 1-3: the mark on B, the client (B asks for the password proofs);
# rounds 4-6: the mark on A, the server (A demands them of B's sessions,
# which asked for the pairing key).
for round in 1 2 3 4 5 6; do
	n425=$(log_events "$W/A.log" 'wrong pairing-key proof')
	if [ "$round" -le 3 ]; then
		adm B UPDATE SERVER A FORCESYNC=YES >/dev/null || die "UPDATE SERVER A FORCESYNC=YES on B"
	else
		adm A UPDATE SERVER B FORCESYNC=YES >/dev/null || die "UPDATE SERVER B FORCESYNC=YES on A"
	fi
	pids=()
	for i in 1 2 3 4 5 6 7 8; do
		( adm B PING SERVER A >"$W/p.$round.$i" 2>&1 ) &
		pids+=($!)
	done
	wait "${pids[@]}" # never a bare wait: it would wait for the daemons too
	for i in 1 2 3 4 5 6 7 8; do
		grep -q '"ok": true' "$W/p.$round.$i" && continue
		failed=$((failed + 1))
		ids+=" $(jget 'j.get("message_id", "?")' <"$W/p.$round.$i" 2>/dev/null)"
	done
	wrong=$((wrong + $(log_events "$W/A.log" 'wrong pairing-key proof') - n425))
	# A lockout (RPL0402E) ends within a minute.
	wait_until 70 ping_ok B A || die "round $round: PING B->A by pin fails after the concurrent sessions"
	ping_ok A B || die "round $round: PING A->B fails after the concurrent sessions"
	expect_eq "$(srv_field B A 's["forcesync_pending"]')" false "round $round: the FORCESYNC mark is cleared on B"
	expect_eq "$(srv_field A B 's["forcesync_pending"]')" false "round $round: the FORCESYNC mark is cleared on A"
done
ok "after each round the pairing converges: sequential PINGs by pin both ways succeed"
lockouts=$(log_events "$W/A.log" RPL0402E)
echo "MEASURE $failed of 48 PINGs failed, $lockouts refused by the lockout (RPL0402E)${ids:+ (IDs:$ids)}; A logged $wrong 'wrong pairing-key proof'"
[ "$failed" -eq 0 ] && [ "$wrong" -eq 0 ] && [ "$lockouts" -eq 0 ] ||
	die "concurrent PINGs around FORCESYNC failed: a session proved a pairing key the other side had replaced (the sides stored concurrent sessions' keys in different orders)"
ok "all 48 concurrent PINGs around the FORCESYNCs (mark on the client, then on the server) succeed, none counted as a failed sign-on"
# Converged, not carried by the previous keys A accepts for 120 s: with A's
# clock 200 s ahead, B's sessions by pin still verify.
n425=$(log_events "$W/A.log" 'wrong pairing-key proof')
stop_peer A
REPLPEER_CLOCK_OFFSET=200 start_peer A
ping_ok B A || die "200 s later, B's PING by pairing key fails: the two sides kept different keys"
ping_ok A B || die "200 s later, A's PING by pairing key fails"
expect_eq "$(( $(log_events "$W/A.log" 'wrong pairing-key proof') - n425 ))" 0 \
	"200 s later (beyond the previous keys' window) both sides hold the same pairing keys: PINGs by pin both ways succeed"
