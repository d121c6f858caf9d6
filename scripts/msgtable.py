#!/usr/bin/env python3
"""Prints the message table of util/msgs.def as Markdown, for README.md.
With --check README.md, exits 1 when the README's table differs."""
import os
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from readme_section import main  # noqa: E402

main(sys.argv, BEGIN, END, table, "message table (util/msgs.def)", "scripts/msgtable.py")
