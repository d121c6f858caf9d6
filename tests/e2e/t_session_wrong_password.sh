#!/usr/bin/env bash
# Sessions acceptance 4: a wrong SERVERPASSWORD.
# - A's PING SERVER B fails with the generic RPL0401E; both activity logs
#   record the failed sign-on (RPL0425W); B counts it in failed_signons for A,
#   and nothing is pinned.
# - Rate limit: after 5 failures from one address within 60 s the next
#   attempt is refused with RPL0402E before any password proof: B's log says
#   "refused without a password proof", and B's failure count, failed-proof log
#   lines and A's count do not move for it (no SRP ran).
source "$(dirname "$0")/lib.sh"

init_peer A "$(port)"
init_peer B "$(port)"
start_peer A
start_peer B
pa=$(peer_port A); pb=$(peer_port B)
adm A DEFINE SERVER B HLADDRESS=127.0.0.1 "LLADDRESS=$pb" SERVERPASSWORD=not-the-password-of-B >/dev/null || die "define B on A"
adm B DEFINE SERVER A HLADDRESS=127.0.0.1 "LLADDRESS=$pa" "SERVERPASSWORD=$(cat "$W/A.pw")" >/dev/null || die "define A on B"

fails_on_B() { srv_field B A 's["failed_signons"]'; }
fails_on_A() { srv_field A B 's["failed_signons"]'; }
proof_failures_in_B_log() { log_events "$W/B.log" 'RPL0425W sign-on from server A'; }

expect_eq "$(fails_on_B)" 0 "B has no failed sign-on for A before"

out=$(adm A PING SERVER B); rc=$?
expect_eq "$rc" 1 "PING with a wrong password exits 1"
expect_eq "$(jget 'j["ok"]' <<<"$out")" false "PING with a wrong password fails"
expect_eq "$(jget 'j["message_id"]' <<<"$out")" RPL0401E "A's PING answer is RPL0401E"
expect_not_contains "$(jget 'j.get("message", "")' <<<"$out")" 'not-the-password-of-B|pw-B-secret' "the answer reveals no password"

wait_until 5 bash -c "[ \"\$(\"$RP\" admin -d \"$W/B\" --json QUERY SERVER A | python3 -c 'import json,sys; print(json.load(sys.stdin)[0][\"failed_signons\"])')\" = 1 ]" ||
	die "B's failed_signons for A is $(fails_on_B), expected 1"
ok "B's failed_signons for A increased to 1"
expect_eq "$(fails_on_A)" 1 "A's failed_signons for B increased to 1"

actB=$(adm B QUERY ACTLOG | jget '[e["message"] for e in j if e["message_id"] == "RPL0425W"]')
expect_eq "$(jget 'len(j)' <<<"$actB")" 1 "B's activity log has one RPL0425W entry"
expect_contains "$actB" 'server A' "B's RPL0425W entry names A"
expect_contains "$actB" '127\.0\.0\.1' "B's RPL0425W entry names the source address"
actA=$(adm A QUERY ACTLOG | jget '[e["message"] for e in j if e["message_id"] == "RPL0425W"]')
expect_eq "$(jget 'len(j)' <<<"$actA")" 1 "A's activity log has one RPL0425W entry"
expect_contains "$actA" 'server B' "A's RPL0425W entry names B"
expect_contains "$(cat "$W/B.log")" 'RPL0425W' "B's log records the failed sign-on"
expect_not_contains "$(cat "$W/B.log")" 'pw-B-secret|not-the-password-of-B' "B's log holds no password"
expect_not_contains "$(cat "$W/A.log")" 'pw-B-secret|not-the-password-of-B' "A's log holds no password"

expect_eq "$(pins_json A B)" "[]" "A pinned nothing after the failed proof"
expect_eq "$(pins_json B A)" "[]" "B pinned nothing after the failed proof"
expect_eq "$(srv_field A B 's["sessionsecurity"]')" TRANSITIONAL "B stays TRANSITIONAL on A"
expect_eq "$(srv_field B A 's["sessionsecurity"]')" TRANSITIONAL "A stays TRANSITIONAL on B"

# Five more quick attempts: failures 2..5 are wrong proofs, the 6th is refused
# by the rate limit.
ids=()
for i in 2 3 4 5 6; do
	out=$(adm A PING SERVER B)
	ids+=("$(jget 'j["message_id"]' <<<"$out")")
	[ "$i" -eq 6 ] && last=$out
done
expect_eq "${ids[*]}" "RPL0401E RPL0401E RPL0401E RPL0401E RPL0402E" "failures 2-5 answer RPL0401E, the 6th within a minute RPL0402E"
expect_eq "$(jget 'j["ok"]' <<<"$last")" false "the 6th PING fails"
expect_eq "$(jget '[j["message_id"], j.get("refused_by")]' <<<"$last")" '["RPL0402E", "B"]' "A's PING answer carries B's RPL0402E, refused by B"
wait_until 5 grep -q 'refused without a password proof' "$W/B.log" ||
	die "B's log does not say 'refused without a password proof'"
ok "B's log says 'refused without a password proof'"
expect_contains "$(grep 'refused without a password proof' "$W/B.log")" 'RPL0402E.*server A from 127\.0\.0\.1' "B's log line names A and its address"

# No password proof ran for the 6th: five failed proofs in every count.
expect_eq "$(fails_on_B)" 5 "B counted exactly 5 failed sign-ons (none for the refused 6th)"
expect_eq "$(proof_failures_in_B_log)" 5 "B's log records exactly 5 failed proofs"
expect_eq "$(fails_on_A)" 5 "A counted exactly 5 failed sign-ons"
# Equal entries within a minute are one entry that counts them (repeated).
expect_eq "$(adm B QUERY ACTLOG | jget 'sum(e.get("repeated", 1) for e in j if e["message_id"] == "RPL0425W")')" 5 "B's activity log counts 5 RPL0425W events"
expect_contains "$(adm B QUERY ACTLOG | jget '[e["message"] for e in j if e["message_id"] == "RPL0427W"]')" 'RPL0402E' "B's activity log records the rate-limited refusal (RPL0427W ... RPL0402E)"

# Still blocked while the window lasts, even with the right password: the
# limit is per source address and comes before any proof.
expect_rc 0 adm A UPDATE SERVER B "SERVERPASSWORD=$(cat "$W/B.pw")"
out=$(adm A PING SERVER B)
expect_eq "$(jget 'j["message_id"]' <<<"$out")" RPL0402E "within the minute even the right password is refused with RPL0402E"
expect_eq "$(fails_on_B)" 5 "the blocked attempt ran no password proof either"
expect_eq "$(pins_json A B)" "[]" "still nothing pinned on A"

no_crash A
no_crash B
