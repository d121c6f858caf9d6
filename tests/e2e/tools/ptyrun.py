#!/usr/bin/env python3
"""Runs a command on a pseudo-terminal (its controlling terminal) and plays a
script against it: "wait:TEXT" waits until TEXT appears in the output after
the previous wait, "send:TEXT" types TEXT and Enter. Prints everything the
terminal showed, then exits with the command's exit status (124 when a wait
timed out).
Usage: ptyrun.py [wait:TEXT | send:TEXT]... -- COMMAND [ARG]..."""
import os
import pty
import select
import sys
import time

steps = sys.argv[1:sys.argv.index("--")]
argv = sys.argv[sys.argv.index("--") + 1:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)

out = b""
seen = 0
timed_out = False


def pump(until=None, timeout=15.0):
    """Reads output until 'until' appears after 'seen', or EOF (until=None)."""
    global out, seen
    end = time.time() + timeout
    while time.time() < end:
        if until is not None and until in out[seen:]:
            seen = out.index(until, seen) + len(until)
            return True
        r, _, _ = select.select([fd], [], [], 0.05)
        if not r:
            continue
        try:
            data = os.read(fd, 4096)
        except OSError:  # EIO: the other side is closed
            return until is None
        if not data:
            return until is None
        out += data
    return False


for step in steps:
    kind, text = step.split(":", 1)
    if kind == "wait":
        if not pump(text.encode()):
            timed_out = True
            break
    else:
        os.write(fd, text.encode() + b"\n")
if timed_out:
    os.kill(pid, 9)
pump(None)
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
sys.exit(124 if timed_out else os.waitstatus_to_exitcode(status))
