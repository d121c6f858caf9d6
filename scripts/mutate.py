#!/usr/bin/env python3
"""make mutate: single-line mutants of the trust code, one at a time.

Each mutant in tests/mutate/mutants.txt replaces exactly one source line
(found by its whole stripped text, which must occur once in the file) and
names the tests that must notice:

    @ peer/trust.c                      the file
    - if (ci->not_after < f->now) {     the line as it is (stripped)
    + if (0) {                          the line as mutated
    = unit:test_trust e2e:lifecycle_impostor
    # why this mutant matters (optional, shown in the report)

The mutated tree is built into build-mutate/ (the test build: RPL_TEST_CLOCK)
and the named tests run: a mutant is killed when one of them fails. The
source file is restored after every mutant, also when this script is
interrupted. Exit status 1 when a mutant survives (each is named), 2 on a
broken mutant list (a line not found, or found twice).

Usage: scripts/mutate.py [--list FILE] [--only SUBSTRING] [--keep-going]
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = "build-mutate"
# Warnings off: a mutant that only trips -Werror (an unused variable) would
# count as killed by the compiler, which tells nothing about the tests.
HOSTILE = os.path.join(ROOT, BUILD, "hostile.unmutated")
MAKE = ["make", "-s", f"BUILD={BUILD}", "TESTCFLAGS=-DRPL_TEST_CLOCK", "WARN=-w"]


def parse(path):
    mutants, cur = [], None
    for n, raw in enumerate(open(path, encoding="utf-8"), 1):
        line = raw.rstrip("\n")
        if not line.strip() or line.startswith("//"):
            continue
        tag, _, rest = line.partition(" ")
        if tag == "@":
            cur = {"file": rest.strip(), "old": None, "new": None, "tests": [], "why": "",
                   "where": f"{path}:{n}"}
            mutants.append(cur)
        elif cur is None:
            sys.exit(f"{path}:{n}: '@ file' expected first")
        elif tag == "-":
            cur["old"] = rest.strip()
        elif tag == "+":
            cur["new"] = rest.strip()
        elif tag == "=":
            cur["tests"] = rest.split()
        elif tag == "#":
            cur["why"] = rest.strip()
        else:
            sys.exit(f"{path}:{n}: unknown line '{line}'")
    for m in mutants:
        if m["old"] is None or m["new"] is None or not m["tests"]:
            sys.exit(f"{m['where']}: a mutant needs '-', '+' and '=' lines")
    return mutants


def apply(m):
    path = os.path.join(ROOT, m["file"])
    text = open(path, encoding="utf-8").read()
    lines = text.split("\n")
    hits = [i for i, l in enumerate(lines) if l.strip() == m["old"]]
    if len(hits) != 1:
        return None, f"{m['where']}: '{m['old']}' found {len(hits)} times in {m['file']}"
    i = hits[0]
    indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
    lines[i] = indent + m["new"]
    open(path, "w", encoding="utf-8").write("\n".join(lines))
    return text, None


def run(cmd, env=None, timeout=900):
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout)
        return p.returncode, p.stdout.decode(errors="replace"), time.monotonic() - t0
    except subprocess.TimeoutExpired:
        return 124, "timeout", time.monotonic() - t0


def run_tests(tests):
    """0 when every test passes; else the first failing test's name."""
    env = dict(os.environ, RP=os.path.join(ROOT, BUILD, "replpeer"),
               RP_PROD=os.path.join(ROOT, "build", "replpeer"), HOSTILE=HOSTILE)
    for t in tests:
        kind, _, name = t.partition(":")
        if kind == "unit":
            rc, out, _ = run([os.path.join(ROOT, BUILD, "tests", name)], env=env, timeout=600)
        elif kind == "e2e":
            rc, out, _ = run(["tests/e2e/run.sh", name], env=env)
        else:
            sys.exit(f"unknown test kind in '{t}'")
        if rc != 0:
            return t
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--list", default=os.path.join(ROOT, "tests/mutate/mutants.txt"))
    ap.add_argument("--only", default="")
    ap.add_argument("--keep-going", action="store_true")
    a = ap.parse_args()
    mutants = [m for m in parse(a.list) if a.only in m["file"] + m["old"] + m["new"]]
    units = sorted({t.split(":", 1)[1] for m in mutants for t in m["tests"] if t.startswith("unit:")})
    targets = [f"{BUILD}/replpeer"] + [f"{BUILD}/tests/{u}" for u in units]

    # The production binary (RP_PROD: scenarios that check what the test
    # clock must not change) and the hostile-peer tool are built once, from
    # the unmutated tree: a mutant is the victim's, never the attacker's.
    rc, out, _ = run(MAKE + targets + [f"{BUILD}/tests/hostile"])
    if rc == 0:
        rc, out, _ = run(["make", "-s", "WARN=-w", "build/replpeer"])
    if rc != 0:
        sys.exit("the unmutated tree does not build:\n" + out[-2000:])
    shutil.copy2(os.path.join(ROOT, BUILD, "tests", "hostile"), HOSTILE)
    for m in mutants:  # every mutant must be applicable before any runs
        text, err = apply(m)
        if err:
            sys.exit(err)
        open(os.path.join(ROOT, m["file"]), "w", encoding="utf-8").write(text)
    # The unmutated tests must pass, or a "kill" would mean nothing.
    base = run_tests(sorted({t for m in mutants for t in m["tests"]}))
    if base:
        sys.exit(f"the unmutated tree fails {base}: fix that first")

    killed, survived, broken, original = [], [], [], None
    current = {"m": None, "text": None}

    def restore(*_):
        if current["m"]:
            open(os.path.join(ROOT, current["m"]["file"]), "w", encoding="utf-8").write(current["text"])
            current["m"] = None
    signal.signal(signal.SIGINT, lambda *x: (restore(), sys.exit(130)))
    signal.signal(signal.SIGTERM, lambda *x: (restore(), sys.exit(143)))

    for n, m in enumerate(mutants, 1):
        text, _ = apply(m)
        current["m"], current["text"] = m, text
        try:
            rc, out, secs = run(MAKE + targets)
            if rc != 0:
                verdict, by = "BROKEN", "a build error: fix the mutant"
                print(out[-2000:], flush=True)
            else:
                by = run_tests(m["tests"])
                verdict = "killed" if by else "SURVIVED"
        finally:
            restore()
        line = f"[{n}/{len(mutants)}] {verdict:8} {m['file']}: '{m['old']}' -> '{m['new']}'"
        if by:
            line += f" (by {by})"
        print(line, flush=True)
        (killed if verdict == "killed" else survived).append(m)
        if verdict == "BROKEN":
            broken.append(m)
        if survived and not a.keep_going and verdict == "SURVIVED":
            pass
    run(MAKE + targets)  # leave build-mutate matching the tree
    print(f"mutate: {len(mutants)} mutants, {len(killed)} killed, {len(survived)} survived")
    for m in survived:
        print(f"  SURVIVED {m['file']}: '{m['old']}' -> '{m['new']}'  {m['why']}")
    return 2 if broken else 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
