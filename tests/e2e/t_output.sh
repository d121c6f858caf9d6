#!/usr/bin/env bash
# One output for the command line and the daemon alike: every failure is
# {ok: false, error, message_id, message, hint} (with --json on stdout and
# nothing on stderr; without it "replpeer: RPLnnnnE ..." on stderr, for CLI
# and admin errors the same); the cert changes answer with a message ID;
# 'cert --json export' gives the PEM in a field; db, init and version have
# --json; rtt_ms is rounded; a field has one name in 'cert show' and QUERY
# CERTIFICATE (ca_signed); 'cert list' is a table like QUERY CERTIFICATE;
# no "Cn:" label.
source "$(dirname "$0")/lib.sh"

failure_shape() { # JSON on stdin: exactly the failure fields
	python3 -c 'import json,sys
j=json.load(sys.stdin)
want={"ok","error","message_id","message","hint"}
assert set(j)==want and j["ok"] is False and j["message"], (sorted(j), j)
print(j["message_id"])'
}

PA=$(port); PB=$(port)
init_peer A "$PA"; init_peer B "$PB"

# --- failures: one JSON shape, JSON only -----------------------------------------
run "$RP" cert -d "$W/nosuch" --json show
expect_eq "$?" 1 "cert --json show on a missing instance exits 1"
expect_eq "$(failure_shape <"$W/out")" "RPL0101E" "the CLI's JSON failure has ok, error, message_id, message, hint (no detail)"
expect_eq "$(cat "$W/err")" "" "and nothing on stderr"
run "$RP" cert -d "$W/A" --json show --label no-such-label
expect_eq "$(failure_shape <"$W/out")" "RPL0306E" "cert --json show --label: the failure as JSON"
expect_eq "$(cat "$W/err")" "" "cert --json errors are not also printed on stderr"
run "$RP" db -d "$W/nosuch" --json verify
expect_eq "$(failure_shape <"$W/out")" "RPL0101E" "db --json verify: the same failure shape"

start_peer A; start_peer B
define_pair A B
run "$RP" admin -d "$W/A" --json QUERY SERVER NOSUCH
expect_eq "$(failure_shape <"$W/out")" "RPL0406E" "the daemon's failures have the same shape"
run "$RP" admin -d "$W/nosuch" --json QUERY SERVER
expect_eq "$(failure_shape <"$W/out")" "RPL0101E" "and the admin client's own failures too (no instance there)"

# --- text failures: the same way for the CLI and the admin client -----------------
run "$RP" cert -d "$W/nosuch" show
expect_contains "$(head -1 "$W/err")" "^replpeer: RPL0101E " "a CLI error starts with 'replpeer: RPLnnnnE'"
run "$RP" admin -d "$W/A" QUERY SERVER NOSUCH
expect_contains "$(head -1 "$W/err")" "^replpeer: RPL0406E " "an admin error starts the same way"
expect_contains "$(sed -n 2p "$W/err")" "^  hint: " "both with a hint line"

# --- successes --------------------------------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/ca.key" \
	-out "$W/ca.pem" -days 30 -subj /CN=outputca -addext basicConstraints=critical,CA:TRUE \
	-addext keyUsage=critical,keyCertSign >/dev/null 2>&1 || die "openssl: test CA"
c() { "$RP" cert -d "$W/A" "$@"; }
msgid() { jget 'j["ok"] is True and j["message_id"]'; }
expect_eq "$(c --json import-ca --label outca --purpose peer "$W/ca.pem" | msgid)" "RPL0312I" "cert --json import-ca answers RPL0312I"
expect_eq "$(c --json delete --label outca | msgid)" "RPL0313I" "cert --json delete answers RPL0313I"
expect_eq "$(c --json request --out "$W/a.csr" | msgid)" "RPL0316I" "cert --json request answers RPL0316I"
out=$(c request --out "$W/a.csr")
expect_contains "$out" "^RPL0316I " "cert request without --json prints its message line"
expect_not_contains "$out" "Cn:" "and no 'Cn:' label"
c --json export >"$W/export.json" || die "cert --json export"
expect_eq "$(msgid <"$W/export.json")" "RPL1107I" "cert --json export answers RPL1107I"
jget 'j["pem"]' <"$W/export.json" | sed '/^$/d' >"$W/export.pem"
cmp -s "$W/export.pem" "$W/A/cert256.pem" || die "cert --json export: pem differs from cert256.pem"
ok "cert --json export is JSON with the PEM in its pem field, not PEM text"

expect_eq "$("$RP" version --json | jget 'sorted(j)')" '["version", "wolfssl"]' "version --json"
printf 'backup-pw-123\n' >"$W/bk.pw"
out=$("$RP" db -d "$W/B" --json backup --out "$W/b.bak" --password-file "$W/bk.pw")
expect_eq "$(msgid <<<"$out")" "RPL0704I" "db --json backup"
out=$("$RP" db --json restore --in "$W/b.bak" -d "$W/B2" --password-file "$W/bk.pw")
expect_eq "$(msgid <<<"$out")" "RPL0705I" "db --json restore"
out=$("$RP" init --json -d "$W/C" --name C --port "$(port)" --password-file "$W/bk.pw")
expect_eq "$(msgid <<<"$out")" "RPL0315I" "init --json"

# --- numbers and names --------------------------------------------------------------
# rtt_ms is microseconds / 1000: printed in full, 0.056 came out as
# 0.056000000000000001 (about two values in three do); eight PINGs in one
# session make a lucky pass on a broken build unlikely (1 in 10,000).
for _ in 1 2 3 4 5 6 7 8; do echo "PING SERVER B"; done | "$RP" admin -d "$W/A" --json >"$W/ping.json" ||
	die "PING SERVER B"
rtts=$(grep -oE '"rtt_ms": [0-9.e+-]+' "$W/ping.json" | cut -d' ' -f2 | tr '\n' ' ')
expect_eq "$(wc -w <<<"$rtts")" 8 "eight PINGs report rtt_ms"
for rtt in $rtts; do
	[[ "$rtt" =~ ^[0-9]+(\.[0-9]{1,3})?$ ]] || die "rtt_ms is printed as $rtt"
done
ok "rtt_ms has at most 3 decimals ($rtts)"
c --json show >"$W/show.json" || die "cert show"
"$RP" admin -d "$W/A" --json QUERY CERTIFICATE >"$W/qc.json" || die "QUERY CERTIFICATE"
python3 - "$W/show.json" "$W/qc.json" <<'PY' || die "cert show and QUERY CERTIFICATE name fields differently"
import json, sys
show = json.load(open(sys.argv[1])); qc = json.load(open(sys.argv[2]))
entry = next(e for e in qc if e["label"] == show["label"])
assert "ca" not in show and "ca_signed" in show, sorted(show)
missing = [k for k in show if k not in entry]
assert not missing, missing
assert all(show[k] == entry[k] for k in show if k != "days_left"), [(k, show[k], entry[k]) for k in show if show[k] != entry[k]]
PY
ok "cert show has QUERY CERTIFICATE's field names and values (ca_signed, not ca)"
out=$(c list)
expect_contains "$(sed -n 1p <<<"$out")" "^Label +Kind +State +Purpose +Fingerprint +Not After +Days Left$" "cert list is a table"
expect_contains "$(sed -n 2p <<<"$out")" "^-+ +-+" "with a rule under its heading"
expect_not_contains "$out" "^Label:" "not blocks of label: value lines"
