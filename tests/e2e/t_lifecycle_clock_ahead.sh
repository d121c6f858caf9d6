#!/usr/bin/env bash
# A peer whose clock runs a year ahead renews. A and B are paired and
# STRICT; A is restarted with REPLPEER_CLOCK_OFFSET one year ahead (B keeps
# the real clock) and runs RENEW CERTIFICATE. A's new certificate is valid
# only from A's clock minus a day, eleven months after B's now: B refuses
# the announcement with a message naming the dates and the clocks
# (RPL0435E in B's log and activity log), keeps A's current certificate as
# its only pin, and A reports the refusal (RPL0435E) and stops the
# activation (RPL0611E): its current certificate stays current. The
# sessions between A and B keep working afterwards (the refusal refuses a
# certificate, not the partner), and once A's clock is fixed, RENEW
# CERTIFICATE (the RPL0611E hint) makes a new certificate that B follows.
source "$(dirname "$0")/lib.sh"

paired_ab
expect_eq "$(srv_field B A 's["sessionsecurity"]')" STRICT "A is STRICT on B"
fp_old=$(fingerprint "$W/A/cert256.pem")
expect_eq "$(pin_list B A)" "$fp_old:current" "B pins A's certificate"

year=$((365 * 86400))
stop_peer A
REPLPEER_CLOCK_OFFSET=$year start_peer A
wait_admin A
ping_ok A B || die "PING A->B with A's clock a year ahead failed"
ping_ok B A || die "PING B->A with A's clock a year ahead failed"
ok "A and B still talk with A's clock a year ahead"

nA=$(wc -l <"$W/A.log")
nB=$(wc -l <"$W/B.log")
r=$(adm A RENEW CERTIFICATE) || die "RENEW CERTIFICATE on A failed: $r"
wait_until 30 log_has A "RPL0611E" || die "A did not stop the activation (no RPL0611E): $(tail -n +$((nA + 1)) "$W/A.log")"
ok "A stops the activation of its new certificate (RPL0611E)"

fp_next=$(own_fp A next)
[ -n "$fp_next" ] && [ "$fp_next" != "$fp_old" ] || die "A has no next certificate ($fp_next)"
nb=$(own_cert A "$fp_next" 'c["not_before"]')
na=$(own_cert A "$fp_next" 'c["not_after"]')
expect_eq "$(( $(date -u -d "$nb" +%s) > $(date +%s) + 300 ))" 1 "A's next certificate is not yet valid on B's clock ($nb)"

# B: the refusal names the certificate, both dates and the clocks.
lineB=$(tail -n +$((nB + 1)) "$W/B.log" | grep RPL0435E | head -1)
[ -n "$lineB" ] || die "B's log has no RPL0435E: $(tail -n +$((nB + 1)) "$W/B.log")"
expect_contains "$lineB" "server A announced a certificate that is refused" "B refuses A's announcement (RPL0435E)"
expect_contains "$lineB" "$fp_next" "B's refusal names the announced certificate"
expect_contains "$lineB" "valid only from $nb" "B's refusal names the notBefore date"
expect_contains "$lineB" "until $na" "B's refusal names the notAfter date"
expect_contains "$lineB" "compare the clocks" "B's refusal points at the clocks"
expect_contains "$(actlog_lines B)" "^RPL0435E server A announced a certificate that is refused: .*valid only from $nb" \
	"B's activity log records the refusal with the date"

# A: the partner's refusal and the stopped activation.
tailA=$(tail -n +$((nA + 1)) "$W/A.log")
expect_contains "$tailA" "RPL0435E server B refused our next certificate: .*valid only from $nb" "A's log reports B's refusal with the date (RPL0435E)"
expect_contains "$tailA" "RPL0611E the next own certificate is not activated: refused by B" "A's log names B as the partner that refused"
expect_contains "$(actlog_lines A "$((2 * year / 60))")" "^RPL0611E .*refused by B" "A's activity log records the stopped activation"

# Nothing changed for B, and A kept its certificate.
expect_eq "$(pin_list B A)" "$fp_old:current" "B keeps A's current certificate as its only pin"
expect_eq "$(own_fp A current)" "$fp_old" "A's current certificate is still the old one"
expect_eq "$(fingerprint "$W/A/cert256.pem")" "$fp_old" "A's cert256.pem is unchanged"
expect_eq "$(own_count A next)" 1 "A keeps its refused certificate as next"
sleep 1
expect_eq "$(own_fp A current)" "$fp_old" "A did not switch later either"

# Later sessions do not carry the refused announcement again.
pAB=$(adm A PING SERVER B)
pBA=$(adm B PING SERVER A)
expect_eq "$(pin_list B A)" "$fp_old:current" "B's pins for A are unchanged after the PINGs"
{
	expect_eq "$(jget 'j.get("verified_by", j.get("message_id"))' <<<"$pAB")" pin "PING A->B after the refused renewal: verified by pin"
	expect_eq "$(jget 'j.get("verified_by", j.get("message_id"))' <<<"$pBA")" pin "PING B->A after the refused renewal: verified by pin"
	# The fix the hint gives: the clock, then RENEW CERTIFICATE again.
	stop_peer A
	start_peer A
	wait_admin A
	# After a restart A announces its next certificate again to the
	# partners that have not refused it; RENEW waits for that round.
	for _ in $(seq 60); do
		r=$(adm A RENEW CERTIFICATE) || die "RENEW CERTIFICATE after the clock fix failed: $r"
		grep -q "already in progress" <<<"$r" || break
		sleep 0.5
	done
	fp_fixed=$(own_fp A next)
	[ "$fp_fixed" != "$fp_next" ] || die "RENEW CERTIFICATE after the clock fix kept the refused certificate $fp_next: $(jget 'j.get("message","")' <<<"$r")"
	ok "RENEW CERTIFICATE after the clock fix makes a new next certificate"
	wait_until 30 pins_are B A "$fp_fixed:current" || die "B's pins for A after the fixed renewal: $(pin_list B A)"
	ok "B follows A's renewal once the clocks agree"
}
no_crash A
no_crash B
