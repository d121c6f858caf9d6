#!/usr/bin/env bash
# Disaster recovery with a replica (README "Disaster recovery"): A's node n
# is replicated to B; A is lost and rebuilt as a new instance with the same
# name (new key: B re-pins it with FORCESYNC after the password proof); B
# replicates its replica of n back to A ('REPLICATE NODE n TARGET=A'); on A
# 'REMOVE REPLNODE n' makes it an ordinary node again, every file reads
# back identical, and replication A -> B resumes into B's replica, which is
# still the replica of A's n: the run finds nothing to send.
source "$(dirname "$0")/lib.sh"

paired_ab
cd "$W" || die cd
mkdir -p d
for i in $(seq 0 19); do head -c $((20000 + i * 7000)) /dev/urandom >"d/f$i"; done
adm A REGISTER NODE n >/dev/null || die "REGISTER NODE n"
succeeds "store put" "$RP" store -d "$W/A" put n d
adm A REPLICATE NODE n TARGET=B WAIT=YES >/dev/null || die "REPLICATE A -> B"
ok "node n replicated from A to B"

# ---- A is lost and rebuilt --------------------------------------------------
stop_peer A KILL
rm -rf "$W/A"
init_peer A "$pa"
start_peer A
wait_admin A
adm A DEFINE SERVER B HLADDRESS=127.0.0.1 LLADDRESS="$pb" SERVERPASSWORD="$(cat "$W/B.pw")" >/dev/null ||
	die "define B on the rebuilt A"
adm B UPDATE SERVER A FORCESYNC=YES >/dev/null || die "FORCESYNC on B"
wait_until 20 eval "[ \"\$(srv_field B A 's[\"forcesync_pending\"]')\" = false ]" || die "FORCESYNC did not complete"
ok "the rebuilt A is paired with B again (FORCESYNC)"

# ---- B sends its replica back ------------------------------------------------------
out=$(adm B REPLICATE NODE n TARGET=A WAIT=YES) || die "REPLICATE B -> A: $out"
expect_eq "$(jget 'j["state"] + " " + str(j["objects_replicated"])' <<<"$out")" "completed 20" \
	"B replicates its replica of n back to the rebuilt A"
expect_eq "$(adm A QUERY NODE n | jget 'j[0]["kind"] + " " + j[0]["source"]["server"]')" "replica B" \
	"on A, n is a replica of B's n"
adm A REMOVE REPLNODE n >/dev/null || die "REMOVE REPLNODE n on A"
expect_eq "$(adm A QUERY NODE n | jget 'j[0]["kind"]')" local "REMOVE REPLNODE makes n an ordinary node on A"
for i in $(seq 0 19); do
	"$RP" store -d "$W/A" get n "d/f$i" -o - | cmp -s - "d/f$i" || die "d/f$i differs on the rebuilt A"
done
ok "all 20 files read back identical from the rebuilt A"

# ---- replication A -> B resumes --------------------------------------------------------
out=$(adm A REPLICATE NODE n TARGET=B WAIT=YES) || die "REPLICATE A -> B after the recovery: $out"
expect_eq "$(jget 'j["state"] + " " + str(j["objects_replicated"]) + " " + str(j["objects_deleted"])' <<<"$out")" \
	"completed 0 0" "A -> B resumes into B's replica with nothing to send"
printf 'new after the recovery\n' >d/new
succeeds "put d/new on A" "$RP" store -d "$W/A" put n d/new
out=$(adm A REPLICATE NODE n TARGET=B WAIT=YES) || die "REPLICATE A -> B: $out"
expect_eq "$(jget 'str(j["objects_replicated"])' <<<"$out")" 1 "new data on A reaches B again"
succeeds "db verify on A" "$RP" db -d "$W/A" verify
succeeds "db verify on B" "$RP" db -d "$W/B" verify
