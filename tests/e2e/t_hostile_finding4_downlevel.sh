#!/usr/bin/env bash
# Hostile peer, finding 4: "forced protocol-1 fallback, then an offline
# attack on A's password". The attacker is a partner of B: it knows B's
# password, not A's. Victim: B, with A defined (TRANSITIONAL, never met).
#  1. The tool speaks protocol 1 to B claiming to be A: a revision-1 hello
#     (one password) is refused with RPL0437E before any challenge; a
#     revision-2 sign-on with B's password and a guess of A's is refused
#     with RPL0401E and counted as a failed sign-on; B's record of A (pins,
#     level, mark, pairing, down-level permission) does not change.
#  2. B does not then fall back to protocol 1 towards A: the tool, in A's
#     place, answers B's TLS ClientHello with the down-level marker twice
#     (two sessions); B never comes back with protocol 1 (no response to attack at
#     all), PING SERVER A reports RPL0418E and B's log says why.
#  3. Control: after the real A (PROTOCOLLEVEL 1) signed on to B over
#     protocol 1 with both passwords, the same forged marker does make B
#     fall back (the check above can fail); the response B then sends binds
#     both passwords: B's password with a wrong guess of A's does not
#     reproduce it. (With A's real password in the dictionary it does: the
#     residual risk of protocol 1 that ALLOWLEGACY/STRICT exist for; it is
#     printed, not asserted.)
source "$(dirname "$0")/lib.sh"

pa=$(port); pb=$(port); pt=$(port)
init_peer A "$pa"
init_peer B "$pb"
start_peer B
wait_admin B
pwA=$(cat "$W/A.pw"); pwB=$(cat "$W/B.pw")
adm B DEFINE SERVER A HLADDRESS=127.0.0.1 "LLADDRESS=$pt" "SERVERPASSWORD=$pwA" >/dev/null 2>&1
before=$(hstate B A)
expect_eq "$(srv_field B A 's["down_level_allowed"]')" false "B has no down-level permission for A yet"

# ---- 1. protocol 1 to B, claiming A ----------------------------------------
hrun p1-rev1 <<EOF
connect 127.0.0.1 $pb src=127.0.0.51
legacy client
send L_HELLO from=A to=B purpose=1
expect ERROR msgid=RPL0437E
expect-close
EOF
expect_eq "$?" 0 "a revision-1 (one password) hello claiming A is refused with RPL0437E"
expect_eq "$(hcount p1-rev1 'e["ev"]=="recv" and e["type"]=="L_CHALLENGE"')" 0 "no challenge is given to a revision-1 hello"
hrun p1-guess <<EOF
connect 127.0.0.1 $pb src=127.0.0.52
legacy client
send L_HELLO version=2 from=A to=B purpose=1
expect L_CHALLENGE from=B
set ns \$r.nonce
set nc rand:32
legacy-key k server_pw=$pwB client_pw=guessed-A-password
legacy-tag t key=\$k side=client nonce_s=\$ns nonce_c=\$nc client=A server=B
send L_RESPONSE nonce=\$nc tag=\$t
expect ERROR msgid=RPL0401E
expect-close
EOF
expect_eq "$?" 0 "a protocol-1 sign-on with B's password and a guess of A's is refused with RPL0401E"
# Both passwords right, the response's last byte changed: every byte counts.
hrun p1-flip <<EOF
connect 127.0.0.1 $pb src=127.0.0.53
legacy client
send L_HELLO version=2 from=A to=B purpose=1
expect L_CHALLENGE from=B
set ns \$r.nonce
set nc rand:32
legacy-key k server_pw=$pwB client_pw=$pwA
legacy-tag t key=\$k side=client nonce_s=\$ns nonce_c=\$nc client=A server=B flip=31
send L_RESPONSE nonce=\$nc tag=\$t
expect ERROR msgid=RPL0401E
expect-close
EOF
expect_eq "$?" 0 "a protocol-1 response with both passwords but its last byte changed is refused with RPL0401E"
log_has B 'down-level sign-on from server A \(127.0.0.52\) failed: wrong password \(protocol 1: both passwords are needed\)' ||
	die "B's log lacks the failed down-level sign-on"
ok "B logged the failed down-level sign-on from 127.0.0.52"
expect_eq "$(hstate B A)" "$before" "B's pins, level, mark and pairing for A are unchanged"
expect_eq "$(srv_field B A 's["down_level_allowed"]')" false "B still has no down-level permission for A"

# ---- 2. no fallback to a forged down-level answer ---------------------------
fake_downlevel() { # TAG: answers TLS with the marker; reports a protocol-1 comeback
	hrun "$1" <<EOF
listen $pt
spawn out=$W/$1.ping $RP admin -d $W/B --json PING SERVER A
accept s
send-raw str:RPL1-ONLY tcp
send-raw 0x0a tcp
close
try accept again timeout=1.5
try legacy server
try expect L_HELLO from=B to=A
set ns rand:32
print ns
try send L_CHALLENGE version=2 from=A nonce=\$ns
try expect L_RESPONSE
try close
reap
EOF
}
for i in 1 2; do
	fake_downlevel "forged-$i"
	expect_eq "$(hcount "forged-$i" 'e["ev"]=="accepted" and e["kind"]=="tls"')" 1 "attempt $i: B opened a TLS session to the fake A"
	expect_eq "$(hcount "forged-$i" 'e["ev"]=="accepted" and e["kind"]=="rpl1"')" 0 "attempt $i: B did not come back with protocol 1"
	expect_eq "$(hcount "forged-$i" 'e["ev"]=="recv" and e["type"]=="L_RESPONSE"')" 0 "attempt $i: the fake A got no protocol-1 response"
	expect_contains "$(cat "$W/forged-$i.ping")" 'RPL0418E' "attempt $i: B's PING SERVER A reports RPL0418E"
done
log_has B 'answered as a down-level \(protocol 1\) server, but it is TRANSITIONAL and has never proved both passwords over protocol 1; no fallback' ||
	die "B's log does not say why it did not fall back"
ok "B's log says why it did not fall back"
expect_eq "$(hstate B A)" "$before" "B's record of A still unchanged"

# ---- 3. control: a real down-level A earns the fallback ----------------------
conf_set A PROTOCOLLEVEL 1
start_peer A
adm A DEFINE SERVER B HLADDRESS=127.0.0.1 "LLADDRESS=$pb" "SERVERPASSWORD=$pwB" >/dev/null || die "define B on A"
adm B UPDATE SERVER A "LLADDRESS=$pa" >/dev/null || die "point B at A"
p=$(adm A PING SERVER B) || die "the down-level A's PING failed: $p"
expect_eq "$(jget 'j["protocol"]' <<<"$p")" 1 "the real A (PROTOCOLLEVEL 1) signs on to B over protocol 1"
expect_eq "$(srv_field B A 's["down_level_allowed"]')" true "that sign-on (both passwords) gives B the down-level permission for A"
stop_peer A
adm B UPDATE SERVER A "LLADDRESS=$pt" >/dev/null || die "point B at the fake A"
fake_downlevel control
expect_eq "$(hcount control 'e["ev"]=="accepted" and e["kind"]=="rpl1"')" 1 "control: now B falls back to protocol 1 after the marker"
expect_eq "$(hcount control 'e["ev"]=="recv" and e["type"]=="L_RESPONSE"')" 1 "control: and answers the challenge"
resp=$(hlast control 'e["ev"]=="recv" and e["type"]=="L_RESPONSE"' 'e["fields"]["tag"]')
ncl=$(hlast control 'e["ev"]=="recv" and e["type"]=="L_RESPONSE"' 'e["fields"]["nonce"]')
nsv=$(hlast control 'e["ev"]=="value" and "ns" in e' 'e["ns"]')
{
	for guess in guessed-A-password wrong-2 "$pwA"; do
		echo "legacy-key k server_pw=$guess client_pw=$pwB"
		echo "legacy-tag t key=\$k side=client nonce_s=hex:$nsv nonce_c=hex:$ncl client=B server=A"
		echo "check guess-$guess \$t hex:$resp"
	done
} | hrun offline || die "the offline check did not run"
expect_eq "$(hcount offline 'e["ev"]=="check" and e["equal"] and e["name"] in ("guess-guessed-A-password", "guess-wrong-2")')" 0 \
	"control: B's password with wrong guesses of A's does not reproduce B's response"
echo "MEASURE residual risk of protocol 1 (informational): with A's real password in the dictionary, B's password reproduces the fallback response: $(hlast offline 'e["ev"]=="check" and e["name"]=="guess-'"$pwA"'"' 'e["equal"]')"
no_crash B
