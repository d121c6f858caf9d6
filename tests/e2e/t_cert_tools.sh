#!/usr/bin/env bash
# Foundation acceptance 3 and the offline key-database tool: 'cert request'
# makes a CSR that OpenSSL verifies; a throw-away OpenSSL CA signs it and
# 'cert install' takes the result; a certificate for another key, an expired
# one and a not-yet-valid one are refused and change nothing. Also export,
# list, import-ca, delete of a trust anchor, and import-peer for a server
# that is not defined.
source "$(dirname "$0")/lib.sh"

# fails RC MSGID WHAT CMD...: CMD exits RC and names MSGID on stderr.
cert() { "$RP" cert -d "$W/alpha" "$@"; }
pubkey() { openssl "$1" -in "$2" -noout -pubkey; }

init_peer alpha 1611
C=$W/alpha/cert256.pem
selfsigned_fp=$(fingerprint "$C")

# --- request ------------------------------------------------------------
succeeds "cert request" cert request --out "$W/req.pem"
succeeds "openssl req -verify" openssl req -in "$W/req.pem" -noout -verify
grep -q 'verify OK' "$W/err" || die "openssl req -verify did not say OK: $(cat "$W/err")"
ok "cert request output passes openssl req -verify"
expect_eq "$(openssl req -in "$W/req.pem" -noout -subject -nameopt RFC2253)" "subject=CN=alpha" \
	"the request names the server by default"
expect_eq "$(pubkey req "$W/req.pem")" "$(pubkey x509 "$C")" "the request carries the instance's own key"

# Control: a request with a damaged signature is refused by the same check.
openssl req -in "$W/req.pem" -outform DER -out "$W/req.der"
python3 -c 'import sys; b=bytearray(open(sys.argv[1],"rb").read()); b[-5]^=1; open(sys.argv[1],"wb").write(b)' "$W/req.der"
# (OpenSSL 3.0 exits 0 either way: the verdict is in the message.)
verdict=$(openssl req -inform DER -in "$W/req.der" -noout -verify 2>&1)
expect_not_contains "$verdict" 'verify OK' "openssl req -verify refuses a damaged request (control)"

succeeds "cert request --cn --san" cert request --out "$W/req2.pem" --cn alpha.example.net \
	--san alpha.example.net --san 192.0.2.10
expect_contains "$(openssl req -in "$W/req2.pem" -noout -verify 2>&1)" 'verify OK' "the request with --cn and --san verifies"
req2=$(openssl req -in "$W/req2.pem" -noout -text)
expect_contains "$req2" 'Subject: CN *= *alpha.example.net' "--cn sets the subject"
expect_contains "$req2" 'DNS:alpha.example.net, IP Address:192.0.2.10' "--san names go into the request"

# --- a throw-away CA ----------------------------------------------------
make_ca "$W/ca" "Throwaway Test CA" 30
# sign CSR OUT START END: a certificate with explicit dates (YYYYMMDDHHMMSSZ).
sign() {
	openssl ca -batch -config "$W/ca/ca.cnf" -cert "$W/ca/ca.pem" -keyfile "$W/ca/ca.key" \
		-in "$1" -out "$2" -startdate "$3" -enddate "$4" -notext >/dev/null 2>&1 ||
		die "openssl ca could not sign $1"
}
now_plus() { date -u -d "@$(($(date +%s) + $1))" +%Y%m%d%H%M%SZ; }

# --- refusals first: each leaves the current certificate in place --------
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/other.key" \
	-out "$W/other.csr" -subj "/CN=alpha" >/dev/null 2>&1 || die "cannot make the other CSR"
sign "$W/other.csr" "$W/otherkey.pem" "$(now_plus -3600)" "$(now_plus $((30 * 86400)))"
fails 1 RPL0303E "a certificate for another key is refused" cert install "$W/otherkey.pem"

sign "$W/req.pem" "$W/expired.pem" 20200101000000Z 20210101000000Z
openssl x509 -in "$W/expired.pem" -noout -checkend 0 >/dev/null && die "the expired test certificate is valid"
fails 1 RPL0304E "an expired certificate is refused" cert install "$W/expired.pem"

sign "$W/req.pem" "$W/future.pem" "$(now_plus $((10 * 86400)))" "$(now_plus $((40 * 86400)))"
fails 1 RPL0304E "a not-yet-valid certificate is refused" cert install "$W/future.pem"

expect_eq "$(fingerprint "$C")" "$selfsigned_fp" "cert256.pem unchanged after the refusals"
succeeds "cert show" cert show --json
expect_eq "$(jget 'j["fingerprint"]' <"$W/out")" "$selfsigned_fp" "the self-signed certificate is still current"
succeeds "cert list" cert list --json
expect_eq "$(jget 'len(j)' <"$W/out")" 1 "nothing was added by the refusals"

# --- install --------------------------------------------------------------
sign "$W/req.pem" "$W/signed.pem" "$(now_plus -3600)" "$(now_plus $((30 * 86400)))"
succeeds "cert install" cert install "$W/signed.pem"
ok "a certificate signed from the CSR by the throw-away CA installs"
signed_fp=$(fingerprint "$W/signed.pem")
expect_eq "$(fingerprint "$C")" "$signed_fp" "cert256.pem is rewritten with the installed certificate"
succeeds "cert show" cert show --json
show=$(cat "$W/out")
expect_eq "$(jget 'j["fingerprint"]' <<<"$show")" "$signed_fp" "cert show reports the installed certificate"
expect_eq "$(jget 'j["issuer"]' <<<"$show")" "CN=Throwaway Test CA" "cert show names the CA as issuer"
expect_eq "$(jget 'j["state"]' <<<"$show")" "current" "the installed certificate is current"
succeeds "openssl verify" openssl verify -CAfile "$W/ca/ca.pem" "$C"
ok "the installed cert256.pem chains to the CA"
succeeds "cert list" cert list --json
list=$(cat "$W/out")
expect_eq "$(jget '[e["state"] for e in j if e["fingerprint"]=="'"$selfsigned_fp"'"]' <<<"$list")" '["previous"]' \
	"the self-signed certificate is kept as previous"
expect_eq "$(jget '[e["state"] for e in j if e["kind"]=="own"]' <<<"$list" | tr -d ' ')" \
	'["previous","current"]' "cert list shows both own certificates"
# The key stayed the same: a new request carries it.
succeeds "cert request" cert request --out "$W/req3.pem"
expect_eq "$(pubkey req "$W/req3.pem")" "$(pubkey x509 "$C")" "the installed certificate uses the same private key"

# --- export -------------------------------------------------------------
succeeds "cert export -o" cert export -o "$W/exported.pem"
expect_eq "$(fingerprint "$W/exported.pem")" "$signed_fp" "cert export -o writes the current certificate"
prev_label=$(jget '[e["label"] for e in j if e["state"]=="previous"][0]' <<<"$list")
succeeds "cert export --label" cert export --label "$prev_label"
expect_eq "$(openssl x509 -noout -fingerprint -sha256 <"$W/out" | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f')" \
	"$selfsigned_fp" "cert export --label exports that certificate"

# --- trust anchors ------------------------------------------------------
succeeds "import-ca" cert import-ca --label testca --purpose peer "$W/ca/ca.pem"
ok "import-ca adds the CA certificate"
succeeds "cert list" cert list --json
expect_eq "$(jget '[e["fingerprint"] for e in j if e["kind"]=="trust-anchor" and e["label"]=="testca"]' <"$W/out")" \
	"[\"$(fingerprint "$W/ca/ca.pem")\"]" "cert list shows the trust anchor"
expect_eq "$(jget '[e["purpose"] for e in j if e["label"]=="testca"]' <"$W/out")" '["peer"]' \
	"cert list shows the anchor's purpose"
openssl x509 -in "$W/ca/ca.pem" -outform DER -out "$W/ca/ca.der"
succeeds "import-ca DER" cert import-ca --label testca-der --purpose ldap "$W/ca/ca.der"
ok "import-ca takes DER too"
fails 1 RPL0203E "import-ca refuses a label that exists" cert import-ca --label testca --purpose peer "$W/ca/ca.pem"
fails 1 RPL0302E "import-ca refuses a certificate that is not a CA" cert import-ca --label leaf --purpose peer "$C"

succeeds "delete" cert delete --label testca
ok "delete removes a trust anchor"
succeeds "cert list" cert list --json
expect_eq "$(jget '[e["label"] for e in j if e["kind"]=="trust-anchor"]' <"$W/out")" '["testca-der"]' \
	"the deleted trust anchor is gone, the other stays"
fails 1 RPL0306E "delete of an unknown label is refused" cert delete --label testca
cur_label=$(jget 'j["label"]' <<<"$show")
fails 1 RPL0307E "delete of the current own certificate is refused" cert delete --label "$cur_label"
fails 1 RPL0307E "delete of the previous own certificate is refused" cert delete --label "$prev_label"
expect_eq "$(fingerprint "$C")" "$signed_fp" "the current certificate survives the refused delete"

# --- import-peer ----------------------------------------------------------
init_peer beta 1612
fails 1 RPL0202E "import-peer refuses a server that is not defined" \
	cert import-peer --server beta "$W/beta/cert256.pem"
grep -q 'not defined' "$W/err" || die "import-peer error does not say the server is not defined: $(cat "$W/err")"
ok "import-peer says the server is not defined"
