#!/usr/bin/env bash
# Hostile peer against the administrator's sign-on (issue 11, acceptance 7).
# The tool signs on as a registered LOCAL administrator and misbehaves; for
# each case A ends the session with a logged reason, no command runs, and
# nothing changes but the failure counters:
#  1. a name with control characters (and one with a line break) in HELLO:
#     refused as a protocol error, logged escaped;
#  2. out of order: AUTH before HELLO, an admin command before AUTH, AUTH_OK
#     from the client, a second HELLO;
#  3. repeated proofs: the same AUTH twice (the second, after AUTH_OK, is not
#     a command), and an AUTH replayed into a new session;
#  4. a right password bound to the wrong session: the tag under another
#     exporter, another server name, another administrator name, or the
#     zero key — all refused as a failed sign-on (RPL1001E);
#  5. two commands without waiting for the first answer: the session ends
#     (run before 4, whose failures trip the rate limit of the address);
#  6. the honest exchange done by the tool works (a control): the tags and
#     the key derivation the tool uses are the ones A checks.
source "$(dirname "$0")/lib.sh"

pa=$(port)
init_peer A "$pa"
start_peer A
PW='Marten-Lynx-6402'
adm A "REGISTER ADMIN ADA $PW CLASS=SYSTEM" >/dev/null || die "REGISTER ADMIN ADA"
astate() { adm A QUERY ADMIN | jget '[[a["name"], a["class"], a["sessionsecurity"], a["locked"]] for a in j]'; }

# session TAG SCRIPT-TAIL: connect, TLS (the tool presents a throw-away
# certificate), then the script; events in $W/TAG.ev.
session() {
	local tag=$1 tail=$2
	hrun "$tag" <<EOF
option keep-going
gen-identity X cn=client ip=127.0.0.1
connect c 127.0.0.1 $pa
tls client X
$tail
EOF
}
hello="send HELLO version=2 purpose=4 admin=ADA method=2"
honest_auth='expect HELLO_REPLY method=2
srp-client admin='"$PW"'
tag t key=$pairing side=client method=2 purpose=4 client=ADA server=A client_fp=$own_fp server_fp=$peer_fp
send AUTH A=$A M1=$M1 tag=$t'
cmd_query='send ADMIN_CMD "text=str:QUERY ADMIN"'
cmd_ping='send ADMIN_CMD "text=str:PING SERVER X"'
closed() { hcount "$1" 'e["ev"] in ("closed", "close") or (e["ev"]=="recv" and e["type"]=="ERROR")'; }

# ---- 6 (first, as the control): the honest exchange ---------------------------------
session honest "$hello
$honest_auth
expect AUTH_OK
$cmd_query
expect ADMIN_REPLY"
expect_eq "$(hcount honest 'e["ev"]=="recv" and e["type"]=="ADMIN_REPLY"')" 1 "control: the tool's honest sign-on works and QUERY ADMIN answers"
log_has A "RPL1009I.*administrator ADA \(SYSTEM\) signed on" || die "A's log lacks the control sign-on"
before=$(astate) # STRICT now: the control signed on over TLS

# ---- 1. names with control characters ----------------------------------------------------
for v in "hex:41440141" "hex:41440a52504c303030304920666f726765640a"; do
	session ctl "send HELLO version=2 purpose=4 admin=$v method=2
try recv
try expect-close"
done
[ "$(hcount ctl 'e["ev"]=="recv" and e["type"]=="HELLO_REPLY"')" -eq 0 ] || die "a name with control characters got a HELLO_REPLY"
ok "names with control characters get no password-proof values"
grep -q "RPL0000I forged" "$W/A.log" && die "a name with a line break forged a log line"
! grep -qP '\x01' "$W/A.log" || die "a control character reached A's log unescaped"
ok "A's log has neither the raw control character nor a forged line"

# ---- 2. out of order ------------------------------------------------------------------------
session order1 "send AUTH A=hex:01 M1=hex:01 tag=zero:32
try expect-close"
session order2 "$hello
expect HELLO_REPLY method=2
$cmd_query
try recv
try expect-close"
session order3 "$hello
expect HELLO_REPLY method=2
send AUTH_OK tag=zero:32
try recv
try expect-close"
session order4 "$hello
expect HELLO_REPLY method=2
send HELLO version=2 purpose=4 admin=ADA method=2
try recv
try expect-close"
for t in order1 order2 order3 order4; do
	[ "$(hcount $t 'e["ev"]=="recv" and e["type"] in ("AUTH_OK", "ADMIN_REPLY")')" -eq 0 ] ||
		die "$t: A answered a message out of order with AUTH_OK or a command reply"
done
ok "AUTH before HELLO, a command before AUTH, AUTH_OK from the client, a second HELLO: no sign-on, no command"
unexpected_logged A inbound ADMIN_CMD server-wait-hello 2>/dev/null || grep -qE "message (AUTH|ADMIN_CMD|AUTH_OK|HELLO) \([0-9]+\) is not expected" "$W/A.log" ||
	die "A's log does not name the unexpected messages"
ok "A logs the unexpected messages with the state"

# ---- 3. repeated proofs ---------------------------------------------------------------------
session repeat "$hello
$honest_auth
expect AUTH_OK
send AUTH A=\$A M1=\$M1 tag=\$t
try recv
try expect-close"
[ "$(hcount repeat 'e["ev"]=="recv" and e["type"]=="ADMIN_REPLY"')" -eq 0 ] || die "a repeated AUTH was taken as a command"
ok "an AUTH repeated after AUTH_OK ends the session"
hrun replay <<EOF
option keep-going
gen-identity X cn=client ip=127.0.0.1
connect c1 127.0.0.1 $pa
tls client X
$hello
$honest_auth
save auth sent
expect AUTH_OK
connect c2 127.0.0.1 $pa
tls client X
$hello
expect HELLO_REPLY method=2
send-saved auth
try recv
try expect-close
EOF
[ "$(hcount replay 'e["ev"]=="recv" and e["type"]=="AUTH_OK"')" -eq 1 ] || die "a replayed AUTH signed on (or the first session did not)"
[ "$(hcount replay 'e["ev"]=="recv" and e["type"]=="ERROR" and e["fields"].get("msgid")=="RPL1001E"')" -eq 1 ] || die "the replayed AUTH was not refused with RPL1001E"
ok "an AUTH replayed into a new session is refused"

# ---- 5. two commands at once -----------------------------------------------------------------
# PING SERVER X (a listener that never answers) waits for its handshake:
# the second command arrives while the first runs.
px=$(port)
python3 -c 'import socket,sys,time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8); time.sleep(120)' "$px" &
PIDS+=($!)
wait_until 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$px" || die "the silent listener did not start"
adm A "DEFINE SERVER X HLADDRESS=127.0.0.1 LLADDRESS=$px SERVERPASSWORD=Any-Pass-0000" >/dev/null || die "DEFINE SERVER X"
session busy "$hello
$honest_auth
expect AUTH_OK
$cmd_ping
$cmd_query
try recv
try recv
try expect-close"
grep -qE "message ADMIN_CMD \([0-9]+\) is not expected in state admin-busy" "$W/A.log" ||
	die "a second command while one runs did not end the session"
ok "a second command before the first answer ends the session"

# ---- 4. the right password, bound to the wrong session ---------------------------------------
for v in exporter server client key; do
	e='$exporter' sv=A cl=ADA k='$pairing'
	case $v in
	exporter) e='rand:32' ;;
	server) sv=B ;;
	client) cl=EVE ;;
	key) k=zero ;;
	esac
	tagline="tag t key=$k side=client method=2 purpose=4 client=$cl server=$sv exporter=$e client_fp=\$own_fp server_fp=\$peer_fp"
	session "bind-$v" "$hello
expect HELLO_REPLY method=2
srp-client admin=$PW
$tagline
send AUTH A=\$A M1=\$M1 tag=\$t
try recv
try expect-close"
	[ "$(hcount "bind-$v" 'e["ev"]=="recv" and e["type"]=="AUTH_OK"')" -eq 0 ] || die "a proof with another $v signed on"
	[ "$(hcount "bind-$v" 'e["ev"]=="recv" and e["type"]=="ERROR" and e["fields"].get("msgid")=="RPL1001E"')" -eq 1 ] ||
		die "a proof with another $v was not refused as a failed sign-on (RPL1001E)"
done
ok "the right password bound to another exporter, server, administrator or the zero key: RPL1001E"
log_has A "RPL1010W.*ADA.*not bound to this TLS session" || die "A's log does not say the proof was not bound to the session"
ok "A logs the failed sign-ons (RPL1010W)"

# ---- nothing changed -------------------------------------------------------------------------
expect_eq "$(astate)" "$before" "the administrators are unchanged (but for the failure counters)"
expect_eq "$(adm A QUERY ADMIN | jget 'len(j)')" 1 "no administrator was added"
expect_eq "$(adm A QUERY ADMIN ADA | jget 'j[0]["failed_signons"]')" 4 "the four refused bindings are counted (since the last success)"
no_crash A
