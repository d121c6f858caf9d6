#!/usr/bin/env bash
# Replication refusals and safety rails (acceptance 7 and 8). Each refusal
# gives a clear error with a message ID, stores nothing half and leaves
# 'db verify' clean: no target (RPL0839E), an undefined target (RPL0406E),
# an unreachable one (RPL0411E), a partner reachable only by protocol 1
# (RPL0840E), an unknown node (RPL0801E), a node name the target uses for a
# local node (RPL0835E), store put on a replica (RPL0802E) and of an
# unreadable file (RPL0809E), a full target store (RPL0206E). Rails:
# DISABLE/ENABLE REPLICATION; after 'db restore' of the source, REPLICATE is
# refused (RPL0837E) until ENABLE REPLICATION; deleting 80% of a node's
# objects stops the next run before any deletion (RPL0838E) until
# FORCE=YES; SET REPLSERVER gives the default target; REMOVE REPLNODE makes
# a replica an ordinary node.
source "$(dirname "$0")/lib.sh"

paired_ab
cd "$W" || die cd
mkdir -p d
for i in $(seq 0 9); do head -c $((50000 + i * 1000)) /dev/urandom >"d/f$i"; done
adm A REGISTER NODE n >/dev/null || die "REGISTER NODE n"
succeeds "store put" "$RP" store -d "$W/A" put n d

# want_fail ID WHAT COMMAND...: the admin command fails with message ID.
want_fail() {
	local id=$1 what=$2 out rc
	shift 2
	out=$(adm A "$@"); rc=$?
	[ "$rc" -eq 1 ] || die "$what: exit $rc: $out"
	expect_eq "$(jget 'j["message_id"]' <<<"$out")" "$id" "$what ($(jget 'j.get("message", "")' <<<"$out" | cut -c1-120))"
}

# ---- targets and nodes ----------------------------------------------------
want_fail RPL0839E "no TARGET and no SET REPLSERVER" REPLICATE NODE n WAIT=YES
want_fail RPL0406E "an undefined target" REPLICATE NODE n TARGET=NOSUCH WAIT=YES
adm A DEFINE SERVER DOWN HLADDRESS=127.0.0.1 LLADDRESS="$(port)" SERVERPASSWORD=down-server-pw >/dev/null || die "define DOWN"
want_fail RPL0411E "an unreachable target" REPLICATE NODE n TARGET=DOWN WAIT=YES
want_fail RPL0801E "an unknown node" REPLICATE NODE nosuch TARGET=B WAIT=YES
expect_eq "$(adm A QUERY REPLICATION n | jget '[r["state"] for r in j if r["target"] == "DOWN"]')" '["failed"]' \
	"QUERY REPLICATION records the failed run"

init_peer L "$(port)"
conf_set L PROTOCOLLEVEL 1
start_peer L
define_pair A L
ping_ok L A || die "L -> A over protocol 1"
ping_ok A L || die "A -> L over protocol 1"
want_fail RPL0840E "a partner reachable only by protocol 1" REPLICATE NODE n TARGET=L WAIT=YES
stop_peer L

adm B REGISTER NODE n >/dev/null || die "REGISTER NODE n on B"
printf 'local data on B\n' >"$W/local.txt"
succeeds "a local object on B" "$RP" store -d "$W/B" put n "$W/local.txt" --as local.txt
want_fail RPL0835E "a name used on the target by a local node" REPLICATE NODE n TARGET=B WAIT=YES
expect_eq "$(adm B QUERY NODE n | jget 'j[0]["kind"] + " " + str(j[0]["objects"])')" "local 1" \
	"B's local node is untouched"
adm B REMOVE NODE n DELETEOBJECTS=YES >/dev/null || die "REMOVE NODE n on B"

# ---- SET REPLSERVER, a replica is read-only, REMOVE REPLNODE -------------------
adm A SET REPLSERVER B >/dev/null || die "SET REPLSERVER B"
out=$(adm A REPLICATE NODE n WAIT=YES) || die "REPLICATE NODE n with the default target: $out"
expect_eq "$(jget 'j["target"] + " " + j["state"] + " " + str(j["objects_replicated"])' <<<"$out")" "B completed 10" \
	"SET REPLSERVER B: REPLICATE NODE n goes to B"
expect_eq "$(adm A QUERY REPLNODE n | jget 'str(j["source_objects"]) + " " + str(j["target_objects"]) + " " + str(j["equal"])')" \
	"10 10 True" "QUERY REPLNODE shows equal counts"
fails 1 RPL0802E "store put on a replica is refused" "$RP" store -d "$W/B" put n "$W/local.txt"
if [ "$(id -u)" = 0 ]; then
	printf 'secret\n' >"$W/unreadable"; chmod 000 "$W/unreadable"
	fails 1 RPL0809E "store put of an unreadable file is refused" \
		setpriv --bounding-set=-dac_override,-dac_read_search "$RP" store -d "$W/A" put n "$W/unreadable"
else
	printf 'secret\n' >"$W/unreadable"; chmod 000 "$W/unreadable"
	fails 1 RPL0809E "store put of an unreadable file is refused" "$RP" store -d "$W/A" put n "$W/unreadable"
fi
expect_eq "$(adm A QUERY NODE n | jget 'j[0]["objects"]')" 10 "the unreadable file stored nothing"

# ---- DISABLE / ENABLE REPLICATION ---------------------------------------------
adm A DISABLE REPLICATION >/dev/null || die "DISABLE REPLICATION"
want_fail RPL0837E "DISABLE REPLICATION refuses runs" REPLICATE NODE n WAIT=YES
adm A ENABLE REPLICATION >/dev/null || die "ENABLE REPLICATION"
adm A REPLICATE NODE n WAIT=YES >/dev/null || die "REPLICATE after ENABLE REPLICATION"
ok "ENABLE REPLICATION lets runs go again"

# ---- the delete guard ------------------------------------------------------------
for i in 0 1 2 3 4 5 6 7; do "$RP" store -d "$W/A" rm n "d/f$i" >/dev/null || die "rm d/f$i"; done
want_fail RPL0838E "deleting 80% stops the run before any deletion" REPLICATE NODE n WAIT=YES
expect_eq "$(adm B QUERY NODE n | jget 'j[0]["objects"]')" 10 "B still holds all 10 objects"
out=$(adm A REPLICATE NODE n WAIT=YES FORCE=YES) || die "FORCE=YES: $out"
expect_eq "$(jget 'str(j["objects_deleted"])' <<<"$out")" 8 "FORCE=YES deletes the 8 objects"
expect_eq "$(adm B QUERY NODE n | jget 'j[0]["objects"]')" 2 "B holds 2 objects"

# ---- REMOVE REPLNODE --------------------------------------------------------------
adm B REMOVE REPLNODE n >/dev/null || die "REMOVE REPLNODE n"
expect_eq "$(adm B QUERY NODE n | jget 'j[0]["kind"]')" local "REMOVE REPLNODE makes n an ordinary node"
succeeds "store put on the former replica" "$RP" store -d "$W/B" put n "$W/local.txt" --as local.txt
want_fail RPL0835E "the former replica is not replicated into again" REPLICATE NODE n WAIT=YES

# ---- db restore of the source ------------------------------------------------------
printf 'backup-password-1\n' >"$W/bk.pw"
succeeds "db backup of A" "$RP" db -d "$W/A" backup --out "$W/a.bak" --password-file "$W/bk.pw"
stop_peer A
mv "$W/A" "$W/A.old"
succeeds "db restore of A" "$RP" db restore --in "$W/a.bak" -d "$W/A" --password-file "$W/bk.pw"
grep -q RPL0842I "$W/out" || die "restore does not say that replication is disabled: $(cat "$W/out")"
start_peer A
wait_admin A
adm A REGISTER NODE m >/dev/null || die "REGISTER NODE m"
succeeds "store put m" "$RP" store -d "$W/A" put m "$W/local.txt"
want_fail RPL0837E "after db restore, REPLICATE is refused" REPLICATE NODE m WAIT=YES
adm A ENABLE REPLICATION >/dev/null || die "ENABLE REPLICATION"
out=$(adm A REPLICATE NODE m WAIT=YES) || die "REPLICATE after ENABLE: $out"
ok "after ENABLE REPLICATION the restored source replicates"

# ---- a full target store ------------------------------------------------------------
init_peer F "$(port)"
conf_set F DBMAXSIZE 24M
start_peer F
define_pair A F
ping_ok A F || die "A -> F"
adm A REGISTER NODE big >/dev/null || die "REGISTER NODE big"
mkdir -p big
for i in 0 1 2 3 4 5 6 7; do head -c $((4 << 20)) /dev/urandom >"big/b$i"; done
succeeds "store put big" "$RP" store -d "$W/A" put big big
want_fail RPL0206E "a full target store" REPLICATE NODE big TARGET=F WAIT=YES
for i in 0 1 2 3 4 5 6 7; do
	if "$RP" store -d "$W/F" get big "big/b$i" -o "$W/chk" >/dev/null 2>&1; then
		cmp -s "$W/chk" "big/b$i" || die "big/b$i on F differs"
	fi
done
ok "nothing half-stored on the full target: each object is whole or absent"
for p in A B F; do
	succeeds "db verify on $p" "$RP" db -d "$W/$p" verify
done
ok "db verify is clean on A, B and F"
no_crash A
no_crash B
no_crash F
