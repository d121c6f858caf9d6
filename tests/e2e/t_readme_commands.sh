#!/usr/bin/env bash
# The admin commands have one source, sync/commands.def: the README's command
# table is generated from it (scripts/cmdtable.py), and the daemon's HELP,
# HELP command and HELP RPLnnnnX answer from the same table and message
# table. This scenario keeps the three equal: every command of the README
# has the syntax and the help text HELP prints, HELP lists HELP and QUIT,
# and every message's HELP is its text and hint.
source "$(dirname "$0")/lib.sh"
src=$(cd "$(dirname "$0")/../.." && pwd)

python3 "$src/scripts/cmdtable.py" --check "$src/README.md" || die "README.md command table is stale"
ok "README command table equals sync/commands.def"

init_peer A "$(port)"
start_peer A
(cd "$src" && python3 scripts/cmdtable.py --json) >"$W/table.json" || die "cmdtable --json"
(cd "$src" && python3 scripts/msgtable.py) >"$W/messages.md" || die "msgtable"
# One console session on standard input: HELP, HELP of every command, HELP
# of every message; one JSON document per command.
python3 - "$W/table.json" "$W/messages.md" "$RP" "$W/A" <<'PY' || die "HELP differs from the README"
import json, subprocess, sys
table = json.load(open(sys.argv[1]))
msgs = [[c.strip().replace("\\|", "|") for c in l.strip().strip("|").split(" | ")]
        for l in open(sys.argv[2]).read().splitlines()[2:]]
lines = ["HELP"] + ["HELP " + c["command"] for c in table] + ["HELP " + m[0] for m in msgs]
out = subprocess.run([sys.argv[3], "admin", "-d", sys.argv[4], "--json"], input="\n".join(lines) + "\n",
                     capture_output=True, text=True)
assert out.returncode == 0, (out.returncode, out.stderr)
dec, docs, rest = json.JSONDecoder(), [], out.stdout.lstrip()
while rest:
    d, i = dec.raw_decode(rest)
    docs.append(d)
    rest = rest[i:].lstrip()
assert len(docs) == len(lines), (len(docs), len(lines))
listed = docs[0]
assert [(c["command"], c["syntax"]) for c in table] == [(c["command"], c["syntax"]) for c in listed]
for t, l in zip(table, listed):
    assert t["help"].startswith(l["summary"]), (t["command"], l["summary"])
names = [c["command"] for c in listed]
assert "HELP" in names and "QUIT" in names, names
print("ok HELP lists the table's %d commands, HELP and QUIT among them, with the README's syntax" % len(names))
for t, got in zip(table, docs[1:]):
    match = [g for g in got if g["command"] == t["command"]]
    assert match and match[0]["syntax"] == t["syntax"] and match[0]["help"] == t["help"], (match, t)
print("ok HELP command gives each command the README's syntax and text")
for m, got in zip(msgs, docs[1 + len(table):]):
    assert got["message_id"] == m[0] and got["message"] == m[1] and (got["hint"] or "") == m[2], (got, m)
print("ok HELP RPLnnnnX gives each of the %d messages its text and hint from util/msgs.def" % len(msgs))
PY
