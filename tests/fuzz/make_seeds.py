#!/usr/bin/env python3
"""Writes the seed corpus of each fuzz target into tests/fuzz/corpus/<target>/
(a few valid inputs each). Run from the repository root; certificates come
from openssl. The files are committed; rerun only to change the seeds.
ONLY=talk,auth (the environment) writes only those targets' seeds; the
backup seeds need a replpeer binary (RP, default build/replpeer) and
mdb_copy (lmdb-utils)."""
import os
import ssl
import struct
import subprocess
import tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(target, name, data):
    only = os.environ.get("ONLY")
    if only and target not in only.split(","):
        return
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


# ---- talk: byte 0 direction (0 FUZZ->VICTIM, 1 VICTIM->FUZZ), byte 1 purpose
MSG_CERTS_REFUSED = 22
put("talk", "in-ping", b"\x00\x00" + frames((MSG_PING, tlv(F_TIME, 7))))
put("talk", "in-ack-ack", b"\x00\x01" + frames((MSG_CERTS_ACK, tlv(F_FP, bytes(32)) + tlv(F_FP, b"\x11" * 32)),
                                               (MSG_CERTS_ACK, b"")))
put("talk", "in-certs", b"\x00\x01" + frames((MSG_CERTS_ACK, b""), (MSG_CERTS, tlv(F_ENTRY, tlv(F_FP, bytes(32))
                                                                                   + tlv(18, b"0" * 300)))))
put("talk", "in-certs-two", b"\x00\x01" + frames((MSG_CERTS, tlv(F_ENTRY, b"") + tlv(F_ENTRY, b""))))
put("talk", "in-bye", b"\x00\x00" + frames((MSG_BYE, b"")))
put("talk", "in-error", b"\x00\x00" + frames((MSG_ERROR, tlv(F_MSGID, "RPL0409E") + tlv(F_TEXT, "no"))))
put("talk", "in-pong", b"\x00\x00" + frames((MSG_PONG, tlv(F_TIME, 1))))
put("talk", "out-ack-pong", b"\x01\x00" + frames((MSG_CERTS_ACK, tlv(F_FP, bytes(32))), (MSG_PONG, tlv(F_TIME, 1))))
put("talk", "out-refused", b"\x01\x01" + frames((MSG_CERTS_REFUSED, tlv(F_FP, bytes(32)) + tlv(F_MSGID, "RPL0615E")
                                                + tlv(F_TEXT, "clock"))))
put("talk", "out-ping", b"\x01\x00" + frames((MSG_PING, tlv(F_TIME, 3))))
put("talk", "out-certs", b"\x01\x01" + frames((MSG_CERTS_ACK, b""), (MSG_CERTS, tlv(F_ENTRY, b"x" * 64))))

# ---- auth: byte 0 mode (0 pinned FUZZ, 1 NEWBIE first contact, 2 no
# certificate, 3 VICTIM connects to HOST), byte 1 flags (1 well-formed
# HELLO, 2 SRP, 4 SYNC, 8 FORCESYNC)
MSG_HELLO, MSG_HELLO_REPLY, MSG_AUTH, MSG_AUTH_OK = 1, 2, 3, 4
F_PROTO, F_METHOD, F_FLAGS, F_SALT, F_SRP_B, F_SRP_A, F_SRP_M1, F_SRP_M2 = 3, 4, 5, 6, 7, 8, 9, 10
F_VERIFIED_BY, F_ENDORSE, F_POSSESS = 16, 20, 21
F_SALT2, F_SRP_B2, F_SRP_A2, F_SRP_M1_2, F_SRP_M2_2 = 25, 26, 27, 28, 29


def hello2(frm, method, purpose=1):
    return (tlv(F_VERSION, 2) + tlv(F_FROM, frm) + tlv(F_TO, "VICTIM") + tlv(F_PROTO, 2)
            + tlv(F_PURPOSE, purpose) + tlv(F_METHOD, method) + tlv(F_FLAGS, 0))


srp_auth = (tlv(F_SRP_A, b"\x02" * 256) + tlv(F_SRP_M1, bytes(32)) + tlv(F_SRP_A2, b"\x03" * 256)
            + tlv(F_SRP_M1_2, bytes(32)) + tlv(F_TAG, bytes(32)) + tlv(F_VERIFIED_BY, 3))
put("auth", "pinned-key-auth", b"\x00\x01" + frames((MSG_AUTH, tlv(F_TAG, bytes(32)) + tlv(F_VERIFIED_BY, 1))))
put("auth", "pinned-hello-self", b"\x00\x00" + frames((MSG_HELLO, hello2("FUZZ", 1))))
put("auth", "pinned-hello-twice", b"\x00\x00" + frames((MSG_HELLO, hello2("FUZZ", 1)), (MSG_HELLO, hello2("FUZZ", 1))))
put("auth", "pinned-srp", b"\x00\x03" + frames((MSG_AUTH, srp_auth)))
put("auth", "newbie-srp-auth", b"\x01\x03" + frames((MSG_AUTH, srp_auth)))
put("auth", "newbie-srp-zero-A", b"\x01\x03" + frames((MSG_AUTH, tlv(F_SRP_A, bytes(256)) + tlv(F_SRP_M1, bytes(32))
                                                      + tlv(F_SRP_A2, bytes(256)) + tlv(F_SRP_M1_2, bytes(32))
                                                      + tlv(F_TAG, bytes(32)))))
put("auth", "newbie-key", b"\x01\x01" + frames((MSG_AUTH, tlv(F_TAG, bytes(32)))))
put("auth", "newbie-forcesync-sync", b"\x01\x0f" + frames((MSG_AUTH, srp_auth)))
put("auth", "nocert-hello", b"\x02\x00" + frames((MSG_HELLO, hello2("NOBODY", 2))))
put("auth", "unknown-version", b"\x00\x00" + frames((MSG_HELLO, tlv(F_VERSION, 3) + tlv(F_FROM, "FUZZ"))))
put("auth", "raw-in-tls", b"\x00\x00" + frames((0xFF, b"\xff\xff\xff\xff\x01")))
reply_srp = (tlv(F_VERSION, 2) + tlv(F_FROM, "HOST") + tlv(F_METHOD, 2) + tlv(F_SALT, bytes(32))
             + tlv(F_SRP_B, b"\x05" * 256) + tlv(F_SALT2, bytes(32)) + tlv(F_SRP_B2, b"\x07" * 256))
put("auth", "host-reply-srp", b"\x03\x00" + frames((MSG_HELLO_REPLY, reply_srp)))
put("auth", "host-reply-ok", b"\x03\x00" + frames((MSG_HELLO_REPLY, reply_srp),
                                                   (MSG_AUTH_OK, tlv(F_SRP_M2, bytes(32)) + tlv(F_SRP_M2_2, bytes(32))
                                                    + tlv(F_TAG, bytes(32)) + tlv(F_VERIFIED_BY, 3))))
put("auth", "host-reply-key", b"\x03\x00" + frames((MSG_HELLO_REPLY, tlv(F_VERSION, 2) + tlv(F_FROM, "HOST")
                                                    + tlv(F_METHOD, 1))))
put("auth", "host-error", b"\x03\x00" + frames((MSG_ERROR, tlv(F_MSGID, "RPL0410E") + tlv(F_TEXT, "no"))))
put("auth", "host-reply-zero-B", b"\x03\x00" + frames((MSG_HELLO_REPLY, tlv(F_VERSION, 2) + tlv(F_FROM, "HOST")
                                                       + tlv(F_METHOD, 2) + tlv(F_SALT, bytes(32))
                                                       + tlv(F_SRP_B, bytes(256)) + tlv(F_SALT2, bytes(32))
                                                       + tlv(F_SRP_B2, bytes(256)))))


# ---- backup: byte 0 even = the file as it is, odd = plaintext the harness
# seals (byte 1 segment size selector, byte 2 flags)
def section(kind, n):
    return bytes([kind]) + struct.pack(">Q", n)


if not os.environ.get("ONLY") or "backup" in os.environ["ONLY"].split(","):
    rp = os.environ.get("RP", os.path.join(os.path.dirname(ROOT), "..", "..", "build", "replpeer"))
    with tempfile.TemporaryDirectory() as t:
        inst = os.path.join(t, "i")
        with open(os.path.join(t, "pw"), "w") as f:
            f.write("seed-server-pw\n")
        subprocess.run([rp, "init", "-d", inst, "--name", "SEED", "--port", "1500",
                        "--password-file", os.path.join(t, "pw")], check=True, capture_output=True)
        mk = open(os.path.join(inst, "master.key"), "rb").read()
        conf = open(os.path.join(inst, "replpeer.conf"), "rb").read()
        subprocess.run(["mdb_copy", "-n", "-c", os.path.join(inst, "data.mdb"), os.path.join(t, "copy")], check=True,
                       capture_output=True)
        mdb = open(os.path.join(t, "copy"), "rb").read()
        plain = section(1, len(mk)) + mk + section(2, len(conf)) + conf + section(3, 2 ** 64 - 1) + mdb
        put("backup", "sealed-whole", b"\x01\xff\x00" + plain)
        put("backup", "sealed-small-segments", b"\x01\x03\x00" + plain)
        put("backup", "sealed-no-last", b"\x01\x40\x04" + plain)
        # flag 8: the harness's own master key and store, so the restore succeeds
        put("backup", "sealed-harness-instance", b"\x01\xff\x08" + plain)
        put("backup", "sealed-harness-small-segments", b"\x01\x07\x08" + plain)
        put("backup", "sealed-trailing", b"\x01\x40\x02" + plain)
        put("backup", "sealed-wrong-order", b"\x01\xff\x00" + section(2, len(conf)) + conf + section(1, 32) + mk)
        put("backup", "sealed-big-conf", b"\x01\xff\x00" + section(1, 32) + mk + section(2, 2 ** 40))
        subprocess.run([rp, "db", "-d", inst, "backup", "--out", os.path.join(t, "b"),
                        "--password-file", os.path.join(t, "pw")], check=True, capture_output=True)
        raw = open(os.path.join(t, "b"), "rb").read()
        put("backup", "raw-real-file-head", b"\x00" + raw[:4096])
        put("backup", "raw-huge-kdf", b"\x00" + b"RPLBAK1\n\x01\x16\x08\x01" + bytes(44) + b"\x00\x00\x00\x10")
