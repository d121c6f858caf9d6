#!/bin/sh
# Installs the Debian packages replpeer needs when any is missing.
# Non-interactive; works as root on a fresh Debian 12 machine (uses sudo
# when not root and sudo exists). FUZZ=1 (make deps FUZZ=1, make fuzz) adds
# clang and its libFuzzer runtime, which only 'make fuzz' needs.
set -e
PKGS="build-essential pkg-config libwolfssl-dev libuv1-dev liblmdb-dev \
libjansson-dev check openssl gnutls-bin python3 lmdb-utils"
# systemd-analyze, systemd-sysusers and systemd-tmpfiles check the service files
PKGS="$PKGS systemd"
[ -n "${FUZZ:-}" ] && PKGS="$PKGS clang libclang-rt-dev"
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
if ! $SUDO apt-get install -y -q --no-install-recommends $missing; then
	$SUDO apt-get update -q
	$SUDO apt-get install -y -q --no-install-recommends $missing
fi
