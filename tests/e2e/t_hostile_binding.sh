#!/usr/bin/env bash
# Hostile peer: what binds a proof to its session (security model 3 and 10:
# no tag is computed or checked with a key not established in this session;
# tags bind the exporter, both certificates and both names). The tool is B
# (B's key and stored pairing key) signing on to A by pairing key:
#  1. the honest sign-on works, over TLS 1.3 and TLS 1.2 (control);
#  2. an AUTH captured in one session and replayed in the next, a tag over
#     another session's exporter, over swapped names, over the fingerprints
#     in the wrong order, under the all-zero key and under a stale pairing
#     key (the one B held before A's SET SERVERPASSWORD dropped A's inbound
#     keys and B paired again) are each refused with RPL0401E and counted;
#  3. continuity (partner R, its daemon stopped; before the SET SERVERPASSWORD
#     of 2, which drops every inbound pairing key): a new certificate that R's
#     pinned key endorses for this session is accepted (verified_by
#     continuity, R's pin moves to it); one that names R's pinned
#     certificate but is signed by an impostor's key (loaded from openssl
#     PEM files), or is signed by R's key for another session's exporter, is
#     refused with RPL0403E before any proof step and changes nothing.
# A's records are compared before and after the refusals; the real B then
# signs on by pin with the pairing key in both directions.
source "$(dirname "$0")/lib.sh"

pa=$(port); pb=$(port); pr=$(port)
init_peer A "$pa"; init_peer B "$pb"; init_peer R "$pr"
start_peers A B R
define_pair A B; define_pair A R
for x in B R; do
	ping_ok A "$x" || die "first contact A->$x failed"
	ping_ok "$x" A || die "$x->A failed"
done
stop_peer R

# key_auth TAG SRC TAGLINE [MAX]: a METHOD_KEY sign-on as B whose tag is made
# by TAGLINE (a tool command that sets $t); prints the tool's status.
key_auth() {
	hrun "$1" <<EOF
identity B instance $W/B
secret kout $W/B pairing-out A
connect 127.0.0.1 $pa src=$2
tls client B ${4:-}
send HELLO version=2 from=B to=A proto=2 purpose=1 method=1 flags=0
expect HELLO_REPLY method=1
$3
send AUTH tag=\$t verified_by=1
expect AUTH_OK
expect CERTS_ACK
send BYE
expect-close
EOF
}

# ---- 1. control -------------------------------------------------------------------
for v in 1.3 1.2; do
	max=""; [ "$v" = 1.2 ] && max="max=1.2"
	key_auth "honest-$v" 127.0.0.81 'tag t key=$kout side=client client=B server=A method=1 purpose=1' "$max" ||
		die "the honest sign-on over TLS $v failed"
	expect_eq "$(hlast "honest-$v" 'e["ev"]=="tls"' 'e["version"]')" "TLSv$v" "the honest pairing-key sign-on works over TLS $v"
done
before=$(hstate A B)

# ---- 2. binding -----------------------------------------------------------------------
# A replayed AUTH: session 1 is honest, session 2 sends session 1's AUTH.
hrun replay <<EOF
identity B instance $W/B
secret kout $W/B pairing-out A
connect s1 127.0.0.1 $pa src=127.0.0.82
tls client B
send HELLO version=2 from=B to=A proto=2 purpose=1 method=1 flags=0
expect HELLO_REPLY
tag t key=\$kout side=client client=B server=A method=1 purpose=1
send AUTH tag=\$t verified_by=1
save auth1 sent
expect AUTH_OK
set exporter1 \$exporter
print exporter1
close
connect s2 127.0.0.1 $pa src=127.0.0.83
tls client B
send HELLO version=2 from=B to=A proto=2 purpose=1 method=1 flags=0
expect HELLO_REPLY
send-saved auth1
expect ERROR msgid=RPL0401E
expect-close
EOF
expect_eq "$?" 0 "an AUTH replayed from another session is refused with RPL0401E"
exp1=$(hlast replay 'e["ev"]=="value"' 'e["exporter1"]')

n=84
for v in "other-exporter|tag t key=\$kout side=client client=B server=A method=1 purpose=1 exporter=hex:$exp1" \
	"swapped-names|tag t key=\$kout side=client client=A server=B method=1 purpose=1" \
	"swapped-fps|tag t key=\$kout side=client client=B server=A method=1 purpose=1 client_fp=\$peer_fp server_fp=\$own_fp" \
	"server-side-tag|tag t key=\$kout side=server client=B server=A method=1 purpose=1" \
	"other-purpose|tag t key=\$kout side=client client=B server=A method=1 purpose=2" \
	"zero-key|tag t key=zero side=client client=B server=A method=1 purpose=1" \
	"last-byte-changed|tag t key=\$kout side=client client=B server=A method=1 purpose=1 flip=31"; do
	IFS='|' read -r name line <<<"$v"
	n=$((n + 1))
	hrun "bind-$name" <<EOF
identity B instance $W/B
secret kout $W/B pairing-out A
connect 127.0.0.1 $pa src=127.0.0.$n
tls client B
send HELLO version=2 from=B to=A proto=2 purpose=1 method=1 flags=0
expect HELLO_REPLY
$line
send AUTH tag=\$t verified_by=1
expect ERROR msgid=RPL0401E
expect-close
EOF
	expect_eq "$?" 0 "$name: a tag that does not bind this session is refused with RPL0401E"
done
expect_eq "$(hstate A B)" "$before" "A's record of B unchanged after the binding attempts"

# ---- 3. continuity (partner R) ---------------------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/imp.key" -out "$W/imp.pem" \
	-days 30 -subj /CN=R -addext subjectAltName=DNS:R >/dev/null 2>&1 || die "openssl certificate"
fpR=$(fingerprint "$W/R/cert256.pem")
beforeR=$(hstate A R)
cont() { # TAG SRC ENTRY-LINE
	hrun "$1" <<EOF
identity R instance $W/R
identity IMP file $W/imp.pem $W/imp.key
gen-identity X cn=R ip=127.0.0.1
secret kout $W/R pairing-out A
connect 127.0.0.1 $pa src=$2
tls client X
$3
send HELLO version=2 from=R to=A proto=2 purpose=1 method=1 flags=0 entry=\$e
try expect HELLO_REPLY method=1
tag t key=\$kout side=client client=R server=A method=1 purpose=1
try send AUTH tag=\$t verified_by=1
try expect AUTH_OK verified_by=4
try send BYE
try expect-close
EOF
}
cont cont-imp 127.0.0.96 'continuity-entry e R signer=IMP'
cont cont-exp 127.0.0.97 "continuity-entry e R exporter=hex:$exp1"
for v in imp exp; do
	expect_eq "$(hcount "cont-$v" 'e["ev"]=="recv" and e["type"]=="ERROR" and e["fields"].get("msgid")=="RPL0403E"')" 1 \
		"continuity $( [ $v = imp ] && echo "naming R's pinned certificate but signed by an impostor's key (openssl PEM files)" || echo "endorsed by R's key for another session's exporter") is refused with RPL0403E"
	expect_eq "$(hcount "cont-$v" 'e["ev"]=="recv" and e["type"]=="HELLO_REPLY"')" 0 "...before any proof step"
done
expect_eq "$(hstate A R)" "$beforeR" "A's record of R unchanged after the refused continuity attempts"
cont cont-good 127.0.0.98 'continuity-entry e R'
expect_eq "$(hcount cont-good 'e["ev"]=="recv" and e["type"]=="AUTH_OK"')" 1 "a new certificate endorsed by R's pinned key for this session is accepted (verified by continuity)"
fpX=$(hlast cont-good 'e["ev"]=="identity" and e["name"]=="X"' 'e["fp"]')
expect_eq "$(hstate A R | jget '[p.split(":")[1] for p in j["pins"] if p.startswith("'"$fpX"'")]')" '["current"]' \
	"A's pin for R moved to the endorsed certificate"

# A stale pairing key: B's key before A dropped its inbound keys.
hrun stale-key <<EOF
secret old $W/B pairing-out A
print old
EOF
stale=$(hlast stale-key 'e["ev"]=="value"' 'e["old"]')
srp0=$(grep -cE "RPL0422I session [0-9]+ to server A .*both password proofs \(SRP\)" "$W/B.log")
expect_rc 0 adm A SET SERVERPASSWORD "$(cat "$W/A.pw")"
p=$(adm B PING SERVER A) || die "B's PING after A's SET SERVERPASSWORD failed: $p"
[ "$(grep -cE "RPL0422I session [0-9]+ to server A .*both password proofs \(SRP\)" "$W/B.log")" -gt "$srp0" ] ||
	die "B did not pair again by SRP"
ok "after A's SET SERVERPASSWORD, B pairs again with both password proofs"
before=$(hstate A B)
hrun stale <<EOF
identity B instance $W/B
connect 127.0.0.1 $pa src=127.0.0.95
tls client B
send HELLO version=2 from=B to=A proto=2 purpose=1 method=1 flags=0
expect HELLO_REPLY method=1
tag t key=hex:$stale side=client client=B server=A method=1 purpose=1
send AUTH tag=\$t verified_by=1
expect ERROR msgid=RPL0401E
expect-close
EOF
expect_eq "$?" 0 "a tag under the stale pairing key is refused with RPL0401E"
expect_eq "$(hstate A B)" "$before" "A's record of B unchanged after the stale-key attempt"

# ---- the real B ---------------------------------------------------------------------
by_pairing_key B A || die "B -> A is not verified by pin with the pairing key"
ok "real B -> A: verified by pin with the stored pairing key"
by_pairing_key A B || die "A -> B is not verified by pin with the pairing key"
ok "A -> real B: verified by pin with the stored pairing key"
no_crash A
