#!/usr/bin/env bash
# Lifecycle: expiry warnings (RPL0604W, thresholds 90/30/7/1 days) for own
# and pinned partner certificates, checked at start, hourly and whenever pins
# change. A issues short certificates (CERTVALIDITYDAYS 20, CERTRENEWDAYS 0):
#  - at start, A warns about its own 20-day certificate (< 30 days), once;
#  - C (paired before) pins A's 20-day certificate from the announcement and
#    warns at once;
#  - B pins it on first contact, D (offline during the renewal) by the
#    continuity proof: both are pin changes, so both warn at once too;
#  - a 3650-day certificate causes no warning anywhere.
source "$(dirname "$0")/lib.sh"

pa=$(port); pb=$(port); pc=$(port); pd=$(port)
init_peer A "$pa"
init_peer B "$pb"
init_peer C "$pc"
init_peer D "$pd"
conf_set A CERTVALIDITYDAYS 20
conf_set A CERTRENEWDAYS 0
start_peer A
start_peer C
start_peer D
define_pair A C
define_pair A D
ping_ok C A || die "first contact C->A failed"
ping_ok D A || die "first contact D->A failed"
fp_long=$(own_fp A current)
for n in A C D; do
	expect_not_contains "$(cat "$W/$n.log")" "RPL0604W" "no expiry warning on $n with a 3650-day certificate"
done

stop_peer D
r=$(adm A RENEW CERTIFICATE) || die "RENEW CERTIFICATE failed: $r"
wait_until 20 log_has A "RPL0610I certificate confirmation round" || die "the renewal did not finish"
fp20=$(own_fp A current)
[ "$fp20" != "$fp_long" ] || die "A's certificate did not change"
expect_eq "$(own_cert A "$fp20" 'c["days_left"] in (19, 20)')" true "A's new certificate has 20 days (CERTVALIDITYDAYS 20)"
wait_until 5 log_has C "RPL0604W certificate of server A $fp20 expires in less than 30 days" ||
	die "C pinned A's 20-day certificate (announcement) without a warning: $(grep RPL0604W "$W/C.log")"
ok "C warns as soon as the announcement pins A's 20-day certificate (RPL0604W, < 30 days)"

restart_peer A
wait_until 5 log_has A "RPL0604W own certificate $fp20 expires in less than 30 days" ||
	die "A does not warn at start about its own 20-day certificate"
ok "A warns at start about its own 20-day certificate (RPL0604W, < 30 days)"
expect_eq "$(grep -c "RPL0604W own certificate $fp20" "$W/A.log")" 1 "A warns once per certificate and threshold"

# Pin changes by first contact (B) and by the continuity proof (D).
missing=""
start_peer B
define_pair A B
ping_ok B A || die "first contact B->A failed"
expect_eq "$(pin_list B A)" "$fp20:current" "B pinned A's 20-day certificate on first contact"
wait_until 5 log_has B "RPL0604W certificate of server A $fp20 expires in less than 30 days" &&
	ok "B warns as soon as first contact pins A's 20-day certificate" ||
	missing+=" B(first contact)"
start_peer D
wait_admin D
p=$(adm D PING SERVER A) || die "PING D->A failed: $p"
expect_eq "$(jget 'j["verified_by"]' <<<"$p")" continuity "D accepted A's 20-day certificate by continuity"
wait_until 5 log_has D "RPL0604W certificate of server A $fp20 expires in less than 30 days" &&
	ok "D warns as soon as the continuity proof pins A's 20-day certificate" ||
	missing+=" D(continuity)"
[ -z "$missing" ] || die "no RPL0604W when a pin changed by:$missing (B's log: $(grep -c RPL0604W "$W/B.log") warnings, D's: $(grep -c RPL0604W "$W/D.log"))"

# At their next start B and D warn anyway (start-time check).
restart_peer B
wait_until 5 log_has B "RPL0604W certificate of server A $fp20 expires in less than 30 days" ||
	die "B does not warn at start about A's 20-day certificate"
ok "B warns at start about A's pinned 20-day certificate"
