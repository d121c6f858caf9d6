#!/usr/bin/env bash
# The message table in README.md is the one in util/msgs.def, and no message
# ID is used twice.
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/../.." || die "no source tree"
python3 scripts/msgtable.py --check README.md || die "README.md message table is stale"
ok "README message table equals util/msgs.def"
dups=$(grep -oE '"RPL[0-9]{4}[IWE]"' util/msgs.def | sort | uniq -d)
[ -z "$dups" ] || die "message IDs used twice: $dups"
ok "every message ID is used once"
