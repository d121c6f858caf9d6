#!/usr/bin/env bash
# The service as 'make install' lays it out: the unit runs the installed
# binary (PREFIX substituted, 'systemd-analyze verify' passes), its sandbox
# rates 4.0 or lower in 'systemd-analyze security', and the sysusers.d and
# tmpfiles.d entries make the user replpeer and /var/lib/replpeer (0700,
# owned by it) — tried in a scratch root, not on this machine.
. "$(dirname "$0")/lib.sh"
repo=$(cd "$(dirname "$0")/../.." && pwd)

if ! command -v systemd-analyze >/dev/null; then
	echo "SKIP systemd-analyze is not installed ('make deps' installs the package systemd)"
	exit 0
fi

# The binary under test, copied as it is; no build from inside a test.
pfx=$W/pfx
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$repo" install-files PREFIX="$pfx" BIN="$RP" \
	>"$W/install.out" 2>&1 || die "make install-files: $(cat "$W/install.out")"
unit=$pfx/lib/systemd/system/replpeer.service
[ -f "$unit" ] || die "no unit installed at $unit"
expect_eq "$(sed -n 's/^ExecStart=//p' "$unit")" "$pfx/bin/replpeer serve -d /var/lib/replpeer" \
	"the installed unit starts the installed binary (PREFIX substituted)"
expect_not_contains "$(cat "$unit")" '@[A-Z]+@' "no placeholder is left in the unit"
[ -x "$pfx/bin/replpeer" ] || die "the binary is not installed executable"

systemd-analyze verify "$unit" >"$W/verify.out" 2>&1 || die "systemd-analyze verify: $(cat "$W/verify.out")"
ok "systemd-analyze verify passes on the installed unit"

systemd-analyze security --offline=true "$unit" >"$W/security.out" 2>&1 ||
	die "systemd-analyze security: $(cat "$W/security.out")"
level=$(sed -n 's/.*Overall exposure level for replpeer.service: \([0-9.]*\).*/\1/p' "$W/security.out")
[ -n "$level" ] || die "no exposure level in: $(tail -3 "$W/security.out")"
echo "MEASURE systemd-analyze security --offline=true exposure: $level ($(grep -o 'Overall exposure.*' "$W/security.out"))"
python3 -c "import sys; sys.exit(0 if float('$level') <= 4.0 else 1)" ||
	die "exposure $level is above 4.0: $(grep '✗' "$W/security.out")"
ok "the unit's exposure level $level is 4.0 or lower"
for d in NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes \
	'CapabilityBoundingSet=$' 'SystemCallFilter=@system-service' 'ReadWritePaths=/var/lib/replpeer' \
	'User=replpeer'; do
	grep -qE "^$d" "$unit" || die "the unit lacks $d"
done
ok "the unit sets NoNewPrivileges, ProtectSystem=strict, ProtectHome, PrivateTmp, an empty capability set, a system-call filter and ReadWritePaths for the instance"

# sysusers.d and tmpfiles.d, applied to a scratch root.
root=$W/root
mkdir -p "$root/etc"
touch "$root/etc/passwd" "$root/etc/group" "$root/etc/shadow" "$root/etc/gshadow"
systemd-sysusers --root="$root" "$pfx/lib/sysusers.d/replpeer.conf" >"$W/sysusers.out" 2>&1 ||
	die "systemd-sysusers: $(cat "$W/sysusers.out")"
uid=$(awk -F: '$1=="replpeer"{print $3}' "$root/etc/passwd")
[ -n "$uid" ] || die "sysusers.d made no user replpeer: $(cat "$root/etc/passwd")"
expect_eq "$(awk -F: '$1=="replpeer"{print $6}' "$root/etc/passwd")" /var/lib/replpeer \
	"sysusers.d makes the system user replpeer, its home the instance directory"
systemd-tmpfiles --root="$root" --create "$pfx/lib/tmpfiles.d/replpeer.conf" >"$W/tmpfiles.out" 2>&1 ||
	die "systemd-tmpfiles: $(cat "$W/tmpfiles.out")"
expect_eq "$(stat -c '%a %u' "$root/var/lib/replpeer")" "700 $uid" \
	"tmpfiles.d makes /var/lib/replpeer mode 0700, owned by replpeer"
