#!/usr/bin/env python3
"""The TLS posture of servers, from outside (loopback only).

  tlsposture.py --cert C --key K --control PORT NAME=PORT... [--jobs N] [--json F]

Against every NAME=PORT (a replpeer listener) and against the control PORT
(a permissive 'openssl s_server', which shows that a client really offers
what it is asked to offer), one handshake per probe:
  - versions: SSLv3 (a hand-made ClientHello: no client here speaks it),
    TLS 1.0, 1.1, 1.2, 1.3 with openssl s_client and gnutls-cli;
  - every TLS 1.2 cipher suite openssl knows, one at a time;
  - every TLS 1.3 suite, one at a time (openssl, gnutls);
  - gnutls: every key exchange (all ciphers), every cipher (all key
    exchanges) in TLS 1.2, so a weak one cannot hide behind a strong one;
  - every named group the clients know, one at a time, TLS 1.2 and 1.3;
    a group counts as accepted when the server keyed the handshake with it
    (openssl's "Server Temp Key", gnutls' description), even when the
    client then gave up for a reason of its own; a HelloRetryRequest for
    another group is not acceptance;
  - compression: a TLS 1.2 ClientHello offering DEFLATE first, and one
    offering only DEFLATE;
  - renegotiation: a client-initiated TLS 1.2 renegotiation (openssl 'R',
    gnutls --rehandshake) must not complete.
The client certificate C/K is given in every openssl and gnutls probe.
Prints a table (one row per probe, one column per server) and, with
--json, writes {"results": [...], "violations": [...], "summary": {...}}
where a violation is anything a replpeer listener completed beyond TLS 1.2
/ 1.3, ECDHE + AEAD and the groups X25519, P-256, P-384.
"""
import concurrent.futures
import json
import os
import re
import socket
import struct
import subprocess
import sys

INTENDED_GROUPS = {"X25519", "P-256", "P-384"}
AEAD_12 = re.compile(r"^ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305|AES(128|256)-CCM8?)$")
GNUTLS_AEAD = re.compile(r"^(AES-(128|256)-GCM|CHACHA20-POLY1305|AES-(128|256)-CCM(-8)?)$")
TLS13_SUITES = ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
                "TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_8_SHA256"]
# OpenSSL 3.0's TLS groups (ssl/t1_lib.c), by the names -groups takes.
OPENSSL_GROUPS = ["sect163k1", "sect163r1", "sect163r2", "sect193r1", "sect193r2", "sect233k1",
                  "sect233r1", "sect239k1", "sect283k1", "sect283r1", "sect409k1", "sect409r1",
                  "sect571k1", "sect571r1", "secp160k1", "secp160r1", "secp160r2", "secp192k1",
                  "prime192v1", "secp224k1", "secp224r1", "secp256k1", "prime256v1", "secp384r1",
                  "secp521r1", "brainpoolP256r1", "brainpoolP384r1", "brainpoolP512r1", "X25519",
                  "X448", "ffdhe2048", "ffdhe3072", "ffdhe4096", "ffdhe6144", "ffdhe8192"]
GROUP_ALIAS = {"prime256v1": "P-256", "secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521",
               "prime192v1": "P-192", "secp224r1": "P-224", "SECP256R1": "P-256", "SECP384R1": "P-384",
               "SECP521R1": "P-521", "SECP192R1": "P-192", "SECP224R1": "P-224", "x25519": "X25519",
               "x448": "X448", "FFDHE2048": "ffdhe2048", "FFDHE3072": "ffdhe3072",
               "FFDHE4096": "ffdhe4096", "FFDHE6144": "ffdhe6144", "FFDHE8192": "ffdhe8192"}
GNUTLS_BASE = "+MAC-ALL:+SIGN-ALL:+COMP-NULL:+CTYPE-ALL"
_GL = subprocess.run(["gnutls-cli", "--list"], stdout=subprocess.PIPE).stdout.decode()
GNUTLS = {k: re.search(r"^%s: (.*)$" % h, _GL, re.M).group(1).split(", ")
          for k, h in (("kx", "Key exchange algorithms"), ("ciphers", "Ciphers"), ("groups", "Groups"))}
GNUTLS_CIPHERS = set(GNUTLS["ciphers"])


# Without the system CA store, which takes s_client 60 ms to load, every time.
OPENSSL = ["openssl", "s_client", "-no-CAfile", "-no-CApath", "-no-CAstore"]


def canon_group(g):
    return GROUP_ALIAS.get(g, g)


def run(cmd, stdin=b"", timeout=15):
    try:
        p = subprocess.run(cmd, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout)
        return p.stdout.decode(errors="replace")
    except subprocess.TimeoutExpired as e:
        return (e.stdout or b"").decode(errors="replace") + "\n(timeout)"


# ---- openssl s_client -----------------------------------------------------------

def openssl_probe(port, args, cert, key):
    out = run(OPENSSL + ["-connect", f"127.0.0.1:{port}", "-cert", cert, "-key", key] + args)
    r = {"done": False}
    # "New, X, Cipher is Y" names the suite's own version; the session's
    # protocol is in the SSL-Session block, which TLS 1.3 prints only
    # when a ticket arrives before the client leaves (TLS 1.3 suites
    # exist in TLS 1.3 only).
    m = re.search(r"^New, \S+, Cipher is (\S+)$", out, re.M)
    v = re.search(r"^\s+Protocol\s*: (\S+)$", out, re.M)
    if m and m.group(1) != "(NONE)" and (v or m.group(1).startswith("TLS_")):
        r.update(done=True, version=v.group(1) if v else "TLSv1.3", cipher=m.group(1))
    k = re.search(r"^Server Temp Key: (?:ECDH, )?([A-Za-z0-9-]+)", out, re.M)
    if k:
        r["group"] = canon_group(k.group(1))
        if r["group"] == "DH":
            r["group"] = "ffdhe"
    if re.search(r"Failed to set groups|Error with command|Call to SSL_CONF_cmd|no suitable groups|"
                 r"No groups enabled|no ciphers available", out):
        r["client_cannot"] = True
    return r


# ---- gnutls-cli -----------------------------------------------------------------

def gnutls_probe(port, priority, cert, key, extra=()):
    out = run(["gnutls-cli", "--insecure", "-p", str(port), "--x509certfile", cert,
               "--x509keyfile", key, "--priority", priority] + list(extra) + ["127.0.0.1"])
    r = {"done": False}
    if "Syntax error at" in out or "The request is invalid" in out:
        r["client_cannot"] = True
    # (VERSION-CERTTYPE)-(KX[-GROUP])-[(SIGNATURE)-](CIPHER)[-(MAC)]
    m = re.search(r"Description: \((.*)\)$", out, re.M)
    if "Handshake was completed" in out and m:
        parts = m.group(1).split(")-(")
        cipher = next((p for p in parts[2:] if p in GNUTLS_CIPHERS), "?")
        r.update(done=True, version=parts[0].split("-")[0].replace("TLS1", "TLSv1"), kx=parts[1],
                 cipher=cipher)
        g = re.match(r"^(?:ECDHE|DHE)-(.+)$", parts[1])
        if g:
            r["group"] = canon_group(g.group(1))
    if "--rehandshake" in extra:
        r["reneg_done"] = "rehandshake was completed" in out.lower()
    return r


# ---- hand-made ClientHello ------------------------------------------------------

def client_hello(version, compression=(0,)):
    suites = [0xC02B, 0xC02F, 0xCCA9, 0xCCA8, 0xC009, 0xC013, 0x002F, 0x0035, 0x000A, 0x00FF]
    ext = b""
    ext += struct.pack(">HHH", 10, 8, 6) + struct.pack(">HHH", 29, 23, 24)     # supported_groups
    ext += struct.pack(">HHB", 11, 2, 1) + b"\x00"                               # ec_point_formats
    sigs = [0x0403, 0x0503, 0x0804, 0x0401, 0x0201, 0x0203]
    ext += struct.pack(">HHH", 13, 2 + 2 * len(sigs), 2 * len(sigs)) + b"".join(struct.pack(">H", s) for s in sigs)
    body = struct.pack(">H", version) + os.urandom(32) + b"\x00"
    body += struct.pack(">H", 2 * len(suites)) + b"".join(struct.pack(">H", s) for s in suites)
    body += bytes([len(compression)]) + bytes(compression)
    body += struct.pack(">H", len(ext)) + ext
    hs = b"\x01" + struct.pack(">I", len(body))[1:] + body
    return b"\x16" + struct.pack(">HH", min(version, 0x0301), len(hs)) + hs


def raw_probe(port, version, compression=(0,)):
    """What the server answers a hand-made ClientHello with: a ServerHello
    (its version, suite, compression), an alert, or a close."""
    r = {"done": False}
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(client_hello(version, compression))
        buf = b""
        while len(buf) < 5 or len(buf) < 5 + struct.unpack(">H", buf[3:5])[0]:
            d = s.recv(4096)
            if not d:
                break
            buf += d
        s.close()
    except OSError as e:
        r["error"] = str(e)
        return r
    if len(buf) >= 7 and buf[0] == 0x15:
        r["alert"] = [buf[5], buf[6]]
    elif len(buf) >= 5 + 4 + 2 + 32 + 1 and buf[0] == 0x16 and buf[5] == 2:
        b = buf[9:]
        v = struct.unpack(">H", b[0:2])[0]
        sid = b[34]
        off = 35 + sid
        suite, comp = struct.unpack(">HB", b[off:off + 3])
        r.update(server_hello=True, version={0x0300: "SSLv3", 0x0301: "TLSv1", 0x0302: "TLSv1.1",
                                             0x0303: "TLSv1.2"}.get(v, hex(v)),
                 cipher="0x%04x" % suite, compression=comp)
        # A ServerHello is the server's agreement to go on with these terms.
        r["done"] = True
    else:
        r["closed"] = True
    return r


# ---- renegotiation ---------------------------------------------------------------

def openssl_reneg(port, cert, key):
    """s_client -tls1_2, then 'R': renegotiation completed when a second
    ServerHello arrives."""
    p = subprocess.Popen(OPENSSL + ["-connect", f"127.0.0.1:{port}", "-tls1_2", "-msg",
                          "-cert", cert, "-key", key], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    import time
    time.sleep(0.7)
    try:
        p.stdin.write(b"R\n")
        p.stdin.flush()
        time.sleep(1.0)
        p.stdin.close()
    except OSError:
        pass
    p.stdin = None
    try:
        out = p.communicate(timeout=10)[0].decode(errors="replace")
    except subprocess.TimeoutExpired:
        p.kill()
        out = p.communicate()[0].decode(errors="replace")
    first = re.search(r"^New, \S+, Cipher is (?!\(NONE\))", out, re.M) is not None
    after = out.split("RENEGOTIATING", 1)[1] if "RENEGOTIATING" in out else ""
    return {"done": first, "tried": bool(after) or "RENEGOTIATING" in out,
            "reneg_done": "ServerHello" in after and "ServerHelloDone" in after}


# ---- the probe list --------------------------------------------------------------

def probes():
    ps = []
    ps.append(("version", "SSLv3 (raw ClientHello)", ("raw", 0x0300, (0,))))
    ps.append(("version", "TLS 1.0 (raw ClientHello)", ("raw", 0x0301, (0,))))
    ps.append(("version", "TLS 1.1 (raw ClientHello)", ("raw", 0x0302, (0,))))
    ps.append(("version", "TLS 1.2 (raw ClientHello)", ("raw", 0x0303, (0,))))
    for flag, name in (("-tls1", "1.0"), ("-tls1_1", "1.1"), ("-tls1_2", "1.2"), ("-tls1_3", "1.3")):
        ps.append(("version", f"TLS {name} (openssl {flag})", ("openssl", [flag, "-cipher", "ALL:@SECLEVEL=0"])))
    for v in ("TLS1.0", "TLS1.1", "TLS1.2", "TLS1.3"):
        ps.append(("version", f"TLS {v[3:]} (gnutls VERS-{v})",
                   ("gnutls", f"NORMAL:-VERS-ALL:+VERS-{v}:%VERIFY_ALLOW_SIGN_WITH_SHA1")))
    # PSK suites are offered only with -psk (and listed only with it).
    suites = run(["openssl", "ciphers", "-psk", "-s", "-tls1_2", "ALL:COMPLEMENTOFALL:@SECLEVEL=0"]).strip()
    for c in suites.split(":"):
        if c and not c.startswith("TLS_"):
            psk = ["-psk", "0123456789abcdef"] if "PSK" in c else []
            ps.append(("suite12", c, ("openssl", ["-tls1_2", "-cipher", c + ":@SECLEVEL=0"] + psk)))
    for c in TLS13_SUITES:
        ps.append(("suite13", c, ("openssl", ["-tls1_3", "-ciphersuites", c])))
    kxs, ciphers, groups = GNUTLS["kx"], GNUTLS["ciphers"], GNUTLS["groups"]
    for kx in kxs:
        ps.append(("kx12", f"gnutls TLS 1.2 kx {kx}",
                   ("gnutls", f"NONE:+VERS-TLS1.2:+{kx}:+CIPHER-ALL:+NULL:{GNUTLS_BASE}:+GROUP-ALL")))
    for c in ciphers:
        ps.append(("cipher12", f"gnutls TLS 1.2 cipher {c}",
                   ("gnutls", f"NONE:+VERS-TLS1.2:+KX-ALL:+{c}:{GNUTLS_BASE}:+GROUP-ALL")))
    for c in ("AES-128-GCM", "AES-256-GCM", "CHACHA20-POLY1305", "AES-128-CCM", "AES-128-CCM-8"):
        ps.append(("suite13", f"gnutls TLS 1.3 {c}",
                   ("gnutls", f"NONE:+VERS-TLS1.3:+{c}:+AEAD:+SIGN-ALL:+GROUP-ALL:+CTYPE-ALL")))
    for g in OPENSSL_GROUPS:
        for v in ("1.2", "1.3"):
            ps.append((f"group{v[2]}", f"{g} TLS {v} (openssl)",
                       ("openssl", ["-tls1_" + v[2], "-groups", g, "-cipher", "ALL:@SECLEVEL=0"]), canon_group(g)))
    for g in groups:
        for v in ("1.2", "1.3"):
            ps.append((f"group{v[2]}", f"{g[6:]} TLS {v} (gnutls)",
                       ("gnutls", f"NONE:+VERS-TLS{v}:+KX-ALL:+CIPHER-ALL:{GNUTLS_BASE}:+AEAD:+{g}"),
                       canon_group(g[6:])))
    ps.append(("compression", "TLS 1.2 ClientHello offering DEFLATE, then none", ("raw", 0x0303, (1, 0))))
    ps.append(("compression", "TLS 1.2 ClientHello offering only DEFLATE", ("raw", 0x0303, (1,))))
    ps.append(("reneg", "TLS 1.2 client renegotiation (openssl R)", ("openssl-reneg",)))
    ps.append(("reneg", "TLS 1.2 client renegotiation (gnutls --rehandshake)",
               ("gnutls", "NORMAL:-VERS-ALL:+VERS-TLS1.2", ["--rehandshake"])))
    return ps


def run_probe(port, p, cert, key):
    how = p[2]
    if how[0] == "raw":
        return raw_probe(port, how[1], how[2])
    if how[0] == "openssl":
        return openssl_probe(port, how[1], cert, key)
    if how[0] == "openssl-reneg":
        return openssl_reneg(port, cert, key)
    return gnutls_probe(port, how[1], cert, key, how[2] if len(how) > 2 else ())


def violation(p, r):
    """Why a replpeer listener must not have done this, or None."""
    kind, name = p[0], p[1]
    if kind == "reneg":
        return "client-initiated renegotiation completed" if r.get("reneg_done") else None
    if kind == "compression":
        if r.get("server_hello") and r.get("compression") != 0:
            return "compression method %d chosen" % r["compression"]
        if kind == "compression" and name.endswith("only DEFLATE") and r.get("server_hello"):
            return "a ServerHello for a DEFLATE-only ClientHello"
        return None
    if kind.startswith("group"):
        want = p[3]
        if r.get("group") and r["group"] != "ffdhe" and r["group"] not in INTENDED_GROUPS:
            return "keyed with group %s" % r["group"]
        if r.get("group") == "ffdhe":
            return "keyed with finite-field DH (%s)" % want
    if not r.get("done"):
        return None
    v = r.get("version", "")
    if v not in ("TLSv1.2", "TLSv1.3"):
        return "completed %s" % v
    c = r.get("cipher", "")
    if "kx" in r:  # gnutls
        if not r["kx"].startswith("ECDHE-"):
            return "key exchange %s" % r["kx"]
        if not GNUTLS_AEAD.match(c):
            return "cipher %s" % c
    elif c.startswith("0x"):  # raw
        if c not in ("0xc02b", "0xc02f", "0xcca9", "0xcca8"):
            return "suite %s" % c
    elif v == "TLSv1.2" and not AEAD_12.match(c):
        return "suite %s" % c
    return None


def cell(p, r):
    if r.get("client_cannot") and not r.get("done") and not r.get("group"):
        return "client-n/a"
    if p[0] == "reneg":
        return "RENEG" if r.get("reneg_done") else ("refused" if r.get("done") else "no-hs")
    if p[0] == "compression":
        if r.get("server_hello"):
            return "comp=%d" % r["compression"]
        return "alert %d" % r["alert"][1] if r.get("alert") else "closed"
    if p[0].startswith("group"):
        if r.get("group") == p[3] or (r.get("group") == "ffdhe" and p[3].startswith("ffdhe")):
            return "KEYED" + ("" if r.get("done") else "(client quit)")
        return "-"
    if r.get("done"):
        return "%s %s" % (r.get("version", ""), r.get("cipher", ""))
    if r.get("alert"):
        return "alert %d" % r["alert"][1]
    return "-"


def main(argv):
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--control", type=int)
    ap.add_argument("--jobs", type=int, default=4)
    ap.add_argument("--json")
    ap.add_argument("servers", nargs="+")
    a = ap.parse_args(argv[1:])
    targets = [tuple(s.split("=", 1)) for s in a.servers]
    if a.control:
        targets.append(("control", str(a.control)))
    ps = probes()
    work = [(i, t) for i in range(len(ps)) for t in range(len(targets))]
    res = {}
    with concurrent.futures.ThreadPoolExecutor(a.jobs) as ex:
        futs = {ex.submit(run_probe, int(targets[t][1]), ps[i], a.cert, a.key): (i, t) for i, t in work}
        for f in concurrent.futures.as_completed(futs):
            res[futs[f]] = f.result()
    names = [t[0] for t in targets]
    w = max(len(p[1]) for p in ps)
    print("%-*s  %s" % (w, "probe", "  ".join("%-34s" % n for n in names)))
    results, violations = [], []
    for i, p in enumerate(ps):
        row = [cell(p, res[(i, t)]) for t in range(len(targets))]
        print("%-*s  %s" % (w, p[1], "  ".join("%-34s" % c for c in row)))
        entry = {"kind": p[0], "probe": p[1], "by": {}}
        for t, n in enumerate(names):
            entry["by"][n] = res[(i, t)]
            if n != "control":
                why = violation(p, res[(i, t)])
                if why:
                    violations.append({"server": n, "probe": p[1], "why": why})
        results.append(entry)
    summary = {}
    for n in names:
        s = summary[n] = {}
        for kind in ("version", "suite12", "suite13", "kx12", "cipher12", "group2", "group3"):
            s[kind] = sorted({e["probe"] for e in results if e["kind"] == kind
                              and (e["by"][n].get("done") if not kind.startswith("group")
                                   else cell(ps[results.index(e)], e["by"][n]).startswith("KEYED"))})
        s["reneg_done"] = [e["probe"] for e in results if e["kind"] == "reneg" and e["by"][n].get("reneg_done")]
        s["reneg_first_handshake"] = [e["probe"] for e in results if e["kind"] == "reneg" and e["by"][n].get("done")]
        s["compression"] = {e["probe"]: cell(ps[results.index(e)], e["by"][n]) for e in results
                            if e["kind"] == "compression"}
    print()
    for v in violations:
        print("VIOLATION %s: %s: %s" % (v["server"], v["probe"], v["why"]))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"results": results, "violations": violations, "summary": summary}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
