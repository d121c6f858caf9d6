#!/usr/bin/env python3
"""Drives 'replpeer admin -d DIR' on a pseudo-terminal (its controlling
terminal, so that Ctrl-C is a real SIGINT from the line discipline) for
t_console.sh. Prints "ok ..." for each check that held, "MEASURE ..." for
the Ctrl-C figure, and exits 1 at the first that did not.
Usage: console.py RP DIR SILENT_PORT HISTORY_FILE
SILENT_PORT is a listener this script opens: it accepts and never answers."""
import os
import pty
import select
import socket
import stat
import subprocess
import sys
import time

RP, DIR, SILENT_PORT, HISTORY = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
PROMPT = b"replpeer A> "
UP = b"\x1b[A"
CTRL_C = b"\x03"

silent = socket.socket()
silent.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
silent.bind(("127.0.0.1", SILENT_PORT))
silent.listen(8)
held = []


def fail(what):
    print("FAIL: " + what)
    sys.exit(1)


class Console:
    def __init__(self):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.environ["TERM"] = "xterm"
            os.execv(RP, [RP, "admin", "-d", DIR])
        self.buf = b""

    def pump(self, timeout):
        r, _, _ = select.select([self.fd, silent], [], [], timeout)
        if silent in r:
            c, _ = silent.accept()
            held.append(c)
        if self.fd in r:
            try:
                data = os.read(self.fd, 65536)
            except OSError:
                return False
            if not data:
                return False
            self.buf += data
        return True

    def expect(self, pat, timeout=15.0, what=None):
        """Output up to and including pat (consumed), or fail."""
        end = time.time() + timeout
        while pat not in self.buf:
            if time.time() > end or not self.pump(0.05):
                fail("%s: %r not seen; the terminal shows %r" % (what or "console", pat, self.buf[-600:]))
        i = self.buf.index(pat) + len(pat)
        got, self.buf = self.buf[:i], self.buf[i:]
        return got

    def send(self, data):
        os.write(self.fd, data)

    def line(self, text):
        self.send(text.encode() + b"\r")
        return self.expect(PROMPT, what=text).decode(errors="replace")

    def exit_status(self, timeout=10.0):
        end = time.time() + timeout
        while time.time() < end:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
            self.pump(0.05)
        fail("the console did not end")


def sessions():
    out = subprocess.run([RP, "admin", "-d", DIR, "--json", "QUERY SESSION"], capture_output=True, text=True)
    return out.stdout


c = Console()
c.expect(PROMPT, what="the first prompt")
print("ok the prompt names the server: replpeer A>")

out = c.line("HELP PING")
if "PING SErver server_name" not in out or "Tests the session" not in out:
    fail("HELP PING: " + out)
print("ok HELP PING shows its syntax and what it does")

out = c.line("HELP RPL0403E")
if "partner certificate refused" not in out or "FORCESYNC=YES" not in out:
    fail("HELP RPL0403E: " + out)
print("ok HELP RPL0403E shows the message and its hint")

out = c.line("REGISTER NODE N1")
if "RPL0814I" not in out:
    fail("REGISTER NODE N1: " + out)
c.send(UP)
c.expect(b"REGISTER NODE N1", what="Up-arrow recalls the last line")
c.send(b"\r")
out = c.expect(PROMPT, what="the recalled line").decode(errors="replace")
if "already registered" not in out:
    fail("the recalled REGISTER NODE N1 did not run again: " + out)
print("ok Up-arrow recalls the previous command, and Enter runs it again")

out = c.line("DEFINE SERVER SILENT HLADDRESS=127.0.0.1 LLADDRESS=%d SERVERPASSWORD=pw-silent-secret" % SILENT_PORT)
if "RPL0504I" not in out:
    fail("DEFINE SERVER SILENT: " + out)

# PING a listener that accepts and never answers: the TLS handshake hangs
# (HANDSHAKETIMEOUT is 60 s in this scenario) until Ctrl-C.
c.send(b"PING SERVER SILENT\r")
end = time.time() + 10
while not held and time.time() < end:
    c.pump(0.05)
if not held:
    fail("the PING never reached the silent listener")
time.sleep(0.3)
if "SILENT" not in sessions():
    fail("QUERY SESSION does not show the PING in flight: the check below would prove nothing")
t0 = time.time()
c.send(CTRL_C)
out = c.expect(PROMPT, timeout=10, what="the prompt after Ctrl-C").decode(errors="replace")
took = time.time() - t0
print("MEASURE Ctrl-C during PING to the prompt: %.3f s" % took)
if "RPL1105E" not in out:
    fail("no cancellation message: " + out)
if took >= 1.0:
    fail("the prompt came back after %.3f s" % took)
print("ok Ctrl-C during a PING to a silent listener returns to the prompt within a second (RPL1105E)")
end = time.time() + 2
while "SILENT" in sessions() and time.time() < end:
    time.sleep(0.05)
if "SILENT" in sessions():
    fail("the daemon keeps the PING's session: " + sessions())
print("ok the daemon shows no leftover session of the cancelled PING")
held[0].settimeout(2)
try:
    closed = held[0].recv(65536) == b"" or held[0].recv(65536) == b""
except (socket.timeout, ConnectionResetError):
    closed = False
if not closed:
    fail("the daemon did not close its connection to the silent listener")
print("ok the daemon closed its connection to the silent listener")

c.send(CTRL_C)
status = c.exit_status()
if status != 1:
    fail("a second Ctrl-C (at the prompt) should end the console with the worst status, 1; got %d" % status)
print("ok a second Ctrl-C, at the prompt, leaves; the exit status is the worst of the session (1)")

mode = stat.S_IMODE(os.stat(HISTORY).st_mode)
if mode != 0o600:
    fail("history file mode %o" % mode)
hist = open(HISTORY, "rb").read()
if b"REGISTER NODE N1" not in hist.replace(b"\\040", b" "):
    fail("the history lacks REGISTER NODE N1: %r" % hist)
if b"pw-silent-secret" in hist or b"SILENT\\040HLADDRESS" in hist or b"SERVERPASSWORD" in hist:
    fail("the history holds the line with the password: %r" % hist)
print("ok the history file is mode 0600 and keeps no line with a password")

c = Console()
c.expect(PROMPT, what="the second console's prompt")
c.send(UP)
c.expect(b"PING SERVER SILENT", what="Up-arrow in a new console recalls the history file")
c.send(CTRL_C)
c.expect(b"Ctrl-C again", what="Ctrl-C at the prompt")
c.expect(PROMPT)
print("ok a new console recalls the saved history; Ctrl-C at the prompt drops the line and says how to leave")
c.line("QUERY NODE N1")
c.send(b"QUIT\r")
status = c.exit_status()
if status != 0:
    fail("QUIT after a successful command: exit %d" % status)
print("ok QUIT leaves with status 0")
