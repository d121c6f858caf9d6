#!/usr/bin/env bash
# Hostile peer: one authenticated partner must not crowd the others out
# (peer/admit.h: "a session rate per partner, so that one partner's flood
# ... does not crowd out the others"). With MAXSESSIONS 16 on A, the tool
# (B's real key and pairing key) opens 16 authenticated sync sessions at
# once, well within B's session rate (burst 300), and keeps them (each may
# last ROUNDTIMEOUT, 120 s by default, and is then opened again).
# A partner's share is MAXSESSIONS less a quarter: B gets 12, its 13th and
# later sessions are refused (RPL0414E naming the share), and C's PING SERVER A
# still succeeds (once the bug SESSION_MONOPOLY: C was refused with
# "MAXSESSIONS 16 reached"). Once B lets go, C works again and A's records
# are unchanged.
source "$(dirname "$0")/lib.sh"

pa=$(port); pb=$(port); pc=$(port)
init_peer A "$pa"; init_peer B "$pb"; init_peer C "$pc"
conf_set A MAXSESSIONS 16
start_peers A B C
define_pair A B; define_pair A C
for x in B C; do
	ping_ok A "$x" || die "first contact A->$x failed"
	ping_ok "$x" A || die "$x->A failed"
done
stop_peer B
beforeB=$(hstate A B); beforeC=$(hstate A C)

hrun hold <<EOF &
option quiet
identity B instance $W/B
secret kout $W/B pairing-out A
option keep-going
repeat 16 i
connect s\$i 127.0.0.1 $pa src=127.6.0.1
tls client B
send HELLO version=2 from=B to=A proto=2 purpose=2 method=1 flags=0
expect HELLO_REPLY method=1
tag t key=\$kout side=client client=B server=A method=1 purpose=2
send AUTH tag=\$t verified_by=1
recv
end
note holding
sleep 4
EOF
hp=$!
wait_until 10 grep -q '"holding"' "$W/hold.ev" || die "the tool did not open its sessions"
held=$(hcount hold 'e["ev"]=="recv" and e["type"]=="AUTH_OK"')
refused=$(hcount hold 'e["ev"]=="recv" and e["type"]=="ERROR" and "RPL0414E" in json.dumps(e)')
expect_eq "$held/$refused" "12/4" "B holds 12 authenticated sessions on A, its share of MAXSESSIONS 16; 4 more are refused (RPL0414E)"
log_has A "RPL0414E.*server B holds 12 sessions, its share of MAXSESSIONS 16" || die "A's log does not name B's share"
ok "A's log names B's share"
out=$(adm C PING SERVER A)
wait "$hp"
ping_ok C A || die "C does not work after B let go"
ok "after B let go, C works again"
expect_eq "$(hstate A B)" "$beforeB" "A's record of B is unchanged"
expect_eq "$(hstate A C)" "$beforeC" "A's record of C is unchanged"
no_crash A
grep -q '"ok": true' <<<"$out" || die "C's PING failed while B held its share: $out"
ok "C's PING succeeds while B holds its sessions"
