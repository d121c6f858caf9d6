#!/usr/bin/env bash
# Hostile peer, the message-order set (security model 10: every protocol
# role is an explicit state machine; any message not expected in the current
# state ends the session). Generated, not written by hand: for each role —
#   p2 server (A inbound: server-wait-hello, server-wait-auth),
#   p2 client (A outbound: client-wait-hello-reply, client-wait-auth-ok),
#   talk inbound over p2 (ready, certificates-exchanged), talk outbound over
#   p2 (ping-sent), p1 server (p1-server-wait-hello, p1-server-wait-response),
#   p1 client (p1-client-wait-challenge, p1-client-wait-ok), talk inbound and
#   outbound over p1 (ready, ping-sent)
# — every message type (the 13 of peer/proto.h and an unknown one) that the
# state does not expect is sent in it by the tool, which plays B (B's real
# key and pairing keys) for protocol 2 and D (both passwords) for protocol 1.
# Each case must end the session, leave A's record of B and D unchanged
# (pins, level, mark, pairing keys: read from A's store after every case) and
# leave a line in A's log naming the message and the state. The once-only
# messages sent twice are among the cases (a second HELLO is sent in
# server-wait-auth, a second AUTH in ready, a second CERTS in
# certificates-exchanged, a second CERTS_ACK in ready and ping-sent...), and
# MSG_ERROR in every state ends the session with the partner's text logged.
# Inbound cases come from distinct loopback addresses (127.2.x.y) so that the
# sign-on rate limit does not end them before the state under test.
source "$(dirname "$0")/lib.sh"

paired_ab
stop_peer B
pa=$(peer_port A); pt=$(port)
pwA=$(cat "$W/A.pw")
expect_rc 0 adm A UPDATE SERVER B "LLADDRESS=$pt"
expect_rc 0 adm A DEFINE SERVER D HLADDRESS=127.0.0.1 "LLADDRESS=$pt" SERVERPASSWORD=pw-D-secret
before=$(hstate A B)

# The message types and a plausible payload for each.
declare -A PAYLOAD=(
	[HELLO]='version=2 from=B to=A proto=2 purpose=2 method=1 flags=0'
	[HELLO_REPLY]='version=2 from=B method=1' [AUTH]='tag=rand:32 verified_by=1'
	[AUTH_OK]='tag=rand:32 verified_by=1' [PING]='time=1' [PONG]='time=1' [BYE]=''
	[CERTS]='entry=rand:64' [CERTS_ACK]='fp=rand:32'
	[L_HELLO]='version=2 from=D to=A purpose=1' [L_CHALLENGE]='version=2 from=D nonce=rand:32'
	[L_RESPONSE]='nonce=rand:32 tag=rand:32' [L_OK]='tag=rand:32' [99]='t1=hostile'
	[CROSSDEF]='password=pw-B-guess hladdress=127.0.0.1 lladdress=1' [CROSSDEF_DONE]='msgid=RPL1266I text=defined'
)
declare -A NUM=([HELLO]=1 [HELLO_REPLY]=2 [AUTH]=3 [AUTH_OK]=4 [PING]=10 [PONG]=11 [BYE]=12
	[CERTS]=20 [CERTS_ACK]=21 [L_HELLO]=40 [L_CHALLENGE]=41 [L_RESPONSE]=42 [L_OK]=43
	[CROSSDEF]=50 [CROSSDEF_DONE]=51 [99]=99)
TYPES="HELLO HELLO_REPLY AUTH AUTH_OK PING PONG BYE CERTS CERTS_ACK L_HELLO L_CHALLENGE L_RESPONSE L_OK CROSSDEF CROSSDEF_DONE 99"

# ---- the prefixes that bring A into each state ------------------------------
p2_in='connect c$id 127.0.0.1 '$pa' src=$addr
tls client B'
p2_hello='send HELLO version=2 from=B to=A proto=2 purpose=2 method=1 flags=0
expect HELLO_REPLY method=1'
p2_auth='tag t key=$kout side=client client=B server=A method=1 purpose=2
send AUTH tag=$t verified_by=1
expect AUTH_OK
expect CERTS_ACK'
p2_certs='announce-entry e B B
send CERTS entry=$e
expect CERTS_ACK'
p2_out='spawn '$RP' admin -d '$W'/A --json PING SERVER B
accept o$id
tls server B
expect HELLO'
p2_reply='send HELLO_REPLY version=2 from=B method=1
expect AUTH'
p2_ok='tag t key=$kin side=server client=A server=B method=1 purpose=1
send AUTH_OK tag=$t verified_by=1
expect CERTS_ACK
expect PING'
p1_in='connect c$id 127.0.0.1 '$pa' src=$addr
legacy client'
p1_hello='send L_HELLO version=2 from=D to=A purpose=1
expect L_CHALLENGE from=A'
p1_resp='set ns $r.nonce
set nc rand:32
legacy-key k server_pw=$pwA client_pw=pw-D-secret
legacy-tag t key=$k side=client nonce_s=$ns nonce_c=$nc client=D server=A
send L_RESPONSE nonce=$nc tag=$t
expect L_OK'
p1_out='spawn '$RP' admin -d '$W'/A --json PING SERVER D
accept o$id
send-raw str:RPL1-ONLY tcp
send-raw 0x0a tcp
close
accept o$id
legacy server
expect L_HELLO from=A to=D'
p1_chal='set ns rand:32
send L_CHALLENGE version=2 from=D nonce=$ns
expect L_RESPONSE'
p1_ok='legacy-key k server_pw=pw-D-secret client_pw=$pwA
legacy-tag t key=$k side=server nonce_s=$ns nonce_c=$r.nonce client=A server=D
send L_OK tag=$t
expect PING'

# Each group: name, role (inbound|outbound), who (server name or
# "connection"), state, expected types, prefix (lines).
groups=(
	"p2s-hello|inbound|connection|server-wait-hello|HELLO|p2_in"
	"p2s-auth|inbound|server B|server-wait-auth|AUTH|p2_in p2_hello"
	"talk-in-ready|inbound|server B|ready|CERTS_ACK CERTS PING BYE|p2_in p2_hello p2_auth"
	"talk-in-certs|inbound|server B|certificates-exchanged|CERTS_ACK PING BYE|p2_in p2_hello p2_auth p2_certs"
	"p1s-hello|inbound|connection|p1-server-wait-hello|L_HELLO|p1_in"
	"p1s-resp|inbound|server D|p1-server-wait-response|L_RESPONSE|p1_in p1_hello"
	"talk1-in-ready|inbound|server D|ready|PING BYE|p1_in p1_hello p1_resp"
	"p2c-reply|outbound|server B|client-wait-hello-reply|HELLO_REPLY|p2_out"
	"p2c-ok|outbound|server B|client-wait-auth-ok|AUTH_OK|p2_out p2_reply"
	"talk-out|outbound|server B|ping-sent|CERTS_ACK CERTS PONG BYE|p2_out p2_reply p2_ok"
	"p1c-chal|outbound|server D|p1-client-wait-challenge|L_CHALLENGE|p1_out"
	"p1c-ok|outbound|server D|p1-client-wait-ok|L_OK|p1_out p1_chal"
	"talk1-out|outbound|server D|ping-sent|PONG BYE|p1_out p1_chal p1_ok"
)
# Once-only messages sent twice, where the first is expected: extra cases
# whose prefix sends the first one (";" separates lines).
extra=(
	"talk-in-ready|CERTS_ACK|send CERTS_ACK fp=\$own_fp"
	"talk-out|CERTS_ACK|send CERTS_ACK fp=\$own_fp"
	"talk-out|CERTS|announce-entry e B B;send CERTS entry=\$e;expect CERTS_ACK"
)

script=$W/order.script
cases=$W/order.cases
{
	echo "option keep-going"
	echo "option quiet"
	echo "identity B instance $W/B"
	echo "secret kout $W/B pairing-out A"
	echo "secret kin $W/B pairing-in A"
	echo "set pwA $pwA"
	echo "listen $pt"
	echo "snapshot snapB $W/A B"
	echo "snapshot snapD $W/A D"
} >"$script"
: >"$cases"
n=0
emit_case() { # group role who state type prefixes first-line
	local g=$1 role=$2 who=$3 state=$4 t=$5 pre=$6 first=$7 p addr
	n=$((n + 1))
	addr=127.2.$((n / 250)).$((n % 250 + 2))
	{
		echo "note case=$n"
		echo "set id $n"
		echo "set addr $addr"
		for p in $pre; do echo "${!p}"; done
		[ -n "$first" ] && tr ';' '\n' <<<"$first"
		if [ "$t" = ERROR ]; then
			echo "send ERROR msgid=RPL0416E text=hostile-error-$n"
		else
			echo "send $t ${PAYLOAD[$t]}"
		fi
		echo "expect-close timeout=8"
		echo "expect-snapshot snapB $W/A B"
		echo "expect-snapshot snapD $W/A D"
	} >>"$script"
	[ "$role" = inbound ] || addr=127.0.0.1
	echo "$n|$g|$role|$who|$addr|$t|${NUM[$t]:-5}|$state" >>"$cases"
}
# The protocol-1 server cases come first: D's valid sign-on (talk1-in)
# gives A the down-level permission that the protocol-1 client cases need.
for grp in "${groups[@]}"; do
	IFS='|' read -r g role who state expected pre <<<"$grp"
	for t in $TYPES ERROR; do
		[[ " $expected " == *" $t "* ]] && continue
		emit_case "$g" "$role" "$who" "$state" "$t" "$pre" ""
	done
done
for x in "${extra[@]}"; do
	IFS='|' read -r g t first <<<"$x"
	for grp in "${groups[@]}"; do
		IFS='|' read -r g2 role who state expected pre <<<"$grp"
		[ "$g2" = "$g" ] && emit_case "$g" "$role" "$who" "$state" "$t" "$pre" "$first"
	done
done
echo "reap" >>"$script"

t0=$(date +%s)
hrun order "$script"
echo "MEASURE message-order set: $n cases in $(( $(date +%s) - t0 )) s"
fails=$(hcount order 'e["ev"]=="fail"')
if [ "$fails" -ne 0 ]; then
	python3 -c 'import json,sys
case = "?"
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e["ev"] == "note": case = e["text"]
    if e["ev"] == "fail": print(case, "line", e["line"], e["why"])' "$W/order.ev" | head -20 >&2
	die "$fails checks of the tool failed (a session that did not end, or a changed record)"
fi
ok "all $n cases: A ended the session, and its record of B and D was unchanged after each (read from its store)"
expect_eq "$(hcount order 'e["ev"]=="snapshot-same"')" "$((2 * n))" "the record was compared after every case ($((2 * n)) comparisons)"

# The log line of every case, and a summary per state.
python3 - "$cases" "$W/A.log" <<'EOF' || die "log lines missing (listed above)"
import re, sys, collections
log = open(sys.argv[2], errors="replace").read()
missing, groups = [], collections.OrderedDict()
for line in open(sys.argv[1]):
    n, g, role, who, addr, t, num, state = line.rstrip("\n").split("|")
    name = {"99": "unknown"}.get(t, t)
    if t == "ERROR":
        pat = r"session \d+ %s [^\n]*\(%s\): partner [^\n]* refused: hostile-error-%s\n" % (role, re.escape(addr), n)
    else:
        pat = r"session \d+ %s %s \(%s\): protocol error: message %s \(%s\) is not expected in state %s\n" % (
            role, re.escape(who), re.escape(addr), re.escape(name), num, re.escape(state))
    found = re.search(pat, log) is not None
    groups.setdefault((g, role, state), [0, 0])
    groups[(g, role, state)][0] += 1
    groups[(g, role, state)][1] += found
    if not found:
        missing.append("case %s: %s %s in %s (%s)" % (n, role, t, state, pat))
for (g, role, state), (total, found) in groups.items():
    if total == found:
        print("ok %s: %d unexpected messages (and ERROR) in %s state %s each logged by A" % (g, total, role, state))
for m in missing[:20]:
    print("missing:", m, file=sys.stderr)
sys.exit(1 if missing else 0)
EOF

# Nothing changed for the real partner.
expect_eq "$(hstate A B)" "$before" "A's pins, level, FORCESYNC mark and pairing for B are unchanged"
expect_rc 0 adm A UPDATE SERVER B "LLADDRESS=$(peer_port B)"
start_peer B
wait_admin B
by_pairing_key A B || die "A -> B is not verified by pin with the pairing key"
ok "A -> real B: verified by pin with the stored pairing key"
by_pairing_key B A || die "B -> A is not verified by pin with the pairing key"
ok "real B -> A: verified by pin with the stored pairing key"
no_crash A
