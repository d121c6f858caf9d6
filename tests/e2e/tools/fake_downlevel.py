#!/usr/bin/env python3
"""An active attacker in the place of a partner that replpeer contacts for the
first time: it answers the TLS ClientHello with the down-level marker
("RPL1-ONLY"), and if the client comes back with protocol 1 it sends a
challenge with a nonce of its choosing, takes the client's answer, and then
tries a password dictionary against it offline.

  fake_downlevel.py PORT MYNAME DICTFILE [--timeout S]

Prints one JSON document (also when stopped with SIGTERM): {"tls_attempt": bool, "fallback": bool,
"client": name, "matched": password-or-null, "tried": n}.
"""
import hashlib
import hmac
import json
import os
import signal
import socket
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rawpeer import parse_tlv, recv_exact, recv_frame, tlv  # noqa: E402

MSG_L_HELLO, MSG_L_CHALLENGE, MSG_L_RESPONSE = 40, 41, 42
F_FROM, F_TO, F_TAG, F_NONCE = 1, 2, 11, 14


class Stop(Exception):
    pass


def on_term(signum, frame):
    raise Stop()


def main(argv):
    signal.signal(signal.SIGTERM, on_term)  # report what was seen, then exit
    timeout = 10.0
    if "--timeout" in argv:
        i = argv.index("--timeout")
        timeout = float(argv[i + 1])
        del argv[i:i + 2]
    port, me, dictfile = int(argv[1]), argv[2], argv[3]
    words = [w.rstrip("\r\n") for w in open(dictfile) if w.strip()]
    res = {"tls_attempt": False, "fallback": False, "client": None, "matched": None, "tried": 0}
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(4)
    ls.settimeout(timeout)
    try:
        while True:
            c, _ = ls.accept()
            c.settimeout(timeout)
            first = c.recv(4096)
            if first[:1] == b"\x16":
                res["tls_attempt"] = True
                c.sendall(b"RPL1-ONLY\n")
                c.close()
                continue
            if first[:4] != b"RPL1":
                c.close()
                continue
            res["fallback"] = True
            buf = first[4:]
            while len(buf) < 5:
                buf += c.recv(4096)
            n = struct.unpack(">I", buf[:4])[0]
            while len(buf) < 4 + n:
                buf += c.recv(4096)
            hello = parse_tlv(buf[5:4 + n])
            client = hello.get(F_FROM, b"").decode()
            res["client"] = client
            nonce_s = os.urandom(32)
            payload = tlv(F_FROM, me) + tlv(F_NONCE, nonce_s)
            c.sendall(struct.pack(">IB", len(payload) + 1, MSG_L_CHALLENGE) + payload)
            mtype, f = recv_frame(c)
            c.close()
            if mtype != MSG_L_RESPONSE:
                break
            names = client.upper().encode() + b"\0" + me.upper().encode() + b"\0"
            msg = b"rpl1 client\0" + nonce_s + f[F_NONCE] + names
            for w in words:
                res["tried"] += 1
                key = hashlib.sha256(w.encode()).digest()
                if hmac.compare_digest(hmac.new(key, msg, hashlib.sha256).digest(), f[F_TAG]):
                    res["matched"] = w
                    break
            break
    except (socket.timeout, ConnectionError, OSError, Stop):
        pass
    print(json.dumps(res), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
