#!/usr/bin/env bash
# Trust by CA, end to end (DESIGN security model 2b). A throw-away OpenSSL
# CA issues certificates for the key of partner carol.example (made with
# 'replpeer cert request', installed with 'replpeer cert install'); victor
# imports the CA as a trust anchor of purpose peer and defines carol.example
# VERIFY=CA. The legitimate CA-signed certificate is accepted (verified_by
# ca); every other case is refused with its reason in victor's log: a SAN
# that does not name the server (even when the CN does), SAN '*' and
# '*.example', a leaf that is a CA, key usage without digitalSignature, EKU
# without serverAuth (carol as TLS server) or clientAuth (carol as TLS
# client), an intermediate CA that is not imported, one without the CA flag
# (import-ca refuses it), a path-length-0 root above an intermediate, an
# expired anchor, a leaf not yet valid (RPL0431E naming the dates), and a CA
# with the same name but another key. A CN-only leaf in other case is
# accepted. An impostor of the VERIFY=PIN partner romeo with a certificate
# from the imported CA is refused as an unknown certificate (RPL0403E) in
# both directions; an anchor of purpose ldap vouches for no partner (skipped
# while import-ca has no --purpose); FORCESYNC does not turn the chain check
# into a first contact. The real partner romeo keeps working throughout:
# PING verified_by pin, on its pairing key.
source "$(dirname "$0")/lib.sh"

# ---- the CAs (OpenSSL, keys in $W only) -------------------------------------
utc() { date -u -d "@$(($(date +%s) + $1))" +%Y%m%d%H%M%SZ; }
ca_cnf() {
	cat >"$1/ca.cnf" <<EOF
[ ca ]
default_ca = tca
[ tca ]
dir = $1
database = \$dir/index.txt
new_certs_dir = \$dir
serial = \$dir/serial
default_md = sha256
policy = any
unique_subject = no
email_in_dn = no
[ any ]
commonName = optional
EOF
	: >"$1/index.txt"
	openssl rand -hex 16 >"$1/serial"
}
CA_EXT='basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash'
# mkca NAME SUBJECT START END EXTENSIONS [PARENT]: $W/ca-NAME/{ca.key,ca.pem},
# self-signed or issued by ca-PARENT, with explicit dates.
mkca() {
	local d=$W/ca-$1 subj=$2 start=$3 end=$4 ext=$5 parent=${6:-}
	mkdir -p "$d"
	ca_cnf "$d"
	printf '[ x ]\n%b\n' "$ext" >"$d/ext.cnf"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/ca.key" \
		-out "$d/ca.csr" -subj "$subj" >/dev/null 2>&1 || die "CA $1: openssl req"
	if [ -z "$parent" ]; then
		openssl ca -batch -config "$d/ca.cnf" -selfsign -keyfile "$d/ca.key" -in "$d/ca.csr" \
			-out "$d/ca.pem" -startdate "$start" -enddate "$end" -subj "$subj" \
			-extfile "$d/ext.cnf" -extensions x -notext >/dev/null 2>&1 || die "CA $1: openssl ca -selfsign"
	else
		openssl ca -batch -config "$W/ca-$parent/ca.cnf" -cert "$W/ca-$parent/ca.pem" \
			-keyfile "$W/ca-$parent/ca.key" -in "$d/ca.csr" -out "$d/ca.pem" -startdate "$start" \
			-enddate "$end" -subj "$subj" -extfile "$d/ext.cnf" -extensions x -notext \
			>/dev/null 2>&1 || die "CA $1: openssl ca under $parent"
	fi
}
mkca peer "/CN=Peer Test CA" "$(utc -86400)" "$(utc $((365 * 86400)))" "$CA_EXT"
mkca twin "/CN=Peer Test CA" "$(utc -86400)" "$(utc $((365 * 86400)))" "$CA_EXT"   # same name, other key
mkca ldap "/CN=LDAP Test CA" "$(utc -86400)" "$(utc $((365 * 86400)))" "$CA_EXT"
mkca old "/CN=Old Test CA" 20200101000000Z 20210101000000Z "$CA_EXT"
mkca inter "/CN=Intermediate Test CA" "$(utc -86400)" "$(utc $((300 * 86400)))" "$CA_EXT" peer
mkca notca "/CN=Not A CA" "$(utc -86400)" "$(utc $((300 * 86400)))" \
	'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,keyCertSign,digitalSignature' peer
mkca len0 "/CN=Path Length 0 CA" "$(utc -86400)" "$(utc $((365 * 86400)))" \
	'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign'
mkca under0 "/CN=Below Path Length 0" "$(utc -86400)" "$(utc $((300 * 86400)))" "$CA_EXT" len0

LEAF='basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth'
# issue CA OUT SUBJECT EXTENSIONS [START END]: a certificate for carol's key.
issue() {
	local ca=$1 out=$2 subj=$3 ext=$4 start=${5:-$(utc -3600)} end=${6:-$(utc $((200 * 86400)))}
	printf '[ x ]\n%b\n' "$ext" >"$W/leaf.ext"
	openssl ca -batch -config "$W/ca-$ca/ca.cnf" -cert "$W/ca-$ca/ca.pem" -keyfile "$W/ca-$ca/ca.key" \
		-in "$W/carol.csr" -out "$W/$out.pem" -startdate "$start" -enddate "$end" -subj "$subj" \
		-extfile "$W/leaf.ext" -extensions x -notext >/dev/null 2>&1 || die "openssl ca: $out"
}

# ---- instances -------------------------------------------------------------
pv=$(port); pr=$(port); pc=$(port); pi=$(port)
init_peer victor "$pv"
init_peer romeo "$pr"
init_named carol carol.example "$pc"
init_named rimp romeo "$pi" "$(cat "$W/romeo.pw")"   # romeo's name and password, another key
start_peer victor
start_peer romeo
start_peer carol
define_pair victor romeo
ping_ok victor romeo || die "first contact victor -> romeo failed"
ping_ok romeo victor || die "first contact romeo -> victor failed"
romeo_fp=$(fingerprint "$W/romeo/cert256.pem")

# The real partner works on its pin and pairing key.
romeo_ok() {
	local p n
	n=$(wc -l <"$W/victor.log")
	p=$(adm victor PING SERVER romeo) || die "$1: PING victor -> romeo failed: $p"
	expect_eq "$(jget 'j["verified_by"]' <<<"$p")" pin "$1: victor -> romeo verified by pin"
	wait_until 5 eval "tail -n +$((n + 1)) '$W/victor.log' | grep -q 'to server romeo .*certificate by pin, pairing key'" ||
		die "$1: victor's log has no pin + pairing-key session to romeo: $(tail -n +$((n + 1)) "$W/victor.log")"
	ok "$1: victor's log says pin and pairing key for romeo"
	p=$(adm romeo PING SERVER victor) || die "$1: PING romeo -> victor failed: $p"
	expect_eq "$(jget 'j["verified_by"]' <<<"$p")" pin "$1: romeo -> victor verified by pin"
	expect_eq "$(pin_list victor romeo)" "$romeo_fp:current" "$1: victor's pin for romeo unchanged"
}
romeo_ok "before"

adm victor "DEFINE SERVER carol.example HLADDRESS=127.0.0.1 LLADDRESS=$pc SERVERPASSWORD=$(cat "$W/carol.pw") VERIFY=CA" >/dev/null ||
	die "define carol.example VERIFY=CA on victor"
adm carol "DEFINE SERVER victor HLADDRESS=127.0.0.1 LLADDRESS=$pv SERVERPASSWORD=$(cat "$W/victor.pw")" >/dev/null ||
	die "define victor on carol"
expect_eq "$(srv_field victor carol.example 's["verify"]')" CA "QUERY SERVER shows VERIFY=CA"

# import_ca LABEL PURPOSE FILE [ENV...]: on victor, with --purpose when the
# CLI has it (an anchor without a purpose is a peer anchor).
has_purpose=0
"$RP" cert --help 2>&1 | grep -q -- '--purpose' && has_purpose=1
[ "$has_purpose" = 1 ] ||
	echo "SKIP import-ca --purpose peer: the option does not exist yet (cmd/cmd_cert.c); peer anchors are imported without it (a stored anchor without a purpose is a peer anchor)"
import_ca() {
	local label=$1 purpose=$2 file=$3
	shift 3
	if [ "$has_purpose" = 1 ]; then
		succeeds "import-ca $label" env "$@" "$RP" cert -d "$W/victor" import-ca --label "$label" --purpose "$purpose" "$file"
	else
		succeeds "import-ca $label" env "$@" "$RP" cert -d "$W/victor" import-ca --label "$label" "$file"
	fi
}

# ---- carol's certificates --------------------------------------------------
succeeds "cert request on carol" "$RP" cert -d "$W/carol" request --out "$W/carol.csr" --cn carol.example
install() { succeeds "install $1" env "${@:2}" "$RP" cert -d "$W/carol" install "$W/$1.pem"; }

# refused WHAT CERT MSGID REGEX [out|in]: carol presents CERT; victor refuses
# it with MSGID and REGEX in its log. 'out' (default): victor -> carol, carol
# is the TLS server; 'in': carol -> victor, carol is the TLS client.
refused() {
	local what=$1 cert=$2 id=$3 re=$4 dir=${5:-out} n out fp
	fp=$(fingerprint "$W/$cert.pem")
	n=$(wc -l <"$W/victor.log")
	if [ "$dir" = out ]; then
		out=$(adm victor PING SERVER carol.example)
		expect_eq "$(jget 'j["ok"]' <<<"$out")" false "$what: victor's PING to carol fails"
		expect_eq "$(jget 'j["message_id"]' <<<"$out")" "$id" "$what: victor refuses with $id"
	else
		out=$(adm carol PING SERVER victor)
		expect_eq "$(jget 'j["ok"]' <<<"$out")" false "$what: carol's PING to victor fails"
	fi
	wait_until 5 eval "tail -n +$((n + 1)) '$W/victor.log' | grep -q '$fp'" ||
		die "$what: victor's log does not name $fp: $(tail -n +$((n + 1)) "$W/victor.log")"
	line=$(tail -n +$((n + 1)) "$W/victor.log" | grep "$fp" | tail -1)
	expect_contains "$line" "$id" "$what: victor's log line has $id"
	expect_contains "$line" "$re" "$what: victor's log says why ($re)"
	expect_not_contains "$(tail -n +$((n + 1)) "$W/victor.log")" "RPL0422I.*carol" "$what: no session with carol was established"
}
accepted() {
	local what=$1 out
	out=$(adm victor PING SERVER carol.example) || die "$what: PING victor -> carol failed: $out"
	expect_eq "$(jget 'j["ok"]' <<<"$out")" true "$what: victor's PING to carol succeeds"
	n=$(wc -l <"$W/victor.log")
	out=$(adm carol PING SERVER victor) || die "$what: PING carol -> victor failed: $out"
	wait_until 5 eval "tail -n +$((n + 1)) '$W/victor.log' | grep -q 'from server carol.example .*certificate by ca'" ||
		die "$what: victor's log has no session from carol verified by ca: $(tail -n +$((n + 1)) "$W/victor.log")"
	ok "$what: carol -> victor accepted by ca as well"
}

# No anchor yet: carol's self-signed certificate is not vouched for.
cp "$W/carol/cert256.pem" "$W/selfsigned.pem"
refused "no anchor" selfsigned RPL0430E "no trust anchor of the right purpose"

import_ca peerca peer "$W/ca-peer/ca.pem"

# ---- the legitimate certificate ------------------------------------------------
issue peer good "/CN=carol.example" "$LEAF\nsubjectAltName=DNS:carol.example"
install good
out=$(adm victor PING SERVER carol.example) || die "PING victor -> carol with the CA-signed certificate failed: $out"
expect_eq "$(jget 'j["verified_by"]' <<<"$out")" ca "the CA-signed partner is verified by ca"
accepted "CA-signed certificate naming the partner"
expect_eq "$(srv_field victor carol.example 's["pins"]')" "[]" "a VERIFY=CA partner is not pinned"
romeo_ok "after carol's first session"

# ---- names -----------------------------------------------------------------
issue peer cnonly "/CN=CAROL.Example" "$LEAF"
install cnonly
accepted "CN-only leaf, CN in other case"

issue peer sanother "/CN=carol.example" "$LEAF\nsubjectAltName=DNS:dave.example"
install sanother
refused "SAN naming another server (CN names carol)" sanother RPL0430E "does not name carol.example"

issue peer star "/CN=carol.example" "$LEAF\nsubjectAltName=DNS:*"
install star
refused "SAN *" star RPL0430E "does not name carol.example"

issue peer starexample "/CN=carol.example" "$LEAF\nsubjectAltName=DNS:*.example"
install starexample
refused "SAN *.example" starexample RPL0430E "does not name carol.example"

# ---- the leaf's flags and usages -----------------------------------------------
issue peer leafca "/CN=carol.example" \
	'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature,keyCertSign\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:carol.example'
install leafca
refused "leaf CA:TRUE" leafca RPL0430E "is a CA certificate"

issue peer nodigsig "/CN=carol.example" \
	'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,keyAgreement\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:carol.example'
install nodigsig
refused "key usage without digitalSignature" nodigsig RPL0430E "does not include digitalSignature"

issue peer clientonly "/CN=carol.example" \
	'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\nsubjectAltName=DNS:carol.example'
install clientonly
refused "EKU without serverAuth, carol as TLS server" clientonly RPL0430E "does not include serverAuth" out

issue peer serveronly "/CN=carol.example" \
	'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:carol.example'
install serveronly
refused "EKU without clientAuth, carol as TLS client" serveronly RPL0430E "does not include clientAuth" in

# ---- the path ------------------------------------------------------------------
issue inter viainter "/CN=carol.example" "$LEAF\nsubjectAltName=DNS:carol.example"
install viainter
# The partner presents its leaf only (cert install keeps one certificate):
# an intermediate that is not imported leaves the path open.
refused "leaf from an intermediate that is not imported" viainter RPL0430E "not signed by an imported trust anchor"
# Imported as an anchor of its own, the intermediate vouches for the leaf.
import_ca inter peer "$W/ca-inter/ca.pem"
accepted "leaf from an intermediate imported as an anchor"
succeeds "delete the intermediate anchor" "$RP" cert -d "$W/victor" delete --label inter
refused "leaf from an intermediate after its anchor was deleted" viainter RPL0430E "not signed by an imported trust anchor"

fails 1 RPL0302E "import-ca refuses an intermediate without the CA flag" \
	"$RP" cert -d "$W/victor" import-ca --label notca --purpose peer "$W/ca-notca/ca.pem"
issue notca vianotca "/CN=carol.example" "$LEAF\nsubjectAltName=DNS:carol.example"
install vianotca
refused "leaf from an intermediate without the CA flag" vianotca RPL0430E "not signed by an imported trust anchor"

import_ca len0 peer "$W/ca-len0/ca.pem"
issue under0 viaunder0 "/CN=carol.example" "$LEAF\nsubjectAltName=DNS:carol.example"
install viaunder0
# Refused; as the partner cannot send the intermediate, the path stops
# before the path-length check (tests/unit/test_trust.c proves that one).
refused "leaf under an intermediate below a path-length-0 anchor" viaunder0 RPL0430E "not signed by an imported trust anchor"

# The expired anchor was imported while it was valid (the CLI's clock set
# back to 2020-06-01).
import_ca oldca peer "$W/ca-old/ca.pem" REPLPEER_CLOCK_OFFSET=$((1590969600 - $(date +%s)))
issue old viaold "/CN=carol.example" "$LEAF\nsubjectAltName=DNS:carol.example"
install viaold
refused "leaf from an expired anchor" viaold RPL0430E "the trust anchor expired on 2021-01-01T00:00:00Z"

issue twin viatwin "/CN=carol.example" "$LEAF\nsubjectAltName=DNS:carol.example"
install viatwin
refused "leaf from another CA with the same name" viatwin RPL0430E "not signed by an imported trust anchor"

# Not yet valid: installed with carol's CLI two days ahead.
nb=$(utc $((2 * 86400)))
issue peer future "/CN=carol.example" "$LEAF\nsubjectAltName=DNS:carol.example" "$nb" "$(utc $((200 * 86400)))"
install future REPLPEER_CLOCK_OFFSET=$((3 * 86400))
nb_iso=$(date -u -d "@$(($(date +%s) + 2 * 86400))" +%Y-%m-%d)
refused "leaf not yet valid" future RPL0431E "valid only from ${nb_iso}T.*until"

# ---- back to the legitimate certificate -------------------------------------------
install good
accepted "the legitimate certificate again after the refusals"
romeo_ok "after the CA cases"

# ---- FORCESYNC on a VERIFY=CA partner ---------------------------------------------
# The mark does not turn the chain check into a first contact: for a
# VERIFY=CA partner it means both password proofs again, and the session
# that completes them clears it.
n=$(wc -l <"$W/victor.log")
adm victor UPDATE SERVER carol.example FORCESYNC=YES >/dev/null || die "UPDATE SERVER carol.example FORCESYNC=YES failed"
wait_until 10 eval "tail -n +$((n + 1)) '$W/victor.log' | grep -q 'FORCESYNC with server carol.example completed'" ||
	die "the FORCESYNC session with carol did not run: $(tail -n +$((n + 1)) "$W/victor.log")"
out=$(adm victor PING SERVER carol.example) || die "PING victor -> carol after FORCESYNC failed: $out"
expect_eq "$(jget 'j["verified_by"]' <<<"$out")" ca "after FORCESYNC the VERIFY=CA partner is still verified by ca"
expect_eq "$(srv_field victor carol.example 's["pins"]')" "[]" "FORCESYNC pinned nothing for the VERIFY=CA partner"
pending=$(srv_field victor carol.example 's["forcesync_pending"]')
expect_eq "$pending" false "the FORCESYNC mark of a VERIFY=CA partner is cleared by the session that completed it"

# ---- an anchor of purpose ldap -----------------------------------------------------
if [ "$has_purpose" = 1 ]; then
	import_ca ldapca ldap "$W/ca-ldap/ca.pem"
	issue ldap vialdap "/CN=carol.example" "$LEAF\nsubjectAltName=DNS:carol.example"
	install vialdap
	refused "leaf from an anchor of purpose ldap" vialdap RPL0430E "not signed by an imported trust anchor of this purpose"
	install good
	accepted "the legitimate certificate after the ldap case"
else
	echo "SKIP anchor of purpose ldap: 'replpeer cert import-ca' has no --purpose option yet (cmd/cmd_cert.c); DESIGN documents 'import-ca --label L [--purpose peer|ldap] FILE'"
fi

# ---- a VERIFY=PIN partner presenting a CA-signed certificate --------------------
# The impostor has romeo's name and password, a key of its own, and a
# certificate from the imported CA that names romeo.
"$RP" cert -d "$W/rimp" request --out "$W/rimp.csr" --cn romeo >/dev/null || die "cert request on the impostor"
printf '[ x ]\n%b\n' "$LEAF\nsubjectAltName=DNS:romeo" >"$W/rimp.ext"
openssl ca -batch -config "$W/ca-peer/ca.cnf" -cert "$W/ca-peer/ca.pem" -keyfile "$W/ca-peer/ca.key" \
	-in "$W/rimp.csr" -out "$W/rimp-ca.pem" -startdate "$(utc -3600)" -enddate "$(utc $((100 * 86400)))" \
	-subj /CN=romeo -extfile "$W/rimp.ext" -extensions x -notext >/dev/null 2>&1 || die "openssl ca: impostor"
succeeds "install on the impostor" "$RP" cert -d "$W/rimp" install "$W/rimp-ca.pem"
rimp_fp=$(fingerprint "$W/rimp-ca.pem")
start_peer rimp
adm rimp "DEFINE SERVER victor HLADDRESS=127.0.0.1 LLADDRESS=$pv SERVERPASSWORD=$(cat "$W/victor.pw")" >/dev/null ||
	die "define victor on the impostor"
before=$(pins_json victor romeo)
# impostor -> victor
n=$(wc -l <"$W/victor.log")
out=$(adm rimp PING SERVER victor)
expect_eq "$(jget 'j["ok"]' <<<"$out")" false "the impostor's PING to victor fails"
wait_until 5 eval "tail -n +$((n + 1)) '$W/victor.log' | grep -q '$rimp_fp'" || die "victor's log does not name the impostor's certificate"
line=$(tail -n +$((n + 1)) "$W/victor.log" | grep "$rimp_fp" | tail -1)
expect_contains "$line" "RPL0403E" "CA-signed impostor of a VERIFY=PIN partner, inbound: refused as unknown (RPL0403E)"
expect_contains "$line" "$romeo_fp" "the refusal names romeo's pinned certificate"
# victor -> impostor
expect_rc 0 adm victor UPDATE SERVER romeo "LLADDRESS=$pi"
out=$(adm victor PING SERVER romeo)
expect_eq "$(jget 'j["message_id"]' <<<"$out")" RPL0403E "CA-signed impostor of a VERIFY=PIN partner, outbound: refused as unknown (RPL0403E)"
msg=$(jget 'j.get("message", "")' <<<"$out")
expect_contains "$msg" "$rimp_fp" "the refusal names the impostor's certificate"
expect_contains "$msg" "$romeo_fp" "the refusal names the pinned certificate"
expect_rc 0 adm victor UPDATE SERVER romeo "LLADDRESS=$pr"
expect_eq "$(pins_json victor romeo)" "$before" "victor's pins for romeo are unchanged by the impostor"
romeo_ok "after the impostor"
no_crash victor
