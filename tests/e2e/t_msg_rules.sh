#!/usr/bin/env bash
# The message table's rules, checked on the sources (scripts/msgcheck.py):
# IDs used once, names that say their severity carry that letter, every
# error has a hint (the README promises one), log_error/log_warn/log_info
# take only a message of their own letter (codes in variables go through
# log_code, whose level is the code's letter), admin_ok never answers
# with an error and admin_error only with one. lib.sh checks the same rule
# at run time on every daemon log of every scenario.
. "$(dirname "$0")/lib.sh"
repo=$(cd "$(dirname "$0")/../.." && pwd)
out=$(python3 "$repo/scripts/msgcheck.py" "$repo") || die "message rules broken:
$out"
ok "$(tail -1 <<<"$out")"
