#!/usr/bin/env bash
# The service as 'make install' lays it out: the unit runs the installed
# binary (PREFIX substituted, 'systemd-analyze verify' passes), its sandbox
# rates 4.0 or lower in 'systemd-analyze security', and the sysusers.d and
# tmpfiles.d entries make the user replpeer and /var/lib/replpeer (0700,
# owned by it) — tried in a scratch root, not on this machine. The README's
# section "Run it as a service" names the files and the ExecStart installed.
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

# The README's section "Run it as a service" describes this layout: each
# file of its table is where 'make install' put it, and the ExecStart it
# quotes is the installed unit's.
python3 - "$repo/README.md" "$pfx" "$unit" <<'PY' || die "README.md 'Run it as a service' does not match the installed files"
import os, re, sys
readme, pfx, unit = sys.argv[1:]
m = re.search(r"^## Run it as a service\n(.*?)^## ", open(readme).read(), re.S | re.M)
assert m, "no section '## Run it as a service'"
sec = m.group(1)
paths = re.findall(r"^\| (PREFIX/\S+) \|", sec, re.M)
assert len(paths) >= 4, paths
for p in paths:
    assert os.path.exists(p.replace("PREFIX", pfx, 1)), p
execstart = re.search(r"`ExecStart=([^`]+)`", sec).group(1).replace("PREFIX", pfx)
assert "ExecStart=" + execstart + "\n" in open(unit).read(), execstart
for step in ("systemd-sysusers", "systemd-tmpfiles --create", "systemctl enable --now replpeer", "systemctl stop replpeer"):
    assert step in sec, step
print("ok the README's 'Run it as a service' lists the %d installed files, the unit's ExecStart and the steps from sysusers to stop" % len(paths))
PY
