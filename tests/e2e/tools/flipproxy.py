#!/usr/bin/env python3
"""A loopback TCP proxy that alters replication data in transit, for the
tamper scenario. Usage: flipproxy.py LISTEN_PORT TARGET_PORT MODEFILE READYFILE
The mode is read from MODEFILE when a connection starts:
  none  forward unchanged
  bulk  on a bulk channel (first bytes "RPLB"), flip one byte in the data
        of every 4th chunk frame (type 70), keeping the framing intact, so
        the target receives well-formed frames with altered chunk bytes
  tls   on a TLS connection (first byte 0x16), flip one byte of the
        client's stream once 256 KiB have passed (inside application data)
Each flip is counted in MODEFILE.flips; the bytes forwarded in both
directions, by every connection that ended, in MODEFILE.bytes; the first
36 bytes of each bulk channel (magic and token, hex) are appended to
MODEFILE.tokens (what an eavesdropper sees)."""
import os, socket, sys, threading

lport, tport, modefile, ready = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
lock = threading.Lock()

def count_flip():
    with lock:
        n = 0
        try:
            n = int(open(modefile + ".flips").read() or 0)
        except OSError:
            pass
        open(modefile + ".flips", "w").write(str(n + 1))

forwarded = [0]

def add_bytes(n):
    with lock:
        forwarded[0] += n
        open(modefile + ".bytes", "w").write(str(forwarded[0]))

def mode():
    try:
        return open(modefile).read().strip()
    except OSError:
        return "none"

def pipe_plain(src, dst):
    n = 0
    try:
        while True:
            d = src.recv(65536)
            if not d:
                break
            dst.sendall(d)
            n += len(d)
    except OSError:
        pass
    add_bytes(n)
    for s in (dst,):
        try:
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass

def client_to_server(c, s, m):
    buf = b""
    first = c.recv(65536)
    if not first:
        s.shutdown(socket.SHUT_WR)
        return
    if first[:4] == b"RPLB":
        while len(first) < 36:
            d = c.recv(65536)
            if not d:
                break
            first += d
        with lock:
            open(modefile + ".tokens", "a").write(first[:36].hex() + "\n")
    if m == "bulk" and first[:4] == b"RPLB":
        buf = first
        while len(buf) < 36:
            d = c.recv(65536)
            if not d:
                break
            buf += d
        s.sendall(buf[:36])
        buf = buf[36:]
        frames = 0
        while True:
            while len(buf) >= 5:
                n = int.from_bytes(buf[:4], "big")
                if len(buf) < 4 + n:
                    break
                frame = bytearray(buf[:4 + n])
                buf = buf[4 + n:]
                if frame[4] == 70 and n > 1 + 4 + 1:
                    frames += 1
                    if frames % 4 == 0:
                        pos = 5 + 4 + (n - 1 - 4) // 2
                        frame[pos] ^= 0x5A
                        count_flip()
                s.sendall(bytes(frame))
            d = c.recv(65536)
            if not d:
                break
            buf += d
        if buf:
            s.sendall(buf)
    elif m == "tls" and first[:1] == b"\x16":
        sent, flipped = 0, False
        d = first
        while d:
            if not flipped and sent + len(d) > 262144:
                b = bytearray(d)
                b[max(0, 262144 - sent)] ^= 0x5A
                d = bytes(b)
                flipped = True
                count_flip()
            s.sendall(d)
            sent += len(d)
            d = c.recv(65536)
    else:
        s.sendall(first)
        pipe_plain(c, s)
        return
    try:
        s.shutdown(socket.SHUT_WR)
    except OSError:
        pass

def handle(c):
    try:
        s = socket.create_connection(("127.0.0.1", tport))
    except OSError:
        c.close()
        return
    m = mode()
    t1 = threading.Thread(target=lambda: (client_to_server(c, s, m) if True else None), daemon=True)
    t2 = threading.Thread(target=pipe_plain, args=(s, c), daemon=True)
    t1.start(); t2.start()

ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", lport))
ls.listen(64)
open(ready, "w").close()
while True:
    c, _ = ls.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
