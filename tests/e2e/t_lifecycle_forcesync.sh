#!/usr/bin/env bash
# Lifecycle acceptance 3: A loses its instance directory and is initialised
# again with the same name, port and password (so a new key). B refuses the
# new certificate, naming the pinned one and the new one. After
# UPDATE SERVER A FORCESYNC=YES on B (A simply defines B again: first contact
# on A's side) PING works both ways, B's pins for A are exactly A's new
# cert256.pem, and the mark is cleared. When the partner is down, the mark
# stays until the next session completes the exchange.
source "$(dirname "$0")/lib.sh"

paired_ab
fp_old=$(fingerprint "$W/A/cert256.pem")
expect_eq "$(pin_list B A)" "$fp_old:current" "B pins A's first certificate"
expect_eq "$(srv_field B A 's["forcesync_pending"]')" false "no FORCESYNC pending at first"

# A's instance directory is lost; A is rebuilt with the same name/port/password.
lose_A() {
	stop_peer A
	rm -rf "$W/A"
	init_peer A "$pa"
}
lose_A
fp_new=$(fingerprint "$W/A/cert256.pem")
[ "$fp_new" != "$fp_old" ] || die "re-initialised A has its old certificate"
start_peer A
b_define() { adm A "DEFINE SERVER B HLADDRESS=127.0.0.1 LLADDRESS=$pb SERVERPASSWORD=$(cat "$W/B.pw")" >/dev/null; }
b_define || die "define B on the new A"
pins_before=$(pins_json B A)

out=$(adm A PING SERVER B); rc=$?
expect_eq "$rc" 1 "PING A->B with A's new key exits 1"
expect_eq "$(jget 'j["message_id"]' <<<"$out")" RPL0403E "B refuses A's new certificate (RPL0403E)"
msg=$(jget 'j["message"]' <<<"$out")
expect_contains "$msg" "$fp_old" "the refusal names the pinned (old) fingerprint"
expect_contains "$msg" "$fp_new" "the refusal names the new fingerprint"
expect_contains "$msg" "FORCESYNC=YES" "the refusal names the command that fixes it"
out=$(adm B PING SERVER A); rc=$?
expect_eq "$rc" 1 "PING B->A exits 1"
expect_eq "$(jget 'j["message_id"]' <<<"$out")" RPL0403E "B refuses A's new certificate on its own PING too (RPL0403E)"
msg=$(jget 'j["message"]' <<<"$out")
expect_contains "$msg" "$fp_old.*$fp_new|$fp_new.*$fp_old" "B's own refusal names both fingerprints"
expect_eq "$(pins_json B A)" "$pins_before" "B's pins for A are unchanged by the refusals"

# FORCESYNC on B: the session starts at once and A is reachable.
r=$(adm B "UPDATE SERVER A FORCESYNC=YES") || die "UPDATE SERVER A FORCESYNC=YES failed: $r"
ok "UPDATE SERVER A FORCESYNC=YES accepted on B"
fs_done() { [ "$(srv_field B A 's["forcesync_pending"]')" == false ]; }
wait_until 20 fs_done || die "FORCESYNC did not complete; B's log: $(tail -5 "$W/B.log")"
ok "the FORCESYNC session completed at once and cleared the mark"
expect_eq "$(pin_list B A)" "$fp_new:current" "B's pins for A are exactly A's new cert256.pem"
expect_eq "$(srv_field B A 's["pins"][0]["how"]')" forcesync "B's pin for A was made by FORCESYNC"
expect_contains "$(actlog_lines B)" "^RPL0423I FORCESYNC with server A completed" "B's activity log records the completed FORCESYNC"
p=$(adm A PING SERVER B) || die "PING A->B after FORCESYNC failed: $p"
expect_eq "$(jget 'j["verified_by"]' <<<"$p")" pin "PING A->B works after FORCESYNC"
p=$(adm B PING SERVER A) || die "PING B->A after FORCESYNC failed: $p"
expect_eq "$(jget 'j["verified_by"]' <<<"$p")" pin "PING B->A works after FORCESYNC"
expect_eq "$(srv_field B A 's["forcesync_pending"]')" false "forcesync_pending is false afterwards"
expect_eq "$(srv_field B A 's["sessionsecurity"]')" STRICT "A is STRICT on B after FORCESYNC"
expect_eq "$(pin_list A B)" "$(fingerprint "$W/B/cert256.pem"):current" "the new A pins B's certificate"

# --- unreachable partner: the mark waits for the next session ---
lose_A                      # a third key; A stays down for now
fp_3=$(fingerprint "$W/A/cert256.pem")
n_pending=$(grep -c "FORCESYNC with server A is pending" "$W/B.log")
r=$(forcesync_mark B A) || die "UPDATE SERVER A FORCESYNC=YES (A down) failed: $r"
more_pending() { [ "$(grep -c "FORCESYNC with server A is pending" "$W/B.log")" -gt "$n_pending" ]; }
wait_until 20 more_pending || die "B did not report the FORCESYNC with the unreachable A as pending"
ok "B reports the FORCESYNC with the unreachable A as pending"
expect_eq "$(srv_field B A 's["forcesync_pending"]')" true "forcesync_pending stays true while A is down"
expect_eq "$(pin_list B A)" "$fp_new:current" "B's pins for A are untouched while the FORCESYNC is pending"
restart_peer B
expect_eq "$(srv_field B A 's["forcesync_pending"]')" true "the mark survives a restart of B"

start_peer A
b_define || die "define B on the third A"
p=$(adm A PING SERVER B) || die "PING A->B (the next session) failed: $p"
expect_eq "$(jget 'j["ok"]' <<<"$p")" true "the next session (PING A->B) succeeds"
expect_eq "$(srv_field B A 's["forcesync_pending"]')" false "the next session cleared the mark"
expect_eq "$(pin_list B A)" "$fp_3:current" "B's pins for A are A's newest certificate"
p=$(adm B PING SERVER A) || die "PING B->A failed: $p"
expect_eq "$(jget 'j["verified_by"]' <<<"$p")" pin "PING B->A works"
expect_not_contains "$(actlog_lines B)" "RPL0425W" "no failed sign-on on B during the whole scenario"
