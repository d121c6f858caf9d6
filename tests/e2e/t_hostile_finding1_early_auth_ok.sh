#!/usr/bin/env bash
# Hostile peer, finding 1 (critical): "a client accepts MSG_AUTH_OK in any
# state, also before MSG_HELLO_REPLY; its pairing key is then all zero, the
# early AUTH_OK skips the certificate decision, and a MSG_CERTS in that
# session makes A pin the impostor's next certificate for B".
# The hostile tool takes B's place on the network (A's DEFINE SERVER B points
# at it) and proves, for every variant, that A refuses with a logged message
# ID and keeps its pins (fingerprints and states), B's session security, the
# FORCESYNC mark and its pairing keys for B:
#  1. AUTH_OK before HELLO_REPLY, tag under the all-zero key, presenting an
#     impostor certificate (CN B, not pinned), then CERTS announcing a next
#     certificate endorsed by the impostor's key;
#  2. the same presenting B's real certificate (B's own key);
#  3. the same with a tag under B's real pairing key (still out of order);
#  4. a complete first-contact session (the tool knows both passwords of a
#     new partner E, as the design allows) followed by CERTS: refused in both
#     roles (A as server and as client), E's first-contact pin stays and no
#     next pin appears; the same in a FORCESYNC session;
#  5. pin-verified sessions (B's real key and pairing key) whose CERTS is
#     endorsed by a key that is not pinned (the impostor's, or the announced
#     key itself): refused with RPL0435E (CERTS_REFUSED) in both roles.
# Afterwards the real B's next sessions in both directions are verified by
# pin and authenticated with the stored pairing key (no SRP): A's pairing
# keys for B did not change.
source "$(dirname "$0")/lib.sh"

paired_ab
stop_peer B
pa=$(peer_port A); pt=$(port)
pwA=$(cat "$W/A.pw"); pwB=$(cat "$W/B.pw")
fpB=$(fingerprint "$W/B/cert256.pem")
expect_rc 0 adm A UPDATE SERVER B "LLADDRESS=$pt"
before=$(hstate A B)
expect_contains "$before" "\"$fpB:current\"" "A pins B's certificate as current before the attacks"

# A connects to the tool (it believes it is B) while the tool runs SCRIPT.
# outbound_attack TAG SCRIPT: the tool accepts one connection, A's PING fails.
outbound_attack() {
	local tag=$1 script=$2 out
	hrun "$tag" <<<"listen $pt
$script" &
	local hp=$!
	sleep 0.2
	out=$(adm A PING SERVER B); local rc=$?
	wait "$hp"
	echo "$out" >"$W/$tag.ping"
	[ "$rc" -eq 1 ] || die "$tag: A's PING SERVER B did not fail: $out"
}

# ---- 1-3: AUTH_OK before HELLO_REPLY -----------------------------------
hello="expect HELLO from=A to=B version=2 proto=2"
for v in impostor-zero real-zero real-pairing; do
	case $v in
	impostor-zero) idline="gen-identity ID cn=B ip=127.0.0.1"; key=zero ;;
	real-zero) idline="identity ID instance $W/B"; key=zero ;;
	real-pairing) idline="identity ID instance $W/B
secret k $W/B pairing-in A"; key='$k' ;;
	esac
	outbound_attack "early-$v" "$idline
gen-identity NEXT cn=B ip=127.0.0.1
accept a
tls server ID
$hello
tag t key=$key side=server client=A server=B method=1 purpose=1
send AUTH_OK tag=\$t verified_by=1
announce-entry e ID NEXT
try send CERTS entry=\$e
try expect-close"
	expect_eq "$(hcount "early-$v" 'e["ev"]=="recv" and e["type"] in ("AUTH","CERTS_ACK","PING")')" 0 \
		"$v: A sends no proof, no CERTS_ACK and no PING after an early AUTH_OK"
	expect_eq "$(jget 'j["message_id"]' <"$W/early-$v.ping")" RPL0409E "$v: A's PING SERVER B reports RPL0409E"
	unexpected_logged A outbound AUTH_OK client-wait-hello-reply ||
		die "$v: A's log lacks 'message AUTH_OK (4) is not expected in state client-wait-hello-reply'"
	ok "$v: A's log names AUTH_OK and the state client-wait-hello-reply"
	expect_eq "$(hstate A B)" "$before" "$v: A's pins, level, FORCESYNC mark and pairing for B are unchanged"
done
nextfp=$(hlast early-real-zero 'e["ev"]=="identity" and e["name"]=="NEXT"' 'e["fp"]')
expect_not_contains "$(cat "$W/A.log")" "$nextfp" "A never saw the announced next certificate"

# ---- 4: CERTS in a session verified by first contact or FORCESYNC --------
pe=$(port)
printf 'pw-E-secret\n' >"$W/E.pw"
expect_rc 0 adm A DEFINE SERVER E HLADDRESS=127.0.0.1 "LLADDRESS=$pt" SERVERPASSWORD=pw-E-secret
# A as server: the tool (E) signs on with both passwords, then announces.
hrun certs-first-in <<EOF
gen-identity E cn=E ip=127.0.0.1
gen-identity NEXT cn=E ip=127.0.0.1
connect 127.0.0.1 $pa src=127.0.0.21
tls client E
send HELLO version=2 from=E to=A proto=2 purpose=2 method=2 flags=0
expect HELLO_REPLY method=2
srp-client p1=$pwA p2=pw-E-secret
tag t key=\$pairing side=client client=E server=A method=2 purpose=2
send AUTH A=\$A M1=\$M1 A2=\$A2 M1_2=\$M1_2 tag=\$t verified_by=3
expect AUTH_OK verified_by=3
srp-client-check
expect CERTS_ACK
announce-entry e E NEXT
send CERTS entry=\$e
expect ERROR msgid=RPL0409E
expect-close
EOF
expect_eq "$?" 0 "A as server: first contact with E by both passwords, then CERTS is answered RPL0409E and the session ends"
unexpected_logged A inbound CERTS ready || die "A's log lacks 'message CERTS (20) is not expected in state ready' (inbound)"
ok "A's log names CERTS and the state ready (inbound, first contact)"
fpE=$(hlast certs-first-in 'e["ev"]=="identity" and e["name"]=="E"' 'e["fp"]')
stE=$(hstate A E)
expect_contains "$stE" "\"$fpE:current\"" "E's first-contact pin is E's certificate"
expect_not_contains "$stE" ":next" "no next pin for E after a CERTS in a first-contact session"

# FORCESYNC: the mark makes the next session a password session again.
expect_rc 0 forcesync_mark A E
hrun certs-forcesync-in <<EOF
gen-identity E2 cn=E ip=127.0.0.1
gen-identity NEXT cn=E ip=127.0.0.1
connect 127.0.0.1 $pa src=127.0.0.22
tls client E2
send HELLO version=2 from=E to=A proto=2 purpose=2 method=2 flags=1
expect HELLO_REPLY method=2
srp-client p1=$pwA p2=pw-E-secret
tag t key=\$pairing side=client client=E server=A method=2 purpose=2
send AUTH A=\$A M1=\$M1 A2=\$A2 M1_2=\$M1_2 tag=\$t verified_by=3
expect AUTH_OK verified_by=3
expect CERTS_ACK
announce-entry e E2 NEXT
send CERTS entry=\$e
expect ERROR msgid=RPL0409E
expect-close
EOF
expect_eq "$?" 0 "A as server: a FORCESYNC session by both passwords, then CERTS is answered RPL0409E"
fpE2=$(hlast certs-forcesync-in 'e["ev"]=="identity" and e["name"]=="E2"' 'e["fp"]')
stE=$(hstate A E)
expect_contains "$stE" "\"$fpE2:current\"" "FORCESYNC replaced E's pin (both passwords were proved)"
expect_not_contains "$stE" ":next" "no next pin for E after a CERTS in a FORCESYNC session"

# A as client: first contact with E (the tool as server), then CERTS.
expect_rc 0 adm A DELETE SERVER E
expect_rc 0 adm A DEFINE SERVER E HLADDRESS=127.0.0.1 "LLADDRESS=$pt" SERVERPASSWORD=pw-E-secret
hrun certs-first-out <<EOF &
listen $pt
gen-identity E cn=E ip=127.0.0.1
gen-identity NEXT cn=E ip=127.0.0.1
accept a
tls server E
expect HELLO from=A to=E method=2
srp-server p1=pw-E-secret p2=$pwA
send HELLO_REPLY version=2 from=E method=2 salt=\$salt B=\$B salt2=\$salt2 B2=\$B2
expect AUTH
srp-server-finish
tag t key=\$pairing side=server client=A server=E method=2 purpose=1
send AUTH_OK M2=\$M2 M2_2=\$M2_2 tag=\$t verified_by=3
expect CERTS_ACK
announce-entry e E NEXT
send CERTS entry=\$e
expect-close
EOF
hp=$!
sleep 0.2
out=$(adm A PING SERVER E)
wait "$hp"; rc=$?
expect_eq "$rc" 0 "A as client: first contact with E by both passwords completes"
expect_eq "$(hcount certs-first-out 'e["ev"]=="recv" and e["type"]=="ERROR" and e["fields"].get("msgid")=="RPL0409E"')" 1 \
	"A as client answers the CERTS with RPL0409E"
unexpected_logged A outbound CERTS ping-sent || die "A's log lacks 'message CERTS (20) is not expected in state ping-sent' (outbound)"
ok "A's log names CERTS and the state ping-sent (outbound, first contact)"
fpE=$(hlast certs-first-out 'e["ev"]=="identity" and e["name"]=="E"' 'e["fp"]')
stE=$(hstate A E)
expect_contains "$stE" "\"$fpE:current\"" "E's first-contact pin is E's certificate (A as client)"
expect_not_contains "$stE" ":next" "no next pin for E after a CERTS in a first-contact session (A as client)"

# ---- 5: CERTS in a pin-verified session, endorsed by a key that is not pinned,
# or endorsed by B's pinned key but signed for the session by a key that is
# not the announced certificate's (no possession of the next key)
for by in impostor self possession; do
	eby=I pby=NEXT
	[ "$by" = self ] && eby=NEXT
	[ "$by" = possession ] && eby=B pby=I
	what="endorsed by the $by key"
	[ "$by" = possession ] && what="endorsed by B's pinned key whose next key's holder did not sign"
	# A as server: the tool is B with B's key and pairing key.
	hrun "certs-$by-in" <<EOF
identity B instance $W/B
secret k $W/B pairing-out A
gen-identity I cn=B ip=127.0.0.1
gen-identity NEXT cn=B ip=127.0.0.1
connect 127.0.0.1 $pa src=127.0.0.3$(case $by in self) echo 1;; impostor) echo 2;; *) echo 3;; esac)
tls client B
send HELLO version=2 from=B to=A proto=2 purpose=2 method=1 flags=0
expect HELLO_REPLY method=1
tag t key=\$k side=client client=B server=A method=1 purpose=2
send AUTH tag=\$t verified_by=1
expect AUTH_OK verified_by=1
expect CERTS_ACK
announce-entry e B NEXT endorse_by=$eby possess_by=$pby
send CERTS entry=\$e
expect CERTS_REFUSED msgid=RPL0435E
send BYE
try expect-close
EOF
	expect_eq "$?" 0 "A as server refuses a CERTS $what with RPL0435E (CERTS_REFUSED)"
	expect_eq "$(hstate A B)" "$before" "A's record of B unchanged after the CERTS $what (A as server)"
	# A as client.
	hrun "certs-$by-out" <<EOF &
listen $pt
identity B instance $W/B
secret k $W/B pairing-in A
gen-identity I cn=B ip=127.0.0.1
gen-identity NEXT cn=B ip=127.0.0.1
accept a
tls server B
expect HELLO from=A to=B method=1
send HELLO_REPLY version=2 from=B method=1
expect AUTH
tag t key=\$k side=server client=A server=B method=1 purpose=1
send AUTH_OK tag=\$t verified_by=1
expect CERTS_ACK
announce-entry e B NEXT endorse_by=$eby possess_by=$pby
send CERTS entry=\$e
try recv
try recv
close
EOF
	hp=$!
	sleep 0.2
	out=$(adm A PING SERVER B)
	wait "$hp"
	expect_eq "$(hcount "certs-$by-out" 'e["ev"]=="recv" and e["type"] in ("ERROR", "CERTS_REFUSED") and e["fields"].get("msgid")=="RPL0435E"')" 1 \
		"A as client refuses a CERTS $what with RPL0435E"
	expect_eq "$(hstate A B)" "$before" "A's record of B unchanged after the CERTS $what (A as client)"
done
n=$(grep -c 'RPL0435E server B announced a certificate that is refused: its proofs do not verify' "$W/A.log")
[ "$n" -ge 6 ] || die "A logged $n RPL0435E refusals for B, want 6"
ok "A logged RPL0435E 'its proofs do not verify' for each of the 6 badly endorsed or unpossessed announcements"

# ---- the real B: pins and pairing keys intact --------------------------
expect_eq "$(hstate A B)" "$before" "A's pins, level, FORCESYNC mark and pairing for B are unchanged after everything"
expect_rc 0 adm A UPDATE SERVER B "LLADDRESS=$(peer_port B)"
start_peer B
wait_admin B
by_pairing_key A B || die "A -> B is not verified by pin with the pairing key"
ok "A -> real B: verified by pin with the stored pairing key (A's outbound key unchanged)"
by_pairing_key B A || die "B -> A is not verified by pin with the pairing key"
ok "real B -> A: verified by pin with the stored pairing key (A's inbound key unchanged)"
no_crash A
