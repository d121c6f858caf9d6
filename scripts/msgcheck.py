#!/usr/bin/env python3
"""Checks the message table (util/msgs.def) and how the sources use it.

- every ID is RPLnnnnS (S = E, W or I), used once, and a name that says
  its severity (RPL_E_, RPL_W_, RPL_I_) carries that letter;
- every error (E) has a hint: the README promises one;
- log_error, log_warn and log_info take a message of their own letter,
  named literally (a code held in a variable goes through log_code, which
  logs at the level the code's letter names); log_msg is called only by
  util/log.c;
- admin_ok answers with an I or W message, admin_error with an E message.

Usage: scripts/msgcheck.py [REPO]   exit 0 when clean, 1 listing each fault.
"""
import os
import re
import sys

repo = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
faults = []

entry = re.compile(r'^X\(\s*(\w+)\s*,\s*"(RPL\d{4}[EWI])"\s*,\s*"((?:[^"\\]|\\.)*)"\s*,\s*(NULL|"(?:[^"\\]|\\.)*")\s*\)\s*$')
letter_of = {}
ids = {}
with open(os.path.join(repo, "util/msgs.def"), encoding="utf-8") as f:
    for n, line in enumerate(f, 1):
        if not line.startswith("X("):
            continue
        m = entry.match(line.strip())
        if not m:
            faults.append(f"util/msgs.def:{n}: entry not understood: {line.strip()}")
            continue
        name, mid, text, hint = m.groups()
        letter = mid[-1]
        if mid in ids:
            faults.append(f"util/msgs.def:{n}: {mid} is used by {ids[mid]} and {name}")
        ids[mid] = name
        if name in letter_of:
            faults.append(f"util/msgs.def:{n}: {name} is defined twice")
        letter_of[name] = letter
        for prefix, want in (("RPL_E_", "E"), ("RPL_W_", "W"), ("RPL_I_", "I")):
            if name.startswith(prefix) and letter != want:
                faults.append(f"util/msgs.def:{n}: {name} is named {want} but its ID is {mid}")
        if letter == "E" and hint == "NULL":
            faults.append(f"util/msgs.def:{n}: error {mid} ({text}) has no hint")

level_letter = {"error": "E", "warn": "W", "info": "I"}
call = re.compile(r"\b(log_(error|warn|info|msg)|admin_(ok|error))\s*\(\s*(-?\s*[A-Za-z_]\w*)?")
sources = []
for top in ("cmd", "sync", "peer", "store", "util"):
    for d, _, files in os.walk(os.path.join(repo, top)):
        sources += [os.path.join(d, x) for x in files if x.endswith(".c")]
for path in sorted(sources):
    rel = os.path.relpath(path, repo)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    # Over the whole text: a call's first argument may be on the next line
    # (clang-format wraps long calls after the parenthesis).
    for m in call.finditer(text):
        if True:
            fn, level, admin_kind, arg = m.group(1), m.group(2), m.group(3), m.group(4)
            n = text.count("\n", 0, m.start()) + 1
            before = text[text.rfind("\n", 0, m.start()) + 1 : m.start()]
            if before.rstrip().endswith(("void", "json_t *", "*")):
                continue  # a definition or declaration
            name = (arg or "").lstrip("-").strip()
            if fn == "log_msg":
                if rel != "util/log.c":
                    faults.append(f"{rel}:{n}: log_msg outside util/log.c; use log_error/warn/info or log_code")
                continue
            if level:
                want = level_letter[level]
                if name not in letter_of:
                    faults.append(f"{rel}:{n}: {fn}({arg or '...'}): not a message name; a code in a variable goes through log_code")
                elif letter_of[name] != want:
                    faults.append(f"{rel}:{n}: {fn} with {name}, an {letter_of[name]} message")
                continue
            if name in letter_of:
                if admin_kind == "ok" and letter_of[name] == "E":
                    faults.append(f"{rel}:{n}: admin_ok with the error {name}")
                if admin_kind == "error" and letter_of[name] != "E":
                    faults.append(f"{rel}:{n}: admin_error with {name}, an {letter_of[name]} message")

for x in faults:
    print(x)
print(f"msgcheck: {len(ids)} messages, {len(sources)} source files, {len(faults)} faults")
sys.exit(1 if faults else 0)
