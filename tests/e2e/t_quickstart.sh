#!/usr/bin/env bash
# The README's quick start, run as written (the first code block after
# "## Quick start", with ./replpeer, /srv and the two ports replaced): every
# line succeeds, the password files are private (0600), each daemon logs
# to its own file, and the last lines stop both daemons cleanly.
. "$(dirname "$0")/lib.sh"
repo=$(cd "$(dirname "$0")/../.." && pwd)

pa=$(port); pb=$(port)
python3 - "$repo/README.md" "$RP" "$W" "$pa" "$pb" >"$W/qs.sh" <<'PY' || die "no quick start block in README.md"
import re, sys
readme, rp, w, pa, pb = sys.argv[1:]
text = open(readme).read()
block = re.search(r"^## Quick start\n.*?^```\n(.*?)^```", text, re.S | re.M).group(1)
out = ["set -e", "cd '%s'" % w]
for line in block.splitlines():
    if line.startswith("make"):
        continue  # the binary under test is given
    line = line.replace("./replpeer", "'%s'" % rp).replace("/srv/", w + "/srv/")
    line = re.sub(r"\b1500\b", pa, line)
    line = re.sub(r"\b1501\b", pb, line)
    if re.search(r"&\s*(#.*)?$", line):  # a daemon: remember it for the cleanup
        line = re.sub(r"&\s*(#.*)?$", "& echo $! >>qs.pids", line)
    out.append(line)
print("\n".join(out))
PY
grep -q 'serve' "$W/qs.sh" || die "the quick start starts no daemon: $(cat "$W/qs.sh")"
bash "$W/qs.sh" >"$W/qs.out" 2>"$W/qs.err"
rc=$?
for p in $(cat "$W/qs.pids" 2>/dev/null); do PIDS+=("$p"); done   # stopped by lib.sh if still running
[ "$rc" -eq 0 ] || die "the quick start failed (exit $rc): $(tail -5 "$W/qs.err")"
ok "every line of the quick start succeeds ($(grep -c . "$W/qs.sh") lines)"

expect_eq "$(stat -c %a "$W/a.pw") $(stat -c %a "$W/b.pw")" "600 600" "the password files are private (0600)"
for n in alpha bravo; do
	grep -q 'RPL0420I server' "$W/$n.log" || die "$n.log does not hold the daemon's log"
done
ok "each daemon logs to its own file, not to the terminal"
expect_not_contains "$(cat "$W/qs.err")" 'RPL0420I' "the terminal gets no daemon log lines"
expect_contains "$(cat "$W/qs.out")" 'RPL0602I' "RENEW ... WAIT=YES reports the new certificate current"
for p in $(cat "$W/qs.pids"); do
	! kill -0 "$p" 2>/dev/null || die "daemon $p still runs after the quick start's last line"
done
ok "the last lines stop both daemons (HALT, then wait)"
expect_contains "$(cat "$W/alpha.log")" 'RPL0421I server ALPHA halted' "ALPHA logged that it halted"
