#!/usr/bin/env bash
# Renewal of a CA-signed identity: with its CA-signed certificate 60 days
# from expiry the daemon makes the next key and its request
# (DIR/cert256.csr, shown by 'cert show'), warns that a CA-signed
# certificate is needed (RPL1208W) and never makes a self-signed one
# (RENEWSELFSIGNED NO, even below CERTRENEWDAYS); 'cert install' of the
# CA's certificate for that key while the daemon runs makes it the next
# certificate, and the running daemon (inotify on the instance directory)
# announces and activates it: the partner follows without any command.
# Also: --address 0.0.0.0 puts no IP:0.0.0.0 into the certificate, the
# same CA is not imported twice for one purpose, and 'db backup' does not
# overwrite a file unless --force.
. "$(dirname "$0")/lib.sh"

pa=$(port); pb=$(port)
printf 'pw-A-secret-1\n' >"$W/A.pw"
"$RP" init -d "$W/A" --name A --port "$pa" --address 0.0.0.0 --password-file "$W/A.pw" >"$W/init.out" ||
	die "init A"
init_peer B "$pb"

# ---- the wildcard address is not a name of this host ----
sans=$(openssl x509 -in "$W/A/cert256.pem" -noout -ext subjectAltName)
expect_not_contains "$sans" '0\.0\.0\.0' "--address 0.0.0.0: no IP:0.0.0.0 in the certificate"
expect_contains "$sans" 'DNS:A' "the certificate names the server"
host=$(hostname)
if [[ "$host" =~ ^[A-Za-z0-9.-]+$ ]]; then
	expect_contains "$sans" "DNS:$host" "...and this host's name ($host) instead of the wildcard"
fi
expect_contains "$(cat "$W/init.out")" 'listens on every address' "init says what it put into the certificate"

# ---- a throw-away CA signs A's current key for 60 days ----
make_ca "$W/ca" "Renewal Test CA" 400
sign() { # CSR OUT DAYS
	openssl ca -batch -config "$W/ca/ca.cnf" -cert "$W/ca/ca.pem" -keyfile "$W/ca/ca.key" \
		-in "$1" -out "$2" -days "$3" -notext >/dev/null 2>&1 || die "openssl ca could not sign $1"
}
"$RP" cert -d "$W/A" request --out "$W/A-now.csr" >/dev/null || die "cert request"
sign "$W/A-now.csr" "$W/A-now.pem" 60
"$RP" cert -d "$W/A" install "$W/A-now.pem" >/dev/null || die "install the 60-day CA-signed certificate"
fp_ca60=$(fingerprint "$W/A-now.pem")
expect_eq "$(fingerprint "$W/A/cert256.pem")" "$fp_ca60" "A's identity is the 60-day CA-signed certificate"

# ---- the same CA twice ----
"$RP" cert -d "$W/A" import-ca --label ca1 --purpose peer "$W/ca/ca.pem" >/dev/null || die "import-ca ca1"
fails 1 RPL1210E "the same CA under a second label for the same purpose is refused (RPL1210E)" \
	"$RP" cert -d "$W/A" import-ca --label ca2 --purpose peer "$W/ca/ca.pem"
expect_contains "$(cat "$W/err")" "'ca1'" "the refusal names the existing label"
succeeds "the same CA for the other purpose (ldap)" "$RP" cert -d "$W/A" import-ca --label ca-ldap --purpose ldap "$W/ca/ca.pem"
ok "the same CA may vouch for the LDAP server under its own label"

# ---- the daemon makes the next key and its request, and warns ----
conf_set A CERTRENEWDAYS 90   # below CERTRENEWDAYS too: still no self-signed certificate
start_peer A
start_peer B
define_pair A B
ping_ok A B || die "first contact A->B"
ping_ok B A || die "PING B->A"
expect_eq "$(pin_list B A)" "$fp_ca60:current" "B pins A's CA-signed certificate"
wait_until 20 test -s "$W/A/cert256.csr" || die "no DIR/cert256.csr: $(grep -E 'RPL12|RPL06' "$W/A.log")"
ok "A wrote the request for its next key beside cert256.pem (A/cert256.csr)"
expect_contains "$(openssl req -in "$W/A/cert256.csr" -noout -verify 2>&1)" 'verify OK' "the request verifies"
expect_eq "$(openssl req -in "$W/A/cert256.csr" -noout -subject -nameopt RFC2253)" "subject=CN=A" "the request names A"
[ "$(openssl req -in "$W/A/cert256.csr" -noout -pubkey)" != "$(openssl x509 -in "$W/A/cert256.pem" -noout -pubkey)" ] ||
	die "the request carries the current key, not a new one"
ok "the request carries a new key"
wait_until 10 log_has A 'WARN  RPL1208W own certificate .* \(CA-signed\) expires in less than 90 days' ||
	die "no RPL1208W: $(grep RPL12 "$W/A.log")"
ok "A warns that a CA-signed certificate is needed (RPL1208W, 90 days)"
expect_contains "$(grep RPL1208W "$W/A.log" | head -1)" 'cert256\.csr' "...naming the request to have signed"
show=$("$RP" cert -d "$W/A" --json show)
expect_eq "$(jget 'j["next_request"]["csr"]' <<<"$show")" "$W/A/cert256.csr" "'cert show' shows the request of the next key"
expect_eq "$(own_count A next)" 0 "no self-signed next certificate although CERTRENEWDAYS is reached (RENEWSELFSIGNED NO)"
out=$(adm A RENEW CERTIFICATE)
expect_eq "$(jget '[j["ok"], j["message_id"], j["csr"]]' <<<"$out")" "[true, \"RPL1209I\", \"$W/A/cert256.csr\"]" \
	"RENEW CERTIFICATE on the CA-signed identity points to the waiting request"
expect_eq "$(own_count A next)" 0 "...and makes no self-signed certificate"

# ---- the CA signs the request; install while A runs ----
sign "$W/A/cert256.csr" "$W/A-next.pem" 400
fp_next=$(fingerprint "$W/A-next.pem")
inst=$("$RP" cert -d "$W/A" --json install "$W/A-next.pem") || die "cert install of the next certificate: $inst"
expect_eq "$(jget 'j["state"]' <<<"$inst")" next "cert install takes the certificate for the requested key as next"
[ ! -e "$W/A/cert256.csr" ] || die "cert256.csr is still there after the install"
ok "the request is gone once its certificate is installed"
wait_until 20 state_is A "$fp_next" current ||
	die "the running A did not activate the installed certificate: $(adm A QUERY CERTIFICATE | jget '[[c["state"], c["fingerprint"][:12]] for c in j]')"
ok "the running daemon announced and activated the installed certificate (no restart, no command)"
wait_until 20 pins_are B A "$fp_next:current" || die "B's pins for A: $(pin_list B A)"
ok "B pins the new CA-signed certificate as current"
expect_eq "$(fingerprint "$W/A/cert256.pem")" "$fp_next" "cert256.pem is the new certificate"
expect_eq "$(own_cert A "$fp_next" '[c["ca_signed"], c["validity"]]')" '[true, "valid"]' "the new one is CA-signed and valid"
p=$(adm B PING SERVER A) || die "PING B->A after the rollover: $p"
expect_eq "$(jget 'j["verified_by"]' <<<"$p")" pin "B reaches A by pin"
expect_not_contains "$(actlog_lines A)" 'RPL0310I own certificate [^ ]+ created as next' "A never created a self-signed next certificate"

# ---- db backup never overwrites by surprise ----
printf 'backup-password-1\n' >"$W/bk.pw"
succeeds "db backup" "$RP" db -d "$W/A" backup --out "$W/a.bak" --password-file "$W/bk.pw"
sum=$(sha256sum <"$W/a.bak")
fails 1 RPL1211E "db backup to an existing file is refused (RPL1211E)" \
	"$RP" db -d "$W/A" backup --out "$W/a.bak" --password-file "$W/bk.pw"
expect_eq "$(sha256sum <"$W/a.bak")" "$sum" "the existing backup is unchanged"
succeeds "db backup --force" "$RP" db -d "$W/A" backup --out "$W/a.bak" --password-file "$W/bk.pw" --force
[ "$(sha256sum <"$W/a.bak")" != "$sum" ] || die "--force did not replace the backup"
ok "db backup --force replaces it"
