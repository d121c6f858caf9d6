#!/usr/bin/env bash
# Sessions acceptance 6: SSLACCEPTCERTFROMSERV NO on A.
# - A's first PING to B is refused with RPL0404E, no pin is stored on
#   either side and nothing moves to STRICT; B's PING to A (A as the TLS
#   server) is refused the same way.
# - After 'replpeer cert -d A import-peer --server B B/cert256.pem', run while
#   A serves, A's PING to B succeeds verified by "pin", and the pin is B's
#   certificate.
source "$(dirname "$0")/lib.sh"

init_peer A "$(port)"
init_peer B "$(port)"
conf_set A SSLACCEPTCERTFROMSERV NO
start_peer A
start_peer B
define_pair A B
fpB=$(fingerprint "$W/B/cert256.pem")

out=$(adm A PING SERVER B); rc=$?
expect_eq "$rc" 1 "A's first PING to B exits 1"
expect_eq "$(jget 'j["ok"]' <<<"$out")" false "A's first PING to B fails"
expect_eq "$(jget 'j["message_id"]' <<<"$out")" RPL0404E "A refuses the unknown certificate of B with RPL0404E"
msg=$(jget 'j.get("message", "")' <<<"$out")
expect_contains "$msg" "$fpB" "the refusal names B's certificate fingerprint"
expect_contains "$msg" 'import-peer --server B' "the refusal tells the import-peer command"
expect_eq "$(pins_json A B)" "[]" "no pin for B is stored on A"
expect_eq "$(pins_json B A)" "[]" "no pin for A is stored on B"
expect_eq "$(srv_field A B 's["sessionsecurity"]')" TRANSITIONAL "B stays TRANSITIONAL on A"
expect_eq "$(srv_field A B '[s["paired_in"], s["paired_out"]]')" '[false, false]' "A holds no pairing key for B"
expect_eq "$(srv_field B A '[s["sessionsecurity"], s["paired_in"], s["paired_out"]]')" '["TRANSITIONAL", false, false]' "B holds no pairing with A"

# A as the TLS server applies the same policy.
out=$(adm B PING SERVER A); rc=$?
expect_eq "$(jget 'j["ok"]' <<<"$out")" false "B's PING to A (unknown to A) fails"
expect_eq "$(jget 'j["message_id"]' <<<"$out")" RPL0404E "A as the server refuses B's unknown certificate with RPL0404E"
expect_eq "$(pins_json A B)" "[]" "still no pin for B on A"
expect_eq "$(pins_json B A)" "[]" "still no pin for A on B"

# The administrator pins B's certificate while A runs.
"$RP" cert -d "$W/A" import-peer --server B "$W/B/cert256.pem" >"$W/imp.out" 2>&1 ||
	die "cert import-peer while A runs failed: $(cat "$W/imp.out")"
ok "replpeer cert import-peer --server B runs while A serves"
pins=$(pins_json A B)
expect_eq "$(jget '[p["fingerprint"] for p in j]' <<<"$pins")" "[\"$fpB\"]" "A's pin for B is now B's certificate"

out=$(adm A PING SERVER B) || die "PING after import-peer failed: $out"
expect_eq "$(jget 'j["ok"]' <<<"$out")" true "A's PING to B succeeds after import-peer"
expect_eq "$(jget 'j["verified_by"]' <<<"$out")" pin "A's PING to B is verified by pin"
expect_eq "$(srv_field A B 's["sessionsecurity"]')" STRICT "B is STRICT on A after the pinned session"
expect_eq "$(pins_json A B)" "$pins" "the session did not change A's pin for B"
expect_eq "$(jget '[p["fingerprint"] for p in j]' <<<"$(pins_json B A)")" "[\"$(fingerprint "$W/A/cert256.pem")\"]" "B (SSLACCEPTCERTFROMSERV YES) pinned A on first contact"

out=$(adm B PING SERVER A) || die "B's PING to A after import-peer failed: $out"
expect_eq "$(jget '[j["ok"], j["verified_by"]]' <<<"$out")" '[true, "pin"]' "B's PING to A now succeeds by pin"
