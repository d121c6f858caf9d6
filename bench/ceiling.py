#!/usr/bin/env python3
"""The loopback ceiling for replication figures: SRC (a file) is sent over a
loopback TCP connection and written by the receiver into DST, fsync'd at
the end, with 1 MiB buffers. Prints the seconds and MB/s.
Usage: ceiling.py SRC DST"""
import os, socket, sys, threading, time

src, dst = sys.argv[1], sys.argv[2]
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(1)
port = ls.getsockname()[1]
size = os.path.getsize(src)

def receive(res):
    c, _ = ls.accept()
    fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    buf = bytearray(1 << 20)
    view = memoryview(buf)
    got = 0
    while True:
        n = c.recv_into(view)
        if not n:
            break
        os.write(fd, view[:n])
        got += n
    os.fsync(fd)
    os.close(fd)
    res.append(got)

res = []
t = threading.Thread(target=receive, args=(res,))
t.start()
t0 = time.monotonic()
s = socket.create_connection(("127.0.0.1", port))
with open(src, "rb") as f:
    s.sendfile(f)
s.close()
t.join()
dt = time.monotonic() - t0
assert res[0] == size
print("%.3f s %.0f MB/s" % (dt, size / dt / 1e6))
