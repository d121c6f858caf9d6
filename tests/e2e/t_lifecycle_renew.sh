#!/usr/bin/env bash
# Lifecycle acceptance 1 and 2: renewal without an outage. A and B are paired
# and STRICT. RENEW CERTIFICATE on A announces the new certificate to B (B pins
# it "as next"), activates it, and confirms it (B makes it its current pin), in
# that order, without any admin command on B other than queries and pings.
# PINGs both ways succeed before, during (a background loop) and after the
# renewal; A's cert256.pem is the new certificate; A's old certificate is
# retired once B acknowledged the new one.
source "$(dirname "$0")/lib.sh"

paired_ab
expect_eq "$(srv_field B A 's["sessionsecurity"]')" STRICT "A is STRICT on B"
expect_eq "$(srv_field A B 's["sessionsecurity"]')" STRICT "B is STRICT on A"

fp_old=$(fingerprint "$W/A/cert256.pem")
expect_eq "$(own_fp A current)" "$fp_old" "A's current certificate is its cert256.pem"
expect_eq "$(pin_list B A)" "$fp_old:current" "B pins A's certificate as current"
ping_ok A B || die "PING A->B before the renewal failed"
ping_ok B A || die "PING B->A before the renewal failed"
ok "PING both ways before the renewal"

# Background PINGs in both directions while A renews. Each result is kept.
mkdir "$W/pings"
touch "$W/pings/run"
pinger() { # pinger FROM TO
	local end=$((SECONDS + 60)) out
	while [ -e "$W/pings/run" ] && [ $SECONDS -lt $end ]; do
		out=$(adm "$1" "PING SERVER $2" 2>&1)
		if grep -q '"ok": true' <<<"$out"; then echo ok >>"$W/pings/$1$2.ok"
		else printf '%s\n' "$out" >>"$W/pings/$1$2.fail"; fi
	done
}
pinger A B & pa_pid=$!
pinger B A & pb_pid=$!
# Let each loop get some PINGs done before the renewal starts.
wait_until 20 test -s "$W/pings/AB.ok" -a -s "$W/pings/BA.ok" || die "background PINGs did not start"

r=$(adm A RENEW CERTIFICATE) || die "RENEW CERTIFICATE failed: $r"
expect_eq "$(jget 'j["ok"]' <<<"$r")" true "RENEW CERTIFICATE on A succeeds"
label_new=$(jget 'j["label"]' <<<"$r")
wait_until 30 log_has A "RPL0610I certificate confirmation round" || die "the confirmation round did not finish"
ok "A's announcement and confirmation rounds finished"
fp_new=$(own_fp A current)
[ -n "$fp_new" ] && [ "$fp_new" != "$fp_old" ] || die "A's current certificate did not change ($fp_new)"
ok "A's current certificate changed"
expect_eq "$(own_cert A "$fp_new" 'c["label"]')" "$label_new" "the new current certificate is the one RENEW created"

# Keep pinging a little after the switch, then stop the loops.
npings() { cat "$W/pings/AB.ok" "$W/pings/BA.ok" | wc -l; }
more_pings() { [ "$(npings)" -ge "$1" ]; }
n0=$(npings)
wait_until 20 more_pings $((n0 + 20)) || die "background PINGs stalled after the renewal"
rm -f "$W/pings/run"
wait "$pa_pid" "$pb_pid"
nab=$(wc -l <"$W/pings/AB.ok"); nba=$(wc -l <"$W/pings/BA.ok")
[ -e "$W/pings/AB.fail" ] && die "a PING A->B failed during the renewal: $(head -20 "$W/pings/AB.fail")"
[ -e "$W/pings/BA.fail" ] && die "a PING B->A failed during the renewal: $(head -20 "$W/pings/BA.fail")"
ok "every PING during the renewal succeeded ($nab A->B, $nba B->A)"

# B: "pinned as next" then "now its current pin", for the new fingerprint.
act=$(actlog_lines B)
n_next=$(line_no "$act" "^RPL0423I .*$fp_new.*pinned as next")
n_cur=$(line_no "$act" "^RPL0423I .*$fp_new.*is now its current pin")
[ "$n_next" -gt 0 ] || die "B's activity log has no 'pinned as next' for $fp_new: $act"
ok "B's activity log: A's new certificate pinned as next"
[ "$n_cur" -gt 0 ] || die "B's activity log has no 'now its current pin' for $fp_new: $act"
ok "B's activity log: A's new certificate is now its current pin"
[ "$n_next" -lt "$n_cur" ] || die "B's activity log has 'current' (line $n_cur) before 'next' (line $n_next)"
ok "B pinned the new certificate as next before making it current"

wait_until 10 pins_are B A "$fp_new:current" || die "B's pins for A: $(pin_list B A) (want $fp_new:current)"
ok "B's pins for A end with the new certificate as its only, current pin"
expect_eq "$(fingerprint "$W/A/cert256.pem")" "$fp_new" "A's cert256.pem holds the new certificate"
wait_until 20 state_is A "$fp_old" retired || die "A's old certificate is '$(own_state A "$fp_old")', not retired"
ok "A's old certificate is retired once B acknowledged the new one"
expect_contains "$(actlog_lines A)" "^RPL0603I .*retired" "A's activity log records the retirement (RPL0603I)"
expect_eq "$(own_count A current)" 1 "A has exactly one current certificate"
expect_eq "$(own_count A next)" 0 "A has no next certificate left"
expect_eq "$(srv_field A B 's["holds_current_certificate"]')" true "A's QUERY SERVER B: B holds A's current certificate"

p=$(adm A PING SERVER B) || die "PING A->B after the renewal failed: $p"
expect_eq "$(jget 'j["verified_by"]' <<<"$p")" pin "PING A->B after the renewal (verified by pin)"
p=$(adm B PING SERVER A) || die "PING B->A after the renewal failed: $p"
expect_eq "$(jget 'j["verified_by"]' <<<"$p")" pin "PING B->A after the renewal (A's new certificate verified by pin)"
expect_eq "$(srv_field B A 's["sessionsecurity"]')" STRICT "A stays STRICT on B"
expect_not_contains "$(actlog_lines B)" "RPL0427W|RPL0425W" "B refused no session and saw no failed sign-on"
