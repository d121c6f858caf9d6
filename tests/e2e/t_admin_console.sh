#!/usr/bin/env bash
# The admin console without a COMMAND reads commands line by line, answers
# each, and QUIT ends it; HELP is a table of one line per command naming
# HELP and QUIT, HELP DEFINE only the DEFINE commands; the session's state
# changes reach the activity log; an idle authenticated session is
# dropped after COMMTIMEOUT; and 'make install' honours PREFIX and DESTDIR.
source "$(dirname "$0")/lib.sh"
src=$(cd "$(dirname "$0")/../.." && pwd)

PA=$(port); PB=$(port)
init_peer A "$PA"; init_peer B "$PB"
start_peer A; start_peer B
adm B "DEFINE SERVER A HLADDRESS=127.0.0.1 LLADDRESS=$PA SERVERPASSWORD=$(cat "$W/A.pw")" >/dev/null
out=$(printf 'DEFINE SERVER B HLADDRESS=127.0.0.1 LLADDRESS=%s SERVERPASSWORD=%s\nPING SERVER B\nQUERY SERVER\nHELP\nQUIT\nQUERY SESSION\n' \
	"$PB" "$(cat "$W/B.pw")" | "$RP" admin -d "$W/A" 2>&1)
rc=$?
expect_eq "$rc" 0 "console exits 0 after QUIT"
expect_contains "$out" "RPL0504I" "console: DEFINE SERVER answered"
expect_contains "$out" "First Contact|first-contact" "console: PING SERVER answered"
expect_contains "$out" "PING SERVER  +Tests the session" "console: HELP lists the commands"
expect_not_contains "$out" "Direction" "console: nothing runs after QUIT"

# HELP is one table, a line per command (no blank line between them), and
# names HELP and QUIT; HELP DEFINE shows the DEFINE commands only.
help=$("$RP" admin -d "$W/A" HELP)
expect_eq "$(grep -c '^$' <<<"$help")" 0 "HELP is not double-spaced: no blank line in its list"
expect_contains "$help" "^HELP  +" "HELP lists HELP"
expect_contains "$help" "^QUIT  +" "HELP lists QUIT"
help=$("$RP" admin -d "$W/A" HELP DEFINE)
expect_eq "$(grep -oE '^ *Command: .*' <<<"$help" | sed 's/^ *Command: //' | tr '\n' ,)" "DEFINE SERVER,DEFINE SCHEDULE," \
	"HELP DEFINE shows DEFINE SERVER and DEFINE SCHEDULE"
expect_not_contains "$help" "QUERY SERVER|PING SERVER" "HELP DEFINE does not print every command"

out=$(printf 'QUERY SERVER NOSUCH\n' | "$RP" admin -d "$W/A" 2>&1); rc=$?
expect_eq "$rc" 1 "console: the last command's failure is the exit status"
expect_contains "$out" "RPL0406E" "console: failure shown with its message ID"

# A host name that does not resolve fails that session only, with a reason.
adm A "UPDATE SERVER B HLADDRESS=no-such-host.invalid" >/dev/null || die "update B"
out=$(adm A "PING SERVER B"); rc=$?
expect_eq "$rc" 1 "PING to an unresolvable HLADDRESS fails"
expect_contains "$out" "RPL0411E" "the failure says it cannot connect"
expect_contains "$out" "resolve" "and that the name did not resolve"
adm A "UPDATE SERVER B HLADDRESS=127.0.0.1" >/dev/null || die "update B back"
adm A "PING SERVER B" >/dev/null || die "PING after fixing HLADDRESS"
ok "the daemon still serves after the failed resolution"

log=$(adm A "QUERY ACTLOG SINCE=10")
expect_contains "$log" "RPL0504I" "activity log: DEFINE SERVER recorded"
expect_contains "$log" "RPL0424I" "activity log: move to STRICT recorded"

# COMMTIMEOUT: an authenticated session that stays silent is dropped. A
# down-level client L authenticates, is answered once, then stays silent
# longer than COMMTIMEOUT (the handshake timer no longer applies).
stop_peer A
printf 'COMMTIMEOUT 2\n' >>"$W/A/replpeer.conf"
start_peer A
printf 'pw-L-secret\n' >"$W/L.pw"
adm A "DEFINE SERVER L HLADDRESS=127.0.0.1 LLADDRESS=9 SERVERPASSWORD=pw-L-secret" >/dev/null || die "define L"
steps=$( (echo ping; sleep 4; echo ping; echo quit) |
	python3 "$(dirname "$0")/tools/rawpeer.py" legacy "$PA" L A "$W/A.pw" "$W/L.pw" 2>&1)
first=$(grep '"step": "ping"' <<<"$steps" | head -1)
second=$(grep '"step": "ping"' <<<"$steps" | sed -n 2p)
expect_contains "$first" '"ok": true' "an authenticated session is answered"
expect_contains "$second" '"ok": false' "after COMMTIMEOUT of silence the session is gone"
grep -q "idle for 2 seconds (COMMTIMEOUT)" "$W/A.log" || die "A's log does not say why it dropped the session"
ok "the log names COMMTIMEOUT"

# make install honours PREFIX and DESTDIR.
dest="$W/dest"
make -s -C "$src" install PREFIX=/opt/rpl DESTDIR="$dest" >/dev/null 2>&1 || die "make install failed"
[ -x "$dest/opt/rpl/bin/replpeer" ] || die "binary not installed under DESTDIR/PREFIX/bin"
[ -f "$dest/opt/rpl/share/doc/replpeer/replpeer.conf" ] || die "sample configuration not installed"
"$dest/opt/rpl/bin/replpeer" version >/dev/null || die "installed binary does not run"
ok "make install honours PREFIX and DESTDIR"
