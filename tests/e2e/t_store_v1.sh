#!/usr/bin/env bash
# Schema upgrade: an instance made by the version before node storage
# (tests/data/instance-v1: schema 1, paired with BRAVO, one trust anchor) is
# upgraded in place (to the current schema, 3) when it is first opened — one transaction, logged as
# RPL0822I — and keeps its own certificate, its pin for BRAVO and its trust
# anchor; 'db verify' is clean, 'serve' runs on it and node storage works.
# An instance of a newer schema than the binary is refused with RPL0204E.
source "$(dirname "$0")/lib.sh"

FX=$(cd "$(dirname "$0")/../data/instance-v1" && pwd) || die "no fixture"
expected() { awk -v k="$1" '$1 == k {print $2}' "$FX/EXPECTED"; }

# load_fixture DIR [SCHEMA]: the fixture in $W/DIR, optionally with another
# schema number written into the dump.
load_fixture() {
	local dir=$W/$1 schema=${2:-}
	mkdir -p "$dir"
	cp "$FX/replpeer.conf" "$FX/master.key" "$FX/cert256.pem" "$dir/"
	chmod 600 "$dir/master.key"
	if [ -n "$schema" ]; then
		# meta key "schema" (hex 736368656d61) is followed by its value line.
		awk -v v="$(printf ' %08x' "$schema")" 'prev == " 736368656d61" {print v; prev = ""; next} {print; prev = $0}' \
			"$FX/data.mdb.dump" >"$W/$1.dump"
		mdb_load -f "$W/$1.dump" "$dir" 2>/dev/null || die "mdb_load $1"
	else
		mdb_load -f "$FX/data.mdb.dump" "$dir" 2>/dev/null || die "mdb_load $1"
	fi
	conf_set "$1" TCPPORT "$(port)"
}

schema_of() { mdb_dump -s meta "$1" | awk 'prev == " 736368656d61" {print $1} {prev = $0}'; }

load_fixture V
expect_eq "$(schema_of "$W/V")" 00000001 "the fixture is schema 1"
succeeds "cert list on the version-1 instance" "$RP" cert -d "$W/V" --json list
expect_eq "$(schema_of "$W/V")" 00000003 "opening it upgrades it to the current schema (3)"
expect_eq "$(jget "next(c['fingerprint'] for c in j if c.get('state') == 'current')" <"$W/out")" \
	"$(expected own_fingerprint)" "the own certificate is intact"
expect_eq "$(jget "next(c['fingerprint'] for c in j if c['label'] == '$(expected ca_label)')" <"$W/out")" \
	"$(expected ca_fingerprint)" "the trust anchor is intact"
succeeds "db verify --deep of the upgraded instance" "$RP" db -d "$W/V" --json verify --deep
expect_eq "$(jget 'str(j["faults"]) + " " + str(j["other_records"] > 5)' <"$W/out")" "0 True" \
	"the upgraded instance is clean, its records checked"

start_peer V
wait_admin V
expect_eq "$(adm V QUERY SERVER BRAVO | jget "' '.join(p['fingerprint'] + ':' + p['state'] for p in j[0]['pins'])")" \
	"$(expected bravo_pin):current" "serve runs on it and the pin for BRAVO is intact"
expect_contains "$(actlog_lines V)" "RPL0822I database schema upgraded from version 1 to 3: node storage, replication state and schedules added" \
	"the upgrade is in the activity log"
[ "$(actlog_lines V | grep -c RPL0822I)" -eq 1 ] || die "the upgrade ran more than once"
ok "the upgrade ran once"
adm V REGISTER NODE n1 >/dev/null || die "REGISTER NODE on the upgraded instance"
printf 'node storage on an upgraded instance\n' >"$W/f"
succeeds "store put on the upgraded instance" "$RP" store -d "$W/V" put n1 "$W/f" --as f
"$RP" store -d "$W/V" get n1 f -o - | cmp -s - "$W/f" || die "get on the upgraded instance"
ok "node storage works on the upgraded instance"
stop_peer V

load_fixture N 4
fails 1 RPL0204E "an instance of a newer schema is refused" "$RP" cert -d "$W/N" list
fails 1 RPL0204E "db verify refuses it too" "$RP" db -d "$W/N" verify
expect_eq "$(schema_of "$W/N")" 00000004 "a refused instance is left as it was"
