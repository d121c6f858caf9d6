#!/usr/bin/env bash
# Foundation acceptance 5: 'db backup' then 'db restore' into a new directory
# gives an instance with identical 'cert show' output that can still unseal
# its private key; a wrong password, a truncated or damaged file and a
# non-empty target are refused with a message ID and write nothing.
source "$(dirname "$0")/lib.sh"

# A target that must not exist afterwards.
absent() { [ ! -e "$1" ] || die "$2: $1 was created: $(ls -la "$1")"; }
restore() { "$RP" db restore --in "$1" -d "$2" --password-file "${3:-$W/backup.pw}"; }

init_peer alpha 1621
A=$W/alpha
# days_left in 'cert show' drops to 3649 one second after creation: let that
# happen before anything is compared.
sleep 1
printf 'backup-password-1\n' >"$W/backup.pw"
printf 'backup-password-2\n' >"$W/wrong.pw"

succeeds "db backup" "$RP" db -d "$A" backup --out "$W/alpha.bak" --password-file "$W/backup.pw"
grep -q RPL0704I "$W/out" || die "backup did not report RPL0704I: $(cat "$W/out")"
[ -s "$W/alpha.bak" ] || die "no backup file"
ok "db backup writes the backup"
expect_eq "$(stat -c %a "$W/alpha.bak")" 600 "the backup file is mode 0600"
ls "$W"/alpha.bak.* >/dev/null 2>&1 && die "backup left a temporary file"

succeeds "db restore" restore "$W/alpha.bak" "$W/copy"
grep -q RPL0705I "$W/out" || die "restore did not report RPL0705I: $(cat "$W/out")"
ok "db restore into a new directory succeeds"

succeeds "cert show original" "$RP" cert -d "$A" show
orig_show=$(cat "$W/out")
succeeds "cert show restored" "$RP" cert -d "$W/copy" show
expect_eq "$(cat "$W/out")" "$orig_show" "the restored instance has identical cert show output"
succeeds "cert list original" "$RP" cert -d "$A" list --json
orig_list=$(cat "$W/out")
succeeds "cert list restored" "$RP" cert -d "$W/copy" list --json
expect_eq "$(cat "$W/out")" "$orig_list" "the restored instance has identical cert list output"

cmp -s "$A/replpeer.conf" "$W/copy/replpeer.conf" || die "replpeer.conf differs after restore"
cmp -s "$A/master.key" "$W/copy/master.key" || die "master.key differs after restore"
cmp -s "$A/cert256.pem" "$W/copy/cert256.pem" || die "cert256.pem differs after restore"
ok "replpeer.conf, master.key and cert256.pem are restored"
expect_eq "$(stat -c %a "$W/copy/master.key")" 600 "the restored master.key is mode 0600"

# Unsealing: a request needs the private key in clear.
succeeds "cert request on the copy" "$RP" cert -d "$W/copy" request --out "$W/copy.csr"
expect_contains "$(openssl req -in "$W/copy.csr" -noout -verify 2>&1)" 'verify OK' \
	"the restored instance unseals its private key and signs a request"
expect_eq "$(openssl req -in "$W/copy.csr" -noout -pubkey)" "$(openssl x509 -in "$A/cert256.pem" -noout -pubkey)" \
	"the request from the copy carries the original key"

# --- wrong password --------------------------------------------------------
fails 1 RPL0701E "a wrong password exits 1 with RPL0701E" restore "$W/alpha.bak" "$W/wrong1" "$W/wrong.pw"
absent "$W/wrong1" "wrong password"
ok "a wrong password creates no target directory"
mkdir "$W/wrong2"
fails 1 RPL0701E "a wrong password into an empty directory is refused" restore "$W/alpha.bak" "$W/wrong2" "$W/wrong.pw"
expect_eq "$(ls -A "$W/wrong2")" "" "a wrong password leaves the target directory empty"

# --- non-empty target ------------------------------------------------------
mkdir "$W/busy"
echo keep >"$W/busy/notes.txt"
fails 1 RPL0703E "restore into a non-empty directory is refused" restore "$W/alpha.bak" "$W/busy"
expect_eq "$(ls -A "$W/busy")" "notes.txt" "the non-empty directory is left as it was"
fails 1 RPL0703E "restore over an existing instance is refused" restore "$W/alpha.bak" "$A"
expect_eq "$(fingerprint "$A/cert256.pem")" "$(fingerprint "$W/copy/cert256.pem")" "the existing instance is untouched"

# --- truncated and damaged files -------------------------------------------
size=$(stat -c %s "$W/alpha.bak")
[ "$size" -gt 200 ] || die "backup suspiciously small ($size bytes)"
for cut in 0 20 56 60 100 $((size / 2)) $((size - 17)) $((size - 1)); do
	head -c "$cut" "$W/alpha.bak" >"$W/cut.bak"
	fails 1 'RPL070[12]E' "a backup truncated to $cut of $size bytes is refused" restore "$W/cut.bak" "$W/cut$cut"
	absent "$W/cut$cut" "truncated backup"
done
ok "no truncated backup wrote anything"

python3 -c 'import sys; b=bytearray(open(sys.argv[1],"rb").read()); b[len(b)//2]^=1; open(sys.argv[2],"wb").write(b)' \
	"$W/alpha.bak" "$W/flipped.bak"
fails 1 RPL0701E "a backup with one flipped bit is refused" restore "$W/flipped.bak" "$W/flipped"
absent "$W/flipped" "damaged backup"
cat "$W/alpha.bak" "$W/alpha.bak" >"$W/doubled.bak"
fails 1 RPL0702E "a backup followed by extra data is refused" restore "$W/doubled.bak" "$W/doubled"
absent "$W/doubled" "backup with trailing data"
fails 1 RPL0702E "a file that is not a backup is refused" restore "$A/cert256.pem" "$W/notbak"
absent "$W/notbak" "not a backup"
fails 1 RPL0003E "a missing backup file is refused" restore "$W/nosuch.bak" "$W/nosuch"
absent "$W/nosuch" "missing backup"

# --- backup refusals ------------------------------------------------------
printf 'short\n' >"$W/short.pw"
fails 1 RPL0009E "a backup password under 8 characters is refused" \
	"$RP" db -d "$A" backup --out "$W/short.bak" --password-file "$W/short.pw"
absent "$W/short.bak" "short password"
fails 1 RPL0101E "backup of a directory without an instance is refused" \
	"$RP" db -d "$W/nowhere" backup --out "$W/nowhere.bak" --password-file "$W/backup.pw"
absent "$W/nowhere.bak" "backup without instance"
