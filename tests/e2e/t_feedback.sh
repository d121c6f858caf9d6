#!/usr/bin/env bash
# Replies that say what happened now and what is pending. FORCESYNC with
# an unreachable partner: marked, not done (RPL1206E, exit 1), done at once
# when reachable (RPL1207I, exit 0), and with WAIT=YES it waits for the
# partner (or ROUNDTIMEOUT). RENEW says who holds the new certificate and
# who is pending, and with WAIT=YES answers after the round with the
# result. QUERY CERTIFICATE shows holders and pending partners in its
# table and accepts FORMAT=DETAILED; retired entries carry both lists;
# days left are rounded (a fresh 3650-day certificate shows 3650) and an
# expired certificate shows EXPIRED.
. "$(dirname "$0")/lib.sh"

pa=$(port); pb=$(port); pc=$(port)
init_peer A "$pa"
init_peer B "$pb"
init_peer C "$pc"
conf_set A ROUNDTIMEOUT 4
start_peer A
start_peer B
start_peer C
define_pair A B
define_pair A C
ping_ok A B || die "first contact A->B"
ping_ok A C || die "first contact A->C"
stop_peer C   # C stays down: a partner that is pending

# ---- FORCESYNC ----
out=$(adm A UPDATE SERVER C FORCESYNC=YES); rc=$?
expect_eq "$rc" 1 "FORCESYNC with C down exits 1: nothing was exchanged"
expect_eq "$(jget '[j["message_id"], j["forcesync_pending"], j["cause_message_id"]]' <<<"$out")" \
	'["RPL1206E", true, "RPL0411E"]' "...RPL1206E: marked and pending, because C could not be reached (RPL0411E)"
expect_contains "$(jget 'j["message"]' <<<"$out")" 'marked for FORCESYNC.*connection refused.*next session with C' \
	"the message says what happened now and what is pending"
expect_eq "$(srv_field A C 's["forcesync_pending"]')" true "C stays marked"

out=$(adm A UPDATE SERVER B FORCESYNC=YES); rc=$?
expect_eq "$rc:$(jget 'j["message_id"]' <<<"$out")" "0:RPL1207I" "FORCESYNC with B up is done at once (RPL1207I, exit 0)"
expect_eq "$(srv_field A B 's["forcesync_pending"]')" false "B's mark is cleared"

t0=$(date +%s)
out=$(adm A UPDATE SERVER C FORCESYNC=YES WAIT=YES); rc=$?
t1=$(date +%s)
expect_eq "$rc:$(jget 'j["message_id"]' <<<"$out")" "1:RPL1206E" "WAIT=YES with C down: pending after ROUNDTIMEOUT (RPL1206E)"
expect_contains "$(jget 'j["message"]' <<<"$out")" 'within ROUNDTIMEOUT \(4 s' "...saying it waited ROUNDTIMEOUT"
[ $((t1 - t0)) -ge 3 ] || die "WAIT=YES answered after $((t1 - t0)) s, before ROUNDTIMEOUT (4 s)"
ok "WAIT=YES waited for ROUNDTIMEOUT ($((t1 - t0)) s)"

( sleep 1.5; "$RP" serve -d "$W/C" >>"$W/C.log" 2>&1 & echo $! >"$W/C.pid"; wait ) &
PIDS+=($!)
"$RP" admin -d "$W/A" --json UPDATE SERVER C FORCESYNC=YES WAIT=YES >"$W/fsw.out" 2>"$W/fsw.err"; rc=$?
PIDS+=("$(cat "$W/C.pid")"); eval "PID_C=$(cat "$W/C.pid")"
expect_eq "$rc:$(jget 'j["message_id"]' <"$W/fsw.out")" "0:RPL1207I" "WAIT=YES completes once C comes up (RPL1207I, exit 0)"
expect_contains "$(cat "$W/fsw.err")" "RPL1212I waiting for 127\.0\.0\.1:$pc \(server C\)" "...and says what it waits for meanwhile"
expect_eq "$(srv_field A C 's["forcesync_pending"]')" false "C's mark is cleared"
stop_peer C

# ---- RENEW: who holds the new certificate ----
out=$(adm A RENEW CERTIFICATE) || die "RENEW: $out"
expect_eq "$(jget '[j["message_id"], j["state"], j["partners_holding"], j["partners_pending"]]' <<<"$out")" \
	'["RPL0601I", "next", [], ["B", "C"]]' "RENEW answers at once: the next certificate, nobody holds it yet, B and C pending"
label1=$(jget 'j["label"]' <<<"$out")
wait_until 15 eval '[ -z "$(own_fp A next)" ]' || die "the first renewal did not finish"

out=$(adm A RENEW CERTIFICATE WAIT=YES); rc=$?
expect_eq "$rc:$(jget '[j["message_id"], j["state"], j["partners_holding"], j["partners_pending"]]' <<<"$out")" \
	'0:["RPL0602I", "current", ["B"], ["C"]]' \
	"RENEW WAIT=YES answers after the round: the new certificate is current, held by B, pending for C"
expect_contains "$(jget 'j["message"]' <<<"$out")" 'held by 1 of 2 partners \(B\); pending: C' "...in words too"
fp_new=$(jget 'j["label"]' <<<"$out")
[ "$fp_new" != "$label1" ] || die "WAIT=YES answered about the earlier renewal"

# ---- QUERY CERTIFICATE ----
table=$("$RP" admin -d "$W/A" QUERY CERTIFICATE)
expect_contains "$(head -1 <<<"$table")" 'Partners Holding +Partners Pending' "the table has holders and pending partners"
expect_contains "$(grep ' current ' <<<"$table")" ' B +C *$' "the current certificate's row: held by B, pending C"
expect_contains "$(head -1 <<<"$table")" 'Validity' "the table shows the validity"
detail=$("$RP" admin -d "$W/A" QUERY CERTIFICATE FORMAT=DETAILED) || die "FORMAT=DETAILED refused: $detail"
expect_contains "$detail" 'Fingerprint: [0-9a-f]{64}' "FORMAT=DETAILED shows every field"
expect_contains "$detail" 'Partners Holding:' "...including the holders"
json=$(adm A QUERY CERTIFICATE)
expect_eq "$(jget 'all("partners_holding" in c and "partners_pending" in c and "validity" in c for c in j)' <<<"$json")" true \
	"every entry, retired ones too, has partners_holding, partners_pending and validity"
expect_eq "$(jget '[[c["partners_holding"], c["partners_pending"]] for c in j if c["state"] == "previous"]' <<<"$json")" \
	'[[["C"], ["C"]]]' "the previous certificate is held by C and kept for C (pending)"
fp_cur=$(own_fp A current)
out=$(adm A RENEW CERTIFICATE COMPROMISED=YES) || die "COMPROMISED=YES: $out"
expect_eq "$(own_cert A "$fp_cur" '[c["state"], c["partners_holding"], c["partners_pending"]]')" '["retired", ["B"], ["B"]]' \
	"a certificate retired as compromised lists B, which still pins only it (pending: it needs FORCESYNC)"

# ---- days left ----
sleep 1.2  # a floor would now say 3649
expect_eq "$(adm A QUERY CERTIFICATE | jget '[c["days_left"] for c in j if c["state"] == "current"][0]')" 3650 \
	"a fresh 3650-day certificate shows 3650 days left a second later (rounded)"
expect_eq "$("$RP" cert -d "$W/B" --json show | jget 'j["days_left"]')" 3650 "cert show says 3650 too"
expired=$(REPLPEER_CLOCK_OFFSET=$((3651 * 86400)) "$RP" cert -d "$W/B" show)
expect_contains "$(grep 'Days Left' <<<"$expired")" 'EXPIRED' "an expired certificate shows EXPIRED"
