#!/usr/bin/env python3
"""Raw clients for the replpeer end-to-end scenarios (loopback only).

Each mode prints one JSON document on stdout.

  rawpeer.py silent PORT [--limit S]
      connect, send nothing; how long until the server closes.
  rawpeer.py junk PORT KIND [--limit S]
      KIND: random (4 KiB not starting like TLS or "RPL1"),
            biglen (protocol 1: b"RPL1" + a 4 GiB frame length),
            truncated-hello (the first half of a real TLS ClientHello, then
            nothing), tls-biglen CERT KEY (mutual TLS with a throw-away
            certificate, then a 4 GiB frame length inside TLS),
            tls-silent CERT KEY (mutual TLS, then nothing).
      Sends, then measures how long until the server closes.
  rawpeer.py legacy PORT FROM TO SERVER_PWFILE CLIENT_PWFILE
      a protocol 1 session, revision 2 (the down-level handshake: HMAC-SHA256
      over both nonces and both names, keyed with SHA-256 of a label and both
      passwords, each with its length: the target's, then the caller's own);
      then reads commands from stdin, one a line: "ping" (sends MSG_PING,
      waits for MSG_PONG), "quit". One JSON line per step.
  rawpeer.py hold PORT COUNT [--seconds S] [--stop FILE]
      keeps COUNT idle TCP connections open (sends nothing), opening a new
      one for each that the server closed, once a second, until S seconds
      (default 30) passed or FILE exists; prints how many it opened, how
      many the server closed and how many were open at the end.

  rawpeer.py flood PORT COUNT [--sources A.B.C.X-A.B.C.Y] [--seconds S] [--stop FILE]
      keeps COUNT connections open that never finish a TLS handshake, spread
      round-robin over the source addresses A.B.C.X to A.B.C.Y (default
      127.0.0.2-127.0.0.200): every other
      one sends the first half of a real ClientHello, the others nothing.
      One the server closes is opened again at once (a hostile client does
      not wait). Prints one JSON line when COUNT are open ("filled") and one
      at the end: opened, closed_by_server, connect_failed, open, and
      min_open (the fewest open at once after filling).

  --source ADDR (any mode): connect from this local address (e.g.
  127.0.0.2), to tell one client address from another on loopback.
"""
import hashlib
import hmac
import json
import os
import socket
import ssl
import struct
import sys
import time

MSG_ERROR, MSG_PING, MSG_PONG = 5, 10, 11
MSG_L_HELLO, MSG_L_CHALLENGE, MSG_L_RESPONSE, MSG_L_OK = 40, 41, 42, 43
F_FROM, F_TO, F_TAG, F_MSGID, F_TEXT, F_NONCE, F_TIME = 1, 2, 11, 12, 13, 14, 15
F_VERSION, F_PURPOSE = 30, 31


def out(doc):
    print(json.dumps(doc), flush=True)


def tlv(tag, value):
    if isinstance(value, str):
        value = value.encode()
    return struct.pack(">HI", tag, len(value)) + value


def parse_tlv(b):
    fields, off = {}, 0
    while off < len(b):
        tag, n = struct.unpack_from(">HI", b, off)
        off += 6
        fields[tag] = b[off:off + n]
        off += n
    return fields


def frame(mtype, payload=b""):
    return struct.pack(">IB", len(payload) + 1, mtype) + payload


def recv_exact(s, n):
    b = b""
    while len(b) < n:
        chunk = s.recv(n - len(b))
        if not chunk:
            raise ConnectionError("closed by the server")
        b += chunk
    return b


def recv_frame(s):
    n, mtype = struct.unpack(">IB", recv_exact(s, 5))
    return mtype, parse_tlv(recv_exact(s, n - 1))


SOURCE = None


def connect(port):
    src = (SOURCE, 0) if SOURCE else None
    return socket.create_connection(("127.0.0.1", port), timeout=5, source_address=src)


def wait_closed(s, limit, t0):
    """Seconds from t0 until the peer closes (EOF or reset); None if it did not
    within limit. Whatever the server sends meanwhile is read and counted."""
    s.settimeout(0.1)
    got = 0
    while time.monotonic() - t0 < limit:
        try:
            b = s.recv(65536)
            if not b:
                return time.monotonic() - t0, got
            got += len(b)
        except socket.timeout:
            continue
        except (ConnectionResetError, ssl.SSLError, OSError):
            return time.monotonic() - t0, got
    return None, got


def client_hello():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, outg = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, outg, server_hostname="replpeer")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outg.read()


def tls_connect(port, cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.load_cert_chain(cert, key)
    raw = connect(port)
    s = ctx.wrap_socket(raw, server_hostname="replpeer")
    return s


def mode_silent(port, limit):
    s = connect(port)
    t0 = time.monotonic()
    closed, got = wait_closed(s, limit, t0)
    out({"mode": "silent", "closed_after": closed, "bytes_from_server": got})


def mode_junk(port, kind, rest, limit):
    t0 = time.monotonic()
    if kind in ("tls-biglen", "tls-silent"):
        s = tls_connect(port, rest[0], rest[1])
        info = {"tls_version": s.version()}
        t0 = time.monotonic()
        if kind == "tls-biglen":
            s.sendall(b"\xff\xff\xff\xff\x01")
        closed, got = wait_closed(s, limit, t0)
        info.update({"mode": kind, "closed_after": closed, "bytes_from_server": got})
        out(info)
        return
    s = connect(port)
    if kind == "random":
        data = b"\x00" + os.urandom(4095)
    elif kind == "biglen":
        data = b"RPL1" + b"\xff\xff\xff\xff" + b"\x28" + os.urandom(64)
    elif kind == "truncated-hello":
        hello = client_hello()
        assert hello[0] == 0x16, hello[:5]
        data = hello[: len(hello) // 2]
    else:
        raise SystemExit("unknown kind " + kind)
    t0 = time.monotonic()
    try:
        s.sendall(data)
    except OSError:
        pass
    closed, got = wait_closed(s, limit, t0)
    out({"mode": kind, "sent": len(data), "closed_after": closed, "bytes_from_server": got})


def legacy_key(server_pw, client_pw):
    return hashlib.sha256(b"replpeer rpl1 key v2\0" + struct.pack(">I", len(server_pw)) + server_pw
                          + struct.pack(">I", len(client_pw)) + client_pw).digest()


def u64(v):
    return struct.pack(">Q", v)


def mode_legacy(port, me, target, pwfile, clientpwfile):
    with open(pwfile, "rb") as f:
        pw = f.readline().rstrip(b"\r\n")
    with open(clientpwfile, "rb") as f:
        cpw = f.readline().rstrip(b"\r\n")
    key = legacy_key(pw, cpw)
    s = connect(port)
    s.settimeout(10)
    s.sendall(b"RPL1" + frame(MSG_L_HELLO, tlv(F_VERSION, u64(2)) + tlv(F_FROM, me) + tlv(F_TO, target)
                              + tlv(F_PURPOSE, u64(1))))
    mtype, f = recv_frame(s)
    if mtype == MSG_ERROR:
        out({"step": "auth", "ok": False, "message_id": f.get(F_MSGID, b"").decode(),
             "text": f.get(F_TEXT, b"").decode()})
        return 1
    if mtype != MSG_L_CHALLENGE:
        out({"step": "auth", "ok": False, "unexpected": mtype})
        return 1
    nonce_s, nonce_c = f[F_NONCE], os.urandom(32)
    names = me.upper().encode() + b"\0" + target.upper().encode() + b"\0"

    def tag(label):
        return hmac.new(key, label + b"\0" + nonce_s + nonce_c + names, hashlib.sha256).digest()

    s.sendall(frame(MSG_L_RESPONSE, tlv(F_NONCE, nonce_c) + tlv(F_TAG, tag(b"rpl1 client"))))
    mtype, f = recv_frame(s)
    if mtype != MSG_L_OK:
        out({"step": "auth", "ok": False, "unexpected": mtype,
             "message_id": f.get(F_MSGID, b"").decode(), "text": f.get(F_TEXT, b"").decode()})
        return 1
    out({"step": "auth", "ok": True, "server_proof_ok": hmac.compare_digest(f[F_TAG], tag(b"rpl1 server"))})
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "quit":
            break
        if cmd == "ping":
            t = struct.pack(">Q", time.monotonic_ns() // 1000)
            try:
                s.sendall(frame(MSG_PING, tlv(F_TIME, t)))
                mtype, f = recv_frame(s)
                out({"step": "ping", "ok": mtype == MSG_PONG and f.get(F_TIME) == t, "type": mtype})
            except (OSError, ConnectionError) as e:
                out({"step": "ping", "ok": False, "error": str(e)})
    s.close()
    return 0


def closed_by_server(s):
    """Reads what a readable non-blocking socket has; True on EOF or an
    error (the server closed it), False when data came or nothing yet."""
    try:
        return not s.recv(65536)
    except (BlockingIOError, InterruptedError):
        return False
    except OSError:
        return True


def mode_hold(port, count, seconds, stop):
    import selectors
    sel = selectors.DefaultSelector()
    opened = closed = failed = 0
    live = set()
    t0 = time.monotonic()

    def fill():
        nonlocal opened, failed
        while len(live) < count:
            try:
                s = connect(port)
            except OSError:
                failed += 1
                return
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ)
            live.add(s)
            opened += 1

    fill()
    last_fill = time.monotonic()
    out({"mode": "hold", "step": "filled", "open": len(live), "opened": opened})
    while time.monotonic() - t0 < seconds and not (stop and os.path.exists(stop)):
        for key, _ in sel.select(timeout=0.2):
            s = key.fileobj
            if closed_by_server(s):
                sel.unregister(s)
                live.discard(s)
                s.close()
                closed += 1
        if time.monotonic() - last_fill >= 1.0:
            fill()
            last_fill = time.monotonic()
    out({"mode": "hold", "step": "end", "opened": opened, "closed_by_server": closed,
         "connect_failed": failed, "open": len(live)})
    for s in live:
        s.close()


def mode_flood(port, count, sources, seconds, stop):
    import errno
    import selectors
    first, last = sources.split("-")
    base, lo = first.rsplit(".", 1)
    lo, hi = int(lo), int(last.rsplit(".", 1)[-1])
    addrs = ["%s.%d" % (base, i) for i in range(lo, hi + 1)]
    half = client_hello()
    half = half[: len(half) // 2]
    sel = selectors.DefaultSelector()
    st = {"opened": 0, "closed_by_server": 0, "connect_failed": 0}
    live = {}
    nxt = [0]

    def open_one():
        i = nxt[0]
        nxt[0] += 1
        s = socket.socket()
        s.setblocking(False)
        try:
            s.bind((addrs[i % len(addrs)], 0))
            rc = s.connect_ex(("127.0.0.1", port))
        except OSError:
            rc = -1
        if rc not in (0, errno.EINPROGRESS):
            s.close()
            st["connect_failed"] += 1
            return False
        live[s] = (i % 2 == 1)  # sends the half hello once connected
        sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
        st["opened"] += 1
        return True

    def drop(s):
        sel.unregister(s)
        del live[s]
        s.close()

    t0 = time.monotonic()
    while len(live) < count and time.monotonic() - t0 < 30:
        if not open_one():
            time.sleep(0.01)
    out({"mode": "flood", "step": "filled", "open": len(live), "opened": st["opened"]})
    min_open = len(live)
    while time.monotonic() - t0 < seconds and not (stop and os.path.exists(stop)):
        for key, ev in sel.select(timeout=0.1):
            s = key.fileobj
            if s not in live:
                continue
            if ev & selectors.EVENT_WRITE:
                if live[s]:
                    try:
                        s.send(half)
                    except OSError:
                        pass
                sel.modify(s, selectors.EVENT_READ)
                continue
            if closed_by_server(s):
                drop(s)
                st["closed_by_server"] += 1
        min_open = min(min_open, len(live))
        while len(live) < count:
            if not open_one():
                break
    st.update({"mode": "flood", "step": "end", "open": len(live), "min_open": min_open})
    out(st)
    for s in list(live):
        s.close()


def main(argv):
    global SOURCE
    limit = 15.0
    if "--source" in argv:
        i = argv.index("--source")
        SOURCE = argv[i + 1]
        del argv[i:i + 2]
    if "--limit" in argv:
        i = argv.index("--limit")
        limit = float(argv[i + 1])
        del argv[i:i + 2]
    mode = argv[1]
    if mode == "silent":
        mode_silent(int(argv[2]), limit)
    elif mode == "junk":
        mode_junk(int(argv[2]), argv[3], argv[4:], limit)
    elif mode == "legacy":
        return mode_legacy(int(argv[2]), argv[3], argv[4], argv[5], argv[6])
    elif mode == "flood":
        seconds, stop, sources = 30.0, None, "127.0.0.2-127.0.0.200"
        for opt in ("--seconds", "--stop", "--sources"):
            if opt in argv:
                i = argv.index(opt)
                v = argv[i + 1]
                del argv[i:i + 2]
                if opt == "--seconds":
                    seconds = float(v)
                elif opt == "--stop":
                    stop = v
                else:
                    sources = v
        mode_flood(int(argv[2]), int(argv[3]), sources, seconds, stop)
    elif mode == "hold":
        seconds, stop = 30.0, None
        if "--seconds" in argv:
            i = argv.index("--seconds")
            seconds = float(argv[i + 1])
            del argv[i:i + 2]
        if "--stop" in argv:
            i = argv.index("--stop")
            stop = argv[i + 1]
            del argv[i:i + 2]
        mode_hold(int(argv[2]), int(argv[3]), seconds, stop)
    else:
        raise SystemExit(__doc__)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
