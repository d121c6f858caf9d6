#!/usr/bin/env bash
# Hostile peer: an unauthenticated peer must not spend a partner's session
# budget. The partner's session rate (25 a second, burst 300) is charged
# only after its proof (peer/conn.c conn_admit_partner); it once was charged
# for every hello claiming the name (the bug PARTNER_RATE_DRAIN), so that
# anyone who could reach TCPPORT and claim to be B locked the real B out
# with RPL0434E. The flood's log lines are counted, not repeated.
#  1. protocol 1 (no TLS, no password): the tool sends L_HELLO claiming B
#     for 2 s from 127.0.0.9 while the real B pings A three times;
#  2. protocol 2 with a throw-away certificate (refused as RPL0403E): the
#     same for 3 s.
# Every PING of the real B succeeds (by pin, pairing key); after the flood
# A's record of B is unchanged and B works again.
source "$(dirname "$0")/lib.sh"

paired_ab
pa=$(peer_port A)
before=$(hstate A B)

# flood TAG KIND: the tool claims B for 2 s; meanwhile the real B pings A.
flood() {
	local tag=$1 kind=$2 body
	if [ "$kind" = p1 ]; then
		body="connect d 127.0.0.1 $pa src=127.0.0.9
legacy client
send L_HELLO version=2 from=B to=A purpose=1
try expect-close timeout=2"
	else
		body="connect d 127.0.0.1 $pa src=127.0.0.10
tls client I
send HELLO version=2 from=B to=A proto=2 purpose=1 method=1 flags=0
try expect-close timeout=2"
	fi
	hrun "$tag" <<EOF &
option quiet
gen-identity I cn=B ip=127.0.0.1
repeat 2s
$body
end
EOF
	local hp=$! fails=0 i out log0
	log0=$(stat -c %s "$W/A.log")
	sleep 0.5
	for i in 1 2 3; do
		out=$(adm B PING SERVER A)
		echo "$out" >"$W/$tag.ping.$i"
		grep -q '"ok": true' <<<"$out" || fails=$((fails + 1))
		sleep 0.2
	done
	wait "$hp"
	local n refused
	n=$(hcount "$tag" 'e["ev"]=="connected"')
	refused=$(hcount "$tag" 'e["ev"]=="recv" and e["fields"].get("msgid")=="RPL0434E"')
	echo "MEASURE $kind flood claiming B: $n sessions in 2 s, $refused of them answered RPL0434E; the real B's PINGs failed: $fails of 3; A's daemon log grew by $(( $(stat -c %s "$W/A.log") - log0 )) bytes"
	[ "$fails" -eq 0 ] || die "$kind flood claiming B: $fails of 3 PINGs of the real B failed ($(jget 'j.get("message_id")' <"$W/$tag.ping.1")) (once the bug PARTNER_RATE_DRAIN)"
	ok "$kind flood claiming B: the real B's PINGs all succeed"
	local grew=$(( $(stat -c %s "$W/A.log") - log0 ))
	[ "$grew" -lt 65536 ] || die "$kind flood: A's daemon log grew by $grew bytes in 2 s"
	ok "$kind flood: A's daemon log grew by $grew bytes (< 64 KiB): lines are counted, not repeated"
}
flood drain-p1 p1
flood drain-p2 p2

expect_eq "$(hstate A B)" "$before" "A's record of B is unchanged after the floods"
wait_until 15 by_pairing_key B A || die "the real B does not work again after the flood"
ok "after the flood, the real B works again (pin, pairing key)"
no_crash A
