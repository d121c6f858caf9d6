#!/usr/bin/env bash
# Previous certificates with a limit, and the emergency rotation.
# (1) A, B and C are paired; C goes offline still pinning A's first
#     certificate, so it keeps saying (its last word) that it needs it. A
#     renews: B follows, A activates, and keeps the previous certificate for C
#     with a warning (RPL0612W) that names C and the latest date
#     (kept_until, PREVCERTGRACEDAYS 30 after the switch). A's clock then
#     moves 31 days on: at its start-up check the previous certificate is
#     retired and its key wiped (RPL0615W naming C), although C still
#     "needs" it: a partner's claim does not keep a key alive past the grace.
# (2) RENEW CERTIFICATE COMPROMISED=YES: the new certificate is current at
#     once, the old one is retired as compromised with its key wiped, the
#     reply lists the partners that need FORCESYNC; a partner pinning only
#     the old certificate is refused (no continuity from a compromised key)
#     until FORCESYNC on both sides, after which PING works by pin.
source "$(dirname "$0")/lib.sh"

paired_ab
pc=$(port)
init_peer C "$pc"
start_peer C
adm A "DEFINE SERVER C HLADDRESS=127.0.0.1 LLADDRESS=$pc SERVERPASSWORD=$(cat "$W/C.pw")" >/dev/null || die "define C on A"
adm C "DEFINE SERVER A HLADDRESS=127.0.0.1 LLADDRESS=$pa SERVERPASSWORD=$(cat "$W/A.pw")" >/dev/null || die "define A on C"
ping_ok C A || die "first contact C->A"
ping_ok A C || die "PING A->C"
fp1=$(own_fp A current)
stop_peer C

# ---- (1) the grace period -------------------------------------------------
r=$(adm A "RENEW CERTIFICATE") || die "RENEW failed: $r"
wait_until 30 log_has A "RPL0610I certificate confirmation round" || die "A did not finish the rollover"
fp2=$(own_fp A current)
[ "$fp2" != "$fp1" ] || die "A did not activate its new certificate"
ok "A activated its new certificate with C unreachable"
expect_eq "$(own_state A "$fp1")" previous "A keeps its first certificate as previous"
wait_until 10 log_has A "RPL0612W own certificate .* is kept until .* for partners that have not followed: C" ||
	die "no RPL0612W naming C: $(grep RPL061 "$W/A.log")"
ok "A warns that the previous certificate is kept for C, and until when (RPL0612W)"
expect_eq "$(own_cert A "$fp1" 'c["partners_pending"]')" '["C"]' "QUERY CERTIFICATE: the previous certificate is kept for C"
until=$(own_cert A "$fp1" 'c["kept_until"]')
act=$(own_cert A "$fp2" 'c["activated"]')
days=$(( ($(date -u -d "$until" +%s) - $(date -u -d "$act" +%s)) / 86400 ))
expect_eq "$days" 30 "kept_until is PREVCERTGRACEDAYS (30 days) after the switch"

stop_peer A
: >"$W/A.log"
REPLPEER_CLOCK_OFFSET=$((31 * 86400)) start_peer A
wait_until 20 log_has A "RPL0615W own certificate" || die "the previous certificate was not retired after the grace: $(grep RPL06 "$W/A.log")"
ok "31 days later A retires the previous certificate although C still pins only it"
expect_contains "$(grep RPL0615W "$W/A.log")" "FORCESYNC.*: C" "the warning names C as the partner that now needs FORCESYNC"
expect_eq "$(REPLPEER_CLOCK_OFFSET=$((31 * 86400)) "$RP" admin -d "$W/A" --json QUERY CERTIFICATE | jget "next(c['state'] for c in j if c['fingerprint'] == '$fp1')")" \
	retired "the previous certificate is retired"
stop_peer A
: >"$W/A.log"
start_peer A
wait_admin A

# ---- (2) COMPROMISED=YES ----------------------------------------------------
ping_ok B A || die "PING B->A before the emergency rotation"
r=$(adm A "RENEW CERTIFICATE COMPROMISED=YES") || die "RENEW COMPROMISED=YES failed: $r"
expect_eq "$(jget 'j["message_id"]' <<<"$r")" RPL0614W "the reply is RPL0614W"
expect_contains "$(jget 'j["forcesync_needed"]' <<<"$r")" '"B"' "the reply lists B as needing FORCESYNC"
expect_contains "$(jget 'j["forcesync_needed"]' <<<"$r")" '"C"' "the reply lists C as needing FORCESYNC"
fp3=$(own_fp A current)
[ "$fp3" != "$fp2" ] || die "COMPROMISED=YES did not switch the certificate"
ok "the new certificate is current at once"
expect_eq "$(own_cert A "$fp2" '[c["state"], c.get("compromised")]')" '["retired", true]' \
	"the old certificate is retired as compromised"
expect_eq "$(own_count A previous)" 0 "no previous certificate keeps a key that could endorse"
out=$(adm B "PING SERVER A"); rc=$?
expect_eq "$rc" 1 "B, pinning only the compromised certificate, cannot reach A"
expect_eq "$(jget 'j["message_id"]' <<<"$out")" RPL0403E "B refuses A's new certificate (no continuity from a compromised key)"
expect_eq "$(pin_list B A)" "$fp2:current" "B's pin for A is unchanged"
forcesync_mark A B >/dev/null || die "FORCESYNC on A"
forcesync_mark B A >/dev/null || die "FORCESYNC on B"
wait_until 20 pins_are B A "$fp3:current" || die "B did not pin A's new certificate after FORCESYNC: $(pin_list B A)"
ok "after FORCESYNC on both sides B pins A's new certificate"
p=$(adm B "PING SERVER A") || die "PING B->A after FORCESYNC: $p"
expect_eq "$(jget 'j["verified_by"]' <<<"$p")" pin "B reaches A by pin again"
no_crash A
no_crash B
