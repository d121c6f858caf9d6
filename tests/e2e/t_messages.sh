#!/usr/bin/env bash
# Messages say what happened, once, with the ID of that meaning and a hint
# that fits the case: one meaning per ID (own certificate in use, halting
# and halted), partner refusals labelled as the partner's with the fix on
# its side, the address in "connection refused", a non-TLS service named
# as such, a "waiting for HOST:PORT" note while a handshake hangs, the
# protocol-1 hint that does not contradict a refused fallback, DEFINE
# naming what is missing, and the CLI's errors about the instance
# directory, replpeer.conf and password files. (lib.sh fails every
# scenario whose daemon logs a level its message ID's letter contradicts.)
. "$(dirname "$0")/lib.sh"

pa=$(port); pb=$(port); pl=$(port); pdead=$(port); pssh=$(port); psilent=$(port)
init_peer A "$pa"
init_peer B "$pb"
conf_set A HANDSHAKETIMEOUT 4
start_peer A
start_peer B

# ---- one meaning per ID ----
expect_contains "$(grep 'presenting own certificate' "$W/A.log")" 'INFO  RPL1200I presenting own certificate' \
	"the certificate the daemon presents is logged as in use (RPL1200I), not as created"
expect_not_contains "$(grep RPL0310I "$W/A.log" "$W/B.log" | grep -v created)" RPL0310I \
	"RPL0310I (own certificate created) is logged only for a created certificate"

# ---- partner refusals: the partner's ID, labelled, the fix on its side ----
adm A "DEFINE SERVER B HLADDRESS=127.0.0.1 LLADDRESS=$pb SERVERPASSWORD=$(cat "$W/B.pw")" >/dev/null || die "define B on A"
adm B "DEFINE SERVER A HLADDRESS=127.0.0.1 LLADDRESS=$pa SERVERPASSWORD=not-the-password-of-A" >/dev/null || die "define A on B"
out=$(adm A PING SERVER B)
expect_eq "$(jget '[j["ok"], j["message_id"], j.get("refused_by")]' <<<"$out")" '[false, "RPL0401E", "B"]' \
	"B's refusal keeps its message ID (RPL0401E) and names B as the one that refused"
msg=$(jget 'j["message"]' <<<"$out")
expect_contains "$msg" '^partner B refused' "the message says the partner refused: $msg"
expect_not_contains "$msg" 'RPL0401E' "the message does not repeat the message ID"
expect_contains "$(jget 'j["hint"]' <<<"$out")" '^on B ' "the hint puts the fix on B's side: $(jget 'j["hint"]' <<<"$out")"
"$RP" admin -d "$W/A" PING SERVER B >/dev/null 2>"$W/ping.err"
expect_eq "$(grep -c RPL0401E "$W/ping.err")" 1 "the console shows RPL0401E once for the partner's refusal"

# ---- connection refused names the address ----
adm A "DEFINE SERVER DEAD HLADDRESS=127.0.0.1 LLADDRESS=$pdead SERVERPASSWORD=pw-dead-secret" >/dev/null || die "define DEAD"
out=$(adm A PING SERVER DEAD)
expect_eq "$(jget 'j["message_id"]' <<<"$out")" RPL0411E "PING to a closed port: RPL0411E"
expect_contains "$(jget 'j["message"]' <<<"$out")" "127\.0\.0\.1:$pdead: connection refused" \
	"connection refused names HLADDRESS:LLADDRESS"

# ---- a service that is not replpeer, and one that never answers ----
fake_service() { # MODE PORT: banner = SSH greeting then silence; silent = accept, say nothing
	python3 - "$1" "$2" "$W/fake.$2.ready" <<'PY' &
import socket, sys, time
mode, port, ready = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port)); s.listen(8)
open(ready, "w").close()
held = []
while True:
    c, _ = s.accept()
    if mode == "banner":
        c.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")
    held.append(c)
PY
	PIDS+=($!)
	wait_until 10 test -e "$W/fake.$2.ready" || die "fake service on $2 did not start"
}
fake_service banner "$pssh"
fake_service silent "$psilent"
adm A "DEFINE SERVER SSH HLADDRESS=127.0.0.1 LLADDRESS=$pssh SERVERPASSWORD=pw-ssh-secret1" >/dev/null || die "define SSH"
out=$(adm A PING SERVER SSH)
expect_eq "$(jget 'j["message_id"]' <<<"$out")" RPL1203E "PING to an SSH server: not a TLS answer (RPL1203E), not RPL0412E"
expect_contains "$(jget 'j["message"]' <<<"$out")" "127\.0\.0\.1:$pssh answered \"SSH-2\.0" "the message shows what answered"
expect_not_contains "$(jget 'j["hint"]' <<<"$out")" 'TLS 1\.2|cipher' "the hint does not blame TLS versions"

adm A "DEFINE SERVER SILENT HLADDRESS=127.0.0.1 LLADDRESS=$psilent SERVERPASSWORD=pw-silent-secret" >/dev/null || die "define SILENT"
"$RP" admin -d "$W/A" PING SERVER SILENT >"$W/silent.out" 2>"$W/silent.err"
expect_contains "$(cat "$W/silent.err")" "RPL1212I waiting for 127\.0\.0\.1:$psilent \(server SILENT\)" \
	"a hanging handshake shows 'waiting for HOST:PORT' on stderr"
expect_contains "$(cat "$W/silent.err")" 'RPL0410E' "...and then the timeout (HANDSHAKETIMEOUT 4)"

# ---- protocol 1: the hint never promises a fallback that was refused ----
init_peer L "$pl"
conf_set L PROTOCOLLEVEL 1
start_peer L
adm A "DEFINE SERVER L HLADDRESS=127.0.0.1 LLADDRESS=$pl SERVERPASSWORD=$(cat "$W/L.pw")" >/dev/null || die "define L"
out=$(adm A PING SERVER L)
expect_eq "$(jget 'j["message_id"]' <<<"$out")" RPL0418E "a down-level L that never proved protocol 1: no fallback (RPL0418E)"
expect_contains "$(jget 'j["message"]' <<<"$out")" 'no fallback' "the message says there was no fallback"
expect_contains "$(jget 'j["hint"]' <<<"$out")" 'only while' "the hint gives the conditions of a fallback instead of promising one"

# ---- DEFINE names what is missing (the admin language's resolver) ----
out=$(adm A "DEFINE SERVER X HLADDRESS=127.0.0.1 LLADDRESS=1600")
expect_eq "$(jget 'j["message_id"]' <<<"$out")" RPL1102E "DEFINE without SERVERPASSWORD: missing parameter (RPL1102E)"
expect_contains "$(jget 'j["message"]' <<<"$out")" '^SERVERPASSWORD' "it names SERVERPASSWORD"
expect_not_contains "$(jget 'j["message"]' <<<"$out" | sed 's/(DEFine.*//')" 'HLADDRESS' "it does not ask for the HLADDRESS that was given"

# ---- HALT: halting, then halted ----
out=$(adm A HALT)
expect_eq "$(jget 'j["message_id"]' <<<"$out")" RPL1201I "HALT answers 'server halting' (RPL1201I)"
wait_until 10 log_has A 'RPL0421I server A halted' || die "A did not log RPL0421I halted: $(tail -3 "$W/A.log")"
stop_peer A
expect_contains "$(grep -E 'RPL042[1]I|RPL1201I' "$W/A.log")" 'INFO  RPL1201I server A halting' "the halting line is RPL1201I"
expect_not_contains "$(grep RPL0421I "$W/A.log")" 'halting' "RPL0421I means halted only"
start_peer A
expect_contains "$(actlog_lines A | grep -E 'RPL0421I|RPL1201I')" '^RPL0421I server A halted \(HALT command\)' \
	"the activity log records 'server A halted' when it had halted"
stop_peer A

# ---- the CLI: instance directory, replpeer.conf, password file ----
fails 1 RPL0101E "admin -d on a missing directory: no instance there (RPL0101E)" \
	"$RP" admin -d "$W/nonexistent" QUERY SERVER
expect_not_contains "$(cat "$W/err")" 'RPL0503E' "...not 'cannot reach the admin socket'"
printf 'short\n' >"$W/short.pw"
fails 1 RPL0009E "init with a 5-character password file: RPL0009E" \
	"$RP" init -d "$W/S" --name S --password-file "$W/short.pw"
expect_contains "$(cat "$W/err")" "$W/short\.pw" "the error names the password file, not the instance"

if [ "$(id -u)" = 0 ]; then
	as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
	chmod 711 "$W"   # nobody may pass through $W, not read A
	start_peer A
	run as_nobody "$RP" admin -d "$W/A" QUERY SERVER
	grep -q RPL1202E "$W/err" || die "admin as another user: $(cat "$W/err")"
	ok "admin by a user who may not enter the instance: permission denied (RPL1202E)"
	expect_not_contains "$(cat "$W/err")" "serve -d DIR' running|start the daemon" "...without the hint to start the daemon"
	mkdir "$W/nb" && chown nobody:nogroup "$W/nb" && chmod 700 "$W/nb"
	printf 'pw-nobody-secret\n' >"$W/nb/pw" && chown nobody "$W/nb/pw"
	as_nobody "$RP" init -d "$W/nb/N" --name N --port "$(port)" --password-file "$W/nb/pw" >/dev/null ||
		die "init as nobody"
	chmod 000 "$W/nb/N/replpeer.conf"
	run as_nobody "$RP" cert -d "$W/nb/N" show
	grep -q 'RPL1204E replpeer.conf cannot be read' "$W/err" || die "unreadable replpeer.conf: $(cat "$W/err")"
	ok "an unreadable replpeer.conf is reported as unreadable (RPL1204E)"
	run as_nobody "$RP" serve -d "$W/nb/N"
	grep -q 'RPL1204E' "$W/err" || die "serve with an unreadable replpeer.conf: $(cat "$W/err")"
	ok "serve says the same"
else
	echo "SKIP permission cases need root to act as another user (running as uid $(id -u))"
fi
