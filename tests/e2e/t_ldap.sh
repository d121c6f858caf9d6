#!/usr/bin/env bash
# e2e: long
# LDAP authentication of administrators against a real slapd (DESIGN
# security point 8). A throw-away OpenSSL PKI (an RSA root, an EC
# intermediate that the server sends with its certificate) signs a slapd
# certificate for 127.0.0.1 and localhost; the scenario starts its own slapd
# (private slapd.conf, back_mdb, its own database under $W, loopback ports,
# ldaps:// and ldap:// with StartTLS, users loaded with slapadd, '-d 256'
# logging to a file) and stops it at the end, whatever the outcome.
#
# It proves: SET LDAPURL/LDAPUSERDN/LDAPCALABEL are checked, written to
# replpeer.conf and the activity log, and in effect without a restart;
# 'TEST LDAP user -' (password from --password-file, never on the command
# line) succeeds over ldaps:// and over ldap:// with StartTLS and shows the
# chain, each check and the TLS version; a wrong password is refused as
# invalid credentials. A certificate from an unknown CA, one for another
# host, an expired one, a not-yet-valid one, and an ldap:// server without
# StartTLS are refused with a message that names the reason — and slapd's
# own log shows that no bind request reached it on those connections. An
# anchor imported with --purpose peer never vouches for the LDAP server.
# SIGNON=YES runs the sign-on's check (ldap_check) with its LDAPCACHESECONDS
# cache. Servers that are not there, never answer (HANDSHAKETIMEOUT), claim
# a 2 GiB message, inject plaintext behind the StartTLS answer or answer
# with another operation (tools/fake_ldap.py) are refused with the reason,
# and HALT while a TEST LDAP waits stops the daemon in order.
source "$(dirname "$0")/lib.sh"

command -v slapd >/dev/null 2>&1 || die "slapd is not installed (make deps installs slapd and ldap-utils)"
SLAPD=$(command -v slapd)
SLAPADD=$(command -v slapadd)
PKI=$W/pki
mkdir -p "$PKI/newcerts"
: >"$PKI/index.txt"
echo 1000 >"$PKI/serial"

# ---- a throw-away PKI ---------------------------------------------------------
cat >"$PKI/ca.cnf" <<EOF
[ ca ]
default_ca = CA_default
[ CA_default ]
dir = $PKI
database = \$dir/index.txt
serial = \$dir/serial
new_certs_dir = \$dir/newcerts
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
email_in_dn = no
[ policy_any ]
commonName = supplied
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ server_ext ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = \$ENV::SAN
[ ca_ext ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF
ossl_ca() { SAN=${SAN:-DNS:unused} openssl ca -batch -config "$PKI/ca.cnf" -notext -outdir "$PKI/newcerts" "$@" >>"$W/openssl.log" 2>&1; }
eckey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>>"$W/openssl.log"; }

# root NAME CN: a self-signed RSA root.
root() {
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$PKI/$1.key" -out "$PKI/$1.pem" \
		-days 3650 -subj "/CN=$2" -addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" >>"$W/openssl.log" 2>&1 || die "root $1"
}
# sign ISSUER NAME CN EXT SAN START END: an EC key and a certificate signed by ISSUER.
sign() {
	eckey "$PKI/$2.key"
	openssl req -new -key "$PKI/$2.key" -subj "/CN=$3" -out "$PKI/$2.csr" >>"$W/openssl.log" 2>&1
	SAN=$5 ossl_ca -cert "$PKI/$1.pem" -keyfile "$PKI/$1.key" -in "$PKI/$2.csr" -out "$PKI/$2.pem" \
		-extensions "$4" -startdate "$6" -enddate "$7" || die "sign $2: $(tail -3 "$W/openssl.log")"
}
NOW_MINUS=$(date -u -d '-1 day' +%Y%m%d%H%M%SZ)
IN_A_YEAR=$(date -u -d '+365 days' +%Y%m%d%H%M%SZ)
LOCAL_SAN="DNS:localhost,IP:127.0.0.1"

root root "Test LDAP Root CA"
sign root inter "Test LDAP Intermediate CA" ca_ext "DNS:unused" "$NOW_MINUS" "$IN_A_YEAR"
sign inter good "ldap.test" server_ext "$LOCAL_SAN" "$NOW_MINUS" "$IN_A_YEAR"
cat "$PKI/good.pem" "$PKI/inter.pem" >"$PKI/good-chain.pem"
sign inter otherhost "other.example.org" server_ext "DNS:other.example.org" "$NOW_MINUS" "$IN_A_YEAR"
sign inter expired "ldap.test" server_ext "$LOCAL_SAN" 20200101000000Z 20210101000000Z
sign inter notyet "ldap.test" server_ext "$LOCAL_SAN" 20990101000000Z 21000101000000Z
root evil "Evil Root CA"
sign evil stranger "ldap.test" server_ext "$LOCAL_SAN" "$NOW_MINUS" "$IN_A_YEAR"
for c in otherhost expired notyet; do cat "$PKI/$c.pem" "$PKI/inter.pem" >"$PKI/$c-chain.pem"; done
cp "$PKI/stranger.pem" "$PKI/stranger-chain.pem"
openssl verify -CAfile "$PKI/root.pem" -untrusted "$PKI/inter.pem" "$PKI/good.pem" >/dev/null ||
	die "the test PKI does not verify with openssl"
ok "a throw-away PKI: RSA root, EC intermediate, server certificates (openssl verify accepts the good one)"

# ---- slapd ------------------------------------------------------------------------
PW_ALICE='alice pw "with" quotes'
PW_ANN='ann-secret-1'
printf '%s\n' "$PW_ALICE" >"$W/alice.pw"
printf '%s\n' "$PW_ANN" >"$W/ann.pw"
printf '%s\n' 'not-the-password' >"$W/wrong.pw"

# start_slapd NAME CERTCHAIN|"" [CONFIG-LINE]: its own config, database and
# log; sets LDAPS_NAME / LDAP_NAME to its ports. Without a certificate: no
# TLS at all.
start_slapd() {
	local name=$1 chain=$2 extra=${3:-} d=$W/slapd-$1 p1 p2 tls=""
	read -r p1 p2 < <(unique_ports 2 | tr '\n' ' ')
	mkdir -p "$d/db"
	if [ -n "$chain" ]; then
		tls="TLSCertificateFile $PKI/$chain-chain.pem
TLSCertificateKeyFile $PKI/$chain.key
$extra"
	fi
	cat >"$d/slapd.conf" <<EOF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
pidfile $d/slapd.pid
argsfile $d/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
$tls
database mdb
maxsize 10485760
suffix "dc=example,dc=com"
rootdn "cn=admin,dc=example,dc=com"
directory $d/db
EOF
	cat >"$d/users.ldif" <<EOF
dn: dc=example,dc=com
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: ou=people,dc=example,dc=com
objectClass: organizationalUnit
ou: people

dn: uid=alice,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: alice
cn: Alice
sn: Admin
userPassword: $(slappasswd -s "$PW_ALICE")

dn: uid=ann\+x,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: ann+x
cn: Ann
sn: Plus
userPassword: $(slappasswd -s "$PW_ANN")
EOF
	"$SLAPADD" -f "$d/slapd.conf" -l "$d/users.ldif" >>"$d/slapadd.log" 2>&1 || die "slapadd $name: $(cat "$d/slapadd.log")"
	if [ -n "$chain" ]; then
		"$SLAPD" -f "$d/slapd.conf" -h "ldaps://127.0.0.1:$p1/ ldap://127.0.0.1:$p2/" -d 256 >"$W/slapd-$name.log" 2>&1 &
	else
		"$SLAPD" -f "$d/slapd.conf" -h "ldap://127.0.0.1:$p2/" -d 256 >"$W/slapd-$name.log" 2>&1 &
		p1=""
	fi
	PIDS+=($!)
	eval "SLAPD_PID_$name=$!"
	eval "LDAPS_$name=$p1 LDAP_$name=$p2"
	wait_until 20 bash -c "exec 3<>/dev/tcp/127.0.0.1/$p2" || die "slapd $name did not start: $(tail -5 "$W/slapd-$name.log")"
}
stop_slapd() {
	local pid
	eval "pid=\${SLAPD_PID_$1:-}"
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	eval "SLAPD_PID_$1="
}

start_slapd good good
# Control: the OpenSSL client of ldap-utils binds over both URL forms.
LDAPTLS_CACERT=$PKI/root.pem ldapwhoami -x -H "ldaps://127.0.0.1:$LDAPS_good" \
	-D "uid=alice,ou=people,dc=example,dc=com" -y <(printf '%s' "$PW_ALICE") >"$W/whoami.out" 2>&1 ||
	die "control: ldapwhoami over ldaps failed: $(cat "$W/whoami.out")"
LDAPTLS_CACERT=$PKI/root.pem ldapwhoami -x -ZZ -H "ldap://127.0.0.1:$LDAP_good" \
	-D "uid=alice,ou=people,dc=example,dc=com" -y <(printf '%s' "$PW_ALICE") >>"$W/whoami.out" 2>&1 ||
	die "control: ldapwhoami -ZZ failed: $(cat "$W/whoami.out")"
ok "control: slapd answers ldapwhoami over ldaps:// and over ldap:// with StartTLS (-ZZ)"

# binds_after LOG FROM: the BIND lines of slapd's log after line FROM;
# reached_after LOG FROM: the connections there that got as far as a TLS
# handshake (established or failed) or a StartTLS request (so the client was
# really there).
log_lines() { wc -l <"$1"; }
binds_after() { tail -n +"$(($2 + 1))" "$1" | grep -cE 'conn=[0-9]+ op=[0-9]+ BIND ' || true; }
reached_after() { tail -n +"$(($2 + 1))" "$1" | grep -cE 'conn=[0-9]+ fd=[0-9]+ (TLS established|closed \(TLS negotiation failure)|EXT oid=1\.3\.6\.1\.4\.1\.1466\.20037' || true; }

# ---- replpeer ----------------------------------------------------------------------
pa=$(port)
init_peer A "$pa"
"$RP" cert -d "$W/A" import-ca --label LDAPROOT --purpose ldap "$PKI/root.pem" >/dev/null || die "import-ca ldap"
"$RP" cert -d "$W/A" import-ca --label PEERCA --purpose peer "$PKI/root.pem" >/dev/null || die "import-ca peer"
start_peer A

# test_ldap ARGS...: TEST LDAP as JSON in $W/t.json; its exit status.
test_ldap() {
	local pwfile=$1; shift
	if [ -n "$pwfile" ]; then
		"$RP" admin -d "$W/A" --json --password-file "$pwfile" "TEST LDAP $*" >"$W/t.json" 2>"$W/t.err"
	else
		"$RP" admin -d "$W/A" --json "TEST LDAP $*" >"$W/t.json" 2>"$W/t.err"
	fi
}
tj() { jget "$1" <"$W/t.json"; }

# Not configured yet.
test_ldap "" ; rc=$?
expect_eq "$rc/$(tj 'j["message_id"]')" "1/RPL0908E" "TEST LDAP before LDAPURL is set: not configured (RPL0908E)"

# ---- SET commands --------------------------------------------------------------------
adm A "SET LDAPURL http://127.0.0.1:$LDAPS_good" >"$W/s.json"; rc=$?
expect_eq "$rc/$(jget 'j["message_id"]' <"$W/s.json")" "1/RPL0911E" "SET LDAPURL refuses a URL that is not ldaps:// or ldap://"
adm A "SET LDAPURL ldaps://127.0.0.1:$LDAPS_good/dc=example?uid" >"$W/s.json"; rc=$?
expect_eq "$rc/$(jget 'j["message_id"]' <"$W/s.json")" "1/RPL0911E" "SET LDAPURL refuses a DN or filter after the host"
adm A "SET LDAPUSERDN uid=alice,dc=example" >"$W/s.json"; rc=$?
expect_eq "$rc/$(jget 'j["message_id"]' <"$W/s.json")" "1/RPL0912E" "SET LDAPUSERDN refuses a template without %s"
adm A "SET LDAPCALABEL PEERCA" >"$W/s.json"; rc=$?
expect_eq "$rc/$(jget 'j["message_id"]' <"$W/s.json")" "1/RPL0916E" "SET LDAPCALABEL refuses an anchor of purpose peer"
expect_contains "$(jget 'j["message"]' <"$W/s.json")" "purpose peer" "... and says why"
adm A "SET LDAPCALABEL NOSUCH" >"$W/s.json"; rc=$?
expect_eq "$rc/$(jget 'j["message_id"]' <"$W/s.json")" "1/RPL0916E" "SET LDAPCALABEL refuses a label that names no anchor"

adm A "SET LDAPURL ldaps://127.0.0.1:$LDAPS_good" >"$W/s.json" || die "SET LDAPURL: $(cat "$W/s.json")"
adm A "SET LDAPUSERDN uid=%s,ou=people,dc=example,dc=com" >"$W/s.json" || die "SET LDAPUSERDN: $(cat "$W/s.json")"
adm A "SET LDAPCALABEL LDAPROOT" >"$W/s.json" || die "SET LDAPCALABEL: $(cat "$W/s.json")"
expect_eq "$(jget 'j["message_id"]' <"$W/s.json")" "RPL0913I" "SET LDAPURL, LDAPUSERDN, LDAPCALABEL accepted"
conf=$(grep -E '^(LDAPURL|LDAPUSERDN|LDAPCALABEL) ' "$W/A/replpeer.conf" | sort | tr '\n' '|')
expect_eq "$conf" "LDAPCALABEL LDAPROOT|LDAPURL ldaps://127.0.0.1:$LDAPS_good|LDAPUSERDN uid=%s,ou=people,dc=example,dc=com|" \
	"the three settings are written to replpeer.conf"
expect_eq "$(actlog_lines A | grep -c '^RPL0913I ')" "3" "each setting is in the activity log (RPL0913I)"

# ---- success over ldaps:// ---------------------------------------------------------------
test_ldap "" || die "TEST LDAP without a name: $(cat "$W/t.json" "$W/t.err")"
expect_eq "$(tj 'j["trusted"]')/$(tj 'len(j["chain"])')" "true/2" "TEST LDAP: the chain the server sent (leaf, intermediate) is trusted"
expect_eq "$(tj 'j["chain"][0]["subject"]')" "CN=ldap.test" "TEST LDAP shows the leaf's subject"
expect_eq "$(tj 'j["chain"][0]["issuer"]')" "CN=Test LDAP Intermediate CA" "... its issuer"
expect_eq "$(tj 'j["chain"][0]["fingerprint"]')" "$(fingerprint "$PKI/good.pem")" "... its SHA-256 fingerprint"
expect_contains "$(tj 'j["chain"][0]["not_after"]')" '^20[0-9]{2}-' "... and its validity"
expect_eq "$(tj '",".join(c["check"] + ":" + c["verdict"] for c in j["checks"])')" \
	"url:passed,tls:passed,validity:passed,host name:passed,chain:passed" "TEST LDAP lists each check and its verdict"
expect_contains "$(tj 'j["tls_version"]')" '^TLSv1\.[23]$' "TEST LDAP shows the TLS version"
expect_contains "$(tj 'j["cipher"]')" '.' "... and the cipher"

binds0=$(log_lines "$W/slapd-good.log")
test_ldap "$W/alice.pw" alice - || die "TEST LDAP alice: $(cat "$W/t.json" "$W/t.err")"
expect_eq "$(tj 'j["bind"]["ok"]')/$(tj 'j["bind"]["dn"]')" "true/uid=alice,ou=people,dc=example,dc=com" \
	"TEST LDAP alice - with the right password: the bind over ldaps:// succeeds"
wait_until 5 bash -c "tail -n +$((binds0 + 1)) '$W/slapd-good.log' | grep -q 'BIND dn=\"uid=alice,ou=people,dc=example,dc=com\" method=128'" ||
	die "slapd's log lacks alice's simple bind"
ok "slapd's log shows the simple bind as uid=alice"
expect_not_contains "$(cat "$W/A.log")" "$PW_ALICE" "the password is not in the daemon log"
expect_not_contains "$(actlog_lines A)" "$PW_ALICE" "nor in the activity log"

"$RP" admin -d "$W/A" --password-file "$W/alice.pw" "TEST LDAP alice -" >"$W/human.out" 2>&1 ||
	die "TEST LDAP (table form): $(cat "$W/human.out")"
[ -n "${SHOW:-}" ] && cat "$W/human.out"
expect_contains "$(cat "$W/human.out")" "CN=Test LDAP Intermediate CA" "the console form of TEST LDAP shows the chain"
expect_contains "$(cat "$W/human.out")" "bind as uid=alice,ou=people,dc=example,dc=com succeeded" "... and the bind's verdict"

test_ldap "$W/ann.pw" "ann+x" - || die "TEST LDAP ann+x: $(cat "$W/t.json" "$W/t.err")"
expect_eq "$(tj 'j["bind"]["dn"]')/$(tj 'j["bind"]["ok"]')" 'uid=ann\+x,ou=people,dc=example,dc=com/true' \
	"an admin name with '+' is escaped in the DN (RFC 4514) and binds"

test_ldap "$W/wrong.pw" alice -; rc=$?
expect_eq "$rc/$(tj 'j["message_id"]')/$(tj 'j["bind"]["result_code"]')" "1/RPL0901E/49" \
	"a wrong password is refused: invalid credentials (RPL0901E, LDAP result 49)"

# ---- success over ldap:// with StartTLS ---------------------------------------------------
adm A "SET LDAPURL ldap://127.0.0.1:$LDAP_good" >/dev/null || die "SET LDAPURL ldap://"
test_ldap "$W/alice.pw" alice - || die "TEST LDAP alice over StartTLS: $(cat "$W/t.json" "$W/t.err")"
expect_eq "$(tj 'j["method"]')/$(tj 'j["bind"]["ok"]')" "StartTLS/true" "over ldap:// with StartTLS the bind succeeds"
expect_eq "$(tj '",".join(c["check"] for c in j["checks"])')" "url,starttls,tls,validity,host name,chain,bind" \
	"... after StartTLS and every certificate check"
test_ldap "$W/wrong.pw" alice -; rc=$?
expect_eq "$rc/$(tj 'j["message_id"]')" "1/RPL0901E" "... and a wrong password is refused there too"

alice_binds_after() { tail -n +"$(($1 + 1))" "$W/slapd-good.log" | grep -ciE 'BIND dn="uid=alice,ou=people,dc=example,dc=com" method=128' || true; }

# ---- a remote LDAP administrator signs on (issue 11, acceptance 1) -----------------------------
# The client's own pins live in a private HOME. An LDAP password goes only
# to a server pinned in an earlier run: the first run pins and stops.
export HOME="$W/home"
mkdir -p "$HOME"
adm A "REGISTER ADMIN alice AUTHENTICATION=LDAP CLASS=SYSTEM" >/dev/null || die "REGISTER ADMIN alice LDAP"
radm() { "$RP" admin --host 127.0.0.1 --port "$pa" --id alice --password-file "$1" "${@:2}"; }
b0=$(log_lines "$W/slapd-good.log")
fails 1 RPL1018E "first contact: the client pins A but sends no LDAP password" radm "$W/alice.pw" --accept-cert QUERY SERVER
expect_eq "$(alice_binds_after "$b0")" 0 "... slapd saw no bind"
succeeds "LDAP administrator over ldap:// with StartTLS: signs on and runs QUERY SERVER" \
	radm "$W/alice.pw" --json QUERY SERVER
expect_eq "$(jget 'len(j)' <"$W/out")" 0 "... QUERY SERVER answers (no partner defined)"
log_has A "RPL1009I.*administrator ALICE \(SYSTEM\) signed on .*password checked by LDAP" ||
	die "A's log lacks ALICE's LDAP sign-on"
ok "A logs the sign-on checked by LDAP (RPL1009I)"
fails 1 RPL1001E "a wrong LDAP password is refused" radm "$W/wrong.pw" QUERY SERVER
adm A "SET LDAPURL ldaps://127.0.0.1:$LDAPS_good" >/dev/null || die "SET LDAPURL ldaps:// for the sign-on"
b0=$(log_lines "$W/slapd-good.log")
succeeds "LDAP administrator over ldaps://: signs on and runs QUERY SERVER" radm "$W/alice.pw" QUERY SERVER
wait_until 5 test "$(alice_binds_after "$b0")" -ge 1 || die "slapd saw no bind for the ldaps:// sign-on"
ok "... slapd saw the bind over ldaps://"
fails 1 RPL1001E "... and a wrong password is refused there too" radm "$W/wrong.pw" QUERY SERVER
# (the count is written by the store's writer thread after the refusal went
# out: under load QUERY ADMIN can come first)
alice_state() { adm A QUERY ADMIN alice | jget 'str(j[0]["failed_signons"]) + "/" + j[0]["sessionsecurity"]'; }
wait_until 10 eval '[ "$(alice_state)" = 1/STRICT ]'
expect_eq "$(alice_state)" "1/STRICT" "QUERY ADMIN counts the refused LDAP sign-on since the last success; the TLS sign-on made alice STRICT"
! grep -aqF "$PW_ALICE" "$W/A.log" "$W/A/data.mdb" || die "the LDAP password is readable on A"
ok "the LDAP password is in neither A's log nor data.mdb"
adm A "SET LDAPURL ldap://127.0.0.1:$LDAP_good" >/dev/null || die "SET LDAPURL back to ldap://"

# ldaps:// to the port where slapd speaks LDAP in clear: TLS fails, nothing is sent.
adm A "SET LDAPURL ldaps://127.0.0.1:$LDAP_good" >/dev/null || die "SET LDAPURL ldaps to the clear port"
test_ldap "$W/alice.pw" alice -; rc=$?
expect_eq "$rc/$(tj 'j["message_id"]')/$(tj 'j["bind"]["sent"]')" "1/RPL0910E/false" \
	"ldaps:// to a port that speaks LDAP in clear: the TLS handshake fails (RPL0910E), no bind sent"

# A host name the certificate carries as a DNS name (resolved on the pool).
adm A "SET LDAPURL ldaps://localhost:$LDAPS_good" >/dev/null || die "SET LDAPURL localhost"
test_ldap "$W/alice.pw" alice - || die "TEST LDAP via localhost: $(cat "$W/t.json" "$W/t.err")"
ok "ldaps://localhost:port: the DNS name is matched against the SAN and the bind succeeds"

# ---- SIGNON=YES: the check a sign-on makes (ldap_check), with its cache ------------------------
conf_set A LDAPCACHESECONDS 3
restart_peer A
b0=$(log_lines "$W/slapd-good.log")
test_ldap "$W/alice.pw" alice - SIGNON=YES || die "SIGNON=YES: $(cat "$W/t.json" "$W/t.err")"
expect_eq "$(tj 'j["bind"]["ok"]')/$(tj 'j["bind"]["cached"]')" "true/false" "SIGNON=YES (ldap_check): the first check binds"
test_ldap "$W/alice.pw" alice - SIGNON=YES || die "SIGNON=YES again: $(cat "$W/t.json" "$W/t.err")"
expect_eq "$(tj 'j["bind"]["ok"]')/$(tj 'j["bind"]["cached"]')" "true/true" "... the second, within LDAPCACHESECONDS, is answered from the cache"
test_ldap "$W/wrong.pw" alice - SIGNON=YES; rc=$?
expect_eq "$rc/$(tj 'j["message_id"]')/$(tj 'j["bind"]["cached"]')" "1/RPL0901E/false" "... a wrong password is never answered from the cache"
sleep 0.3
expect_eq "$(alice_binds_after "$b0")" "2" "... slapd saw two binds for those three checks"
sleep 3
test_ldap "$W/alice.pw" alice - SIGNON=YES || die "SIGNON=YES after expiry: $(cat "$W/t.json")"
expect_eq "$(tj 'j["bind"]["cached"]')" "false" "... after LDAPCACHESECONDS the verdict is gone and the server is asked again"
adm A "SET LDAPUSERDN uid=%s,ou=people,dc=example,dc=com" >/dev/null || die "SET LDAPUSERDN again"
test_ldap "$W/alice.pw" alice - SIGNON=YES || die "SIGNON=YES after SET: $(cat "$W/t.json")"
expect_eq "$(tj 'j["bind"]["cached"]')" "false" "... a SET LDAP... command forgets every cached verdict"
conf_unset A LDAPCACHESECONDS
restart_peer A
test_ldap "$W/alice.pw" alice - SIGNON=YES >/dev/null && test_ldap "$W/alice.pw" alice - SIGNON=YES ||
	die "SIGNON=YES without cache: $(cat "$W/t.json")"
expect_eq "$(tj 'j["bind"]["cached"]')" "false" "with LDAPCACHESECONDS 0 (the default) nothing is cached"

# TLS 1.2 when this side does not offer 1.3 (SSLTLS13 NO): still verified.
conf_set A SSLTLS13 NO
restart_peer A
test_ldap "$W/alice.pw" alice - || die "TEST LDAP with SSLTLS13 NO: $(cat "$W/t.json" "$W/t.err")"
expect_eq "$(tj 'j["tls_version"]')/$(tj 'j["bind"]["ok"]')" "TLSv1.2/true" "with SSLTLS13 NO the LDAP session is TLS 1.2, verified, and binds"
conf_unset A SSLTLS13
restart_peer A

# ---- refusals: no bind reaches slapd ---------------------------------------------------------
# refused NAME CERT MSGID REGEX WHAT: a slapd with CERT; TEST LDAP alice is
# refused with MSGID and a message matching REGEX, slapd accepted the
# connection, and its log has no BIND for it.
refused() {
	local name=$1 cert=$2 id=$3 re=$4 what=$5 extra=${6:-} before rc url
	start_slapd "$name" "$cert" "$extra"
	eval "url=ldaps://127.0.0.1:\$LDAPS_$name"
	[ "$cert" = "" ] && eval "url=ldap://127.0.0.1:\$LDAP_$name"
	adm A "SET LDAPURL $url" >/dev/null || die "SET LDAPURL $url"
	before=$(log_lines "$W/slapd-$name.log")
	test_ldap "$W/alice.pw" alice -; rc=$?
	expect_eq "$rc/$(tj 'j["message_id"]')" "1/$id" "$what: refused with $id"
	expect_contains "$(tj 'j["message"]')" "$re" "... the message names the reason"
	expect_eq "$(tj 'j["bind"]["sent"]')" "false" "... the report says no bind was sent"
	sleep 0.3 # slapd writes its log asynchronously
	wait_until 5 bash -c "tail -n +$((before + 1)) '$W/slapd-$name.log' | grep -qE 'TLS established|EXT oid=1\.3\.6\.1\.4\.1\.1466\.20037|TLS negotiation failure'" ||
		die "$what: slapd's log shows no TLS session or StartTLS request from replpeer"
	expect_eq "$(binds_after "$W/slapd-$name.log" "$before")" "0" \
		"... slapd's log shows the session ($(reached_after "$W/slapd-$name.log" "$before") TLS or StartTLS line) and no BIND"
	cp "$W/t.json" "$W/refused-$name.json"
	# The remote sign-on of the LDAP administrator makes the same check.
	run radm "$W/alice.pw" QUERY SERVER
	rc=$?
	expect_eq "$rc/$(grep -oE 'RPL[0-9]{4}E' "$W/err" | head -1)" "1/$id" "... alice's remote sign-on is refused with $id too"
	sleep 0.3
	expect_eq "$(binds_after "$W/slapd-$name.log" "$before")" "0" "... and still no BIND reached slapd"
	stop_slapd "$name"
}

refused stranger stranger RPL0903E "not trusted.*(Evil Root CA|not signed)" "a certificate from an unknown CA"
expect_eq "$(jget 'j["chain"][0]["issuer"]' <"$W/refused-stranger.json")" "CN=Evil Root CA" "... TEST LDAP shows the stranger's issuer"
expect_contains "$(jget 'j["message"]' <"$W/refused-stranger.json")" "$(fingerprint "$PKI/stranger.pem")" "... and its fingerprint in the message"
refused otherhost otherhost RPL0904E "names DNS:other.example.org, not 127.0.0.1" "a certificate for another host name"
refused expired expired RPL0905E "expired on 2021-01-01" "an expired certificate"
refused notyet notyet RPL0905E "valid only from 2099-01-01" "a certificate that is not yet valid"
refused plain "" RPL0906E "refused StartTLS" "an ldap:// server without StartTLS"
expect_eq "$(jget '",".join(c["check"] + ":" + c["verdict"] for c in j["checks"])' <"$W/refused-plain.json")" \
	"url:passed,starttls:refused,bind:refused" "... TEST LDAP shows StartTLS refused and the bind not sent"
refused old good RPL0910E "TLS handshake with LDAP server .* failed" "a server that offers TLS 1.1 at most" \
	"TLSCipherSuite NORMAL:-VERS-ALL:+VERS-TLS1.1:+VERS-TLS1.0"

# ---- purposes: a peer anchor never vouches for the LDAP server ----------------------------------
adm A "SET LDAPURL ldaps://127.0.0.1:$LDAPS_good" >/dev/null || die "SET LDAPURL back"
"$RP" cert -d "$W/A" delete --label LDAPROOT >/dev/null 2>&1 || die "cert delete LDAPROOT"
before=$(log_lines "$W/slapd-good.log")
test_ldap "$W/alice.pw" alice -; rc=$?
expect_eq "$rc/$(tj 'j["message_id"]')" "1/RPL0903E" "with LDAPCALABEL naming a deleted anchor, the good server is not trusted"
conf_set A LDAPCALABEL PEERCA
restart_peer A
test_ldap "$W/alice.pw" alice -; rc=$?
expect_eq "$rc/$(tj 'j["message_id"]')" "1/RPL0903E" "LDAPCALABEL naming a peer anchor (set in replpeer.conf): not trusted"
expect_contains "$(tj 'j["anchors"]')" "purpose peer, which never vouches" "... the report says the peer anchor does not vouch"
conf_unset A LDAPCALABEL
restart_peer A
test_ldap "$W/alice.pw" alice -; rc=$?
expect_eq "$rc/$(tj 'j["message_id"]')" "1/RPL0903E" "without LDAPCALABEL and with only a peer anchor (same CA): not trusted"
expect_contains "$(tj 'j["anchors"]')" "no trust anchor of purpose ldap" "... no anchor of purpose ldap is consulted"
sleep 0.3
expect_eq "$(binds_after "$W/slapd-good.log" "$before")" "0" "... and slapd saw no BIND in all three"
"$RP" cert -d "$W/A" import-ca --label LDAPROOT2 --purpose ldap "$PKI/root.pem" >/dev/null || die "import-ca again"
test_ldap "$W/alice.pw" alice - || die "TEST LDAP with any ldap anchor: $(cat "$W/t.json")"
ok "without LDAPCALABEL any anchor of purpose ldap vouches: the bind succeeds again"

# ---- servers that are not there, silent, or broken -------------------------------------------
# fake NAME MODE: tools/fake_ldap.py on a fresh port ($FAKE_NAME).
fake() {
	local p
	p=$(port)
	python3 "$(dirname "$0")/tools/fake_ldap.py" "$p" "$2" "$W/fake-$1.ready" >>"$W/fake-$1.out" 2>&1 &
	PIDS+=($!)
	wait_until 10 test -e "$W/fake-$1.ready" || die "fake LDAP server $1 did not start"
	eval "FAKE_$1=$p"
}

# HALT while a TEST LDAP waits for a server that never answers: the daemon
# stops in order (the sanitizer build checks that nothing leaks) and the
# waiting client gets its answer.
fake silent silent
adm A "SET LDAPURL ldaps://127.0.0.1:$FAKE_silent" >/dev/null || die "SET LDAPURL silent"
"$RP" admin -d "$W/A" --json --password-file "$W/alice.pw" "TEST LDAP alice -" >"$W/halt.json" 2>&1 &
tpid=$!
wait_until 10 test -s "$W/fake-silent.ready.conn" || die "the TEST LDAP did not reach the silent server"
adm A HALT >/dev/null 2>&1
apid=$(pid_of A)
wait_until 20 bash -c "! kill -0 $apid 2>/dev/null" || die "the daemon did not stop after HALT"
wait "$tpid"; rc=$?
eval "PID_A="
expect_eq "$rc/$(jget 'j["message_id"]' <"$W/halt.json" 2>/dev/null)" "1/RPL0419E" \
	"HALT during a TEST LDAP that waits: the daemon stops, the client is told it is halting"

conf_set A HANDSHAKETIMEOUT 2
start_peer A
wait_admin A
closed=$(port)
adm A "SET LDAPURL ldap://127.0.0.1:$closed" >/dev/null || die "SET LDAPURL closed"
test_ldap "$W/alice.pw" alice -; rc=$?
expect_eq "$rc/$(tj 'j["message_id"]')" "1/RPL0902E" "nothing listening: the LDAP server is unavailable (RPL0902E)"
expect_contains "$(tj 'j["message"]')" "127.0.0.1:$closed" "... naming host:port"

adm A "SET LDAPURL ldaps://127.0.0.1:$FAKE_silent" >/dev/null || die "SET LDAPURL silent"
t0=$(date +%s%N)
test_ldap "$W/alice.pw" alice -; rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
expect_eq "$rc/$(tj 'j["message_id"]')" "1/RPL0902E" "a server that never answers: unavailable after HANDSHAKETIMEOUT"
expect_contains "$(tj 'j["message"]')" "within 2 seconds \(HANDSHAKETIMEOUT\)" "... the message names the timeout"
[ "$ms" -ge 1900 ] && [ "$ms" -lt 6000 ] || die "the silent server took $ms ms, not about 2 s"
echo "MEASURE silent LDAP server refused after $ms ms (HANDSHAKETIMEOUT 2)"

# broken NAME MODE REGEX WHAT: an ldap:// fake server; TEST LDAP is refused
# with RPL0907E, the message matches REGEX, and the server received the
# StartTLS request only (31 bytes): no bind.
broken() {
	fake "$1" "$2"
	eval "adm A \"SET LDAPURL ldap://127.0.0.1:\$FAKE_$1\"" >/dev/null || die "SET LDAPURL $1"
	test_ldap "$W/alice.pw" alice -; rc=$?
	expect_eq "$rc/$(tj 'j["message_id"]')" "1/RPL0907E" "$4: refused as a malformed or unexpected message (RPL0907E)"
	expect_contains "$(tj 'j["message"]')" "$3" "... the message names the fault"
	expect_eq "$(stat -c %s "$W/fake-$1.ready.conn")" "31" "... the server received the StartTLS request only"
}
broken huge huge "larger than the 65536 accepted" "an answer claiming 2 GiB"
broken inject inject "in clear after accepting StartTLS" "plaintext injected behind the StartTLS answer"
broken search search "SearchResultEntry" "a SearchResultEntry in place of the StartTLS answer"

# ---- the server's own slapd log and the daemon survive all of it -----------------------------
no_crash A
stop_peer A
ok "the daemon stops in order"
