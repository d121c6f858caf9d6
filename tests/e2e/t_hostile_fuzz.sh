#!/usr/bin/env bash
# e2e: long
# Hostile peer: sequence fuzz (tests/tools/hostile_fuzz.c). The tool plays B
# against A — as a client and, through A's DEFINE SERVER B pointing at it, as
# the server A connects to — with B's real certificate or an impostor's,
# sending random sequences of valid and mutated messages (flipped bytes,
# truncation, duplicated, dropped and junk fields, broken TLV coding, wrong
# types, replays of earlier sessions' frames, skipped and repeated steps).
# After every session it reads A's record of B from A's store and checks:
#  - B's current pin, session security, FORCESYNC mark, verification mode
#    and both sealed pairing keys are unchanged, and every other pin is a
#    next pin that the tool announced validly in a session A authenticated;
#  - A sent at most one HELLO_REPLY, one AUTH_OK or one AUTH (one proof per
#    password) per session, and none when the tool presented a certificate
#    A does not pin (no proof before the certificate decision).
# Afterwards the real B works with A in both directions by pin and pairing
# key. HOSTILE_SEED (default: random, printed), HOSTILE_SESSIONS (default
# 100000) and HOSTILE_SECONDS (default 60) set the run; a failure prints the
# seed that reproduces it.
source "$(dirname "$0")/lib.sh"

seed=${HOSTILE_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
sessions=${HOSTILE_SESSIONS:-100000}
seconds=${HOSTILE_SECONDS:-60}
echo "MEASURE fuzz seed $seed (HOSTILE_SEED=$seed reproduces it), at most $sessions sessions or $seconds s"

paired_ab
stop_peer B
conf_set A HANDSHAKETIMEOUT 3
restart_peer A
pa=$(peer_port A); pt=$(port)
expect_rc 0 adm A UPDATE SERVER B "LLADDRESS=$pt"
before=$(hstate A B)

hrun fuzz <<EOF
identity B instance $W/B
gen-identity I cn=B ip=127.0.0.1
secret kout $W/B pairing-out A
secret kin $W/B pairing-in A
fuzz seed=$seed sessions=$sessions seconds=$seconds host=127.0.0.1 port=$pa victim=$W/A me=B them=A id=B impostor=I key_out=\$kout key_in=\$kin pw_me=$(cat "$W/B.pw") listen=$pt "trigger=$RP admin -d $W/A --json PING SERVER B"
EOF
st=$?
summary=$(hlast fuzz 'e["ev"]=="fuzz-done"' 'json.dumps(e)')
[ -n "$summary" ] || die "the fuzz did not run: $(tail -3 "$W/fuzz.ev") $(cat "$W/fuzz.herr")"
echo "MEASURE fuzz: $(jget '"%d sessions (seed %d): %d authenticated by A, %d valid announcements, %d mutated messages, %d refused before any proof step, %d violations" % (j["sessions"], j["seed"], j["authenticated"], j["announced"], j["mutated_messages"], j["refused_before_any_proof"], j["violations"])' <<<"$summary")"
if [ "$(jget 'j["violations"]' <<<"$summary")" != 0 ] || [ "$st" != 0 ]; then
	python3 -c 'import json,sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e["ev"] in ("violation", "fail"): print(json.dumps(e))' "$W/fuzz.ev" | head -10 >&2
	die "the fuzz found violations (HOSTILE_SEED=$seed reproduces the choices)"
fi
ok "no violation in $(jget 'j["sessions"]' <<<"$summary") fuzz sessions (seed $seed)"
[ "$(jget 'j["sessions"]' <<<"$summary")" -ge 20 ] || die "too few fuzz sessions ran"
[ "$(hcount fuzz 'e["ev"]=="fuzz-session" and e["role"]=="server"')" -gt 0 ] || die "no session in which A connected to the tool"
[ "$(hcount fuzz 'e["ev"]=="fuzz-session" and e["authenticated"]')" -gt 0 ] || die "no session got past authentication: the fuzz cannot reach the talk layer"
ok "the fuzz covered both roles and reached authenticated sessions"

after=$(hstate A B)
expect_eq "$(jget '[j["sessionsecurity"], j["forcesync_pending"], j["paired_in"], j["paired_out"]]' <<<"$after")" \
	"$(jget '[j["sessionsecurity"], j["forcesync_pending"], j["paired_in"], j["paired_out"]]' <<<"$before")" \
	"B's session security, FORCESYNC mark and pairing on A are unchanged"
expect_contains "$after" "$(fingerprint "$W/B/cert256.pem"):current" "B's real certificate is still A's current pin for B"
no_crash A
expect_rc 0 adm A UPDATE SERVER B "LLADDRESS=$(peer_port B)"
start_peer B
wait_admin B
sleep 1 # the partner rate of B on A refills after the fuzz
by_pairing_key A B || die "A -> B is not verified by pin with the pairing key"
ok "A -> real B: verified by pin with the stored pairing key"
by_pairing_key B A || die "B -> A is not verified by pin with the pairing key"
ok "real B -> A: verified by pin with the stored pairing key"
