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
#     back fails, B answers RPL1267E and removes what it wrote;
#  8. the requester's side (A asks F, the tool answers at F's address): with
#     F's certificate not pinned, A sends nothing to it (no hello, no proof,
#     never its own password; RPL1270E), even to an impostor that knows F's
#     password, as every partner of F does; with F's certificate pinned
#     first ('cert import-peer', then UPDATE SERVER F CROSSDEFINE=YES) A
#     refuses another certificate before it sends any proof (RPL0403E).
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

# What no attempt may change on B: the servers it defines, and for A its
# pins, level, FORCESYNC mark, pairing keys and address.
b_state() {
	echo "$(adm B QUERY SERVER | jget '[s["name"] for s in j]') $(hstate B A) $(srv_field B A '[s["hladdress"], s["lladdress"]]')"
}
base=$(b_state)
[ "$(adm B QUERY SERVER | jget '[s["name"] for s in j]')" = '["A"]' ] || die "B should define A only"

# verdict STATUS REGEX: one line per attempt — the tool's status (0: every
# expect held, the refusal and the end of the session included), whether
# B's state is as before, and whether B's activity log has REGEX. Each
# assertion below thus needs the refusal, the end of the session, B
# unchanged and the log entry at once.
verdict() {
	local st=$1 same=changed logged="not in the activity log"
	[ "$(b_state)" = "$base" ] && same=unchanged
	actlog_lines B | grep -qE -- "$2" && logged=logged
	echo "$st $same $logged"
}
want="0 unchanged logged"
same_state() { [ "$(b_state)" = "$base" ] && echo unchanged || echo changed; }

# hello NAME SRC: the tool's opening as NAME from SRC, a cross-definition hello.
hello() {
	cat <<EOS
gen-identity FAKE cn=$1 ip=127.0.0.1
connect 127.0.0.1 $pb src=$2
tls client FAKE
send HELLO version=2 from=$1 to=B proto=2 purpose=5 method=2 flags=0
EOS
}
# proof NAME PW: a proof of B's password as NAME (one slot).
proof() {
	cat <<EOS
expect HELLO_REPLY method=2
srp-client p1=$2 slots=1
tag t key=\$pairing side=client client=$1 server=B method=2 purpose=5
send AUTH A=\$A M1=\$M1 tag=\$t verified_by=3
EOS
}

# ---- 1. no opt-in ---------------------------------------------------------------------
expect_contains "$(cat "$W/B/replpeer.conf")" '^#CROSSDEFINE NO' "B has CROSSDEFINE at its default, OFF"
{ hello X 127.0.0.61; echo "expect ERROR msgid=RPL1263E"; echo "expect-close"; } | hrun optin
expect_eq "$(verdict $? 'RPL0427W session from X \(127.0.0.61\) refused: RPL1263E')" "$want" \
	"no opt-in: refused at the hello (RPL1263E), session ended, B unchanged, refusal in B's activity log"

expect_rc 0 adm B SET CROSSDEFINE ON

# ---- 2. without B's password -------------------------------------------------------------
{ hello X 127.0.0.62; proof X guessed-B-password; echo "expect ERROR msgid=RPL0401E"; echo "expect-close"; } | hrun nopw
expect_eq "$(verdict $? 'RPL0425W sign-on by server X from address 127.0.0.62 failed: wrong password proof in a cross-definition request')" "$want" \
	"no password: the proof of B's password fails (RPL0401E), session ended, B unchanged, failed sign-on in B's activity log"

# ---- 3. before the proofs ---------------------------------------------------------------------
hrun early1 <<EOS
gen-identity FAKE cn=X ip=127.0.0.1
connect 127.0.0.1 $pb src=127.0.0.63
tls client FAKE
send CROSSDEF password=pw-X-secret hladdress=127.0.0.1 lladdress=$pdead
expect ERROR msgid=RPL0409E
expect-close
EOS
st=$?
log_has B 'protocol error: message CROSSDEF \(50\) is not expected in state server-wait-hello' && st="$st logged" || st="$st not-logged"
expect_eq "$st $(same_state)" "0 logged unchanged" \
	"MSG_CROSSDEF before the hello: protocol error (RPL0409E) naming the message and state, session ended, B unchanged"
{ hello X 127.0.0.64; echo "expect HELLO_REPLY method=2"
  echo "send CROSSDEF password=pw-X-secret hladdress=127.0.0.1 lladdress=$pdead"
  echo "expect ERROR msgid=RPL0409E"; echo "expect-close"; } | hrun early2
expect_eq "$(verdict $? 'RPL0425W sign-on by server X from address 127.0.0.64 failed: message CROSSDEF \(50\) is not expected in state crossdef-wait-auth')" "$want" \
	"MSG_CROSSDEF instead of AUTH: protocol error (RPL0409E), session ended, B unchanged, the state in B's activity log"

# ---- 4. twice -----------------------------------------------------------------------------------
{ hello X 127.0.0.65; proof X "$pwB"; echo "expect AUTH_OK"; echo "try srp-client-check"
  echo "send CROSSDEF password=pw-X-secret hladdress=127.0.0.1 lladdress=$pdead"
  echo "send CROSSDEF password=pw-X-secret hladdress=127.0.0.1 lladdress=$pdead"
  echo "expect ERROR msgid=RPL0409E"; echo "expect-close"; } | hrun twice
st=$?
expect_eq "$(hlast twice 'e["ev"]=="srp-client-check"' 'e["slot1"]')" True "twice: the tool proved B's password and B its verifier (AUTH_OK)"
wait_until 10 eval 'actlog_lines B | grep -q "RPL1268W cross-definition of server X (127.0.0.65) not done"'
unexpected_logged B inbound CROSSDEF crossdef-defining && st="$st second-refused"
# (The first request is abandoned where the end of its session finds it:
# before the session back, as a rule, or when that session fails.)
expect_eq "$(verdict "$st" 'RPL1268W cross-definition of server X \(127.0.0.65\) not done: (the requesting session ended|the session back to 127.0.0.1:[0-9]+ failed)')" "0 second-refused unchanged logged" \
	"twice: the second MSG_CROSSDEF ends the session (RPL0409E), the first is abandoned (RPL1268W), B unchanged"

# ---- 5. wrong state ------------------------------------------------------------------------------
{ hello X 127.0.0.66; proof X "$pwB"; echo "expect AUTH_OK"
  echo "send AUTH A=\$A M1=\$M1 tag=\$t verified_by=3"
  echo "expect ERROR msgid=RPL0409E"; echo "expect-close"; } | hrun wrong1
expect_eq "$(verdict $? 'RPL0425W sign-on by server X from address 127.0.0.66 failed: message AUTH \(3\) is not expected in state crossdef-wait-request')" "$want" \
	"AUTH again after AUTH_OK: protocol error (RPL0409E), session ended, B unchanged, the state in B's activity log"
hrun wrong2 <<EOS
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
EOS
st=$?
log_has B 'session [0-9]+ inbound server A \(127.0.0.67\): protocol error: message CROSSDEF \(50\) is not expected' && st="$st logged" || st="$st not-logged"
expect_eq "$st $(same_state)" "0 logged unchanged" \
	"MSG_CROSSDEF inside an authenticated ordinary session (as A): protocol error (RPL0409E) naming it, session ended, B unchanged"

# ---- 6. naming an existing server ---------------------------------------------------------------
{ hello A 127.0.0.68; echo "expect ERROR msgid=RPL1264E"; echo "expect-close"; } | hrun exists
st=$?
by_pairing_key B A && st="$st works" || st="$st broken"
expect_eq "$(verdict "$st" 'RPL0427W session from A \(127.0.0.68\) refused: RPL1264E')" "0 works unchanged logged" \
	"naming A, which B defines: refused at the hello (RPL1264E), session ended, A's definition untouched and working by pin and pairing key, refusal logged"

# ---- 7. nobody proves the announced password at the announced address ---------------------------
{ hello X 127.0.0.69; proof X "$pwB"; echo "expect AUTH_OK"
  echo "send CROSSDEF password=pw-X-secret hladdress=127.0.0.1 lladdress=$pdead"
  echo "expect ERROR msgid=RPL1267E timeout=20"; echo "expect-close"; } | hrun noback
expect_eq "$(verdict $? "RPL1268W cross-definition of server X \(127.0.0.69\) not done: the session back to 127.0.0.1:$pdead failed.*its waiting definition was removed")" "$want" \
	"a correct proof, one request, nobody at the announced address: B answers RPL1267E, removes what it wrote, logs why"
expect_contains "$(actlog_lines B)" "RPL1265I server X \(127.0.0.69\) proved this server's password" "B took the request only after the proof (RPL1265I)"

# ---- 8. the requester's side: its password goes to no impostor -------------------------
# A asks F, whose certificate it has not pinned; the tool answers at F's
# address and knows F's password (as every partner of F does). A password
# proof would convince A, so A sends nothing: no hello, no proof, and never
# its own password (RPL1270E: pin F first).
expect_rc 0 adm A SET SERVERHLADDRESS 127.0.0.1
pt=$(port)
hrun impostor <<EOS
listen $pt
gen-identity FAKE cn=F ip=127.0.0.1
spawn out=$W/impostor.define $RP admin -d $W/A --json DEFINE SERVER F HLADDRESS=127.0.0.1 LLADDRESS=$pt SERVERPASSWORD=pw-F-secret CROSSDEFINE=YES
accept s
tls server FAKE
try expect HELLO timeout=3
srp-server p1=pw-F-secret p2=unused-slot
try send HELLO_REPLY version=2 from=F method=2 salt=\$salt B=\$B
try expect AUTH timeout=3
try expect CROSSDEF timeout=3
try expect-close
reap
EOS
got="$(hcount impostor 'e["ev"]=="recv" and e["type"] in ("HELLO", "AUTH", "CROSSDEF")')"
got="$got $(jget '[j["message_id"], j["crossdefine"]]' <"$W/impostor.define")"
expect_eq "$got" '0 ["RPL1270E", "not_verified"]' \
	"F not pinned, an impostor that knows F's password at F's address: A sends no hello, no proof and not its password (RPL1270E)"
expect_contains "$(jget 'j["message"]' <"$W/impostor.define")" "import-peer --server F" "A's reply says to pin F's certificate first"
# With F's certificate pinned first, A refuses any other certificate
# before it sends a proof, even to an impostor that knows F's password.
"$RP" cert -d "$W/A" import-peer --server F "$W/B/cert256.pem" >/dev/null || die "import-peer F on A"
hrun pinned <<EOS
listen $pt
gen-identity FAKE cn=F ip=127.0.0.1
spawn out=$W/pinned.update $RP admin -d $W/A --json UPDATE SERVER F CROSSDEFINE=YES
accept s
tls server FAKE
try expect HELLO from=A to=F purpose=5
srp-server p1=pw-F-secret p2=unused-slot
try send HELLO_REPLY version=2 from=F method=2 salt=\$salt B=\$B
try expect AUTH timeout=3
try expect-close
reap
EOS
got="$(hcount pinned 'e["ev"]=="recv" and e["type"] in ("AUTH", "CROSSDEF")')"
got="$got $(jget '[j["message_id"], j["cause_message_id"]]' <"$W/pinned.update")"
expect_eq "$got" '0 ["RPL1267E", "RPL0403E"]' \
	"F pinned: UPDATE SERVER F CROSSDEFINE=YES meets another certificate, A refuses it (RPL0403E) and sends no proof and no password"
no_crash A
no_crash B
