#!/usr/bin/env bash
# Sessions acceptance 5: down-level (protocol 1) sessions.
# - L (PROTOCOLLEVEL 1) pings A: accepted as protocol 1 while L is
#   TRANSITIONAL on A and ALLOWLEGACY is YES; the level does not rise.
# - A pings L: A's TLS attempt meets a down-level server and falls back to
#   protocol 1 because L is TRANSITIONAL on A.
# - L speaks protocol 2 once: A moves it to STRICT. Back on protocol 1 it is
#   refused with RPL0407E and a message that names
#   'UPDATE SERVER L SESSIONSECURITY=TRANSITIONAL'; A does not fall back to
#   protocol 1 towards a STRICT L either. After that UPDATE L is accepted
#   again.
# - ALLOWLEGACY NO on A refuses a TRANSITIONAL protocol-1 peer (RPL0408E),
#   and A does not fall back to protocol 1 itself either.
source "$(dirname "$0")/lib.sh"

init_peer A "$(port)"
init_peer L "$(port)"
conf_set L PROTOCOLLEVEL 1
start_peer A
start_peer L
define_pair A L

ping() { adm "$1" PING SERVER "$2"; }

out=$(ping L A) || die "protocol 1 PING from L to A failed: $out"
expect_eq "$(jget 'j["ok"]' <<<"$out")" true "L (PROTOCOLLEVEL 1) -> A is accepted while L is TRANSITIONAL and ALLOWLEGACY is YES"
expect_eq "$(jget 'j["protocol"]' <<<"$out")" 1 "the session is protocol 1"
expect_eq "$(jget 'j["sessionsecurity"]' <<<"$out")" TRANSITIONAL "PING reports sessionsecurity TRANSITIONAL"
expect_eq "$(srv_field A L 's["sessionsecurity"]')" TRANSITIONAL "L stays TRANSITIONAL on A after a protocol 1 session"
expect_eq "$(srv_field A L 's["last_protocol"]')" 1 "A records protocol 1 as L's last protocol"
expect_eq "$(pins_json A L)" "[]" "a protocol 1 session pins nothing on A"
expect_contains "$(adm A QUERY ACTLOG | jget '[e["message_id"] for e in j]')" 'RPL0428I' "A's activity log records the down-level session (RPL0428I)"

out=$(ping A L) || die "PING SERVER L from A failed: $out"
expect_eq "$(jget '[j["ok"], j["protocol"]]' <<<"$out")" '[true, 1]' "A -> L (down-level server, TRANSITIONAL) falls back to protocol 1"
expect_eq "$(srv_field A L 's["sessionsecurity"]')" TRANSITIONAL "L is still TRANSITIONAL on A"

# L speaks protocol 2 once: A moves it to STRICT.
stop_peer L
conf_unset L PROTOCOLLEVEL
start_peer L
out=$(ping L A) || die "protocol 2 PING from L to A failed: $out"
expect_eq "$(jget '[j["ok"], j["protocol"], j["verified_by"]]' <<<"$out")" '[true, 2, "first-contact"]' "L -> A on protocol 2 pairs by first contact"
expect_eq "$(srv_field A L 's["sessionsecurity"]')" STRICT "A moved L to STRICT after a protocol 2 session"

# L falls back to protocol 1: refused.
stop_peer L
conf_set L PROTOCOLLEVEL 1
start_peer L
out=$(ping L A); rc=$?
expect_eq "$rc" 1 "protocol 1 PING from a STRICT L exits 1"
expect_eq "$(jget 'j["ok"]' <<<"$out")" false "protocol 1 PING from a STRICT L fails"
expect_eq "$(jget 'j["message_id"]' <<<"$out")" RPL0407E "a STRICT L on protocol 1 is refused with RPL0407E"
expect_contains "$(jget 'j.get("message", "")' <<<"$out")" 'UPDATE SERVER L SESSIONSECURITY=TRANSITIONAL' "the refusal tells 'UPDATE SERVER L SESSIONSECURITY=TRANSITIONAL'"
expect_contains "$(adm A QUERY ACTLOG | jget '[e["message"] for e in j if e["message_id"] == "RPL0427W"]')" 'RPL0407E' "A's activity log records the refusal"
expect_eq "$(srv_field A L 's["sessionsecurity"]')" STRICT "L stays STRICT on A after the refused attempt"

retries() { grep -c 'retrying down-level' "$W/A.log"; }
n=$(retries)
out=$(ping A L); rc=$?
expect_eq "$(jget 'j["ok"]' <<<"$out")" false "A -> L (STRICT, down-level only) fails: no fallback to protocol 1"
expect_eq "$(jget 'j["message_id"]' <<<"$out")" RPL0418E "A reports that L speaks only protocol 1 (RPL0418E)"
expect_eq "$(retries)" "$n" "A did not retry down-level towards a STRICT L"

expect_rc 0 adm A UPDATE SERVER L SESSIONSECURITY=TRANSITIONAL
expect_eq "$(srv_field A L 's["sessionsecurity"]')" TRANSITIONAL "UPDATE SERVER L SESSIONSECURITY=TRANSITIONAL moves L back"
expect_contains "$(adm A QUERY ACTLOG | jget '[e["message_id"] for e in j]')" 'RPL0508I' "A's activity log records the reset (RPL0508I)"
out=$(ping L A) || die "protocol 1 PING from L after the reset failed: $out"
expect_eq "$(jget '[j["ok"], j["protocol"]]' <<<"$out")" '[true, 1]' "after the UPDATE, L's protocol 1 PING is accepted again"
expect_eq "$(srv_field A L 's["sessionsecurity"]')" TRANSITIONAL "L stays TRANSITIONAL after the accepted protocol 1 session"

# ALLOWLEGACY NO on A: a TRANSITIONAL protocol 1 peer is refused.
stop_peer A
conf_set A ALLOWLEGACY NO
start_peer A
wait_admin A
expect_eq "$(srv_field A L 's["sessionsecurity"]')" TRANSITIONAL "L is TRANSITIONAL on A (ALLOWLEGACY NO)"
out=$(ping L A); rc=$?
expect_eq "$rc" 1 "protocol 1 PING with ALLOWLEGACY NO exits 1"
expect_eq "$(jget 'j["ok"]' <<<"$out")" false "protocol 1 PING with ALLOWLEGACY NO fails"
expect_eq "$(jget 'j["message_id"]' <<<"$out")" RPL0408E "ALLOWLEGACY NO refuses a TRANSITIONAL protocol 1 peer with RPL0408E"
expect_contains "$(adm A QUERY ACTLOG | jget '[e["message"] for e in j if e["message_id"] == "RPL0427W"]')" 'RPL0408E' "A's activity log records the RPL0408E refusal"

# ALLOWLEGACY NO also means no down-level session that A starts itself: an
# unauthenticated "RPL1-ONLY" answer to A's ClientHello (which anybody on the
# path can send) must not make A prove L's password over protocol 1.
# (L holds A as STRICT since their protocol 2 session; as a down-level
# server it would refuse A anyway, so reset that first.)
expect_rc 0 adm L UPDATE SERVER A SESSIONSECURITY=TRANSITIONAL
n=$(retries)
out=$(ping A L); rc=$?
expect_eq "$(jget 'j["ok"]' <<<"$out")" false "with ALLOWLEGACY NO, A -> L (down-level only) fails instead of falling back to protocol 1"
expect_contains "$(jget 'j["message_id"]' <<<"$out")" '^RPL04(08|18)E$' "A reports RPL0408E/RPL0418E for the down-level partner"
expect_eq "$(retries)" "$n" "with ALLOWLEGACY NO, A did not retry down-level"

no_crash A
no_crash L
