#!/usr/bin/env bash
# Lifecycle acceptance 5: automatic renewal and expiry warnings. A has
# CERTVALIDITYDAYS 2 and CERTRENEWDAYS 1 (appended to replpeer.conf, honoured
# at the next start). After pairing with B, A is restarted with its clock
# shifted (REPLPEER_CLOCK_OFFSET) so that its 3650-day certificate has 12
# hours left. At start A warns (RPL0604W), renews by itself (RPL0609I), its
# new certificate is valid for 2 days from A's shifted clock, and B follows
# with no admin action: B's pins for A become the new certificate. B runs on
# the same shifted clock (both servers' clocks agree, as they must: B checks
# the new certificate's notBefore too).
source "$(dirname "$0")/lib.sh"

pa=$(port); pb=$(port)
init_peer A "$pa"
init_peer B "$pb"
conf_set A CERTVALIDITYDAYS 2
conf_set A CERTRENEWDAYS 1
start_peer A
start_peer B
define_pair A B
ping_ok A B || die "first contact A->B failed"
ping_ok B A || die "PING B->A failed"
fp_old=$(fingerprint "$W/A/cert256.pem")
expect_eq "$(pin_list B A)" "$fp_old:current" "B pins A's first certificate"
expect_eq "$(own_cert A "$fp_old" 'c["days_left"] in (3649, 3650)')" true "A's first certificate (made by init) has 3650 days"
expect_not_contains "$(cat "$W/A.log")" "RPL0609I|RPL0604W" "no renewal and no warning with 3650 days left"

# A's clock jumps to 12 hours before its certificate expires.
na=$(own_cert A "$fp_old" 'c["not_after"]')
na_s=$(date -u -d "$na" +%s)
off=$(( na_s - $(date +%s) - 12 * 3600 ))
stop_peer A
stop_peer B
: >"$W/A.log"
REPLPEER_CLOCK_OFFSET=$off start_peer B
REPLPEER_CLOCK_OFFSET=$off start_peer A
export REPLPEER_CLOCK_OFFSET=$off   # the CLI reads the same clock
wait_admin A

wait_until 30 log_has A "RPL0610I certificate confirmation round" || die "A did not renew and distribute by itself"
ok "A renewed its certificate by itself and ran both rounds"
expect_contains "$(cat "$W/A.log")" "RPL0604W own certificate $fp_old expires in less than 1 day" \
	"A warns that its own certificate expires in less than 1 day (RPL0604W)"
expect_contains "$(cat "$W/A.log")" "RPL0604W certificate of server B .*expires in less than 1 day" \
	"A warns about B's pinned certificate too (B's expiry is 12 h ahead of A's shifted clock)"
expect_contains "$(cat "$W/A.log")" "RPL0609I own certificate expires within CERTRENEWDAYS \(1 days?\)" "A logs the automatic renewal (RPL0609I)"
n_warn=$(line_no "$(cat "$W/A.log")" "RPL0604W own certificate")
n_auto=$(line_no "$(cat "$W/A.log")" "RPL0609I")
[ "$n_warn" -lt "$n_auto" ] || die "the warning (line $n_warn) is not logged before the renewal (line $n_auto)"
ok "the warning comes before the renewal"
expect_contains "$(actlog_lines A)" "^RPL0601I certificate renewal by automatic renewal \(CERTRENEWDAYS\)" \
	"A's activity log records the automatic renewal"
expect_contains "$(round_line A announcement)" "1 partner done, 0 pending" "announcement round: B done"
expect_contains "$(round_line A confirmation)" "1 partner done, 0 pending" "confirmation round: B done"

fp_new=$(own_fp A current)
[ -n "$fp_new" ] && [ "$fp_new" != "$fp_old" ] || die "A's current certificate did not change"
ok "A's current certificate is a new one"
expect_eq "$(fingerprint "$W/A/cert256.pem")" "$fp_new" "A's cert256.pem holds the new certificate"
shifted_now=$(( $(date +%s) + off ))
nb=$(date -u -d "$(own_cert A "$fp_new" 'c["not_before"]')" +%s)
na2=$(date -u -d "$(own_cert A "$fp_new" 'c["not_after"]')" +%s)
expect_eq "$(( na2 - nb ))" $(( 3 * 86400 )) "the new certificate spans 2 days of validity (plus the 1-day back-dated notBefore)"
d=$(( na2 - shifted_now - 2 * 86400 )); d=${d#-}
[ "$d" -le 300 ] || die "the new certificate's not_after is $na2, not 2 days after A's shifted clock ($shifted_now)"
ok "the new certificate expires 2 days after A's shifted clock (CERTVALIDITYDAYS 2)"
expect_eq "$(own_cert A "$fp_new" 'c["days_left"] in (1, 2)')" true "QUERY CERTIFICATE on A: 1 or 2 days_left (by A's shifted clock)"

# B followed with no admin action (only queries and pings here).
wait_until 10 pins_are B A "$fp_new:current" || die "B's pins for A: $(pin_list B A) (want $fp_new:current)"
ok "B's pins for A became the new certificate by itself"
expect_contains "$(actlog_lines B)" "^RPL0423I .*$fp_new.*pinned as next" "B pinned the new certificate as next first"
expect_eq "$(srv_field B A 's["pins"][0]["not_after"][:10]')" "$(date -u -d @"$na2" +%Y-%m-%d)" \
	"B stores the new certificate's not_after"
wait_until 20 state_is A "$fp_old" retired || die "A's old certificate is '$(own_state A "$fp_old")', not retired"
ok "A's old certificate is retired"
p=$(adm A PING SERVER B) || die "PING A->B after the automatic renewal failed: $p"
expect_eq "$(jget 'j["verified_by"]' <<<"$p")" pin "PING A->B works after the automatic renewal"
p=$(REPLPEER_CLOCK_OFFSET=0 adm B PING SERVER A) || die "PING B->A after the automatic renewal failed: $p"
expect_eq "$(jget 'j["verified_by"]' <<<"$p")" pin "PING B->A works after the automatic renewal"

# The new certificate does not renew again at the next start (2 days > 1).
restart_peer A
wait_until 10 log_has A "RPL0420I" || die "A did not restart"
ping_ok A B || die "PING A->B after the restart failed"
expect_eq "$(own_fp A current)" "$fp_new" "no second renewal at the next start (the new certificate has 2 days left)"
expect_eq "$(grep -c RPL0609I "$W/A.log")" 1 "exactly one automatic renewal in A's log"
expect_contains "$(cat "$W/A.log")" "RPL0604W own certificate $fp_new expires in less than 7 days" \
	"at the next start A warns that its new 2-day certificate expires in less than 7 days"
