#!/usr/bin/env bash
# Foundation acceptance 2: 'replpeer init' makes a certificate that OpenSSL
# reads as specified — subject CN = server name, subjectAltName with the name
# and TCPADDRESS when it is an IP, random 128-bit serial, 3650 days, SHA-256
# signature, ECDSA P-256 — that verifies against itself, and whose
# fingerprint 'cert show --json' reports as OpenSSL computes it.
#
# RSA is not covered here: init writes replpeer.conf itself with the default
# KEYTYPE and refuses a directory that already holds one, so no command makes
# an RSA instance yet. tests/unit/test_identity.c covers RSA-2048/3072 keys
# and instance_new_owncert following KEYTYPE and CERTVALIDITYDAYS.
source "$(dirname "$0")/lib.sh"

# run CMD...: stdout in $W/out, stderr in $W/err, returns the exit status.
# A crash or a sanitizer report fails the scenario whatever the status.

init_peer alpha 1601
C=$W/alpha/cert256.pem
[ -s "$C" ] || die "init wrote no cert256.pem"

succeeds "openssl x509 -text" openssl x509 -in "$C" -noout -text
text=$(cat "$W/out")
ok "openssl x509 -noout -text parses cert256.pem"
expect_contains "$text" 'Version: 3 \(0x2\)' "X.509 version 3"

subject=$(openssl x509 -in "$C" -noout -subject -nameopt RFC2253)
expect_eq "$subject" "subject=CN=alpha" "subject is CN=<server name>"

# The SAN, one entry per line, sorted.
sans() { openssl x509 -in "$1" -noout -ext subjectAltName | tail -n +2 | tr ',' '\n' | sed 's/^ *//' | sort | paste -sd' '; }
expect_eq "$(sans "$C")" "DNS:alpha IP Address:127.0.0.1" "subjectAltName holds the name and TCPADDRESS"

serial=$(openssl x509 -in "$C" -noout -serial)
[[ "$serial" =~ ^serial=[4-7][0-9A-F]{31}$ ]] || die "serial is not 128 bits without a leading zero: $serial"
ok "serial is a positive 128-bit number ($serial)"

# Valid 3650 days from now, to within an hour either way.
openssl x509 -in "$C" -noout -checkend $((3650 * 86400 - 3600)) >/dev/null ||
	die "certificate expires before 3650 days"
! openssl x509 -in "$C" -noout -checkend $((3650 * 86400 + 3600)) >/dev/null ||
	die "certificate is valid longer than 3650 days"
openssl x509 -in "$C" -noout -checkend 0 >/dev/null || die "certificate is not valid now"
ok "validity is CERTVALIDITYDAYS (3650) from now"

sigs=$(grep -c 'Signature Algorithm: ecdsa-with-SHA256' <<<"$text")
expect_eq "$sigs" 2 "signature algorithm is ecdsa-with-SHA256"
expect_contains "$text" 'Public Key Algorithm: id-ecPublicKey' "key is EC"
expect_contains "$text" 'ASN1 OID: prime256v1' "curve is P-256 (KEYTYPE default ECDSA-P256)"

succeeds "openssl verify" openssl verify -CAfile "$C" "$C"
expect_eq "$(cat "$W/out")" "$C: OK" "openssl verify -CAfile cert256.pem cert256.pem succeeds"

succeeds "cert show --json" "$RP" cert -d "$W/alpha" show --json
show=$(cat "$W/out")
expect_eq "$(jget 'j["fingerprint"]' <<<"$show")" "$(fingerprint "$C")" \
	"cert show --json fingerprint equals openssl x509 -fingerprint -sha256"
expect_eq "$(jget 'j["serial"]' <<<"$show")" "$(sed 's/serial=//' <<<"$serial" | tr 'A-F' 'a-f')" \
	"cert show --json serial equals openssl's"
expect_eq "$(jget 'j["subject"]' <<<"$show")" "CN=alpha" "cert show --json subject"
expect_eq "$(jget 'j["key_type"]' <<<"$show")" "ECDSA-P256" "cert show --json key_type"
expect_eq "$(jget 'j["state"]' <<<"$show")" "current" "cert show --json state"
expect_eq "$(jget 'j["days_left"] in (3649, 3650)' <<<"$show")" "true" "cert show --json days_left"

succeeds "cert export" "$RP" cert -d "$W/alpha" export
cmp -s "$W/out" "$C" || die "cert export differs from cert256.pem"
ok "cert export prints cert256.pem"

expect_eq "$(stat -c %a "$W/alpha/master.key")" 600 "master.key is mode 0600"

# A second instance gets another key and another serial.
init_peer beta 1602
[ "$(openssl x509 -in "$W/beta/cert256.pem" -noout -serial)" != "$serial" ] || die "two instances share a serial"
[ "$(fingerprint "$W/beta/cert256.pem")" != "$(fingerprint "$C")" ] || die "two instances share a certificate"
[ "$(openssl x509 -in "$W/beta/cert256.pem" -noout -pubkey)" != "$(openssl x509 -in "$C" -noout -pubkey)" ] ||
	die "two instances share a key"
ok "a second instance gets its own key and a different random serial"

# TCPADDRESS that is an IPv6 address is in the SAN; a host name is not.
printf 'gamma-password\n' >"$W/gamma.pw"
succeeds "init gamma" "$RP" init -d "$W/gamma" --name gamma --address ::1 --password-file "$W/gamma.pw"
expect_eq "$(sans "$W/gamma/cert256.pem")" "DNS:gamma IP Address:0:0:0:0:0:0:0:1" "an IPv6 TCPADDRESS is in the SAN"
succeeds "init delta" "$RP" init -d "$W/delta" --name delta --address localhost --password-file "$W/gamma.pw"
expect_eq "$(sans "$W/delta/cert256.pem")" "DNS:delta" "a host-name TCPADDRESS adds no IP entry"

# KEYTYPE chosen at init (-o) governs the first key pair.
printf 'pw-rsa-secret\n' >"$W/rsa.pw"
"$RP" init -d "$W/RSA" --name rsa1 -o KEYTYPE=RSA-2048 --password-file "$W/rsa.pw" >/dev/null || die "init with -o KEYTYPE=RSA-2048"
txt=$(openssl x509 -in "$W/RSA/cert256.pem" -noout -text)
expect_contains "$txt" "Public-Key: \(2048 bit\)" "init -o KEYTYPE=RSA-2048: a 2048-bit key"
expect_contains "$txt" "rsaEncryption" "init -o KEYTYPE=RSA-2048: an RSA key"
expect_contains "$txt" "sha256WithRSAEncryption" "init -o KEYTYPE=RSA-2048: SHA-256 signature"
openssl verify -CAfile "$W/RSA/cert256.pem" "$W/RSA/cert256.pem" >/dev/null || die "RSA certificate does not verify"
ok "the RSA certificate verifies against itself"
