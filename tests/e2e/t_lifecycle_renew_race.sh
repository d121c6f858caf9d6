#!/usr/bin/env bash
# Lifecycle: a session that was verified with A's OLD certificate but commits
# after the renewal finished must not undo the renewal on B. (Renewal without
# an outage, with sessions in flight: first seen as a permanent outage in a
# stress run with 10 concurrent PINGs per direction.)
#
# Made deterministic with a proxy between B and A: B's PING to A goes through
# it; once B's TLS handshake is complete (B has decided on A's certificate:
# its current pin, A's old certificate), the proxy holds A's answers. A then
# renews and both rounds complete (B pins only the new certificate, A retires
# the old one). Then the proxy lets the held session finish.
# Afterwards B must still pin A's new certificate, and PINGs must work both
# ways.
source "$(dirname "$0")/lib.sh"

paired_ab
px=$(port)
fp_old=$(fingerprint "$W/A/cert256.pem")

# B reaches A through the proxy from now on; A reaches B directly.
start_holdproxy px "$px" "$pa"
adm B "UPDATE SERVER A LLADDRESS=$px" >/dev/null || die "UPDATE SERVER A LLADDRESS on B"
ping_ok B A || die "PING B->A through the proxy failed"
ok "B reaches A through the proxy"

touch "$W/px.arm"
adm B PING SERVER A >"$W/held.out" 2>&1 &
held_pid=$!
wait_until 10 test -e "$W/px.paused" || die "the held PING did not get through its TLS handshake"
ok "B's PING to A is past its TLS handshake (A's old certificate accepted by pin) and held"

r=$(adm A RENEW CERTIFICATE) || die "RENEW CERTIFICATE failed: $r"
wait_until 30 log_has A "RPL0610I certificate confirmation round" || die "the confirmation round did not finish"
fp_new=$(own_fp A current)
[ "$fp_new" != "$fp_old" ] || die "A's certificate did not change"
wait_until 10 pins_are B A "$fp_new:current" || die "B's pins for A: $(pin_list B A)"
ok "while the PING is held, the renewal completes: B pins only A's new certificate"
wait_until 10 state_is A "$fp_old" retired || die "A's old certificate is $(own_state A "$fp_old")"
ok "while the PING is held, A retires its old certificate"

touch "$W/px.release"
wait "$held_pid"
echo "held PING: $(tr -d '\n' <"$W/held.out" | tr -s ' ')"
# The held session may succeed or fail; it must not bring back the old pin.
expect_eq "$(pin_list B A)" "$fp_new:current" "after the stale session ends, B still pins A's new certificate (only)"
p=$(adm A PING SERVER B); expect_eq "$(jget 'j["ok"]' <<<"$p")" true "PING A->B works after the stale session"
p=$(adm B PING SERVER A); expect_eq "$(jget 'j["ok"]' <<<"$p")" true "PING B->A works after the stale session"
