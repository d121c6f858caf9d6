#!/usr/bin/env bash
# The activity log against a running peer.
# 1. QUERY ACTLOG selects by BEGINTIME/ENDTIME (ISO 8601 taken from a reply,
#    relative -N/-Nh/-Nd), SEARCH (case-insensitive) and MSGNO (425 or
#    RPL0425W); without BEGINTIME it shows the last hour.
# 2. Log injection: a TLS client with a throw-away certificate sends a HELLO
#    whose 'to' is "A\nRPL0420I forged line\xff\xfe". A refuses it (RPL0415E);
#    the daemon log carries the escaped name on one line and no line starts
#    with the forged text; the log is valid UTF-8; QUERY ACTLOG --json parses
#    and shows the refusal with the escaped name, three attempts as one entry
#    repeated 3 times.
# 3. SET ACTLOGRETENTION 7 rewrites the ACTLOGRETENTION line of replpeer.conf
#    in place, is logged (RPL0521I), keeps the instance locked against a
#    second 'serve', refuses 0, and survives a restart.
source "$(dirname "$0")/lib.sh"

pa=$(port)
init_peer A "$pa"
start_peer A
wait_admin A

# ---- 1. ranges and filters ----
adm A "DEFINE SERVER BRAVO HLADDRESS=127.0.0.1 LLADDRESS=9 SERVERPASSWORD=bravo-password" >/dev/null || die "define BRAVO"
sleep 0.01
adm A "UPDATE SERVER BRAVO DESCRIPTION=Remote-Vault" >/dev/null || die "update BRAVO"

all=$(adm A QUERY ACTLOG) || die "QUERY ACTLOG"
ids=$(jget '" ".join(e["message_id"] for e in j)' <<<"$all")
expect_contains "$ids" 'RPL0420I RPL0504I RPL0505I$' "QUERY ACTLOG lists the last hour oldest first"

t_define=$(jget 'next(e["time"] for e in j if e["message_id"] == "RPL0504I")' <<<"$all")
t_start=$(jget 'next(e["time"] for e in j if e["message_id"] == "RPL0420I")' <<<"$all")
expect_eq "$(adm A "QUERY ACTLOG BEGINTIME=$t_define" | jget '" ".join(e["message_id"] for e in j)')" \
	"RPL0504I RPL0505I" "BEGINTIME=$t_define (a time from a reply) starts at that entry"
expect_eq "$(adm A "QUERY ACTLOG BEGINTIME=-1d ENDTIME=$t_start" | jget '[e["message_id"] for e in j][-1]')" \
	"RPL0420I" "ENDTIME includes the entry at that time and nothing later"
expect_eq "$(adm A "QUERY ACTLOG BEGINTIME=-2d ENDTIME=-1d" | jget 'len(j)')" 0 "a range of yesterday is empty"
expect_eq "$(adm A "QUERY ACTLOG BEGINTIME=-1h SEARCH=remote-vault" | jget '[e["message_id"] for e in j]')" \
	'["RPL0505I"]' "SEARCH is a case-insensitive substring"
expect_eq "$(adm A "QUERY ACTLOG MSGNO=504" | jget '[e["message_id"] for e in j]')" '["RPL0504I"]' "MSGNO=504"
expect_eq "$(adm A "QUERY ACTLOG MSGNO=RPL0420I" | jget 'len(j)')" 1 "MSGNO=RPL0420I"
expect_rc 2 adm A "QUERY ACTLOG BEGINTIME=tomorrow"   # an invalid value: a syntax error
expect_contains "$(cat "$W/last.out")" 'RPL0502E' "a time that is not one is refused with RPL0502E"

# ---- 2. log injection ----
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/x.key" -out "$W/x.pem" \
	-days 2 -subj /CN=EVE >/dev/null 2>&1 || die "throw-away certificate"
hello() {
	python3 - "$pa" "$W/x.pem" "$W/x.key" <<'PY'
import json, socket, ssl, struct, sys
port, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def tlv(tag, v):
    return struct.pack(">HI", tag, len(v)) + v
def u64(n):
    return struct.pack(">Q", n)
payload = (tlv(1, b"EVE") + tlv(2, b"A\nRPL0420I forged line\xff\xfe") + tlv(3, u64(2))
           + tlv(4, u64(2)) + tlv(30, u64(2)))
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.load_cert_chain(cert, key)
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname="replpeer")
s.sendall(struct.pack(">IB", len(payload) + 1, 1) + payload)
def exact(n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise SystemExit("closed before a reply")
        b += c
    return b
n, mtype = struct.unpack(">IB", exact(5))
body, fields, off = exact(n - 1), {}, 0
while off < len(body):
    tag, ln = struct.unpack_from(">HI", body, off)
    fields[tag] = body[off + 6: off + 6 + ln]
    off += 6 + ln
print(json.dumps({"type": mtype, "message_id": fields.get(12, b"").decode(),
                  "text": fields.get(13, b"").decode("utf-8", "backslashreplace")}))
PY
}
for i in 1 2 3; do
	reply=$(hello) || die "HELLO client: $reply"
done
expect_eq "$(jget 'j["message_id"]' <<<"$reply")" RPL0415E "A refuses a HELLO to another name with RPL0415E"
esc='not A\\nRPL0420I forged line\\xff\\xfe'
wait_until 5 log_has A "$esc" || die "the daemon log lacks the escaped name: $(tail -5 "$W/A.log")"
ok "the daemon log carries the escaped name on one line"
expect_not_contains "$(cut -d' ' -f3- "$W/A.log")" '^RPL0420I forged' "no daemon-log line starts with the forged text"
expect_not_contains "$(cat "$W/A.log")" '^RPL0420I' "no daemon-log line starts with a message ID"
python3 -c 'import sys; open(sys.argv[1], "rb").read().decode("utf-8")' "$W/A.log" 2>/dev/null ||
	die "the daemon log is not valid UTF-8"
ok "the daemon log is valid UTF-8 (no raw \\xff \\xfe)"

json=$(adm A QUERY ACTLOG MSGNO=427) || die "QUERY ACTLOG MSGNO=427"
python3 -c 'import json,sys; json.loads(sys.argv[1])' "$json" || die "QUERY ACTLOG --json does not parse: $json"
ok "QUERY ACTLOG --json parses"
expect_eq "$(jget 'len(j)' <<<"$json")" 1 "three equal refusals are one activity-log entry"
expect_contains "$(jget 'j[0]["message"]' <<<"$json")" "EVE.*RPL0415E this is server A, $esc" \
	"the refusal entry names EVE and shows the escaped name"
expect_eq "$(jget 'j[0].get("repeated")' <<<"$json")" 3 "the entry counts the three attempts (repeated)"
table=$("$RP" admin -d "$W/A" QUERY ACTLOG MSGNO=427)
expect_eq "$(wc -l <<<"$table")" 3 "the table shows the refusal on one line (header, rule, entry)"
expect_contains "$(head -1 <<<"$table")" 'Repeated' "the table has a Repeated column when an entry repeats"

# ---- 3. SET ACTLOGRETENTION ----
expect_rc 0 adm A SET ACTLOGRETENTION 7
expect_contains "$(cat "$W/last.out")" 'RPL0521I' "SET ACTLOGRETENTION 7 answers RPL0521I"
expect_eq "$(grep -ciE '^[[:space:]]*ACTLOGRETENTION[[:space:]]+7$' "$W/A/replpeer.conf")" 1 \
	"replpeer.conf has the active line ACTLOGRETENTION 7"
expect_eq "$(grep -ciE '^#ACTLOGRETENTION' "$W/A/replpeer.conf")" 0 "the commented template line became that line"
expect_eq "$(adm A QUERY ACTLOG MSGNO=521 | jget 'j[0]["message"]')" \
	"activity-log retention changed from 30 to 7 days by the administrator" "the change is in the activity log"
expect_rc 1 timeout 10 "$RP" serve -d "$W/A"
expect_contains "$(cat "$W/last.err")" 'RPL0109E' "after the rewrite a second serve is still refused (the lock moved to the new file)"
expect_rc 2 adm A SET ACTLOGRETENTION 0
expect_contains "$(cat "$W/last.out")" 'RPL0502E' "SET ACTLOGRETENTION 0 is refused"
expect_eq "$(grep -ciE '^ACTLOGRETENTION 7$' "$W/A/replpeer.conf")" 1 "a refused value leaves replpeer.conf alone"

restart_peer A
expect_eq "$(grep -ciE '^ACTLOGRETENTION 7$' "$W/A/replpeer.conf")" 1 "replpeer.conf keeps ACTLOGRETENTION 7 across a restart"
expect_rc 0 adm A SET ACTLOGRETENTION 30
expect_contains "$(jget 'j["message"]' <"$W/last.out")" 'was 7\)' "the restarted daemon runs with 7 days"
# EVE's refusals are logged at the level of their ID, RPL0415E: ERROR.
grep -E "ERROR|Sanitizer|runtime error" "$W/A.log" | grep -vE 'ERROR RPL0415E session [0-9]+ from server EVE ' &&
	die "errors in A's log"
ok "no errors in A's log but EVE's refusals"
exit 0
