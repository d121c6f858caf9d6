#!/usr/bin/env python3
"""Prints the admin command table of sync/commands.def as Markdown, for
README.md: each command with its syntax (capitals: the shortest
abbreviation) and its help, as HELP shows them.
With --check README.md, exits 1 when the README's table differs;
with --update README.md, rewrites it. --json prints the commands as JSON
(command, syntax, help) for tests."""
import json
import os
import re
import sys

NOT_BUILT = " Not available in this version (RPL0005E)."


def c_strings(text):
    """The C string literals and identifiers of one CMD(...) argument list."""
    return re.findall(r'"((?:[^"\\]|\\.)*)"|(\b[A-Za-z_]\w*\b)', text)


def commands(path="sync/commands.def"):
    src = re.sub(r"/\*.*?\*/", "", open(path).read(), flags=re.S)
    out = []
    for m in re.finditer(r"^CMD\((.*?)\)\s*$", src, flags=re.S | re.M):
        args, cur, parts = [], [], c_strings(m.group(1))
        # adjacent literals form one argument; an identifier is one too
        for lit, ident in parts:
            if ident:
                if cur:
                    args.append("".join(cur))
                    cur = []
                args.append(None if ident == "NULL" else ident)
            else:
                cur.append(bytes(lit, "utf-8").decode("unicode_escape"))
        if cur:
            args.append("".join(cur))
        syntax, handler, text = args[0], args[1], args[2]
        words = []
        for w in syntax.split():
            if not w[0].isupper() or "=" in w or "|" in w or len(words) == 2:
                break
            words.append(w.upper())
        out.append({"command": " ".join(words), "syntax": syntax,
                    "help": text + ("" if handler else NOT_BUILT)})
    return out


def table():
    rows = ["| command | syntax (capitals: the shortest abbreviation) | what it does |",
            "|---|---|---|"]
    for c in commands():
        rows.append("| %s | `%s` | %s |" % (c["command"], c["syntax"].replace("|", "\\|"),
                                           c["help"].replace("|", "\\|")))
    return "\n".join(rows)


BEGIN, END = "<!-- commands:begin -->", "<!-- commands:end -->"

if len(sys.argv) == 2 and sys.argv[1] == "--json":
    print(json.dumps(commands(), indent=1))
    sys.exit(0)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from readme_section import main  # noqa: E402

main(sys.argv, BEGIN, END, table, "command table (sync/commands.def)", "scripts/cmdtable.py")
