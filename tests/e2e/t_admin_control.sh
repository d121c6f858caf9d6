#!/usr/bin/env bash
# Monitoring and control as the anchor's administrators use them:
# 1. QUERY STATUS: name, version, uptime, address, options in force, counts
#    (partners, sessions, processes, nodes, sessions/replication disabled).
# 2. QUERY OPTION [name] (exact, abbreviated, wildcard; unknown -> RPL1230E)
#    with value, default, the value in replpeer.conf and restart_needed.
# 3. SETOPT: replpeer.conf written first (comments, other lines and mode
#    kept), in force at once (RPL1231I) or after a restart (RPL1232W);
#    SERVERNAME refused (RPL1233E); a bad value changes nothing in the
#    file; a restart keeps what SETOPT wrote; an OPERATOR may not use it.
# 4. CANCEL SESSION n ends an outbound session (the PING reports RPL1236E)
#    and an inbound one (the partner's replication fails, labelled as the
#    partner's refusal); unknown n -> RPL1235E. QUERY SESSION FORMAT=DETAILED.
# 5. DISABLE SESSIONS: a partner's PING is refused (RPL1239E, refused_by),
#    running sessions go on, outbound sessions and remote administrators
#    still work; ENABLE SESSIONS; a restart enables them again.
# 6. QUERY PROCESS lists a renewal round with "N of M partners confirmed"
#    and a FORCESYNC exchange; CANCEL PROCESS ends each cleanly.
# 7. QUERY ACTLOG BEGINTIME/ENDTIME/SEARCH/MSGNO find these events; the
#    client's --dataonly, -comma, -tab, --outfile on the new queries.
# e2e: long
. "$(dirname "$0")/lib.sh"

pa=$(port); pb=$(port); pd=$(port)
init_peer A "$pa"
init_peer B "$pb"
start_peer A
start_peer B
define_pair A B
ping_ok A B || die "first contact A->B"
ping_ok B A || die "PING B->A"

# D: a listener that accepts and never answers (a partner that hangs).
python3 - "$pd" >"$W/hole.log" 2>&1 <<'PY' &
import socket, sys, threading
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", int(sys.argv[1]))); ls.listen(16)
def hold(c):
    while c.recv(65536): pass
while True:
    c, _ = ls.accept()
    threading.Thread(target=hold, args=(c,), daemon=True).start()
PY
PIDS+=($!)
wait_until 10 eval "(exec 3<>/dev/tcp/127.0.0.1/$pd)" || die "the silent listener did not start"
adm A "DEFINE SERVER D HLADDRESS=127.0.0.1 LLADDRESS=$pd SERVERPASSWORD=whatever-pw" >/dev/null || die "DEFINE SERVER D"

# ---- 1. QUERY STATUS -------------------------------------------------------------
out=$(adm A QUERY STATUS) || die "QUERY STATUS: $out"
expect_eq "$(jget '[j["server_name"], j["tcpaddress"], j["tcpport"], j["servers_defined"], j["nodes"]]' <<<"$out")" \
	"[\"A\", \"127.0.0.1\", $pa, 2, 0]" "QUERY STATUS: name, address, port, 2 partners defined, no node"
expect_eq "$(jget 'j["version"]' <<<"$out")" "$("$RP" version --json | jget 'j["version"]')" "...the version of 'replpeer version'"
expect_eq "$(jget '[j["sessions_disabled"], j["replication_disabled"], j["processes"], j["ssltls13"], j["allowlegacy"], j["maxsessions"]]' <<<"$out")" \
	'[false, false, 0, true, true, 256]' "...sessions and replication enabled, no process, the options in force"
expect_eq "$(jget 'isinstance(j["uptime_seconds"], int) and j["uptime_seconds"] >= 0 and "sessions_inbound" in j and "sessions_outbound" in j' <<<"$out")" \
	true "...the uptime and the session counts"
human=$("$RP" admin -d "$W/A" Q ST) || die "Q ST"
expect_contains "$human" "Server Name: A" "Q ST (abbreviated) prints a human block"

# ---- 2. QUERY OPTION ---------------------------------------------------------------
out=$(adm A QUERY OPTION COMMTIMEOUT)
expect_eq "$(jget '[[o["name"], o["value"], o["default"], o["file_value"], o["restart_needed"], o["changeable"]] for o in j]' <<<"$out")" \
	'[["COMMTIMEOUT", "60", "60", "60", false, "at once"]]' "QUERY OPTION COMMTIMEOUT: value, default, file value, no restart needed"
export DESIGN_OPTIONS="SERVERNAME TCPADDRESS TCPPORT SSLTLS13 SSLACCEPTCERTFROMSERV ALLOWLEGACY PROTOCOLLEVEL
KEYTYPE CERTVALIDITYDAYS CERTRENEWDAYS COMMTIMEOUT HANDSHAKETIMEOUT MAXSESSIONS LDAPURL LDAPUSERDN LDAPCALABEL
LOGLEVEL DBMAXSIZE PREAUTHMAX PREAUTHPERADDR ROUNDTIMEOUT PREVCERTGRACEDAYS CLOCKSKEW ACTLOGRETENTION
RENEWSELFSIGNED REPLDELETEGUARD MAXBANDWIDTH LDAPCACHESECONDS"
nopt=$(adm A QUERY OPTION | jget 'len(j)')
expect_eq "$(adm A QUERY OPTION | jget 'sorted(set(__import__("os").environ["DESIGN_OPTIONS"].split()) - set(o["name"] for o in j))')" '[]' \
	"QUERY OPTION lists every option of DESIGN.md's table ($nopt in all)"
expect_eq "$(adm A Q OPT 'LDAP*' | jget '[o["name"] for o in j]')" \
	'["LDAPURL", "LDAPUSERDN", "LDAPCALABEL", "LDAPCACHESECONDS"]' "a wildcard selects"
expect_eq "$(adm A Q OPT handshake | jget '[o["name"] for o in j]')" '["HANDSHAKETIMEOUT"]' "an abbreviation selects (any case)"
out=$(adm A QUERY OPTION NOSUCH); rc=$?
expect_eq "$rc:$(jget '[j["ok"], j["message_id"], "hint" in j, "message" in j]' <<<"$out")" \
	'1:[false, "RPL1230E", true, true]' "an unknown option: RPL1230E with message and hint, exit 1"

# ---- 3. SETOPT -------------------------------------------------------------------------
chmod 600 "$W/A/replpeer.conf"
comments=$(grep -c '^#' "$W/A/replpeer.conf")
out=$(adm A SETOPT COMMTIMEOUT 90); rc=$?
expect_eq "$rc:$(jget '[j["ok"], j["message_id"]]' <<<"$out")" '0:[true, "RPL1231I"]' "SETOPT COMMTIMEOUT 90: in force now (RPL1231I)"
expect_eq "$(adm A Q OPT COMMT | jget '[j[0]["value"], j[0]["file_value"], j[0]["restart_needed"]]')" \
	'["90", "90", false]' "QUERY OPTION shows 90 in force and in replpeer.conf"
expect_eq "$(grep -ci '^COMMTIMEOUT 90$' "$W/A/replpeer.conf")" 1 "replpeer.conf has the line COMMTIMEOUT 90"
expect_eq "$(stat -c %a "$W/A/replpeer.conf")" 600 "...its mode is kept"
expect_eq "$(grep -c '^#' "$W/A/replpeer.conf")" "$((comments - 1))" "...its comments are kept (the commented default became the line)"
expect_eq "$(grep -ci '^SERVERNAME A$' "$W/A/replpeer.conf")" 1 "...and the other lines"
out=$(adm A SETOPT DBMAX 1G); rc=$?
expect_eq "$rc:$(jget 'j["message_id"]' <<<"$out")" "0:RPL1232W" "SETOPT DBMAXSIZE (abbreviated): written, in force after a restart (RPL1232W)"
expect_eq "$(adm A Q OPT DBMAXSIZE | jget '[j[0]["value"], j[0]["file_value"], j[0]["restart_needed"], j[0]["changeable"]]')" \
	'["64G", "1G", true, "restart"]' "QUERY OPTION: 64G in force, 1G in replpeer.conf, restart needed"
adm A SETOPT LOGLEVEL debug >/dev/null || die "SETOPT LOGLEVEL debug"
cp "$W/A/replpeer.conf" "$W/conf.before"
out=$(adm A SETOPT SERVERNAME X); rc=$?
expect_eq "$rc:$(jget 'j["message_id"]' <<<"$out")" "1:RPL1233E" "SETOPT SERVERNAME is refused (RPL1233E)"
out=$(adm A SETOPT COMMTIMEOUT abc); rc=$?
expect_eq "$rc:$(jget 'j["message_id"]' <<<"$out")" "2:RPL0502E" "SETOPT COMMTIMEOUT abc: invalid value (RPL0502E, exit 2)"
expect_contains "$(jget 'j["message"]' <<<"$out")" "must be a number from 1 to 86400" "...saying what is allowed, as replpeer.conf's check does"
out=$(adm A SETOPT COMMTIMEOUT 0); rc=$?
expect_eq "$rc:$(jget 'j["message_id"]' <<<"$out")" "2:RPL0502E" "SETOPT COMMTIMEOUT 0: out of range"
out=$(adm A SETOPT C 5); rc=$?
expect_eq "$rc:$(jget 'j["message_id"]' <<<"$out")" "2:RPL1101E" "an ambiguous option name: RPL1101E listing the candidates"
out=$(adm A SETOPT NOSUCH 5); rc=$?
expect_eq "$rc:$(jget 'j["message_id"]' <<<"$out")" "1:RPL1230E" "an unknown option name: RPL1230E"
cmp -s "$W/conf.before" "$W/A/replpeer.conf" || die "a refused SETOPT changed replpeer.conf: $(diff "$W/conf.before" "$W/A/replpeer.conf")"
ok "the refused SETOPTs left replpeer.conf as it was"
out=$(adm A SETOPT ACTLOGRETENTION 20); rc=$?
expect_eq "$rc:$(jget 'j["message_id"]' <<<"$out")" "0:RPL0521I" "SETOPT ACTLOGRETENTION is SET ACTLOGRETENTION (RPL0521I)"
out=$(adm A SETOPT LDAPUSERDN uid=%s,dc=example,dc=com); rc=$?
expect_eq "$rc:$(jget 'j["message_id"]' <<<"$out")" "0:RPL0913I" "SETOPT LDAPUSERDN with '=' in the value is SET LDAPUSERDN (RPL0913I)"
out=$(adm A SETOPT LDAPURL http://x); rc=$?
expect_eq "$rc:$(jget 'j["message_id"]' <<<"$out")" "1:RPL0911E" "...and checked as SET LDAPURL checks it"
restart_peer A
expect_eq "$(adm A Q OPT | jget '[[o["name"], o["value"], o["restart_needed"]] for o in j if o["name"] in ("COMMTIMEOUT", "DBMAXSIZE", "LOGLEVEL", "ACTLOGRETENTION", "LDAPUSERDN")]')" \
	'[["COMMTIMEOUT", "90", false], ["LDAPUSERDN", "uid=%s,dc=example,dc=com", false], ["LOGLEVEL", "debug", false], ["DBMAXSIZE", "1G", false], ["ACTLOGRETENTION", "20", false]]' \
	"after a restart replpeer.conf is the truth: every SETOPT value is in force"
# An OPERATOR may query but not change options (SYSTEM only, as SET LDAPURL).
printf '%s\n' 'Opal-Heron-2231' >"$W/olga.pw"
printf '%s\n' 'Zebra-Quokka-7741' >"$W/alice.pw"
adm A "REGISTER ADMIN olga $(cat "$W/olga.pw") CLASS=OPERATOR" >/dev/null || die "REGISTER ADMIN olga"
adm A "REGISTER ADMIN alice $(cat "$W/alice.pw") CLASS=SYSTEM" >/dev/null || die "REGISTER ADMIN alice"
radm() { local id=$1; shift; "$RP" admin --host 127.0.0.1 --port "$pa" --id "$id" --password-file "$W/$id.pw" --accept-cert --json "$@" 2>>"$W/radm.err"; }
out=$(radm olga SETOPT COMMTIMEOUT 70); rc=$?
expect_eq "$rc:$(jget 'j["message_id"]' <<<"$out")" "1:RPL1005E" "an OPERATOR's SETOPT is refused (RPL1005E)"
expect_eq "$(radm olga QUERY OPTION COMMTIMEOUT | jget 'j[0]["value"]')" 90 "...it may QUERY OPTION, and the value is unchanged"

# ---- 4. QUERY SESSION FORMAT=DETAILED, CANCEL SESSION --------------------------------------
adm A SETOPT HANDSHAKETIMEOUT 60 >/dev/null || die "SETOPT HANDSHAKETIMEOUT"
adm A SETOPT ROUNDTIMEOUT 60 >/dev/null || die "SETOPT ROUNDTIMEOUT"
"$RP" admin -d "$W/A" --json PING SERVER D >"$W/pingd.out" 2>/dev/null &
ping_pid=$!
poll_json 100 A "QUERY SESSION" 'next((s["id"] for s in j if s["server"] == "D" and s["direction"] == "outbound"), "")'
sid=$polled
[ -n "$sid" ] || die "the PING to D shows no session"
sleep 1.2 # past HANDSHAKETIMEOUT's default: SETOPT HANDSHAKETIMEOUT 60 is in force
detail=$("$RP" admin -d "$W/A" QUERY SESSION FORMAT=DETAILED) || die "QUERY SESSION FORMAT=DETAILED refused"
expect_contains "$detail" "Purpose: ping" "FORMAT=DETAILED shows the purpose"
expect_contains "$detail" "Bytes Out: [0-9]+" "...the bytes out"
expect_contains "$detail" "Started: [0-9-]+T" "...when it started"
expect_contains "$("$RP" admin -d "$W/A" QUERY SESSION | head -1)" "ID +Direction +Server +Address +Purpose +State" "the standard table shows the purpose"
out=$(adm A CANCEL SESSION "$sid"); rc=$?
expect_eq "$rc:$(jget 'j["message_id"]' <<<"$out")" "0:RPL1234I" "CANCEL SESSION $sid (the PING to D): RPL1234I"
wait "$ping_pid"; rc=$?
expect_eq "$rc:$(jget '[j["ok"], j["message_id"]]' <"$W/pingd.out")" '1:[false, "RPL1236E"]' "the PING reports the cancel as its failure (RPL1236E, exit 1)"
expect_eq "$(adm A QUERY SESSION | jget "len([s for s in j if s['id'] == $sid])")" 0 "the session is gone"
out=$(adm A CANCEL SESSION 99999); rc=$?
expect_eq "$rc:$(jget '[j["ok"], j["message_id"]]' <<<"$out")" '1:[false, "RPL1235E"]' "CANCEL SESSION of an unknown number: RPL1235E"
out=$(adm A CANCEL SESSION x); rc=$?
expect_eq "$rc:$(jget 'j["message_id"]' <<<"$out")" "2:RPL0502E" "CANCEL SESSION x: not a number"

# An inbound session: a slow replication B -> A (MAXBANDWIDTH set at once).
adm B SETOPT MAXBANDWIDTH 64K >/dev/null || die "SETOPT MAXBANDWIDTH on B"
adm B REGISTER NODE n1 >/dev/null || die "REGISTER NODE n1"
head -c $((3 << 20)) /dev/urandom >"$W/big"
succeeds "store put" "$RP" store -d "$W/B" put n1 "$W/big" --as big
"$RP" admin -d "$W/B" --json REPLICATE NODE n1 TARGET=A WAIT=YES >"$W/repl.out" 2>/dev/null &
repl_pid=$!
poll_json 200 A "QUERY SESSION" 'next((s["id"] for s in j if s["server"] == "B" and s["direction"] == "inbound" and s["purpose"] == "replication" and s["state"] == "ready"), "")'
in_sid=$polled
[ -n "$in_sid" ] || die "A shows no inbound replication session from B"

# ---- 5. DISABLE SESSIONS (the replication runs on) ------------------------------------------------
out=$(adm A DISABLE SESSIONS); rc=$?
expect_eq "$rc:$(jget '[j["ok"], j["message_id"]]' <<<"$out")" '0:[true, "RPL1237I"]' "DISABLE SESSIONS: RPL1237I"
expect_eq "$(adm A QUERY STATUS | jget 'j["sessions_disabled"]')" true "QUERY STATUS shows sessions disabled"
out=$(adm B PING SERVER A); rc=$?
expect_eq "$rc:$(jget '[j["ok"], j["message_id"], j["refused_by"]]' <<<"$out")" '1:[false, "RPL1239E", "A"]' \
	"B's PING to A is refused by A (RPL1239E, refused_by A)"
expect_contains "$(jget 'j["hint"]' <<<"$out")" "^on A \(the partner, about this server\): run 'ENABLE SESSIONS'" "...with the fix on A's side"
ping_ok A B || die "A's PING to B failed while sessions are disabled"
ok "sessions A opens to partners still work"
expect_eq "$(radm alice QUERY STATUS | jget 'j["sessions_disabled"]')" true "a remote administrator still signs on over TLS"
expect_eq "$(adm A QUERY SESSION | jget "len([s for s in j if s['id'] == $in_sid])")" 1 "the running replication session goes on"
kill -0 "$repl_pid" 2>/dev/null || die "the replication ended before the cancel: $(cat "$W/repl.out")"
out=$(adm A CANCEL SESSION "$in_sid"); rc=$?
expect_eq "$rc:$(jget 'j["message_id"]' <<<"$out")" "0:RPL1234I" "CANCEL SESSION of B's inbound replication session"
expect_contains "$(jget 'j["message"]' <<<"$out")" "inbound session from B" "...the reply names it"
wait "$repl_pid"; rc=$?
expect_eq "$rc" 1 "B's REPLICATE ... WAIT=YES fails"
expect_contains "$(cat "$W/repl.out")" "RPL1236E|ended by the administrator of A" "...saying that A's administrator ended the session"
out=$(adm A ENABLE SESSIONS); rc=$?
expect_eq "$rc:$(jget 'j["message_id"]' <<<"$out")" "0:RPL1238I" "ENABLE SESSIONS: RPL1238I"
ping_ok B A || die "B's PING after ENABLE SESSIONS failed"
ok "B's PING works again"
adm A DISABLE SESSIONS >/dev/null || die "DISABLE SESSIONS"
restart_peer A
expect_eq "$(adm A QUERY STATUS | jget 'j["sessions_disabled"]')" false "a restart enables sessions again (as in the anchor)"
ping_ok B A || die "B's PING after the restart failed"
ok "...and B's PING works"

# ---- 6. QUERY PROCESS / CANCEL PROCESS: a renewal round and a FORCESYNC exchange --------------
adm A "SETOPT HANDSHAKETIMEOUT 60" >/dev/null
out=$(adm A RENEW CERTIFICATE) || die "RENEW CERTIFICATE: $out"
poll_json 200 A "QUERY PROCESS" 'next((p["process"] for p in j if "announcement round" in p["command"] and p["partners_done"] == 1), "")'
proc=$polled
[ -n "$proc" ] || die "no renewal round with B confirmed in QUERY PROCESS: $out"
expect_eq "$(jget "next(p['progress'] for p in j if p['process'] == $proc)" <<<"$out")" "1 of 2 partners confirmed" \
	"QUERY PROCESS: the renewal round, 1 of 2 partners confirmed (D hangs)"
expect_eq "$(jget "next(sorted((x['server'], x['state']) for x in p['partners']) for p in j if p['process'] == $proc)" <<<"$out")" \
	'[["B", "done"], ["D", "running"]]' "...B done, D running"
expect_contains "$("$RP" admin -d "$W/A" QUERY PROCESS)" "1 of 2 partners confirmed" "the table shows the progress"
out=$(adm A CANCEL PROCESS "$proc"); rc=$?
expect_eq "$rc:$(jget 'j["message_id"]' <<<"$out")" "0:RPL0849I" "CANCEL PROCESS $proc ends the round"
expect_eq "$(adm A QUERY PROCESS | jget "[p for p in j if p['process'] == $proc]")" '[]' "the round is no process any more"
wait_until 10 eval '[ -z "$(own_fp A next)" ]' || die "the round's end did not activate the next certificate"
ok "the cancelled round ended as at ROUNDTIMEOUT: the new certificate is current"
log_has A "RPL0610I certificate announcement round: 1 partner done, 1 pending: D" || die "the round's end is not logged"
ok "the round's end is logged: B done, D pending"
log_has A "RPL1105E session [0-9]+ outbound server D .*cancelled by the administrator \\(CANCEL PROCESS $proc\\)" ||
	die "the session to D was not ended by the cancel"
ok "the hanging session to D was ended, the log says why"
# The activation starts the confirmation round: cancelled the same way.
poll_json 100 A "QUERY PROCESS" 'next((p["process"] for p in j if "confirmation round" in p["command"]), "")'
proc=$polled
[ -n "$proc" ] || die "no confirmation round after the activation"
adm A CANCEL PROCESS "$proc" >/dev/null || die "CANCEL PROCESS of the confirmation round"
expect_eq "$(adm A QUERY PROCESS | jget 'len(j)')" 0 "no process left"
expect_eq "$(adm A QUERY SESSION | jget 'len([s for s in j if s["server"] == "D"])')" 0 "no session with D left"

"$RP" admin -d "$W/A" --json UPDATE SERVER D FORCESYNC=YES WAIT=YES >"$W/fs.out" 2>/dev/null &
fs_pid=$!
poll_json 100 A "QUERY PROCESS" 'next((p["process"] for p in j if p["command"] == "UPDATE SERVER D FORCESYNC=YES WAIT=YES"), "")'
proc=$polled
[ -n "$proc" ] || die "no FORCESYNC exchange in QUERY PROCESS: $out"
expect_eq "$(jget "next([p['phase'], p['attempts']] for p in j if p['process'] == $proc)" <<<"$out")" '["exchanging", 1]' \
	"QUERY PROCESS: the FORCESYNC exchange with D, its first attempt running"
out=$(adm A CANCEL PROCESS "$proc"); rc=$?
expect_eq "$rc:$(jget 'j["message_id"]' <<<"$out")" "0:RPL0849I" "CANCEL PROCESS $proc ends the exchange"
wait "$fs_pid"; rc=$?
expect_eq "$rc:$(jget '[j["message_id"], j["forcesync_pending"]]' <"$W/fs.out")" '1:["RPL1206E", true]' \
	"the waiting UPDATE SERVER answers: not completed, still pending (exit 1)"
expect_contains "$(jget 'j["message"]' <"$W/fs.out")" "cancelled by the administrator \(CANCEL PROCESS $proc\)" "...saying it was cancelled"
expect_eq "$(adm A QUERY PROCESS | jget 'len(j)')" 0 "no process left"
out=$(adm A CANCEL PROCESS "$proc"); rc=$?
expect_eq "$rc:$(jget 'j["message_id"]' <<<"$out")" "1:RPL0848E" "CANCEL PROCESS of an ended process: RPL0848E"
# D is still marked: the session a restart starts for it is a process too.
expect_eq "$(srv_field A D 's["forcesync_pending"]')" true "the cancelled exchange left D marked for FORCESYNC"
restart_peer A
poll_json 100 A "QUERY PROCESS" 'next((p["process"] for p in j if p["command"] == "FORCESYNC with server D (marked at start)"), "")'
proc=$polled
[ -n "$proc" ] || die "the FORCESYNC session started at start is no process: $out"
ok "QUERY PROCESS lists the FORCESYNC session the restart started for D"
out=$(adm A CANCEL PROCESS "$proc"); rc=$?
expect_eq "$rc:$(jget 'j["message_id"]' <<<"$out")" "0:RPL0849I" "CANCEL PROCESS ends it"
wait_until 5 eval '[ "$(adm A QUERY SESSION | jget "len([s for s in j if s[\"server\"] == \"D\"])")" = 0 ]' ||
	die "the session to D is still there"
ok "...and its session"
expect_eq "$(adm A QUERY PROCESS | jget 'len(j)')" 0 "no process left"

# ---- 7. QUERY ACTLOG filters on these events; the output options ----------------------------
al=$(adm A "QUERY ACTLOG BEGINTIME=-1h MSGNO=1234")
expect_eq "$(jget '[e["message_id"] for e in j]' <<<"$al")" '["RPL1234I", "RPL1234I"]' "QUERY ACTLOG MSGNO=1234: both CANCEL SESSIONs"
expect_eq "$(adm A "QUERY ACTLOG BEGINTIME=-1h SEARCH=MAXBANDWIDTH" | jget 'len(j)')" 0 "SEARCH on A does not find B's SETOPT"
expect_eq "$(adm B "QUERY ACTLOG BEGINTIME=-1h SEARCH=maxbandwidth" | jget '[e["message_id"] for e in j]')" '["RPL1231I"]' \
	"SEARCH (any case) finds B's SETOPT MAXBANDWIDTH in B's activity log"
first=$(jget 'j[0]["time"]' <<<"$al")
expect_eq "$(adm A "QUERY ACTLOG BEGINTIME=-1h ENDTIME=$first MSGNO=RPL1234I" | jget 'len(j)')" 1 "ENDTIME=(the first cancel's time) keeps only the first"
expect_eq "$(adm A "QUERY ACTLOG BEGINTIME=$first MSGNO=1237" | jget 'len(j)')" 2 "BEGINTIME: both DISABLE SESSIONS came after it"
out=$("$RP" admin -d "$W/A" --dataonly -comma Q OPT COMMTIMEOUT)
expect_eq "$out" "COMMTIMEOUT,90,60,No,at once" "--dataonly -comma: QUERY OPTION as one comma-separated row"
out=$("$RP" admin -d "$W/A" -dataonly=yes -tab Q OPT 'SSLTLS1?')
expect_eq "$out" "SSLTLS13	YES	YES	No	restart" "-dataonly=yes -tab: a tab-separated row"
"$RP" admin -d "$W/A" -outfile="$W/status.txt" Q ST >"$W/term.txt" || die "-outfile=F Q ST"
expect_eq "$(cat "$W/term.txt")" "" "-outfile=F: nothing on the terminal"
expect_contains "$(cat "$W/status.txt")" "Server Name: A" "...QUERY STATUS in the file"
"$RP" admin -d "$W/A" --outfile "$W/opt.txt" --comma QUERY OPTION >/dev/null || die "--outfile F --comma"
expect_eq "$(wc -l <"$W/opt.txt")" $((nopt + 1)) "--outfile F --comma: a heading and one line per option"
no_crash A
no_crash B
