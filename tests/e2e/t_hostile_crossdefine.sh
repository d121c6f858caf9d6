#!/usr/bin/env bash
# Hostile peer against cross-definition (issue 12). B is the victim; A is an
# honest partner of B, paired. The tool asks B to define a server X (or A)
# the ways a lying peer could; each attempt changes nothing on B (QUERY
# SERVER as before, A's pins, level, mark and pairing as before), B's
# activity log shows the refusal, and the session ends:
#  1. B without the opt-in (CROSSDEFINE OFF): refused at the hello, RPL1263E;
#  2. (SET CROSSDEFINE ON from here) a peer without B's password: its proof
#     of B's password fails, RPL0401E, the failed sign-on is logged;
#  3. the request before the proofs: right after TLS, and instead of AUTH
#     after HELLO_REPLY: protocol error (RPL0409E) naming the state;
#  4. the request twice after a correct proof: the second ends the session
#     (RPL0409E in state crossdef-defining) and the first is abandoned, its
#     waiting definition removed;
#  5. the wrong state: AUTH again after AUTH_OK, and MSG_CROSSDEF inside an
#     authenticated ordinary session (the tool as A, with A's key and
#     pairing key): protocol error, nothing changes;
#  6. naming an existing server (A): refused at the hello, RPL1264E, A's
#     definition untouched and still working by pin and pairing key;
#  7. a correct proof of B's password and one request, but nobody that
#     proves the announced password at the announced address: B's session
#     back fails, B answers RPL1267E and removes what it wrote.
source "$(dirname "$0")/lib.sh"

pa=$(port); pb=$(port); pdead=$(port)
init_peer A "$pa"
init_peer B "$pb"
start_peer A
start_peer B
define_pair A B
ping_ok A B || die "first contact A->B failed"
ping_ok B A || die "B->A failed"
pwB=$(cat "$W/B.pw")
servers() { adm B QUERY SERVER | jget '[s["name"] for s in j]'; }
before=$(servers)
stateA=$(hstate B A)
addrA=$(srv_field B A '[s["hladdress"], s["lladdress"]]')
expect_eq "$before" '["A"]' "B defines A only"

# unchanged TAG: B's definitions and its state for A are as before.
unchanged() {
	expect_eq "$(servers)" "$before" "$1: B's definitions are unchanged"
	expect_eq "$(hstate B A)" "$stateA" "$1: B's pins, level, mark and pairing for A are unchanged"
	expect_eq "$(srv_field B A '[s["hladdress"], s["lladdress"]]')" "$addrA" "$1: B's address for A is unchanged"
}

# hello TAG NAME SRC: the tool's opening as NAME from SRC, a cross-definition hello.
hello() {
	cat <<EOF
gen-identity FAKE cn=$1 ip=127.0.0.1
connect 127.0.0.1 $pb src=$2
tls client FAKE
send HELLO version=2 from=$1 to=B proto=2 purpose=5 method=2 flags=0
EOF
}
# proof NAME PW: a proof of B's password as NAME (one slot).
proof() {
	cat <<EOF
expect HELLO_REPLY method=2
srp-client p1=$2 slots=1
tag t key=\$pairing side=client client=$1 server=B method=2 purpose=5
send AUTH A=\$A M1=\$M1 tag=\$t verified_by=3
EOF
}

# ---- 1. no opt-in ---------------------------------------------------------------------
expect_eq "$(awk 'toupper($1)=="CROSSDEFINE"{print $2}' "$W/B/replpeer.conf")" "" "B has CROSSDEFINE at its default (OFF)"
{ hello X 127.0.0.61; echo "expect ERROR msgid=RPL1263E"; echo "expect-close"; } | hrun optin
expect_eq "$?" 0 "without the opt-in B refuses the hello with RPL1263E and ends the session"
unchanged "no opt-in"
expect_contains "$(actlog_lines B)" "RPL0427W session from X \(127.0.0.61\) refused: RPL1263E" "B's activity log shows the refusal (no opt-in)"

expect_rc 0 adm B SET CROSSDEFINE ON

# ---- 2. without B's password -------------------------------------------------------------
{ hello X 127.0.0.62; proof X guessed-B-password; echo "expect ERROR msgid=RPL0401E"; echo "expect-close"; } | hrun nopw
expect_eq "$?" 0 "a wrong proof of B's password is refused with RPL0401E and ends the session"
unchanged "no password"
expect_contains "$(actlog_lines B)" "RPL0425W sign-on by server X from address 127.0.0.62 failed: wrong password proof in a cross-definition request" \
	"B's activity log shows the failed proof"

# ---- 3. before the proofs ---------------------------------------------------------------------
hrun early1 <<EOF
gen-identity FAKE cn=X ip=127.0.0.1
connect 127.0.0.1 $pb src=127.0.0.63
tls client FAKE
send CROSSDEF password=pw-X-secret hladdress=127.0.0.1 lladdress=$pdead
expect ERROR msgid=RPL0409E
expect-close
EOF
expect_eq "$?" 0 "MSG_CROSSDEF before the hello ends the session (RPL0409E)"
log_has B 'protocol error: message CROSSDEF \(50\) is not expected in state server-wait-hello' || die "B's log lacks the early request"
ok "B's log names the state of the early request"
{ hello X 127.0.0.64; echo "expect HELLO_REPLY method=2"
  echo "send CROSSDEF password=pw-X-secret hladdress=127.0.0.1 lladdress=$pdead"
  echo "expect ERROR msgid=RPL0409E"; echo "expect-close"; } | hrun early2
expect_eq "$?" 0 "MSG_CROSSDEF instead of AUTH ends the session (RPL0409E)"
unexpected_logged B inbound CROSSDEF crossdef-wait-auth || die "B's log lacks the request before the proof"
ok "B's log: CROSSDEF not expected in state crossdef-wait-auth"
unchanged "before the proofs"
expect_contains "$(actlog_lines B)" "RPL0425W sign-on by server X from address 127.0.0.64 failed: message CROSSDEF \(50\) is not expected in state crossdef-wait-auth" \
	"B's activity log shows the request before the proof"

# ---- 4. twice -----------------------------------------------------------------------------------
{ hello X 127.0.0.65; proof X "$pwB"; echo "expect AUTH_OK"; echo "try srp-client-check"
  echo "send CROSSDEF password=pw-X-secret hladdress=127.0.0.1 lladdress=$pdead"
  echo "send CROSSDEF password=pw-X-secret hladdress=127.0.0.1 lladdress=$pdead"
  echo "expect ERROR msgid=RPL0409E"; echo "expect-close"; } | hrun twice
expect_eq "$?" 0 "a second MSG_CROSSDEF ends the session (RPL0409E)"
expect_eq "$(hlast twice 'e["ev"]=="srp-client-check"' 'e["slot1"]')" True "the tool proved B's password and B proved its verifier"
unexpected_logged B inbound CROSSDEF crossdef-defining || die "B's log lacks the second request"
ok "B's log: the second CROSSDEF is not expected in state crossdef-defining"
wait_until 10 eval 'actlog_lines B | grep -q "RPL1268W cross-definition of server X (127.0.0.65) not done"' || die "no RPL1268W for the abandoned request"
ok "B's activity log: the first request was abandoned (RPL1268W)"
unchanged "twice"

# ---- 5. wrong state ------------------------------------------------------------------------------
{ hello X 127.0.0.66; proof X "$pwB"; echo "expect AUTH_OK"
  echo "send AUTH A=\$A M1=\$M1 tag=\$t verified_by=3"
  echo "expect ERROR msgid=RPL0409E"; echo "expect-close"; } | hrun wrong1
expect_eq "$?" 0 "AUTH again after AUTH_OK ends the cross-definition session (RPL0409E)"
unexpected_logged B inbound AUTH crossdef-wait-request || die "B's log lacks AUTH in crossdef-wait-request"
ok "B's log: AUTH not expected in state crossdef-wait-request"
hrun wrong2 <<EOF
identity A instance $W/A
secret kout $W/A pairing-out B
connect 127.0.0.1 $pb src=127.0.0.67
tls client A
send HELLO version=2 from=A to=B proto=2 purpose=1 method=1 flags=0
expect HELLO_REPLY method=1
tag t key=\$kout side=client client=A server=B method=1 purpose=1
send AUTH tag=\$t verified_by=1
expect AUTH_OK
expect CERTS_ACK
send CROSSDEF password=pw-X-secret hladdress=127.0.0.1 lladdress=$pdead
expect ERROR msgid=RPL0409E
expect-close
EOF
expect_eq "$?" 0 "MSG_CROSSDEF inside an authenticated ordinary session ends it (RPL0409E)"
log_has B 'protocol error: message CROSSDEF \(50\) is not expected' || die "B's log lacks CROSSDEF in the ordinary session"
ok "B's log: CROSSDEF not expected in an ordinary session"
unchanged "wrong state"

# ---- 6. naming an existing server ---------------------------------------------------------------
{ hello A 127.0.0.68; echo "expect ERROR msgid=RPL1264E"; echo "expect-close"; } | hrun exists
expect_eq "$?" 0 "a request naming A, which B defines, is refused with RPL1264E"
unchanged "existing name"
expect_contains "$(actlog_lines B)" "RPL0427W session from A \(127.0.0.68\) refused: RPL1264E" "B's activity log shows the refusal (existing name)"
by_pairing_key B A || die "B -> A no longer by pin and pairing key"
ok "B's definition of A still works by pin and pairing key"

# ---- 7. nobody proves the announced password at the announced address ---------------------------
{ hello X 127.0.0.69; proof X "$pwB"; echo "expect AUTH_OK"
  echo "send CROSSDEF password=pw-X-secret hladdress=127.0.0.1 lladdress=$pdead"
  echo "expect ERROR msgid=RPL1267E timeout=20"; echo "expect-close"; } | hrun noback
expect_eq "$?" 0 "B's session back fails: it answers RPL1267E and the session ends"
expect_contains "$(actlog_lines B)" "RPL1265I server X \(127.0.0.69\) proved this server's password" "B's activity log: the request was taken after the proof"
expect_contains "$(actlog_lines B)" "RPL1268W cross-definition of server X \(127.0.0.69\) not done: the session back to 127.0.0.1:$pdead failed.*its waiting definition was removed" \
	"B's activity log: the session back failed and the waiting definition was removed"
unchanged "no session back"
no_crash A
no_crash B
