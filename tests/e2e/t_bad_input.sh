#!/usr/bin/env bash
# Foundation acceptance 6: bad input gets a clear error with a message ID on
# stderr and exit status 2 (usage) or 1 (operational), never a crash —
# unknown subcommands and options, a missing instance directory, init over an
# existing instance, corrupt PEM, truncated DER, a non-CA certificate for
# import-ca, replpeer.conf with an unknown key or a bad value (the message
# names the line), and damaged master.key or data.mdb.
source "$(dirname "$0")/lib.sh"

# fails RC MSGID WHAT CMD...: CMD exits RC (1 or 2) and names MSGID on stderr.

init_peer alpha 1631
A=$W/alpha
cp "$A/replpeer.conf" "$W/conf.orig"
cp "$A/master.key" "$W/master.orig"
fp=$(fingerprint "$A/cert256.pem")

# --- command line (exit 2) --------------------------------------------------
fails 2 RPL0001E "unknown subcommand" "$RP" frobnicate
fails 2 RPL0001E "unknown cert action" "$RP" cert -d "$A" frobnicate
fails 2 RPL0001E "unknown db action" "$RP" db -d "$A" frobnicate
fails 2 RPL0001E "unknown option" "$RP" init -d "$W/x" --name x --bogus
fails 2 RPL0001E "option without its value" "$RP" cert -d
fails 2 RPL0001E "init without --name" "$RP" init -d "$W/x"
fails 2 RPL0001E "init with a port out of range" "$RP" init -d "$W/x" --name x --port 70000
fails 2 RPL0001E "cert without -d" "$RP" cert show
fails 2 RPL0001E "cert without an action" "$RP" cert -d "$A"
fails 2 RPL0001E "cert show with an extra argument" "$RP" cert -d "$A" show extra
fails 2 RPL0001E "cert request without --out" "$RP" cert -d "$A" request
fails 2 RPL0001E "cert import-ca without --label" "$RP" cert -d "$A" import-ca "$A/cert256.pem"
fails 2 RPL0001E "cert import-ca without --purpose" "$RP" cert -d "$A" import-ca --label x "$A/cert256.pem"
fails 2 RPL0001E "cert import-ca with an unknown --purpose" "$RP" cert -d "$A" import-ca --label x --purpose web "$A/cert256.pem"
fails 2 RPL0001E "db without an action" "$RP" db -d "$A"
[ ! -e "$W/x" ] || die "a usage error created $W/x"
ok "no usage error created anything"

# --- missing or empty instance directory (exit 1) ---------------------------
fails 1 RPL0101E "cert show on a missing directory" "$RP" cert -d "$W/missing" show
fails 1 RPL0101E "cert list on a missing directory" "$RP" cert -d "$W/missing" list
mkdir "$W/empty"
fails 1 RPL0101E "cert show on an empty directory" "$RP" cert -d "$W/empty" show
[ ! -e "$W/missing" ] && [ -z "$(ls -A "$W/empty")" ] || die "a failed open created files"
ok "opening a missing instance creates nothing"

# --- init --------------------------------------------------------------------
fails 1 RPL0102E "init over an existing instance" \
	"$RP" init -d "$A" --name other --password-file "$W/alpha.pw"
cmp -s "$A/replpeer.conf" "$W/conf.orig" && cmp -s "$A/master.key" "$W/master.orig" &&
	[ "$(fingerprint "$A/cert256.pem")" = "$fp" ] || die "init changed the existing instance"
ok "the existing instance is unchanged"
mkdir "$W/used"
echo data >"$W/used/file.txt"
fails 1 RPL0102E "init into a non-empty directory" \
	"$RP" init -d "$W/used" --name other --password-file "$W/alpha.pw"
expect_eq "$(ls -A "$W/used")" "file.txt" "the non-empty directory is unchanged"
fails 1 RPL0108E "init with an invalid server name" \
	"$RP" init -d "$W/n1" --name 'bad/name' --password-file "$W/alpha.pw"
printf 'short\n' >"$W/short.pw"
fails 1 RPL0009E "init with a too short password" \
	"$RP" init -d "$W/n2" --name n2 --password-file "$W/short.pw"
fails 1 RPL0008E "init with a missing password file" \
	"$RP" init -d "$W/n3" --name n3 --password-file "$W/nosuch.pw"
for d in n1 n2 n3; do [ ! -e "$W/$d" ] || die "a failed init left $W/$d"; done
ok "a failed init leaves no directory behind"

# --- certificate files ---------------------------------------------------------
printf -- '-----BEGIN CERTIFICATE-----\nnot base64 at all !!!\n-----END CERTIFICATE-----\n' >"$W/garbage.pem"
head -c 300 "$A/cert256.pem" >"$W/cut.pem"
echo '-----END CERTIFICATE-----' >>"$W/cut.pem"
: >"$W/empty.pem"
head -c 700 /dev/urandom >"$W/random.bin"
openssl x509 -in "$A/cert256.pem" -outform DER -out "$W/cert.der"
size=$(stat -c %s "$W/cert.der")
for f in garbage.pem cut.pem empty.pem random.bin; do
	fails 1 RPL0301E "import-ca refuses $f" "$RP" cert -d "$A" import-ca --label bad --purpose peer "$W/$f"
	fails 1 RPL0301E "install refuses $f" "$RP" cert -d "$A" install "$W/$f"
done
fails 1 RPL0301E "import-peer refuses a corrupt PEM" "$RP" cert -d "$A" import-peer --server x "$W/garbage.pem"
for cut in 1 10 $((size / 2)) $((size - 1)); do
	head -c "$cut" "$W/cert.der" >"$W/trunc.der"
	fails 1 RPL0301E "import-ca refuses DER truncated to $cut of $size bytes" \
		"$RP" cert -d "$A" import-ca --label bad --purpose peer "$W/trunc.der"
	fails 1 RPL0301E "install refuses DER truncated to $cut of $size bytes" \
		"$RP" cert -d "$A" install "$W/trunc.der"
done
fails 1 RPL0302E "import-ca refuses a certificate that is not a CA" \
	"$RP" cert -d "$A" import-ca --label leaf --purpose peer "$A/cert256.pem"
fails 1 RPL0003E "import-ca of a missing file" "$RP" cert -d "$A" import-ca --label x --purpose peer "$W/nosuch.pem"
fails 1 RPL0306E "show of an unknown label" "$RP" cert -d "$A" show --label no-such-label
succeeds "cert list" "$RP" cert -d "$A" list --json
expect_eq "$(jget 'len(j)' <"$W/out")" 1 "no refused file was stored"
expect_eq "$(fingerprint "$A/cert256.pem")" "$fp" "no refused file changed the certificate"

# --- replpeer.conf ----------------------------------------------------------
# conf_case LINE TEXT RC MSGID WHAT: TEXT inserted as line LINE must be refused
# naming that line.
conf_case() {
	local line=$1 text=$2 rc=$3 id=$4 what=$5
	cp "$W/conf.orig" "$A/replpeer.conf"
	sed -i "${line}i $text" "$A/replpeer.conf"
	[ "$(sed -n "${line}p" "$A/replpeer.conf")" = "$text" ] || die "could not place '$text' on line $line"
	fails "$rc" "$id" "$what" "$RP" cert -d "$A" show
	grep -qF "replpeer.conf:$line:" "$W/err" || die "$what: the message does not name replpeer.conf:$line: $(cat "$W/err")"
	ok "$what: the message names replpeer.conf:$line:"
}
conf_case 7 "BOGUSKEY 1" 1 RPL0103E "replpeer.conf with an unknown key"
conf_case 12 "TCPPORT 99999" 1 RPL0104E "replpeer.conf with a port out of range"
conf_case 3 "KEYTYPE DSA-1024" 1 RPL0104E "replpeer.conf with an unknown KEYTYPE"
conf_case 20 "SSLTLS13 perhaps" 1 RPL0104E "replpeer.conf with a bad YES/NO value"
conf_case 1 "CERTVALIDITYDAYS ten" 1 RPL0104E "replpeer.conf with a non-numeric value"
conf_case 9 "LOGLEVEL" 1 RPL0104E "replpeer.conf with a key and no value"
conf_case 30 "DBMAXSIZE 12Q" 1 RPL0104E "replpeer.conf with a bad size"
grep -v '^SERVERNAME' "$W/conf.orig" >"$A/replpeer.conf"
fails 1 RPL0105E "replpeer.conf without SERVERNAME" "$RP" cert -d "$A" show
cp "$W/conf.orig" "$A/replpeer.conf"
succeeds "cert show with the original conf" "$RP" cert -d "$A" show
ok "the instance opens again with its original replpeer.conf"

# --- master.key ---------------------------------------------------------------
chmod 0644 "$A/master.key"
fails 1 RPL0106E "master.key readable by others is refused" "$RP" cert -d "$A" show
chmod 0600 "$A/master.key"
head -c 31 "$W/master.orig" >"$A/master.key"
fails 1 RPL0106E "master.key of the wrong size is refused" "$RP" cert -d "$A" show
rm "$A/master.key"
fails 1 RPL0106E "a missing master.key is refused" "$RP" cert -d "$A" show
init_peer beta 1632
cp "$W/beta/master.key" "$A/master.key"
chmod 0600 "$A/master.key"
fails 1 RPL0107E "another instance's master.key cannot unseal the private key" \
	"$RP" cert -d "$A" request --out "$W/never.csr"
[ ! -e "$W/never.csr" ] || die "a request was written without the key"
cp "$W/master.orig" "$A/master.key"
chmod 0600 "$A/master.key"
succeeds "cert request with the right master.key" "$RP" cert -d "$A" request --out "$W/ok.csr"
ok "the instance works again with its own master.key"

# --- data.mdb ------------------------------------------------------------------
damaged() { rm -rf "$W/dmg"; cp -r "$A" "$W/dmg"; rm -f "$W/dmg/lock.mdb"; }
damaged
truncate -s 8192 "$W/dmg/data.mdb"
fails 1 RPL0205E "a truncated data.mdb is refused" "$RP" cert -d "$W/dmg" show
damaged
truncate -s $(($(stat -c %s "$W/dmg/data.mdb") - 4096)) "$W/dmg/data.mdb"
fails 1 RPL0205E "a data.mdb missing its last page is refused" "$RP" cert -d "$W/dmg" list
damaged
head -c 65536 /dev/urandom >"$W/dmg/data.mdb"
fails 1 'RPL0[0-9]{3}E' "a data.mdb of random bytes is refused" "$RP" cert -d "$W/dmg" show
damaged
rm "$W/dmg/data.mdb"
fails 1 RPL0101E "a missing data.mdb is refused" "$RP" cert -d "$W/dmg" show
