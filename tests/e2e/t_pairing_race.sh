#!/usr/bin/env bash
# Concurrent sessions while a pairing key is being replaced (security model
# 3): after UPDATE SERVER A FORCESYNC=YES on B, eight PINGs B->A at once
# (three rounds). The sessions that prove both passwords each store a new
# pairing key, on both sides; a session that starts in between proves the
# key it finds. Every legitimate session must succeed and none may count
# as a failed sign-on (five of those a minute lock the partner out,
# RPL0402E). Today some fail with RPL0401E ("wrong pairing-key proof" in
# A's log: the two sides stored the keys of concurrent sessions in a
# different order) — a known bug, reported, shown as a SKIP line with the
# counts and not asserted until fixed. Asserted now: the pairing converges
# (sequential PINGs by pin both ways succeed after each round, within the
# minute a lockout (RPL0402E) may last).
source "$(dirname "$0")/lib.sh"

paired_ab
failed=0; wrong=0; ids=""
for round in 1 2 3; do
	n425=$(log_events "$W/A.log" 'wrong pairing-key proof')
	adm B UPDATE SERVER A FORCESYNC=YES >/dev/null || die "UPDATE SERVER A FORCESYNC=YES"
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
	expect_eq "$(srv_field B A 's["forcesync_pending"]')" false "round $round: the FORCESYNC mark is cleared"
done
ok "after each round the pairing converges: sequential PINGs by pin both ways succeed"
lockouts=$(log_events "$W/A.log" RPL0402E)
if [ "$failed" -eq 0 ] && [ "$wrong" -eq 0 ] && [ "$lockouts" -eq 0 ]; then
	ok "all 24 concurrent PINGs around the FORCESYNCs succeed, none counted as a failed sign-on"
else
	known_bug_shown "all 24 concurrent PINGs around the FORCESYNCs succeed, none counted as a failed sign-on" \
		"$failed failed, $lockouts sign-ons refused by the lockout (RPL0402E) ($(tr ' ' '\n' <<<"${ids# }" | sort | uniq -c | tr -s ' \n' ' ')); A logged $wrong 'wrong pairing-key proof' (RPL0425W, counted toward the RPL0402E lockout): a session started between two password-proof sessions proves a pairing key the other side has already replaced (peer/auth.c: the last commit wins on each side, in its own order)"
fi
