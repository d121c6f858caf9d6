#!/usr/bin/env bash
# e2e: serial
# Lifecycle acceptance 6: one peer A with 50 partners (50 replpeer processes on
# loopback), one of them stopped. RENEW CERTIFICATE on A: both rounds finish
# with 49 partners done and 1 pending, naming the stopped one; QUERY
# CERTIFICATE lists exactly that one as pending for the new (current)
# certificate and as the only holder of the previous one; the 49 others pin
# the new certificate alone. When the stopped partner comes back it accepts
# the new certificate by continuity and A retires the old one.
source "$(dirname "$0")/lib.sh"

N=50
DOWN=P17
mapfile -t ports < <(unique_ports $((N + 1)))
names=()
for i in $(seq 1 $N); do names+=("$(printf 'P%02d' "$i")"); done

init_peer A "${ports[0]}"
conf_set A MAXSESSIONS 1024
jobs=()
for i in $(seq 1 $N); do
	init_peer "${names[i - 1]}" "${ports[i]}" >/dev/null 2>&1 &
	jobs+=($!)
done
wait "${jobs[@]}"
for n in "${names[@]}"; do [ -f "$W/$n/cert256.pem" ] || die "init $n failed"; done
start_peers A "${names[@]}"
ok "A and $N partners run"
pair_many A "${names[@]}"
ok "A paired with $N partners (first contact)"
fp_old=$(fingerprint "$W/A/cert256.pem")

stop_peer $DOWN
t0=$(date +%s%N)
r=$(adm A RENEW CERTIFICATE) || die "RENEW CERTIFICATE failed: $r"
wait_until 90 log_has A "RPL0610I certificate confirmation round" || die "the confirmation round did not finish"
t1=$(date +%s%N)
ok "both rounds finished with $N partners in $(( (t1 - t0) / 1000000 )) ms (wall clock from RENEW)"
ann=$(round_line A announcement); conf=$(round_line A confirmation)
echo "MEASURE announcement: ${ann#*RPL0610I }"
echo "MEASURE confirmation: ${conf#*RPL0610I }"
expect_contains "$ann" "announcement round: 49 partners done, 1 pending: $DOWN \(" "announcement round: 49 done, 1 pending ($DOWN)"
expect_contains "$conf" "confirmation round: 49 partners done, 1 pending: $DOWN \(" "confirmation round: 49 done, 1 pending ($DOWN)"
expect_contains "$(grep RPL0601I "$W/A.log")" "announcement round with $N partners" "the announcement round covered all $N partners"
expect_eq "$(grep -c "RPL0607W server $DOWN:" "$W/A.log")" 2 "A logs $DOWN as pending once per round (RPL0607W)"

fp_new=$(own_fp A current)
[ -n "$fp_new" ] && [ "$fp_new" != "$fp_old" ] || die "A's current certificate did not change"
ok "A switched to the new certificate although $DOWN is unreachable"
expect_eq "$(own_cert A "$fp_new" 'c["partners_pending"]')" "[\"$DOWN\"]" \
	"QUERY CERTIFICATE: the current (new) certificate is pending exactly for $DOWN"
expect_eq "$(own_cert A "$fp_new" 'len(c["partners_holding"])')" 49 "QUERY CERTIFICATE: 49 partners hold the new certificate"
expect_eq "$(own_cert A "$fp_new" "'$DOWN' in c['partners_holding']")" false "QUERY CERTIFICATE: $DOWN is not among the holders"
expect_eq "$(own_state A "$fp_old")" previous "A keeps the old certificate as previous for $DOWN"
expect_eq "$(own_cert A "$fp_old" 'c["partners_holding"]')" "[\"$DOWN\"]" "QUERY CERTIFICATE: only $DOWN still holds the old certificate"
expect_contains "$(srv_field A $DOWN 's["last_distribution"]')" "^127\.0\.0\.1:[0-9]+: connection refused$" "QUERY SERVER $DOWN on A: last distribution failed (connection refused, with the address)"

bad=""
for n in "${names[@]}"; do
	[ "$n" == "$DOWN" ] && continue
	pins_are "$n" A "$fp_new:current" || bad+=" $n=$(pin_list "$n" A)"
done
[ -z "$bad" ] || die "partners without the new certificate as their only pin:$bad"
ok "the 49 reachable partners pin only the new certificate"

start_peer $DOWN
wait_admin $DOWN
expect_eq "$(pin_list $DOWN A)" "$fp_old:current" "$DOWN still pins the old certificate"
p=$(adm $DOWN PING SERVER A) || die "PING $DOWN->A failed: $p"
expect_eq "$(jget 'j["verified_by"]' <<<"$p")" continuity "$DOWN accepts the new certificate by continuity"
expect_eq "$(pin_list $DOWN A)" "$fp_new:current" "$DOWN pins only the new certificate"
wait_until 20 state_is A "$fp_old" retired || die "A's old certificate is '$(own_state A "$fp_old")', not retired"
ok "A retires the old certificate once $DOWN acknowledged the new one"
expect_eq "$(own_cert A "$fp_new" '[len(c["partners_holding"]), c["partners_pending"]]')" "[50, []]" "all $N partners hold the new certificate"
