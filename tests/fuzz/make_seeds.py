#!/usr/bin/env python3
"""Writes the seed corpus of each fuzz target into tests/fuzz/corpus/<target>/
(a few valid inputs each). Run from the repository root; certificates come
from openssl. The files are committed; rerun only to change the seeds."""
import os
import ssl
import struct
import subprocess
import tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


def tlv(tag, v):
    if isinstance(v, str):
        v = v.encode()
    if isinstance(v, int):
        v = struct.pack(">Q", v)
    return struct.pack(">HI", tag, len(v)) + v


# field and message numbers of peer/proto.h
F_FROM, F_TO, F_TAG, F_MSGID, F_TEXT, F_NONCE, F_TIME, F_FP, F_ENTRY = 1, 2, 11, 12, 13, 14, 15, 22, 23
F_VERSION, F_PURPOSE = 30, 31
MSG_ERROR, MSG_PING, MSG_PONG, MSG_BYE, MSG_CERTS, MSG_CERTS_ACK = 5, 10, 11, 12, 20, 21
MSG_L_HELLO, MSG_L_RESPONSE = 40, 42

hello = tlv(F_VERSION, 2) + tlv(F_FROM, "FUZZ") + tlv(F_TO, "VICTIM") + tlv(F_PURPOSE, 1)

# ---- tlv
put("tlv", "hello", hello)
put("tlv", "error", tlv(F_MSGID, "RPL0409E") + tlv(F_TEXT, "protocol error"))
put("tlv", "nested", tlv(F_ENTRY, tlv(F_FP, bytes(32)) + tlv(F_TIME, 1700000000)) + tlv(5, b"\x00" * 32))
put("tlv", "frame", struct.pack(">IB", 9, MSG_PING) + struct.pack(">H", 8) + b"abcdefgh")

# ---- admin
for i, line in enumerate([
        "DEFINE SERVER B HLADDRESS=10.0.0.1 LLADDRESS=1501 SERVERPASSWORD=bravo-server-pw DESCRIPTION=\"two words\"",
        "QUERY ACTLOG BEGINTIME=-1h ENDTIME=NOW SEARCH=\"from EVE\" MSGNO=425",
        "Q SE B F=D",
        "PING SERVER *",
        "UPDATE SERVER b FORCESYNC=YES SESSIONSECURITY=transitional x='a=b'",
        "REGISTER NODE n1",
        # abbreviations, keyword values, password slots and HELP (admin_resolve)
        "UPD SE B FORCES=Y DESC=\"a b\" SESSIONSEC=TRANS",
        "Q S",
        "UPDATE SERVER B LLADDRESS=1 LLA=2",
        "HELP Q SE",
        "HELP rpl0403e",
        "SET CROSSD O",
        "REG AD bob - AUTH=LD CL=S",
        "DEF SE X HLA=h SERVERPA=- VER=C SSL=Y"]):
    put("admin", "line%d" % i, line)

# ---- conf
put("conf", "minimal", "SERVERNAME alpha\nTCPPORT 1500\n")
put("conf", "full", "# sample\nSERVERNAME ALPHA\nTCPADDRESS 127.0.0.1\nTCPPORT 1500\nSSLTLS13 YES\n"
    "KEYTYPE RSA-2048\nCOMMTIMEOUT 60\nMAXSESSIONS 256\nLOGLEVEL debug\nDBMAXSIZE 64G\n"
    "PREAUTHMAX 64\nPREAUTHPERADDR 8\nACTLOGRETENTION 30\nMAXBANDWIDTH 100M\nLDAPURL ldaps://h:636\n")
put("conf", "bad", "SERVERNAME a b\nTCPPORT 99999\nNOSUCHKEY 1\n")
sample = os.path.join(os.path.dirname(ROOT), "..", "..", "etc", "replpeer.conf")
if os.path.exists(sample):
    put("conf", "etc-sample", open(sample, "rb").read())

# ---- cert
with tempfile.TemporaryDirectory() as t:
    for kind, args in (("ec", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]),
                       ("rsa", ["-newkey", "rsa:2048"])):
        pem = os.path.join(t, kind + ".pem")
        subprocess.run(["openssl", "req", "-x509", *args, "-nodes", "-keyout", os.path.join(t, "k"),
                        "-out", pem, "-days", "30", "-subj", "/CN=fuzz-" + kind,
                        "-addext", "subjectAltName=DNS:fuzz,IP:127.0.0.1"],
                       check=True, capture_output=True)
        put("cert", kind + ".pem", open(pem, "rb").read())
        der = subprocess.run(["openssl", "x509", "-in", pem, "-outform", "DER"], check=True,
                             capture_output=True).stdout
        put("cert", kind + ".der", der)
    ca = os.path.join(t, "ca.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", os.path.join(t, "k"), "-out", ca, "-days", "30",
                    "-subj", "/CN=fuzz CA", "-addext", "basicConstraints=critical,CA:TRUE"],
                   check=True, capture_output=True)
    put("cert", "ca.pem", open(ca, "rb").read())


# ---- peer: first byte = mode (0 raw, 1 protocol 1 frames, 2 authenticated)
def frames(*fs):
    out = b""
    for mtype, payload in fs:
        out += bytes([mtype]) + struct.pack(">H", len(payload)) + payload
    return out


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


put("peer", "raw-clienthello", b"\x00" + client_hello())
put("peer", "raw-rpl1-hello", b"\x00" + b"RPL1" + struct.pack(">IB", len(hello) + 1, MSG_L_HELLO) + hello)
put("peer", "raw-junk", b"\x00" + b"GET / HTTP/1.0\r\n\r\n")
put("peer", "p1-hello", b"\x01" + frames((MSG_L_HELLO, hello)))
put("peer", "p1-hello-response", b"\x01" + frames((MSG_L_HELLO, hello),
                                                   (MSG_L_RESPONSE, tlv(F_NONCE, bytes(32)) + tlv(F_TAG, bytes(32)))))
put("peer", "p1-hello-other-name", b"\x01" + frames((MSG_L_HELLO, tlv(F_VERSION, 2) + tlv(F_FROM, "NOBODY")
                                                     + tlv(F_TO, "VICTIM") + tlv(F_PURPOSE, 2))))
put("peer", "auth-ping", b"\x02\x01" + frames((MSG_PING, tlv(F_TIME, 42))))
put("peer", "auth-ack-ping-bye", b"\x02\x01" + frames((MSG_CERTS_ACK, tlv(F_FP, bytes(32))),
                                                      (MSG_PING, tlv(F_TIME, 1)), (MSG_BYE, b"")))
put("peer", "auth-sync-certs", b"\x02\x02" + frames((MSG_CERTS, tlv(F_ENTRY, tlv(F_FP, bytes(32))))))
put("peer", "auth-error", b"\x02\x01" + frames((MSG_ERROR, tlv(F_MSGID, "RPL0409E") + tlv(F_TEXT, "x"))))
