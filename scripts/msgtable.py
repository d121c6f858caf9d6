#!/usr/bin/env python3
"""Prints the message table of util/msgs.def as Markdown, for README.md.
With --check README.md, exits 1 when the README's table differs."""
import re
import sys

def table():
    rows = []
    for line in open("util/msgs.def"):
        m = re.match(r'X\((\w+),\s*"(RPL\d{4}[IWE])",\s*"((?:[^"\\]|\\.)*)",\s*(NULL|"((?:[^"\\]|\\.)*)")\)', line.strip())
        if m:
            rows.append((m.group(2), m.group(3), m.group(5) or ""))
    out = ["| ID | meaning | what to do |", "|---|---|---|"]
    for i, t, h in rows:
        out.append("| %s | %s | %s |" % (i, t.replace("|", "\\|"), h.replace("|", "\\|")))
    return "\n".join(out)

BEGIN, END = "<!-- messages:begin -->", "<!-- messages:end -->"

if len(sys.argv) == 3 and sys.argv[1] == "--check":
    text = open(sys.argv[2]).read()
    try:
        current = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    except IndexError:
        print("README has no message table markers"); sys.exit(1)
    if current != table():
        print("README message table differs from util/msgs.def: run scripts/msgtable.py --update README.md")
        sys.exit(1)
    sys.exit(0)
if len(sys.argv) == 3 and sys.argv[1] == "--update":
    text = open(sys.argv[2]).read()
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    open(sys.argv[2], "w").write(head + BEGIN + "\n" + table() + "\n" + END + tail)
    sys.exit(0)
print(table())
