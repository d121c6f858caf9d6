#!/usr/bin/env python3
"""A fault-injecting TCP proxy for tests: any TCP stream, loopback only.

  faultproxy.py --listen PORT --target PORT [--control FILE] [--log FILE]
                [--mode MODE] [--seed N] [--dir c2s|s2c|any]
                [--max-offset N] [--stall-seconds S] [--max-delay-ms N]

Listens on 127.0.0.1:PORT and forwards each connection to
127.0.0.1:TARGET. Each connection gets a fault plan drawn from
random.Random(seed * 100003 + connection number), so a run is reproduced
by its seed. Modes:
  pass   forward unchanged
  delay  sleep 0..max-delay-ms before forwarding each chunk (both ways)
  frag   forward one byte per write, TCP_NODELAY (both ways)
  stall  at a random offset of one direction, forward nothing for
         stall-seconds (longer than the peers' COMMTIMEOUT), then go on
  reset  at a random offset of one direction, reset both connections
         (RST: SO_LINGER 0)
  flip   at a random offset of one direction, flip one bit
  dup    at a random offset of one direction, send the chunk there twice
  random one of the above per connection (pass excluded)
The offset is uniform in [0, max-offset) bytes of the direction (default
4096: the TLS handshake and the first frames); the direction is drawn
unless --dir says. --only bulk|tls|any injects only into connections
whose first client bytes are replpeer's bulk channel ("RPLB") or a TLS
record (0x16); the others pass unchanged. --frag-limit N ends 1-byte
writes after N bytes of a direction (a long bulk stream fragmented
byte by byte would take minutes). With --control FILE, each new
connection reads {"mode": ..., "seed": ..., "dir": ..., "only": ...,
"max_offset": ..., "frag_limit": ...} from FILE (when it exists), so a
test switches faults without restarting the proxy. Every connection ends
with one JSON line in the log (or stdout): its number, plan, bytes each
way, and whether the fault was injected (a short connection may end before
the offset).
"""
import argparse
import asyncio
import json
import os
import random
import socket
import struct
import sys

MODES = ["delay", "frag", "stall", "reset", "flip", "dup"]


class Plan:
    def __init__(self, mode, seed, conn, direction, a, s=None):
        s = s or {}
        rng = random.Random(seed * 100003 + conn)
        self.rng = rng
        self.mode = rng.choice(MODES) if mode == "random" else mode
        self.dir = direction if direction in ("c2s", "s2c") else rng.choice(["c2s", "s2c"])
        self.offset = rng.randrange(max(1, int(s.get("max_offset", a.max_offset))))
        self.only = s.get("only", a.only)
        self.frag_limit = int(s.get("frag_limit", a.frag_limit))
        self.kind = None
        self.bit = rng.randrange(8)
        self.stall = a.stall_seconds
        self.max_delay = a.max_delay_ms / 1000.0
        self.injected = False

    def doc(self):
        return {"mode": self.mode, "dir": self.dir, "offset": self.offset, "kind": self.kind}


def settings(a):
    s = {"mode": a.mode, "seed": a.seed, "dir": a.dir}
    if a.control and os.path.exists(a.control):
        try:
            with open(a.control) as f:
                s.update(json.load(f))
        except (OSError, ValueError):
            pass
    return s


def rst(writer):
    try:
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except (OSError, AttributeError):
        pass
    writer.transport.abort()


async def pump(reader, writer, other_writer, plan, direction, st):
    off = 0
    while True:
        try:
            data = await reader.read(65536)
        except (ConnectionError, OSError):
            break
        if not data:
            break
        n = len(data)
        if plan.kind is None and direction == "c2s":
            plan.kind = "bulk" if data[:4] == b"RPLB" else "tls" if data[:1] == b"\x16" else "other"
            if plan.only in ("bulk", "tls") and plan.kind != plan.only:
                plan.mode = "pass"
        mine = plan.dir == direction and not plan.injected
        at = plan.offset - off if mine and off <= plan.offset < off + len(data) else None
        try:
            if plan.mode == "delay":
                await asyncio.sleep(plan.rng.uniform(0, plan.max_delay))
            if at is not None and plan.mode == "flip":
                b = bytearray(data)
                b[at] ^= 1 << plan.bit
                data = bytes(b)
                plan.injected = True
            if at is not None and plan.mode in ("reset", "stall"):
                writer.write(data[:at])
                await writer.drain()
                plan.injected = True
                if plan.mode == "reset":
                    rst(writer)
                    rst(other_writer)
                    st[direction] += at
                    return
                await asyncio.sleep(plan.stall)
                data = data[at:]
            if plan.mode in ("frag", "delay"):
                plan.injected = True
            if plan.mode == "frag" and off < plan.frag_limit:
                for i in range(len(data)):
                    writer.write(data[i:i + 1])
                    await writer.drain()
            else:
                writer.write(data)
                if at is not None and plan.mode == "dup":
                    writer.write(data[at:])
                    plan.injected = True
                await writer.drain()
        except (ConnectionError, OSError):
            break
        off += n
        st[direction] = off
    try:
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError, RuntimeError):
        pass


async def handle(creader, cwriter, a, counter, log):
    counter[0] += 1
    conn = counter[0]
    s = settings(a)
    plan = Plan(s["mode"], int(s["seed"]), conn, s.get("dir", "any"), a, s)
    st = {"c2s": 0, "s2c": 0}
    try:
        sreader, swriter = await asyncio.open_connection("127.0.0.1", a.target)
    except OSError as e:
        log({"conn": conn, "error": "target: %s" % e})
        cwriter.close()
        return
    for w in (cwriter, swriter):
        try:
            w.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (OSError, AttributeError):
            pass
    if plan.mode == "pass":
        plan.dir = "-"
    await asyncio.gather(pump(creader, swriter, cwriter, plan, "c2s", st),
                         pump(sreader, cwriter, swriter, plan, "s2c", st))
    for w in (cwriter, swriter):
        try:
            w.close()
        except (ConnectionError, OSError, RuntimeError):
            pass
    d = {"conn": conn, "seed": int(s["seed"])}
    d.update(plan.doc())
    d.update({"bytes_c2s": st["c2s"], "bytes_s2c": st["s2c"], "injected": plan.injected})
    log(d)


async def main_async(a):
    counter = [0]
    out = open(a.log, "a") if a.log else sys.stdout

    def log(d):
        out.write(json.dumps(d) + "\n")
        out.flush()

    server = await asyncio.start_server(lambda r, w: handle(r, w, a, counter, log), "127.0.0.1",
                                        a.listen, reuse_address=True)
    if a.ready:
        open(a.ready, "w").close()
    async with server:
        await server.serve_forever()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--listen", type=int, required=True)
    ap.add_argument("--target", type=int, required=True)
    ap.add_argument("--mode", default="pass", choices=["pass", "random"] + MODES)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dir", default="any", choices=["c2s", "s2c", "any"])
    ap.add_argument("--max-offset", type=int, default=4096)
    ap.add_argument("--stall-seconds", type=float, default=5.0)
    ap.add_argument("--max-delay-ms", type=float, default=30.0)
    ap.add_argument("--only", default="any", choices=["bulk", "tls", "any"])
    ap.add_argument("--frag-limit", type=int, default=1 << 62)
    ap.add_argument("--control")
    ap.add_argument("--log")
    ap.add_argument("--ready", help="a file created once the proxy listens")
    a = ap.parse_args()
    try:
        asyncio.run(main_async(a))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
