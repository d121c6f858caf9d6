#!/usr/bin/env bash
# Admission limits, from outside (security model 9; peer/admit.c, conn.c):
# 1. 300 idle TCP connections held open from 127.0.0.2 (those A closes are
#    opened again once a second, for 6 s): PINGs in both directions between A and its
#    partner B on 127.0.0.1 still succeed, A keeps at most PREAUTHPERADDR
#    of them, and A's log shows the per-address refusals (RPL0433E),
#    counted rather than one line per connection.
# 2. MAXSESSIONS counts authenticated inbound sessions: with MAXSESSIONS 3
#    on A, 2 authenticated down-level sessions and 6 idle connections held,
#    B still signs on; with a 3rd authenticated session held, the next
#    sign-on (B's PING and a 4th down-level one) is refused with RPL0414E,
#    while A's own outbound PING to B works; one session less and B signs
#    on again.
# 3. Sign-on failures count per (address, name): 5 wrong-password sign-ons
#    as X from 127.0.0.3, then a correct sign-on as Y from 127.0.0.3
#    succeeds, X from 127.0.0.3 is refused with RPL0402E even with the right
#    password, and X from 127.0.0.4 signs on.
# 4. PREAUTHMAX evicts from the address holding the most: with PREAUTHMAX
#    6, 2 silent connections from 127.0.0.6 (the oldest), then 4 from
#    127.0.0.5, then one from 127.0.0.7: A closes the oldest of 127.0.0.5's,
#    keeps both of 127.0.0.6's and admits 127.0.0.7's.
source "$(dirname "$0")/lib.sh"

T=$(dirname "$0")/tools/rawpeer.py
ulimit -n 4096 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null
[ "$(ulimit -n)" -ge 400 ] || die "the test needs 400 descriptors, the limit is $(ulimit -n)"

paired_ab
pa=$(peer_port A)

# ---- 1. 300 idle connections from 127.0.0.2 ---------------------------------
python3 "$T" hold "$pa" 300 --source 127.0.0.2 --seconds 6 >"$W/hold.out" 2>&1 &
HOLD=$!
PIDS+=($HOLD)
wait_until 10 grep -q filled "$W/hold.out" || die "the holder did not open its connections: $(cat "$W/hold.out")"
expect_eq "$(head -1 "$W/hold.out" | jget 'j["opened"]')" 300 "300 connections from 127.0.0.2 opened"
sleep 1
held=$(adm A QUERY SESSION | jget 'len([s for s in j if s["address"] == "127.0.0.2"])')
[ "$held" -le 8 ] || die "A keeps $held connections from 127.0.0.2 (PREAUTHPERADDR 8)"
ok "A keeps $held connections from 127.0.0.2, at most PREAUTHPERADDR (8)"
for i in 1 2 3; do
	p=$(adm A PING SERVER B) || die "PING A->B during the flood from 127.0.0.2: $p"
	p=$(adm B PING SERVER A) || die "PING B->A during the flood from 127.0.0.2: $p"
done
ok "3 PINGs in each direction between A and B succeed during the flood"
wait "$HOLD"
stats=$(tail -1 "$W/hold.out")
opened=$(jget 'j["opened"]' <<<"$stats")
closed=$(jget 'j["closed_by_server"]' <<<"$stats")
refusals=$(grep -c 'RPL0433E.*127\.0\.0\.2.*PREAUTHPERADDR' "$W/A.log")
lines433=$(grep -c 'RPL0433E' "$W/A.log")
repeat_lines=$(grep -cE 'RPL0433E last message repeated|repeated [0-9]+ times' "$W/A.log")
echo "MEASURE flood from 127.0.0.2: $opened connections opened, $closed closed by A; A's log: $lines433 RPL0433E lines ($refusals naming 127.0.0.2 and PREAUTHPERADDR), $repeat_lines 'repeated' lines"
[ "$refusals" -ge 1 ] || die "A's log shows no RPL0433E PREAUTHPERADDR refusal for 127.0.0.2"
ok "A's log names the PREAUTHPERADDR refusals of 127.0.0.2 (RPL0433E)"
[ "$lines433" -le 50 ] || die "$lines433 RPL0433E lines for $closed refused connections: refusals must be counted, not logged one by one"
wait_until 8 grep -q 'RPL0433E.*more connections refused' "$W/A.log" || die "A's log does not count the refusals it did not log"
ok "the RPL0433E refusals are counted ($lines433 lines for $closed refusals)"
no_crash A

# ---- 2. MAXSESSIONS counts authenticated inbound sessions --------------------
stop_peer A
conf_set A MAXSESSIONS 3
start_peer A
wait_admin A
for n in L M; do
	adm A DEFINE SERVER $n HLADDRESS=127.0.0.1 LLADDRESS=9 SERVERPASSWORD=pw-$n-secret >/dev/null || die "define $n on A"
	printf 'pw-%s-secret\n' "$n" >"$W/$n.pw"
done

# leg_open I [NAME]: a down-level session from NAME (L), held open; its
# answers go to $W/leg.I.out, commands through descriptor LEGFD_I.
leg_open() {
	local i=$1 n=${2:-L} fd
	mkfifo "$W/leg.$i.in"
	python3 "$T" legacy "$pa" "$n" A "$W/A.pw" "$W/$n.pw" <"$W/leg.$i.in" >"$W/leg.$i.out" 2>&1 &
	PIDS+=($!)
	eval "LEGPID_$i=$!"
	exec {fd}>"$W/leg.$i.in"
	eval "LEGFD_$i=$fd"
	wait_until 10 grep -q '"step": "auth"' "$W/leg.$i.out" || die "down-level session $i: no answer"
}
leg_close() {
	local i=$1 fd pid
	eval "fd=\$LEGFD_$i; pid=\$LEGPID_$i"
	echo quit >&"$fd"
	exec {fd}>&-
	wait "$pid" 2>/dev/null
}
ready_in() { adm A QUERY SESSION | jget 'len([s for s in j if s["direction"] == "inbound" and s["state"] == "ready"])'; }

leg_open 1
leg_open 2
expect_eq "$(jget 'j["ok"]' <"$W/leg.2.out")" true "2 authenticated down-level sessions from L held"
python3 "$T" hold "$pa" 6 --seconds 8 --stop "$W/hold2.stop" >"$W/hold2.out" 2>&1 &
H2=$!
PIDS+=($H2)
wait_until 10 grep -q filled "$W/hold2.out" || die "the 6 idle connections did not open"
expect_eq "$(ready_in)" 2 "A counts 2 authenticated inbound sessions"
p=$(adm B PING SERVER A) || die "with 2 authenticated sessions and 6 idle connections, B->A failed (MAXSESSIONS 3 counts only authenticated ones): $p"
ok "MAXSESSIONS 3: with 2 authenticated sessions and 6 unauthenticated connections held, B signs on"
touch "$W/hold2.stop"
wait "$H2"

# A third from another partner (L's share of MAXSESSIONS 3 is 2).
leg_open 3 M
expect_eq "$(jget 'j["ok"]' <"$W/leg.3.out")" true "a 3rd authenticated down-level session held (from M)"
p=$(adm B PING SERVER A); rc=$?
expect_eq "$rc" 1 "with MAXSESSIONS 3 reached, PING SERVER A from B exits 1"
expect_eq "$(jget 'j["message_id"]' <<<"$p")" RPL0414E "B's sign-on is refused with RPL0414E"
python3 "$T" legacy "$pa" L A "$W/A.pw" "$W/L.pw" </dev/null >"$W/leg.4.out" 2>&1
expect_eq "$(jget 'j["message_id"]' <"$W/leg.4.out")" RPL0414E "a 4th down-level sign-on is refused with RPL0414E"
expect_contains "$(cat "$W/A.log")" 'RPL0414E.*MAXSESSIONS 3' "A's log names MAXSESSIONS 3"
p=$(adm A PING SERVER B) || die "A's outbound PING to B with MAXSESSIONS reached inbound: $p"
ok "A's own outbound PING to B works while the inbound sessions are at MAXSESSIONS"
leg_close 3
wait_until 5 bash -c "[ \"\$(\"$RP\" admin -d \"$W/A\" --json QUERY SESSION | python3 -c 'import json,sys; print(len([s for s in json.load(sys.stdin) if s[\"direction\"] == \"inbound\" and s[\"state\"] == \"ready\"]))')\" -le 2 ]" ||
	die "A still counts 3 sessions after one ended"
p=$(adm B PING SERVER A) || die "after one down-level session ended, B->A failed: $p"
ok "one session less: B signs on again"
leg_close 1
leg_close 2

# ---- 3. failures per (address, name) -----------------------------------------
for n in X Y; do
	adm A DEFINE SERVER $n HLADDRESS=127.0.0.1 LLADDRESS=9 SERVERPASSWORD=pw-$n-secret >/dev/null || die "define $n on A"
	printf 'pw-%s-secret\n' "$n" >"$W/$n.pw"
done
printf 'not-the-password\n' >"$W/wrong.pw"
legacy_as() { # NAME SOURCE PWFILE -> JSON of the auth step
	python3 "$T" legacy "$pa" "$1" A "$W/A.pw" "$3" --source "$2" </dev/null 2>&1 | head -1
}
for i in 1 2 3 4 5; do
	r=$(legacy_as X 127.0.0.3 "$W/wrong.pw")
	[ "$(jget 'j["ok"]' <<<"$r")" == false ] || die "wrong-password sign-on $i as X succeeded: $r"
	[ "$(jget 'j.get("message_id", "")' <<<"$r")" != RPL0402E ] || die "sign-on $i as X was already rate-limited: $r"
done
ok "5 wrong-password sign-ons as X from 127.0.0.3 fail"
r=$(legacy_as Y 127.0.0.3 "$W/Y.pw")
expect_eq "$(jget 'j["ok"]' <<<"$r")" true "then a correct sign-on as Y from 127.0.0.3 succeeds"
r=$(legacy_as X 127.0.0.3 "$W/X.pw")
expect_eq "$(jget '[j["ok"], j.get("message_id")]' <<<"$r")" '[false, "RPL0402E"]' "X from 127.0.0.3 is refused with RPL0402E, even with the right password"
r=$(legacy_as X 127.0.0.4 "$W/X.pw")
expect_eq "$(jget 'j["ok"]' <<<"$r")" true "X from 127.0.0.4 signs on"
expect_contains "$(grep RPL0402E "$W/A.log")" 'X from 127.0.0.3' "A's log names X and 127.0.0.3 in the RPL0402E refusal"

# ---- 4. PREAUTHMAX: the address holding the most gives up a place ------------
stop_peer A
conf_set A PREAUTHMAX 6
conf_set A PREAUTHPERADDR 8
start_peer A
wait_admin A
r=$(python3 - "$pa" <<'PY'
import json, select, socket, sys, time
port = int(sys.argv[1])
def conn(src):
    s = socket.socket()
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    time.sleep(0.05)  # the order in which A accepts them
    return s
socks = [("127.0.0.6", conn("127.0.0.6")) for _ in range(2)]
time.sleep(0.2)
socks += [("127.0.0.5", conn("127.0.0.5")) for _ in range(4)]
time.sleep(0.2)
socks += [("127.0.0.7", conn("127.0.0.7"))]
time.sleep(1.0)
closed = []
for i, (src, s) in enumerate(socks):
    r, _, _ = select.select([s], [], [], 0)
    gone = False
    if r:
        try:
            gone = s.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            gone = True
    if gone:
        closed.append("%d:%s" % (i, src))
print(json.dumps(closed))
PY
)
expect_eq "$r" '["2:127.0.0.5"]' "PREAUTHMAX 6 reached by a newcomer from 127.0.0.7: A closed the oldest of 127.0.0.5's 4 connections and kept 127.0.0.6's 2"
no_crash A
no_crash B
