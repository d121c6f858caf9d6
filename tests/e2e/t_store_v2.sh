#!/usr/bin/env bash
# Schema 3 upgrade: an instance made by the version before replication
# (tests/data/instance-v2: schema 2, node n1 with two objects, server BRAVO
# defined) is upgraded in place when it is first opened — the replication
# state and schedule databases and the version in one transaction, logged
# once as RPL0822I — and keeps its objects byte-identical and its
# certificate; 'db verify --deep' is clean; serve runs on it and the new
# commands (QUERY REPLICATION, DEFINE/QUERY SCHEDULE) work on it.
source "$(dirname "$0")/lib.sh"

FX=$(cd "$(dirname "$0")/../data/instance-v2" && pwd) || die "no fixture"
expected() { awk -v k="$1" '$1 == k {print $2}' "$FX/EXPECTED"; }
schema_of() { mdb_dump -s meta "$1" | awk 'prev == " 736368656d61" {print $1} {prev = $0}'; }

mkdir -p "$W/V"
cp "$FX/replpeer.conf" "$FX/master.key" "$FX/cert256.pem" "$W/V/"
chmod 600 "$W/V/master.key"
mdb_load -f "$FX/data.mdb.dump" "$W/V" 2>/dev/null || die "mdb_load"
conf_set V TCPPORT "$(port)"
expect_eq "$(schema_of "$W/V")" 00000002 "the fixture is schema 2"

succeeds "store ls on the version-2 instance" "$RP" store -d "$W/V" --json ls n1
expect_eq "$(schema_of "$W/V")" 00000003 "opening it upgrades it to schema 3"
expect_eq "$(jget '" ".join(o["name"] for o in j)' <"$W/out")" "one.txt two.bin" "its objects are listed"
expect_eq "$("$RP" store -d "$W/V" get n1 one.txt -o - | sha256sum | cut -d' ' -f1)" "$(expected one_sha256)" \
	"one.txt comes back identical"
expect_eq "$("$RP" store -d "$W/V" get n1 two.bin -o - | sha256sum | cut -d' ' -f1)" "$(expected two_sha256)" \
	"two.bin comes back identical"
succeeds "db verify --deep of the upgraded instance" "$RP" db -d "$W/V" --json verify --deep
expect_eq "$(jget 'str(j["faults"]) + " " + str(j["objects"])' <"$W/out")" "0 2" "the upgraded instance is clean"
expect_eq "$(mdb_stat -a "$W/V" 2>/dev/null | grep -cE '^Status of (replstate|schedules)$')" 2 \
	"the replication databases exist"

start_peer V
wait_admin V
expect_eq "$(adm V QUERY CERTIFICATE | jget "next(c['fingerprint'] for c in j if c['state'] == 'current')")" \
	"$(expected own_fingerprint)" "serve runs on it with its own certificate"
expect_eq "$(adm V QUERY REPLICATION | jget 'len(j)')" 0 "QUERY REPLICATION works on it (no runs yet)"
adm V DEFINE SCHEDULE nightly 'CMD="REPLICATE NODE *"' PERIOD=1d STARTTIME=02:00 ACTIVE=NO >/dev/null ||
	die "DEFINE SCHEDULE on the upgraded instance"
expect_eq "$(adm V QUERY SCHEDULE | jget 'j[0]["name"] + " " + str(j[0]["active"])')" "nightly False" \
	"a schedule is stored on it"
expect_contains "$(actlog_lines V)" "RPL0822I database schema upgraded from version 2 to 3: replication state and schedules added" \
	"the upgrade is in the activity log"
[ "$(actlog_lines V | grep -c RPL0822I)" -eq 1 ] || die "the upgrade ran more than once"
ok "the upgrade ran once"
