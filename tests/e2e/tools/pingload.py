#!/usr/bin/env python3
"""Legitimate load: PING SERVER at a steady rate through the admin client.

  pingload.py RP DIR SERVER [--rate N] [--seconds S] [--jobs J]

Starts `RP admin -d DIR --json PING SERVER SERVER` N times a second (each
start on its own schedule, at most J running at once) for S seconds, and
prints one JSON document: how many were started, succeeded and failed, the
failures by message ID with a sample text each, the wall-clock latency
(median, 99th percentile, max, in ms), and the rate actually reached. DIR
may be a comma-separated list of instance directories: the PINGs go
round-robin from each.
"""
import argparse
import collections
import json
import statistics
import subprocess
import threading
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("rp")
    ap.add_argument("dirs")
    ap.add_argument("server")
    ap.add_argument("--rate", type=float, default=100)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--jobs", type=int, default=16)
    a = ap.parse_args()
    dirs = a.dirs.split(",")
    slots = threading.Semaphore(a.jobs)
    lock = threading.Lock()
    lat, fails, samples = [], collections.Counter(), {}
    started = [0]
    threads = []

    def one(d):
        t0 = time.monotonic()
        p = subprocess.run([a.rp, "admin", "-d", d, "--json", "PING SERVER " + a.server],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        ms = (time.monotonic() - t0) * 1000
        try:
            j = json.loads(p.stdout)
        except ValueError:
            j = {"ok": False, "message_id": "no-json", "error": (p.stdout + p.stderr).decode()[-200:]}
        with lock:
            if p.returncode == 0 and j.get("ok"):
                lat.append(ms)
            else:
                mid = j.get("message_id", "exit %d" % p.returncode)
                fails[mid] += 1
                samples.setdefault(mid, (j.get("error") or j.get("message") or "")[:300])
        slots.release()

    t_start = time.monotonic()
    n = int(a.rate * a.seconds)
    for i in range(n):
        due = t_start + i / a.rate
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
        slots.acquire()
        started[0] += 1
        th = threading.Thread(target=one, args=(dirs[i % len(dirs)],))
        th.start()
        threads.append(th)
    for th in threads:
        th.join()
    wall = time.monotonic() - t_start
    lat.sort()
    doc = {"started": started[0], "ok": len(lat), "failed": sum(fails.values()),
           "failures": dict(fails), "failure_samples": samples, "seconds": round(wall, 2),
           "rate": round(started[0] / wall, 1)}
    if lat:
        doc.update(p50_ms=round(statistics.median(lat), 1),
                   p99_ms=round(lat[min(len(lat) - 1, int(len(lat) * 0.99))], 1),
                   max_ms=round(lat[-1], 1))
    print(json.dumps(doc))


if __name__ == "__main__":
    main()
