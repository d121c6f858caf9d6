#!/usr/bin/env python3
"""A hostile or broken 'LDAP server' on 127.0.0.1 for t_ldap.sh.

Usage: fake_ldap.py PORT MODE READYFILE
  silent   accepts and never answers
  huge     answers the first request with an LDAPMessage header claiming 2 GiB
  inject   accepts StartTLS (resultCode 0) and sends plaintext bytes right
           behind the answer, as a man in the middle would to have them read
           as if they came over TLS
  search   answers StartTLS with a SearchResultEntry
Each connection's received bytes are appended to READYFILE.conn (so the
scenario can see that no bind arrived). Exits by itself after 300 s.
"""
import os, socket, sys, threading, time

port, mode, ready = int(sys.argv[1]), sys.argv[2], sys.argv[3]

def L(n):
    if n < 128: return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big"); return bytes([0x80 | len(b)]) + b
def T(tag, body): return bytes([tag]) + L(len(body)) + body
def ext_response(msgid, code, diag=b""):
    body = T(0x0a, bytes([code])) + T(0x04, b"") + T(0x04, diag) + T(0x8a, b"1.3.6.1.4.1.1466.20037")
    return T(0x30, T(0x02, bytes([msgid])) + T(0x78, body))

def handle(c):
    got = b""
    try:
        c.settimeout(60)
        while True:
            d = c.recv(65536)
            if not d: break
            got += d
            with open(ready + ".conn", "ab") as f: f.write(d)
            if mode == "silent": continue
            if mode == "huge": c.sendall(b"\x30\x84\x7f\xff\xff\xff"); continue
            if mode == "inject":
                # the StartTLS answer and, behind it, a forged BindResponse
                forged = T(0x30, T(0x02, b"\x02") + T(0x61, T(0x0a, b"\x00") + T(0x04, b"") + T(0x04, b"")))
                c.sendall(ext_response(1, 0) + forged); continue
            if mode == "search":
                c.sendall(T(0x30, T(0x02, b"\x01") + T(0x64, T(0x04, b"cn=x") + T(0x30, b"")))); continue
    except OSError:
        pass
    finally:
        c.close()

s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port)); s.listen(16)
open(ready, "w").close()
s.settimeout(1)
end = time.time() + 300
while time.time() < end:
    try:
        c, _ = s.accept()
    except socket.timeout:
        continue
    threading.Thread(target=handle, args=(c,), daemon=True).start()
