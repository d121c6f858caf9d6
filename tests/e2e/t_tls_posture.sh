#!/usr/bin/env bash
# The TLS posture of a peer, from outside (security model 1): two peers, A
# with an ECDSA P-256 key (the default) and R with RSA-2048 (so that RSA key
# exchange and ECDHE-RSA are possible at all), are probed one handshake at a
# time by openssl s_client and gnutls-cli, each giving a client certificate
# (tests/e2e/tools/tlsposture.py): every protocol version (SSLv3 by a
# hand-made ClientHello), every TLS 1.2 suite, every TLS 1.3 suite, every key
# exchange and cipher gnutls has, every named group both clients know, in
# TLS 1.2 and 1.3. Only TLS 1.2/1.3, ECDHE + AEAD suites and the groups
# X25519, P-256, P-384 may complete (a group counts when the peer keys the
# handshake with it, even if the client then gives up). No compression is
# ever chosen (a DEFLATE-only hello is refused), and a client-initiated TLS
# 1.2 renegotiation never completes. A permissive openssl s_server run as a
# control shows that the clients really offer what A and R refuse, and that
# the renegotiation probe sees a renegotiation that completes. The table of
# every probe is printed; MEASURE lines list what A and R accepted.
source "$(dirname "$0")/lib.sh"

T=$(dirname "$0")/tools/tlsposture.py
pa=$(port); pr=$(port); pctl=$(port)
init_peer A "$pa"
printf 'pw-R-secret\n' >"$W/R.pw"
"$RP" init -d "$W/R" --name R --port "$pr" --address 127.0.0.1 --password-file "$W/R.pw" \
	-o KEYTYPE=RSA-2048 >/dev/null || die "init R (RSA-2048)"
start_peer A
start_peer R

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/client.key" \
	-out "$W/client.pem" -days 2 -subj /CN=probe >/dev/null 2>&1 || die "client certificate"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$W/ctl-rsa.key" -out "$W/ctl-rsa.pem" \
	-days 2 -subj /CN=control >/dev/null 2>&1 || die "control RSA certificate"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/ctl-ec.key" \
	-out "$W/ctl-ec.pem" -days 2 -subj /CN=control >/dev/null 2>&1 || die "control EC certificate"
groups=$(python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import tlsposture; print(":".join(tlsposture.OPENSSL_GROUPS))' "$(dirname "$T")")
openssl s_server -accept "127.0.0.1:$pctl" -cert "$W/ctl-rsa.pem" -key "$W/ctl-rsa.key" \
	-dcert "$W/ctl-ec.pem" -dkey "$W/ctl-ec.key" -cipher 'ALL:COMPLEMENTOFALL:@SECLEVEL=0' \
	-ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_CCM_SHA256:TLS_AES_128_CCM_8_SHA256 \
	-groups "$groups" -psk 0123456789abcdef -min_protocol TLSv1 -client_renegotiation \
	-www >"$W/ctl.log" 2>&1 </dev/null &
PIDS+=($!)
wait_until 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$pctl" || die "control s_server did not start"

python3 "$T" --cert "$W/client.pem" --key "$W/client.key" --control "$pctl" --jobs 4 \
	--json "$W/posture.json" A="$pa" R="$pr" >"$W/table.txt" 2>"$W/posture.err" ||
	die "tlsposture.py failed: $(tail -5 "$W/posture.err")"
cat "$W/table.txt"
P=$W/posture.json
pj() { jget "$1" <"$P"; }

# The verdict: nothing beyond the policy completed on A or R.
nviol=$(pj 'len(j["violations"])')
[ "$nviol" -eq 0 ] || die "$nviol handshakes beyond the policy: $(pj '"; ".join(v["server"] + ": " + v["probe"] + ": " + v["why"] for v in j["violations"])')"
ok "A (ECDSA) and R (RSA): nothing but TLS 1.2/1.3, ECDHE + AEAD and X25519/P-256/P-384 completes"

for s in A R; do
	expect_eq "$(pj "sorted(set(p.split(' (')[0] for p in j['summary']['$s']['version']))")" \
		'["TLS 1.2", "TLS 1.3"]' "$s completes TLS 1.2 and TLS 1.3 (openssl, gnutls, a raw hello) and nothing older"
	[ "$(pj "len(j['summary']['$s']['suite12'])")" -ge 3 ] || die "$s accepts fewer than 3 TLS 1.2 suites"
	[ "$(pj "len(j['summary']['$s']['suite13'])")" -ge 3 ] || die "$s accepts fewer than 3 TLS 1.3 suites"
	expect_eq "$(pj "sorted(set(p.split(' ')[0].replace('prime256v1','P-256').replace('secp384r1','P-384').replace('SECP256R1','P-256').replace('SECP384R1','P-384') for p in j['summary']['$s']['group3']))")" \
		'["P-256", "P-384", "X25519"]' "$s keys TLS 1.3 with X25519, P-256 and P-384, one at a time"
	expect_eq "$(pj "j['summary']['$s']['compression']")" \
		'{"TLS 1.2 ClientHello offering DEFLATE, then none": "comp=0", "TLS 1.2 ClientHello offering only DEFLATE": "alert 47"}' \
		"$s never compresses: DEFLATE offered first gets method 0, DEFLATE alone an alert"
	expect_eq "$(pj "[len(j['summary']['$s']['reneg_first_handshake']), j['summary']['$s']['reneg_done']]")" \
		'[2, []]' "$s refuses client-initiated TLS 1.2 renegotiation (openssl R, gnutls --rehandshake) after a completed handshake"
	echo "MEASURE $s accepted: TLS 1.2 suites $(pj "' '.join(j['summary']['$s']['suite12'])"); TLS 1.3 suites $(pj "' '.join(j['summary']['$s']['suite13'])"); groups TLS 1.2: $(pj "' '.join(j['summary']['$s']['group2'])"); TLS 1.3: $(pj "' '.join(j['summary']['$s']['group3'])")"
done
expect_eq "$(pj "j['summary']['R']['kx12']")" '["gnutls TLS 1.2 kx ECDHE-RSA"]' "R (RSA key) completes gnutls' ECDHE-RSA alone of all key exchanges, not RSA, DHE, PSK or anonymous"
expect_eq "$(pj "j['summary']['A']['kx12']")" '["gnutls TLS 1.2 kx ECDHE-ECDSA"]' "A (ECDSA key) completes gnutls' ECDHE-ECDSA alone"

# The control: the clients offered what A and R refused.
c=$(pj '" ".join(j["summary"]["control"]["version"])')
expect_contains "$c" 'TLS 1.0 \(openssl.*TLS 1.1 \(openssl' "control: openssl completes TLS 1.0 and 1.1, so their refusal by A and R is the peers' doing"
expect_contains "$c" 'TLS 1.0 \(raw ClientHello\).*TLS 1.1 \(raw' "control: the hand-made ClientHello completes TLS 1.0 and 1.1 (the builder of the SSLv3 hello is sound)"
refused_ok=$(pj 'len([e for e in j["results"] if e["kind"] in ("suite12","suite13","kx12","cipher12") and e["by"]["control"].get("done") and not e["by"]["A"].get("done") and not e["by"]["R"].get("done")])')
[ "$refused_ok" -ge 100 ] || die "only $refused_ok suites refused by A and R are shown to be offered (the control completed them)"
ok "$refused_ok suites or suite families refused by A and R complete against the control"
expect_contains "$(pj '" ".join(j["summary"]["control"]["suite12"])')" '(^| )AES128-SHA( |$).*' "control: a CBC suite with RSA key exchange completes"
expect_contains "$(pj '" ".join(j["summary"]["control"]["group2"])')" 'X448.*brainpoolP256r1|brainpoolP256r1.*X448' "control: brainpool and X448 key TLS 1.2 handshakes (the group probes offer them)"
expect_eq "$(pj "len(j['summary']['control']['reneg_done'])")" 2 "control (s_server -client_renegotiation): both renegotiation probes see a completed renegotiation"

no_crash A
no_crash R
