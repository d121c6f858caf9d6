#!/usr/bin/env python3
"""Counts the copies of secrets in the writable anonymous memory (heap,
stacks, anonymous mappings) of a process. Reads PID from argv and the
secrets from stdin, one per line, so that they are on no command line.
Prints the total count, then one line per hit (secret index and region)."""
import re
import sys

pid = int(sys.argv[1])
needles = [l.rstrip("\n").encode() for l in sys.stdin if l.strip()]
hits = []
CHUNK = 1 << 24
with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
    for line in maps:
        parts = line.split()
        perms = parts[1]
        name = parts[5] if len(parts) > 5 else ""
        if "r" not in perms or "w" not in perms or name.startswith("/") or name in ("[vvar]", "[vsyscall]"):
            continue
        lo, hi = (int(x, 16) for x in parts[0].split("-"))
        if hi - lo > (1 << 30):  # sanitizer shadow reservations, not data
            continue
        data = bytearray()
        for off in range(lo, hi, CHUNK):
            try:
                mem.seek(off)
                data += mem.read(min(CHUNK, hi - off))
            except (OSError, ValueError, OverflowError):
                data += bytes(min(CHUNK, hi - off))
        for i, n in enumerate(needles):
            for m in re.finditer(re.escape(n), data):
                hits.append(f"secret {i} in {name or 'anonymous'} at +{m.start():#x}")
print(len(hits))
for h in hits:
    print(h)
