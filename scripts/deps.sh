#!/bin/sh
# Installs the Debian packages replpeer needs when any is missing.
# Non-interactive; works as root on a fresh Debian 12 machine (uses sudo
# when not root and sudo exists). FUZZ=1 (make deps FUZZ=1, make fuzz) adds
# clang and its libFuzzer runtime, which only 'make fuzz' needs; BENCH=1
# (make bench) adds openssh-server and rsync, the anchor of the replication
# bench (bench/repl.sh starts its own sshd on loopback; the system's ssh
# service is stopped and disabled like slapd's).
#
# slapd is installed only so that the tests can start their own LDAP server
# on loopback (tests/e2e/t_ldap.sh). The system's own slapd must not be left
# running: while apt runs, a policy-rc.d that exits 101 keeps invoke-rc.d
# from starting it, and afterwards the system instance is stopped and
# disabled should it run anyway (systemd or sysvinit).
set -e
PKGS="build-essential pkg-config libwolfssl-dev libuv1-dev liblmdb-dev \
libjansson-dev libedit-dev check openssl gnutls-bin python3 lmdb-utils slapd ldap-utils"
# systemd-analyze, systemd-sysusers and systemd-tmpfiles check the service files
PKGS="$PKGS systemd"
[ -n "${FUZZ:-}" ] && PKGS="$PKGS clang libclang-rt-dev"
[ -n "${BENCH:-}" ] && PKGS="$PKGS openssh-server rsync"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
SUDO=""
if [ "$(id -u)" != 0 ]; then
	if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
		echo "deps: missing packages:$missing; run 'make deps' as root" >&2
		exit 1
	fi
fi
export DEBIAN_FRONTEND=noninteractive

# No service started by the packages (policy-rc.d, see invoke-rc.d(8)); an
# existing policy-rc.d of the system is kept and put back afterwards.
POLICY=/usr/sbin/policy-rc.d
SAVED=""
if [ -e "$POLICY" ] || [ -L "$POLICY" ]; then
	SAVED="$POLICY.replpeer-saved.$$"
	$SUDO mv "$POLICY" "$SAVED"
fi
restore_policy() {
	$SUDO rm -f "$POLICY"
	[ -z "$SAVED" ] || $SUDO mv "$SAVED" "$POLICY"
}
trap restore_policy EXIT
printf '#!/bin/sh\n# replpeer deps.sh: no service starts while packages install\nexit 101\n' |
	$SUDO tee "$POLICY" >/dev/null
$SUDO chmod 0755 "$POLICY"

if ! $SUDO apt-get install -y -q --no-install-recommends $missing; then
	$SUDO apt-get update -q
	$SUDO apt-get install -y -q --no-install-recommends $missing
fi
restore_policy
trap - EXIT

# The system's slapd: stopped and kept from starting at boot. The tests
# start their own, unprivileged, from a private slapd.conf.
case "$missing" in *slapd*)
	if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
		$SUDO systemctl stop slapd.service >/dev/null 2>&1 || true
		$SUDO systemctl disable slapd.service >/dev/null 2>&1 || true
	fi
	if [ -x /etc/init.d/slapd ]; then
		$SUDO /etc/init.d/slapd stop >/dev/null 2>&1 || true
		command -v update-rc.d >/dev/null 2>&1 && $SUDO update-rc.d slapd disable >/dev/null 2>&1 || true
	fi
	if [ -r /run/slapd/slapd.pid ] && kill -0 "$(cat /run/slapd/slapd.pid)" 2>/dev/null; then
		$SUDO kill "$(cat /run/slapd/slapd.pid)" || true
	fi
	echo "deps: slapd installed for the tests; the system's slapd service is stopped and disabled"
	;;
esac

# The system's sshd (make bench): stopped and kept from starting at boot.
case "$missing" in *openssh-server*)
	if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
		$SUDO systemctl stop ssh.service ssh.socket >/dev/null 2>&1 || true
		$SUDO systemctl disable ssh.service ssh.socket >/dev/null 2>&1 || true
	fi
	if [ -x /etc/init.d/ssh ]; then
		$SUDO /etc/init.d/ssh stop >/dev/null 2>&1 || true
		command -v update-rc.d >/dev/null 2>&1 && $SUDO update-rc.d ssh disable >/dev/null 2>&1 || true
	fi
	echo "deps: openssh-server installed for the bench; the system's ssh service is stopped and disabled"
	;;
esac
