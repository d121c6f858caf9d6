#!/usr/bin/env bash
# Sessions acceptance 2: the TLS policy, seen by the peers and from outside.
# - SSLTLS13 YES on both sides -> TLS 1.3; NO on the client side or on the
#   server side -> TLS 1.2 (with an ECDHE + AEAD suite).
# - Third-party clients against A's port: TLS 1.0/1.1, CBC-only offers and a
#   non-ECDHE suite are refused; every TLS 1.2 suite OpenSSL can offer that A
#   accepts is ECDHE + AEAD; 'openssl s_client -tls1_3' and 'gnutls-cli'
#   complete a handshake and see A's certificate. Each refused client command
#   is first shown to complete against a permissive 'openssl s_server', so a
#   refusal by A is A's policy and not a client that offered nothing.
# - A survives all of it (PING still works).
source "$(dirname "$0")/lib.sh"

pa=$(port); pb=$(port); pc=$(port); pctl=$(port)
init_peer A "$pa"
init_peer B "$pb"
init_peer C "$pc"
conf_set A SSLTLS13 YES
conf_set B SSLTLS13 YES
conf_set C SSLTLS13 NO
start_peer A
start_peer B
start_peer C
define_pair A B
define_pair A C

aead='^(TLS13-(CHACHA20-POLY1305|AES128-GCM|AES256-GCM)-SHA(256|384)|ECDHE-(ECDSA|RSA)-(CHACHA20-POLY1305|AES(128|256)-GCM-SHA(256|384)))$'

ping_json_ok() { # FROM TO -> PING JSON, dies unless ok
	local out
	out=$(adm "$1" PING SERVER "$2") || die "PING SERVER $2 from $1 failed: $out"
	[ "$(jget 'j["ok"]' <<<"$out")" == true ] || die "PING SERVER $2 from $1: $out"
	printf '%s\n' "$out"
}

for i in 1 2; do # first contact, then the pairing key
	p=$(ping_json_ok A B) || die "PING SERVER B from A (see above)"
	expect_eq "$(jget 'j["tls_version"]' <<<"$p")" TLSv1.3 "A->B, SSLTLS13 YES on both (session $i): TLSv1.3"
	expect_contains "$(jget 'j["cipher"]' <<<"$p")" "$aead" "A->B cipher is an AEAD suite"
done
p=$(ping_json_ok B A) || die "PING SERVER A from B (see above)"
expect_eq "$(jget 'j["tls_version"]' <<<"$p")" TLSv1.3 "B->A, SSLTLS13 YES on both: TLSv1.3"

for i in 1 2; do
	p=$(ping_json_ok C A) || die "PING SERVER A from C (see above)"
	expect_eq "$(jget 'j["tls_version"]' <<<"$p")" TLSv1.2 "C->A, SSLTLS13 NO on the client side (session $i): TLSv1.2"
	expect_contains "$(jget 'j["cipher"]' <<<"$p")" '^ECDHE-ECDSA-(CHACHA20-POLY1305|AES(128|256)-GCM-SHA(256|384))$' "C->A TLS 1.2 cipher is ECDHE + AEAD"
done
expect_eq "$(srv_field A C 's["last_tls_version"]')" TLSv1.2 "A (server side) recorded TLSv1.2 for C"
for i in 1 2; do
	p=$(ping_json_ok A C) || die "PING SERVER C from A (see above)"
	expect_eq "$(jget 'j["tls_version"]' <<<"$p")" TLSv1.2 "A->C, SSLTLS13 NO on the server side (session $i): TLSv1.2"
	expect_contains "$(jget 'j["cipher"]' <<<"$p")" '^ECDHE-ECDSA-(CHACHA20-POLY1305|AES(128|256)-GCM-SHA(256|384))$' "A->C TLS 1.2 cipher is ECDHE + AEAD"
done

# ---- from outside ------------------------------------------------------
# A permissive OpenSSL server (RSA and ECDSA certificates, every protocol
# and suite OpenSSL has) as the control.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$W/ctl-rsa.key" -out "$W/ctl-rsa.pem" \
	-days 2 -subj /CN=control >/dev/null 2>&1 || die "control RSA certificate"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/ctl-ec.key" \
	-out "$W/ctl-ec.pem" -days 2 -subj /CN=control >/dev/null 2>&1 || die "control EC certificate"
openssl s_server -accept "127.0.0.1:$pctl" -cert "$W/ctl-rsa.pem" -key "$W/ctl-rsa.key" \
	-dcert "$W/ctl-ec.pem" -dkey "$W/ctl-ec.key" -cipher 'ALL:@SECLEVEL=0' \
	-min_protocol TLSv1 -www >"$W/ctl.out" 2>&1 </dev/null &
PIDS+=($!)
wait_until 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$pctl" || die "control s_server did not start"

# handshake PORT ARGS...: 0 when openssl s_client completes a handshake;
# its output is in $W/sc.out.
handshake() {
	local p=$1; shift
	timeout 10 openssl s_client -connect "127.0.0.1:$p" "$@" </dev/null >"$W/sc.out" 2>&1
	grep -qE '^New, TLSv1(\.[0-3])?, Cipher is [A-Za-z0-9_-]+$' "$W/sc.out" &&
		! grep -q 'Cipher is (NONE)' "$W/sc.out"
}

refused_by_A() { # WHAT ARGS...
	local what=$1; shift
	handshake "$pctl" "$@" || die "control: '$*' does not complete even against a permissive server: $(tail -5 "$W/sc.out")"
	if handshake "$pa" "$@"; then
		die "$what: A completed a handshake: $(grep -E '^New|Protocol|Cipher' "$W/sc.out" | head -3)"
	fi
	ok "$what is refused by A (the same client completes against a permissive server)"
}

refused_by_A "TLS 1.0 (openssl s_client -tls1)" -tls1 -cipher 'DEFAULT:@SECLEVEL=0'
refused_by_A "TLS 1.1 (openssl s_client -tls1_1)" -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'
refused_by_A "CBC only: -tls1_2 -cipher AES128-SHA256" -tls1_2 -cipher 'AES128-SHA256:@SECLEVEL=0'
refused_by_A "CBC only: -tls1_2 -cipher ECDHE-ECDSA-AES128-SHA256" -tls1_2 -cipher 'ECDHE-ECDSA-AES128-SHA256:@SECLEVEL=0'
refused_by_A "CBC only: -tls1_2 -cipher ECDHE-ECDSA-AES128-SHA" -tls1_2 -cipher 'ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0'
refused_by_A "non-ECDHE AEAD suite: -tls1_2 -cipher AES128-GCM-SHA256" -tls1_2 -cipher 'AES128-GCM-SHA256:@SECLEVEL=0'
refused_by_A "non-ECDHE suite: -tls1_2 -cipher DHE-RSA-AES128-GCM-SHA256" -tls1_2 -cipher 'DHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0'
expect_contains "$(cat "$W/A.log")" 'RPL0412E .*(version|cipher)' "A logs the refused TLS handshakes (RPL0412E)"

# Every TLS 1.2 suite OpenSSL can offer, one at a time.
accepted=()
for c in $(openssl ciphers -s -tls1_2 'ALL:COMPLEMENTOFALL:@SECLEVEL=0' | tr ':' '\n' | grep -v '^TLS_'); do
	handshake "$pa" -tls1_2 -cipher "$c:@SECLEVEL=0" && accepted+=("$c")
done
[ "${#accepted[@]}" -gt 0 ] || die "A accepted no TLS 1.2 suite at all"
for c in "${accepted[@]}"; do
	[[ "$c" =~ ^ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305|AES(128|256)-CCM(8)?)$ ]] ||
		die "A accepted the TLS 1.2 suite $c, which is not ECDHE + AEAD"
done
ok "every TLS 1.2 suite A accepts is ECDHE + AEAD: ${accepted[*]}"

# TLS 1.3 from OpenSSL: completes and shows A's certificate.
handshake "$pa" -tls1_3 -showcerts || die "openssl s_client -tls1_3 did not complete: $(tail -5 "$W/sc.out")"
expect_contains "$(cat "$W/sc.out")" '^New, TLSv1\.3, Cipher is TLS_' "openssl s_client -tls1_3 completes a TLS 1.3 handshake with A"
seen=$(openssl x509 -noout -fingerprint -sha256 <"$W/sc.out" | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f')
expect_eq "$seen" "$(fingerprint "$W/A/cert256.pem")" "the certificate openssl s_client sees is A's cert256.pem"

# Default OpenSSL client against A: TLS 1.3; against C (SSLTLS13 NO): 1.2 only.
handshake "$pa" || die "openssl s_client (defaults) did not complete against A"
expect_contains "$(cat "$W/sc.out")" '^New, TLSv1\.3,' "openssl s_client with defaults gets TLS 1.3 from A"
handshake "$pc" -tls1_3 && die "C (SSLTLS13 NO) completed a TLS 1.3 handshake"
ok "C (SSLTLS13 NO) refuses openssl s_client -tls1_3"
handshake "$pc" || die "openssl s_client (defaults) did not complete against C"
expect_contains "$(cat "$W/sc.out")" '^New, TLSv1\.2, Cipher is ECDHE-ECDSA-' "openssl s_client with defaults gets TLS 1.2 + ECDHE from C"

# GnuTLS.
timeout 10 gnutls-cli --insecure -p "$pa" 127.0.0.1 </dev/null >"$W/gnutls.out" 2>&1
expect_contains "$(cat "$W/gnutls.out")" 'Handshake was completed' "gnutls-cli --insecure completes a handshake with A"
expect_contains "$(cat "$W/gnutls.out")" '\(TLS1\.3-X\.509\)-\(ECDHE-' "gnutls-cli negotiates TLS 1.3 with ECDHE"
expect_contains "$(cat "$W/gnutls.out")" "subject \`CN=A'" "gnutls-cli sees A's certificate"
cbc='NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-CBC:+AES-256-CBC'
timeout 10 gnutls-cli --insecure -p "$pctl" --priority "$cbc" 127.0.0.1 </dev/null >"$W/gnutls-cbc.out" 2>&1
grep -q 'Handshake was completed' "$W/gnutls-cbc.out" || die "control: gnutls-cli with only CBC suites fails even against a permissive server: $(tail -3 "$W/gnutls-cbc.out")"
timeout 10 gnutls-cli --insecure -p "$pa" --priority "$cbc" 127.0.0.1 </dev/null >"$W/gnutls-cbc.out" 2>&1
expect_not_contains "$(cat "$W/gnutls-cbc.out")" 'Handshake was completed' "gnutls-cli offering only CBC suites is refused by A (it completes against a permissive server)"
expect_contains "$(cat "$W/gnutls-cbc.out")" 'Handshake failed' "gnutls-cli reports the failed handshake"

# An external client gets no application data: after the handshake A waits
# for a hello (a certificate-less client may only be an administrator, who
# must then prove a password); these clients say nothing and end unnamed,
# before any authentication.
expect_contains "$(cat "$W/A.log")" 'RPL041[37]E session [0-9]+ inbound connection \(127.0.0.1\)' "the certificate-less external clients end before authenticating"
expect_not_contains "$(cat "$W/A.log")" 'RPL1009I|RPL0422I session [0-9]+ from server \?' "none of them reached a session"

# A survived all of it.
no_crash A
p=$(ping_json_ok B A) || die "PING SERVER A from B (see above)"
expect_eq "$(jget 'j["verified_by"]' <<<"$p")" pin "A still answers PING after the external clients"
p=$(ping_json_ok A B) || die "PING SERVER B from A (see above)"
expect_eq "$(jget 'j["tls_version"]' <<<"$p")" TLSv1.3 "A still opens TLS 1.3 sessions after the external clients"
