#!/usr/bin/env bash
# The README's quick start, run as written (the first code block after
# "## Quick start", with ./replpeer, /srv and the two ports replaced): every
# line succeeds, the password files are private (0600), each daemon logs
# to its own file, and the last lines stop both daemons cleanly. Then its
# "Two hosts" block (--address), run on two loopback addresses.
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

# The quick start's "Two hosts" block, run as written with the two hosts'
# addresses (192.0.2.10, 192.0.2.20) mapped onto 127.0.0.2 and 127.0.0.3
# of this host and port 1500 onto a free one: the --address each peer
# listens on is the HLADDRESS the other defines, and both PINGs succeed.
p2=$(port)
python3 - "$repo/README.md" "$RP" "$W" "$p2" >"$W/two.sh" <<'PY' || die "no 'Two hosts' block with --address in the quick start"
import re, sys
readme, rp, w, p = sys.argv[1:]
qs = re.search(r"^## Quick start\n(.*?)^## ", open(readme).read(), re.S | re.M).group(1)
block = re.search(r"\*\*Two hosts\.\*\*.*?^```\n(.*?)^```", qs, re.S | re.M).group(1)
assert "--address" in block, block
out = ["set -e", "cd '%s'" % w]
for line in block.splitlines():
    line = re.sub(r"^(alpha|bravo)\$ ", "", line)
    line = re.sub(r"^replpeer\b", "'%s'" % rp, line)
    line = line.replace("/srv/", w + "/h2_").replace("192.0.2.10", "127.0.0.2").replace("192.0.2.20", "127.0.0.3")
    line = re.sub(r"\b1500\b", p, line)
    if " init " in line:  # the default port, 1500, on each host: here both on the free one
        line += "; printf 'TCPPORT %s\\n' >>%s/replpeer.conf" % (p, line.split(" -d ")[1].split()[0])
    out.append(line)
print("\n".join(out))
PY
printf 'alpha-server-pw\n' >"$W/a.pw"; printf 'bravo-server-pw\n' >"$W/b.pw"
# init runs first, the DEFINE lines need running daemons: run the block's
# init lines, start both, then its DEFINE lines.
grep -v ' admin ' "$W/two.sh" >"$W/two-init.sh"
(grep -E '^(set|cd) ' "$W/two.sh"; grep ' admin ' "$W/two.sh") >"$W/two-define.sh"
bash "$W/two-init.sh" >"$W/two.out" 2>&1 || die "the two-host init lines failed: $(tail -3 "$W/two.out")"
for h in alpha:127.0.0.2 bravo:127.0.0.3; do
	n=${h%%:*} a=${h#*:}
	"$RP" serve -d "$W/h2_$n" >>"$W/h2_$n.log" 2>&1 &
	PIDS+=($!)
	wait_until 10 eval "[ -S '$W/h2_$n/admin.sock' ] && (exec 3<>/dev/tcp/$a/$p2) 2>/dev/null" ||
		die "$n does not listen on $a:$p2: $(tail -3 "$W/h2_$n.log")"
done
ok "with --address each peer listens on its own host's address (127.0.0.2, 127.0.0.3 here)"
bash "$W/two-define.sh" >>"$W/two.out" 2>&1 || die "the two-host DEFINE lines failed: $(tail -3 "$W/two.out")"
for pair in alpha:BRAVO bravo:ALPHA; do
	out=$("$RP" admin -d "$W/h2_${pair%%:*}" --json PING SERVER "${pair#*:}") || die "PING ${pair#*:} from ${pair%%:*}: $out"
	expect_eq "$(jget 'j["ok"]' <<<"$out")" true "the two-host set-up as written: ${pair%%:*} reaches ${pair#*:}"
done
