#!/usr/bin/env bash
# Sessions acceptance 3: once A has pinned B, an impostor that has B's name
# and B's password (and A's password too) but not B's key is refused in both
# directions: A's PING SERVER B fails with a message that names the pinned
# fingerprint and the impostor's, and the impostor's PING to A is refused
# with both fingerprints in A's log and activity log. A's pins for B are
# byte-identical before and after, B stays STRICT on A, and the real B is
# still accepted by pin afterwards.
source "$(dirname "$0")/lib.sh"

pa=$(port); pb=$(port); pi=$(port)
init_peer A "$pa"
init_peer B "$pb"
init_named Bimp B "$pi" "$(cat "$W/B.pw")"   # same name, same password, new key
start_peer A
start_peer B
define_pair A B

p=$(adm A PING SERVER B) || die "first contact A->B failed: $p"
expect_eq "$(jget 'j["verified_by"]' <<<"$p")" first-contact "A pinned B on first contact"

fpB=$(fingerprint "$W/B/cert256.pem")
fpI=$(fingerprint "$W/Bimp/cert256.pem")
[ "$fpB" != "$fpI" ] || die "the impostor has B's certificate"
before=$(pins_json A B)
expect_eq "$(jget '[p["fingerprint"] for p in j]' <<<"$before")" "[\"$fpB\"]" "A's pin for B is B's certificate"

# The impostor takes B's place on the network.
stop_peer B
start_peer Bimp
expect_rc 0 adm A UPDATE SERVER B "LLADDRESS=$pi"
adm Bimp DEFINE SERVER A HLADDRESS=127.0.0.1 "LLADDRESS=$pa" "SERVERPASSWORD=$(cat "$W/A.pw")" >/dev/null ||
	die "define A on the impostor"

# A -> impostor.
out=$(adm A PING SERVER B); rc=$?
expect_eq "$rc" 1 "PING SERVER B (the impostor) exits 1 on A"
expect_eq "$(jget 'j["ok"]' <<<"$out")" false "PING SERVER B (the impostor) fails on A"
expect_eq "$(jget 'j["message_id"]' <<<"$out")" RPL0403E "A refuses the impostor's certificate (RPL0403E)"
msg=$(jget 'j.get("message", "")' <<<"$out")
expect_contains "$msg" "$fpB" "A's refusal names the pinned fingerprint"
expect_contains "$msg" "$fpI" "A's refusal names the impostor's fingerprint"
expect_contains "$msg" "FORCESYNC=YES|import-peer" "A's refusal says which command fixes it"
expect_contains "$(cat "$W/Bimp.log")" 'refused the server certificate|RPL0416E' "the impostor is told that A refused it"

# Impostor -> A.
out=$(adm Bimp PING SERVER A); rc=$?
expect_eq "$rc" 1 "PING SERVER A from the impostor exits 1"
expect_eq "$(jget 'j["ok"]' <<<"$out")" false "PING SERVER A from the impostor fails"
expect_contains "$(jget 'j["message_id"]' <<<"$out")" '^RPL04(03|16)E$' "the impostor learns that A refused the certificate"
wait_until 5 grep -q "$fpI" "$W/A.log" || die "A's log does not name the impostor's certificate $fpI"
line=$(grep "$fpI" "$W/A.log" | tail -1)
expect_contains "$line" "$fpB" "A's log line names the pinned fingerprint too"
expect_contains "$line" "$fpI" "A's log line names the impostor's fingerprint"
actlog=$(adm A QUERY ACTLOG | jget '[e["message_id"] + " " + e["message"] for e in j if "'"$fpI"'" in e["message"]]')
expect_contains "$actlog" "RPL0427W" "A's activity log records the refused session (RPL0427W)"
expect_contains "$actlog" "$fpB" "A's activity log names the pinned fingerprint"
expect_contains "$actlog" "$fpI" "A's activity log names the impostor's fingerprint"
expect_not_contains "$(cat "$W/A.log")" "RPL0423I.*$fpI" "A never pinned the impostor's certificate"

# No password proof ran with the impostor: nothing counted as a failed sign-on.
expect_eq "$(srv_field A B 's["failed_signons"]')" 0 "no sign-on failure recorded (the refusal came before any password proof)"

after=$(pins_json A B)
expect_eq "$after" "$before" "A's pins for B are byte-identical before and after"
expect_eq "$(srv_field A B 's["sessionsecurity"]')" STRICT "B stays STRICT on A"
expect_eq "$(srv_field Bimp A '[s["pins"], s["sessionsecurity"]]')" '[[], "TRANSITIONAL"]' "the impostor got no pin for A and A stays TRANSITIONAL there"

# The real B is back: accepted by its pin.
stop_peer Bimp
start_peer B
expect_rc 0 adm A UPDATE SERVER B "LLADDRESS=$pb"
p=$(adm A PING SERVER B) || die "PING SERVER B (the real one) failed: $p"
expect_eq "$(jget 'j["verified_by"]' <<<"$p")" pin "the real B is accepted again by pin"
p=$(adm B PING SERVER A) || die "PING SERVER A from the real B failed: $p"
expect_eq "$(jget 'j["verified_by"]' <<<"$p")" pin "A accepts the real B's PING by pin"
expect_eq "$(pins_json A B)" "$before" "A's pins for B are still unchanged"
