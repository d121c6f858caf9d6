#!/usr/bin/env bash
# Hostile peer: an expired pin endorses nothing (trust_endorser). E's
# certificate is valid for 2 days; A pins it. Whoever holds E's key (the
# tool, with E's identity and stored pairing key) presents a fresh
# certificate with a continuity proof by that key:
#  1. on A with its clock 3 days ahead (E's pinned certificate expired):
#     refused with RPL0403E before any proof step, A's record of E unchanged
#     (a partner that stayed away past its certificate needs FORCESYNC);
#  2. control, A's clock back: the same proof is accepted (verified by
#     continuity), so the refusal in 1 came from the expiry.
source "$(dirname "$0")/lib.sh"

pa=$(port); pe=$(port)
init_peer A "$pa"; init_peer E "$pe"
conf_set E CERTVALIDITYDAYS 2
conf_set E CERTRENEWDAYS 0
start_peers A E
define_pair A E
ping_ok A E || die "first contact A->E failed"
ping_ok E A || die "E->A failed"
# The certificate made at init is a default one: E renews into a 2-day one.
adm E RENEW CERTIFICATE ACTIVATE=IMMEDIATE >/dev/null || die "RENEW CERTIFICATE on E"
fpE=$(fingerprint "$W/E/cert256.pem")
wait_until 20 eval 'ping_ok E A && [ "$(pin_list A E)" == "$fpE:current" ]' || die "A does not pin E's renewed certificate alone: $(pin_list A E)"
stop_peer E
expect_eq "$(adm A QUERY SERVER E | jget 'j[0]["pins"][0]["days_left"] <= 2')" true "A pins E's certificate, valid for 2 days"

attempt() { # TAG SRC
	hrun "$1" <<EOF
identity E instance $W/E
gen-identity X cn=E ip=127.0.0.1
secret kout $W/E pairing-out A
connect 127.0.0.1 $pa src=$2
tls client X
continuity-entry e E
send HELLO version=2 from=E to=A proto=2 purpose=1 method=1 flags=0 entry=\$e
try expect HELLO_REPLY method=1
tag t key=\$kout side=client client=E server=A method=1 purpose=1
try send AUTH tag=\$t verified_by=1
try expect AUTH_OK verified_by=4
try send BYE
try expect-close
EOF
}

stop_peer A
REPLPEER_CLOCK_OFFSET=$((3 * 86400)) start_peer A
wait_admin A
before=$(hstate A E)
attempt expired 127.0.0.71
expect_eq "$(hcount expired 'e["ev"]=="recv" and e["type"]=="ERROR" and e["fields"].get("msgid")=="RPL0403E"')" 1 \
	"A, 3 days ahead: a continuity proof by E's expired pinned certificate is refused with RPL0403E"
expect_eq "$(hcount expired 'e["ev"]=="recv" and e["type"] in ("HELLO_REPLY", "AUTH_OK")')" 0 "... before any proof step"
expect_eq "$(hstate A E)" "$before" "A's record of E is unchanged"

stop_peer A
start_peer A
wait_admin A
attempt control 127.0.0.72
expect_eq "$(hcount control 'e["ev"]=="recv" and e["type"]=="AUTH_OK"')" 1 \
	"control, A's clock back: the same proof is accepted (verified by continuity)"
no_crash A
