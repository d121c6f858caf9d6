#!/usr/bin/env bash
# The layers call down only (README "Architecture"): cmd -> sync -> peer ->
# peer/keys -> store -> util. Checked on the #include lines of the sources:
# peer/ includes nothing of sync/ or cmd/; peer/keys/ includes no libuv and
# none of the session or connection headers; store/ includes neither libuv
# nor wolfSSL; util/ includes nothing above it; sync/ reaches peer/ only
# through its public headers (never session_int.h).
source "$(dirname "$0")/lib.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || die "no source tree"

includes() { grep -HE '^[[:space:]]*#[[:space:]]*include' "$@" 2>/dev/null; }
none() { # WHAT FILES... PATTERN (last)
	local what=$1 pat=${*: -1} hits
	set -- "${@:2:$(($# - 2))}"
	hits=$(includes "$@" | grep -E -- "$pat")
	[ -z "$hits" ] || die "$what: $hits"
	ok "$what"
}
none "peer/ includes nothing of sync/ or cmd/" peer/*.c peer/*.h peer/keys/*.c peer/keys/*.h '"(\.\./)+(sync|cmd)/'
none "peer/keys/ includes no libuv and no session or connection header" peer/keys/*.c peer/keys/*.h \
	'<uv\.h>|"\.\./(session|session_int|conn|peer|auth|legacy|admit|dbw|adminsrv|tls)\.h"'
none "store/ includes neither libuv nor wolfSSL" store/*.c store/*.h '<uv\.h>|<wolfssl/'
none "util/ includes nothing of the layers above" util/*.c util/*.h '"\.\./(store|peer|sync|cmd)/'
none "sync/ uses only the peer layer's public headers" sync/*.c sync/*.h '"\.\./peer/session_int\.h"'
none "nothing below cmd/ includes cmd/" peer/*.c peer/keys/*.c sync/*.c store/*.c util/*.c '"(\.\./)+cmd/'
