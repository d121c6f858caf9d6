#!/usr/bin/env bash
# Lifecycle: a partner that was offline during the renewal accepts the new
# certificate through the continuity proof. B and C are paired with A; C is
# stopped; RENEW on A completes with C pending and A's old certificate kept as
# "previous" for C. When C is back, C's PING to A is verified by "continuity",
# C's pins for A are replaced by the new certificate alone (state current),
# A retires the old certificate, and A -> C works too.
source "$(dirname "$0")/lib.sh"

pa=$(port); pb=$(port); pc=$(port)
init_peer A "$pa"
init_peer B "$pb"
init_peer C "$pc"
start_peer A
start_peer B
start_peer C
define_pair A B
define_pair A C
for s in B C; do
	ping_ok A $s || die "first contact A->$s failed"
	ping_ok $s A || die "PING $s->A failed"
done
fp_old=$(fingerprint "$W/A/cert256.pem")
expect_eq "$(pin_list C A)" "$fp_old:current" "C pins A's certificate as current"

stop_peer C
r=$(adm A RENEW CERTIFICATE) || die "RENEW CERTIFICATE failed: $r"
wait_until 30 log_has A "RPL0610I certificate confirmation round" || die "the confirmation round did not finish"
fp_new=$(own_fp A current)
[ -n "$fp_new" ] && [ "$fp_new" != "$fp_old" ] || die "A's current certificate did not change"
ok "A activated its new certificate although C is unreachable"
expect_contains "$(round_line A announcement)" "1 partner done, 1 pending: C " "the announcement round reports C pending"
expect_contains "$(round_line A confirmation)" "1 partner done, 1 pending: C " "the confirmation round reports C pending"
wait_until 10 pins_are B A "$fp_new:current" || die "B's pins for A: $(pin_list B A)"
ok "B pins only A's new certificate"
expect_eq "$(own_state A "$fp_old")" previous "A keeps its old certificate as previous while C needs it"
expect_eq "$(own_cert A "$fp_new" 'c["partners_pending"]')" '["C"]' "QUERY CERTIFICATE: C is pending for the new certificate"
expect_eq "$(own_cert A "$fp_old" 'c["partners_holding"]')" '["C"]' "QUERY CERTIFICATE: only C still holds the old one"
expect_eq "$(srv_field A C 's["holds_current_certificate"]')" false "QUERY SERVER C on A: C does not hold the current certificate"

start_peer C
wait_admin C
expect_eq "$(pin_list C A)" "$fp_old:current" "C still pins only the old certificate after its restart"
p=$(adm C PING SERVER A) || die "PING C->A after the renewal failed: $p"
expect_eq "$(jget 'j["ok"]' <<<"$p")" true "PING C->A succeeds"
expect_eq "$(jget 'j["verified_by"]' <<<"$p")" continuity "C verified A's new certificate by the continuity proof"
expect_eq "$(pin_list C A)" "$fp_new:current" "C's pins for A are replaced: only the new certificate, current"
expect_contains "$(actlog_lines C)" "^RPL0423I .*$fp_new.*now its current pin \(verified by continuity\)" \
	"C's activity log: new certificate pinned, verified by continuity"
expect_eq "$(srv_field C A 's["sessionsecurity"]')" STRICT "A stays STRICT on C"

wait_until 20 state_is A "$fp_old" retired || die "A's old certificate is '$(own_state A "$fp_old")', not retired"
ok "A retires its old certificate once C acknowledged the new one"
expect_eq "$(own_cert A "$fp_new" 'sorted(c["partners_holding"])')" '["B", "C"]' "QUERY CERTIFICATE: B and C hold the new certificate"
expect_eq "$(own_cert A "$fp_new" 'c["partners_pending"]')" '[]' "QUERY CERTIFICATE: nobody pending"

p=$(adm A PING SERVER C) || die "PING A->C after the renewal failed: $p"
expect_eq "$(jget 'j["verified_by"]' <<<"$p")" pin "PING A->C works afterwards (C verified by pin)"
p=$(adm C PING SERVER A) || die "second PING C->A failed: $p"
expect_eq "$(jget 'j["verified_by"]' <<<"$p")" pin "the next PING C->A is verified by pin"
expect_not_contains "$(actlog_lines C)" "RPL0427W|RPL0425W" "C refused no session and saw no failed sign-on"
