#!/usr/bin/env bash
# Lifecycle acceptance 4: FORCESYNC and continuity cannot be abused.
# (1) B has a FORCESYNC mark for A. An impostor with A's name and address and
#     a new key but the wrong passwords (its own server password is not A's,
#     and it does not know B's) fails the password proof in both directions
#     (RPL0401E); B's pins for A stay byte-identical and the mark stays.
# (2) B has no mark. An impostor with A's name, address and password but not
#     A's key cannot pass as a renewal of A: no continuity proof from a key B
#     pins exists, so B refuses it (RPL0403E) naming both fingerprints -- even
#     when the impostor renewed its own certificate and offers a continuity
#     proof from its own previous key (kept because an offline accomplice X
#     pins it). Pins unchanged.
# The real A is then accepted again by its pin.
# (3) B has a FORCESYNC mark again. An impostor with A's name and a wrong
#     password of its own, but which knows B's password (as every partner of B
#     does), must not complete the FORCESYNC either: B's pins and mark stay.
source "$(dirname "$0")/lib.sh"

paired_ab
fp_a=$(fingerprint "$W/A/cert256.pem")
pins_before=$(pins_json B A)
expect_eq "$(pin_list B A)" "$fp_a:current" "B pins A's certificate"

# ---- (1) FORCESYNC mark, impostor with wrong passwords ----
stop_peer A
init_named Imp1 A "$pa" "not-the-password-of-A"
fp_i1=$(fingerprint "$W/Imp1/cert256.pem")
start_peer Imp1
adm Imp1 "DEFINE SERVER B HLADDRESS=127.0.0.1 LLADDRESS=$pb SERVERPASSWORD=not-the-password-of-B" >/dev/null ||
	die "define B on the impostor"

n_fs=$(grep -c "FORCESYNC with server A is pending" "$W/B.log")
r=$(forcesync_mark B A) || die "UPDATE SERVER A FORCESYNC=YES failed: $r"
fs_failed() { [ "$(grep -c "FORCESYNC with server A is pending" "$W/B.log")" -gt "$n_fs" ]; }
wait_until 20 fs_failed || die "B's immediate FORCESYNC session with the impostor did not end"
expect_contains "$(grep "FORCESYNC with server A is pending" "$W/B.log" | tail -1)" "RPL0401E|password proof|authentication failed" \
	"B's FORCESYNC session to the impostor fails on the password proof"
expect_eq "$(srv_field B A 's["forcesync_pending"]')" true "the mark stays after B's failed FORCESYNC session"
expect_eq "$(pins_json B A)" "$pins_before" "B's pins for A unchanged after B's FORCESYNC session to the impostor"

out=$(adm Imp1 PING SERVER B); rc=$?
expect_eq "$rc" 1 "the impostor's PING to B exits 1"
expect_eq "$(jget 'j["message_id"]' <<<"$out")" RPL0401E "the impostor's PING to B fails the password proof (RPL0401E)"
expect_eq "$(pins_json B A)" "$pins_before" "B's pins for A are byte-identical after the impostor's attempt"
expect_eq "$(srv_field B A 's["forcesync_pending"]')" true "B's FORCESYNC mark for A stays"
expect_contains "$(actlog_lines B)" "^RPL0425W sign-on by server A .*failed" "B's activity log records the failed sign-on"
expect_not_contains "$(actlog_lines B)" "^RPL0423I .*$fp_i1|FORCESYNC with server A completed" "B never pinned the impostor's certificate"

out=$(adm B PING SERVER A); rc=$?
expect_eq "$rc" 1 "B's PING to A (the impostor) exits 1"
expect_eq "$(jget 'j["message_id"]' <<<"$out")" RPL0401E "B's PING to the impostor fails the password proof (RPL0401E)"
expect_eq "$(pins_json B A)" "$pins_before" "B's pins for A still unchanged"
expect_eq "$(srv_field B A 's["forcesync_pending"]')" true "B's FORCESYNC mark for A still stays"
expect_eq "$(srv_field B A 's["sessionsecurity"]')" STRICT "A stays STRICT on B"
stop_peer Imp1

# The real A comes back: pinned certificate, the pending mark is completed.
start_peer A
p=$(adm A PING SERVER B) || die "PING A->B (the real A) failed: $p"
expect_eq "$(jget 'j["verified_by"]' <<<"$p")" pin "the real A is accepted by its pin"
expect_eq "$(srv_field B A 's["forcesync_pending"]')" false "the real A's session completes the FORCESYNC and clears the mark"
expect_eq "$(pin_list B A)" "$fp_a:current" "B still pins the real A's certificate"
pins_before=$(pins_json B A)

# ---- (2) no mark, impostor with A's password but not A's key ----
stop_peer A
init_named Imp2 A "$pa" "$(cat "$W/A.pw")"
fp_i2=$(fingerprint "$W/Imp2/cert256.pem")
start_peer Imp2
adm Imp2 "DEFINE SERVER B HLADDRESS=127.0.0.1 LLADDRESS=$pb SERVERPASSWORD=$(cat "$W/B.pw")" >/dev/null ||
	die "define B on the second impostor"
n_fail=$(srv_field B A 's["failed_signons"]')

check_refused() { # check_refused JSON WHAT
	expect_eq "$(jget 'j["ok"]' <<<"$1")" false "$2: refused"
	expect_contains "$(jget 'j["message_id"]' <<<"$1")" '^RPL04(03|16)E$' "$2: certificate refused (RPL0403E)"
	expect_contains "$(jget 'j["message"]' <<<"$1")" "$fp_a" "$2: message names the pinned fingerprint"
	expect_contains "$(jget 'j["message"]' <<<"$1")" "$3" "$2: message names the impostor's fingerprint"
}
out=$(adm Imp2 PING SERVER B)
check_refused "$out" "impostor (A's password, new key) -> B" "$fp_i2"
line=$(grep "$fp_i2" "$W/B.log" | tail -1)
expect_contains "$line" "RPL0403E.*$fp_a" "B's log: RPL0403E naming the pinned fingerprint and the impostor's"
out=$(adm B PING SERVER A)
check_refused "$out" "B -> impostor (A's password, new key)" "$fp_i2"
expect_eq "$(pins_json B A)" "$pins_before" "B's pins for A are byte-identical after the continuity impostor"

# The impostor renews itself: now it offers a continuity proof, from a key B
# never pinned. An accomplice X pins the impostor's first certificate and is
# offline, so the impostor keeps that key as "previous" and offers it.
px=$(port)
init_peer X "$px"
start_peer X
adm Imp2 "DEFINE SERVER X HLADDRESS=127.0.0.1 LLADDRESS=$px SERVERPASSWORD=$(cat "$W/X.pw")" >/dev/null || die "define X on the impostor"
adm X "DEFINE SERVER A HLADDRESS=127.0.0.1 LLADDRESS=$pa SERVERPASSWORD=$(cat "$W/A.pw")" >/dev/null || die "define A on X"
ping_ok Imp2 X || die "first contact impostor->X failed"
stop_peer X
r=$(adm Imp2 "RENEW CERTIFICATE ACTIVATE=IMMEDIATE") || die "RENEW on the impostor failed: $r"
fp_i3=$(own_fp Imp2 current)
[ "$fp_i3" != "$fp_i2" ] || die "the impostor's renewal did not change its certificate"
expect_eq "$(own_state Imp2 "$fp_i2")" previous "the impostor holds a previous key to sign continuity proofs with"
out=$(adm Imp2 PING SERVER B)
check_refused "$out" "renewed impostor -> B (continuity proof by a key B does not pin)" "$fp_i3"
out=$(adm B PING SERVER A)
check_refused "$out" "B -> renewed impostor" "$fp_i3"
expect_eq "$(pins_json B A)" "$pins_before" "B's pins for A are byte-identical after the renewed impostor"
expect_eq "$(srv_field B A 's["failed_signons"]')" "$n_fail" "no password proof ran with the continuity impostor"
expect_not_contains "$(actlog_lines B)" "^RPL0423I .*($fp_i2|$fp_i3)" "B never pinned an impostor certificate"
stop_peer Imp2

start_peer A
p=$(adm B PING SERVER A) || die "PING B->A (the real A) failed: $p"
expect_eq "$(jget 'j["verified_by"]' <<<"$p")" pin "B accepts the real A again by its pin"
expect_eq "$(pins_json B A)" "$pins_before" "B's pins for A are still the real A's"

# ---- (3) FORCESYNC mark, impostor that knows B's password but not A's ----
# B's server password is no secret among B's partners: each of them defined B
# with it. Proving it therefore does not prove to be A; only A's password (or
# verifier) does. An impostor with A's name, a new key and a wrong password of
# its own, which defines B with B's real password, must not complete B's
# FORCESYNC for A either. (Last part: if it fails, B's pins are replaced.)
fs_clear() { [ "$(srv_field B A 's["forcesync_pending"]')" == false ]; }
r=$(forcesync_mark B A) || die "UPDATE SERVER A FORCESYNC=YES failed: $r"
wait_until 20 fs_clear || die "FORCESYNC with the real A did not complete"
expect_eq "$(pin_list B A)" "$fp_a:current" "FORCESYNC with the real A keeps the real A's certificate"
stop_peer A
r=$(forcesync_mark B A) || die "UPDATE SERVER A FORCESYNC=YES failed: $r"
expect_eq "$(srv_field B A 's["forcesync_pending"]')" true "B is marked FORCESYNC for A again (A is down)"
init_named Imp3 A "$pa" "not-the-password-of-A-either"
start_peer Imp3
adm Imp3 "DEFINE SERVER B HLADDRESS=127.0.0.1 LLADDRESS=$pb SERVERPASSWORD=$(cat "$W/B.pw")" >/dev/null ||
	die "define B on the third impostor"
fp_i4=$(fingerprint "$W/Imp3/cert256.pem")
pins_before=$(pins_json B A)
out=$(adm Imp3 PING SERVER B)
expect_not_contains "$(pin_list B A)" "$fp_i4" "impostor with B's password but not A's: B does not pin its certificate"
expect_eq "$(pins_json B A)" "$pins_before" "impostor with B's password but not A's: B's pins for A unchanged"
expect_eq "$(jget 'j["ok"]' <<<"$out")" false "impostor with B's password but not A's: its PING to B fails"
expect_eq "$(srv_field B A 's["forcesync_pending"]')" true "impostor with B's password but not A's: B's mark stays"
