#!/usr/bin/env python3
"""Writes the mixed set of the node-storage and replication scenarios into
DIR and prints the file names (relative to DIR), one a line: 200 files of
0 B to 8 MiB, at most 64 MiB in all, 20 duplicates of earlier files under
other names, one file that is a 5 MiB file shifted by one byte, names with
spaces and UTF-8, assorted modes and mtimes with nanoseconds.
Usage: mixedset.py DIR [SEED]"""
import os, random, sys
root = sys.argv[1]
rnd = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 20261126)
dirs = ["", "sub dir", "sub dir/deeper", "ünïcödé", "ünïcödé/日本語 フォルダ", "x/y/z"]
for d in dirs:
    os.makedirs(os.path.join(root, d), exist_ok=True)
budget = 60 << 20
files = []
def name(i):
    d = rnd.choice(dirs)
    base = rnd.choice(["file", "Datei mit Leerzeichen", "résumé", "€ price list", "данные", "a  b"]) + " %03d.bin" % i
    return os.path.join(d, base) if d else base
sizes = [0, 1, 2, 4095, 4096, 65536, 8 << 20, 5 << 20] + [rnd.choice([rnd.randrange(0, 4096), rnd.randrange(4096, 200000), rnd.randrange(200000, 1500000)]) for _ in range(170)]
total = 0
for i, sz in enumerate(sizes):
    if total + sz > budget - (12 << 20):
        sz = rnd.randrange(0, 4096)
    total += sz
    files.append((name(i), os.urandom(sz)))
for i in range(20):
    src = files[rnd.randrange(len(files))][1]
    files.append((name(200 + i), src))
files.append((name(300), b"\x01" + files[7][1]))
files.append(("ünïcödé/last one.bin", os.urandom(100)))
assert len(files) == 200
for i, (n, data) in enumerate(files):
    p = os.path.join(root, n)
    with open(p, "wb") as f:
        f.write(data)
    os.chmod(p, rnd.choice([0o644, 0o600, 0o755, 0o444, 0o640]))
    os.utime(p, ns=(1700000000 * 10**9 + i, 1600000000 * 10**9 + rnd.randrange(10**9) + i * 10**9))
    print(n)
