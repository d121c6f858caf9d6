#!/usr/bin/env bash
# Local hardening. Proves that:
# - init, serve and db restore refuse an instance directory that others can
#   write (0777) or another user owns, and a 0666 (or foreign) file in it,
#   with RPL0110E and the fix, change nothing, and accept once it is fixed;
# - a process of another uid cannot use admin.sock even when the socket file
#   is 0666 (the daemon checks SO_PEERCRED and logs RPL0511W with uid and
#   pid) while root's admin still works; the client sends nothing to an
#   admin.sock, or a process listening on it, of another user (RPL0512E);
# - serve runs with a core limit of 0 and is not dumpable: a daemon of user
#   nobody has a root-owned /proc/PID/environ where a dumpable process of
#   nobody has its own;
# - SET SERVERPASSWORD - on a terminal asks twice without echo, in one-shot
#   mode and in the console, refuses two different entries, and the new
#   password is the one partners must prove; DEFINE SERVER ...
#   SERVERPASSWORD=- with --password-file works while the password is on no
#   command line; the daemon's memory holds no copy of passwords it was given
#   and neither its log nor the activity log shows them.
source "$(dirname "$0")/lib.sh"
tools=$(cd "$(dirname "$0")/tools" && pwd)
SYSPY=/usr/bin/python3 # root's python3 may live where nobody cannot read

chmod 0711 "$W" # other users may pass through $W, not list or write it
# Run as user nobody; an array, not a function, so that "${NOBODY[@]}" cmd &
# gives the pid of cmd itself (setpriv execs it).
NOBODY=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
# cmdline_hits SECRET: /proc/PID/cmdline files holding SECRET (bash only, so
# that no scanning process carries it in its own arguments).
cmdline_hits() {
	local f
	for f in /proc/[0-9]*/cmdline; do
		[[ "$(tr '\0' ' ' <"$f" 2>/dev/null)" == *"$1"* ]] && echo "$f"
	done
}
# mem_copies NAME SECRET...: copies of the secrets in NAME's daemon memory.
mem_copies() {
	local pid
	pid=$(pid_of "$1"); shift
	printf '%s\n' "$@" | python3 "$tools/memscan.py" "$pid" | head -1
}

PA=$(port); PB=$(port); PC=$(port); PN=$(port)

# --- init ---------------------------------------------------------------------
printf 'pw-A-secret\n' >"$W/A.pw"
mkdir "$W/A"
chmod 0777 "$W/A"
fails 1 RPL0110E "init refuses an existing empty 0777 directory" \
	"$RP" init -d "$W/A" --name A --port "$PA" --password-file "$W/A.pw"
expect_contains "$(cat "$W/err")" "chmod 700 $W/A" "the refusal names the fix"
expect_eq "$(stat -c %a "$W/A")" 777 "init did not chmod the directory itself"
expect_eq "$(ls -A "$W/A")" "" "init wrote nothing into it"
mkdir "$W/foreign"
chown nobody:nogroup "$W/foreign"
chmod 0700 "$W/foreign"
fails 1 RPL0110E "init refuses an empty directory owned by another user" \
	"$RP" init -d "$W/foreign" --name F --port "$PA" --password-file "$W/A.pw"
expect_contains "$(cat "$W/err")" "owned by nobody.*chown root" "the refusal names the owner and the fix"
chmod 0700 "$W/A"
succeeds "init after chmod 700" "$RP" init -d "$W/A" --name A --port "$PA" --password-file "$W/A.pw"
ok "init accepts the directory once it is private"

# --- serve ----------------------------------------------------------------------
chmod 0777 "$W/A"
fails 1 RPL0110E "serve refuses a 0777 instance directory" timeout 20 "$RP" serve -d "$W/A"
chmod 0700 "$W/A"
for f in replpeer.conf data.mdb master.key; do
	mode=$(stat -c %a "$W/A/$f")
	chmod 0666 "$W/A/$f"
	fails 1 RPL0110E "serve refuses a 0666 $f" timeout 20 "$RP" serve -d "$W/A"
	expect_contains "$(cat "$W/err")" "$W/A/$f is mode 0666.*chmod go-w" "the refusal names $f and the fix"
	chmod "$mode" "$W/A/$f"
done
chown nobody "$W/A/cert256.pem"
fails 1 RPL0110E "serve refuses a cert256.pem owned by another user" timeout 20 "$RP" serve -d "$W/A"
chown root "$W/A/cert256.pem"
start_peer A
wait_admin A
ok "serve starts once the directory and its files are private"

# --- db restore -------------------------------------------------------------------
printf 'backup-password-1\n' >"$W/bk.pw"
succeeds "db backup" "$RP" db -d "$W/A" backup --out "$W/A.bak" --password-file "$W/bk.pw"
mkdir "$W/R"
chmod 0777 "$W/R"
fails 1 RPL0110E "db restore refuses a 0777 target directory" \
	"$RP" db restore --in "$W/A.bak" -d "$W/R" --password-file "$W/bk.pw"
expect_eq "$(stat -c %a "$W/R"):$(ls -A "$W/R")" "777:" "the refused target is unchanged and empty"
mkdir "$W/R2"
touch "$W/R2/data.mdb"
chmod 0666 "$W/R2/data.mdb"
fails 1 'RPL0(110|703)E' "db restore refuses a directory holding a 0666 file" \
	"$RP" db restore --in "$W/A.bak" -d "$W/R2" --password-file "$W/bk.pw"
chmod 0700 "$W/R"
succeeds "db restore after chmod 700" "$RP" db restore --in "$W/A.bak" -d "$W/R" --password-file "$W/bk.pw"
expect_eq "$(stat -c %a "$W/R")" 700 "db restore accepts the target once private; it stays 0700"

# --- admin.sock and other users --------------------------------------------------
chmod 0711 "$W/A"
chmod 0666 "$W/A/admin.sock"
"${NOBODY[@]}" "$RP" admin -d "$W/A" --json QUERY SERVER >"$W/nobody.out" 2>&1
rc=$?
expect_eq "$rc" 1 "admin as user nobody fails although admin.sock is mode 0666"
expect_not_contains "$(cat "$W/nobody.out")" '"name"|\[\]' "user nobody got no answer"
wait_until 5 log_has A "RPL0511W admin connection from uid 65534 \(pid [0-9]+\) refused" ||
	die "A's log does not show the refusal: $(tail -5 "$W/A.log")"
ok "the daemon log shows RPL0511W with the uid and pid"
adm A "QUERY SERVER" >/dev/null || die "root's admin fails"
ok "root's admin still works"
chmod 0600 "$W/A/admin.sock"
chmod 0700 "$W/A"

# A socket of another user where admin.sock should be: a listener of user
# nobody that reports what it receives.
mkdir "$W/F"
chown nobody:nogroup "$W/F"
"${NOBODY[@]}" "$SYSPY" - "$W/F/admin.sock" >"$W/fake.log" 2>&1 <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(4)
print("ready", flush=True)
while True:
    c, _ = s.accept()
    c.settimeout(3)
    got = b""
    try:
        while True:
            d = c.recv(65536)
            if not d:
                break
            got += d
    except OSError:
        pass
    print("connection, %d bytes" % len(got), flush=True)
    c.close()
PY
PIDS+=($!)
wait_until 10 grep -q ready "$W/fake.log" || die "the fake listener did not start"
chown root:root "$W/F"
chmod 0700 "$W/F"
printf 'fake-target-password\n' >"$W/fake.pw"
fails 1 RPL0512E "the client refuses an admin.sock owned by another user" \
	"$RP" admin -d "$W/F" --password-file "$W/fake.pw" "SET SERVERPASSWORD -"
expect_eq "$(grep -c connection "$W/fake.log")" 0 "it did not even connect"
chown root:root "$W/F/admin.sock"
fails 1 RPL0512E "the client refuses a root-owned admin.sock served by a process of another user" \
	"$RP" admin -d "$W/F" --password-file "$W/fake.pw" "SET SERVERPASSWORD -"
wait_until 5 grep -q connection "$W/fake.log" || die "the client did not connect to the fake"
expect_eq "$(grep connection "$W/fake.log")" "connection, 0 bytes" "it connected, checked the peer and sent nothing"

# --- core dumps ----------------------------------------------------------------------
expect_contains "$(grep 'Max core file size' "/proc/$(pid_of A)/limits")" 'Max core file size +0 +0 ' \
	"serve runs with a core file limit of 0 (soft and hard)"
mkdir "$W/nob"
chown nobody:nogroup "$W/nob"
chmod 0700 "$W/nob"
printf 'pw-N-secret\n' >"$W/N.pw"
chmod 0644 "$W/N.pw"
"${NOBODY[@]}" "$RP" init -d "$W/nob/N" --name N --port "$PN" --password-file "$W/N.pw" >/dev/null ||
	die "init as user nobody"
"${NOBODY[@]}" "$RP" serve -d "$W/nob/N" >>"$W/N.log" 2>&1 &
PIDS+=($!)
PID_N=$!
wait_until 20 eval "(exec 3<>/dev/tcp/127.0.0.1/$PN)" || die "the daemon of user nobody did not start"
"${NOBODY[@]}" "$RP" admin -d "$W/nob/N" --json QUERY SERVER >/dev/null || die "nobody's admin to nobody's daemon"
ok "the daemon accepts admin connections of its own user"
"${NOBODY[@]}" sleep 30 &
ctl=$!
PIDS+=($ctl)
# Changing uid makes a process non-dumpable until its next execve: wait for sleep.
wait_until 5 eval '[ "$(cat /proc/'"$ctl"'/comm)" = sleep ]' || die "control process did not start"
expect_eq "$(stat -c %U "/proc/$ctl/environ")" nobody "control: a dumpable process of nobody owns its /proc/PID/environ"
expect_eq "$(stat -c %U "/proc/$PID_N/environ")" root "the daemon of user nobody is not dumpable (/proc/PID/environ is root's)"
expect_contains "$(grep 'Max core file size' "/proc/$PID_N/limits")" 'Max core file size +0 +0 ' \
	"and its core file limit is 0"
kill "$ctl" 2>/dev/null

# --- SET SERVERPASSWORD - on a terminal -------------------------------------------------
init_peer B "$PB"
start_peer B
define_pair A B
ping_ok B A || die "first contact B->A"
new1="new-A-pass-$RANDOM-one"
out=$(python3 "$tools/ptyrun.py" "wait:server: " "send:$new1" "wait:server: " "send:$new1" -- \
	"$RP" admin -d "$W/A" "SET SERVERPASSWORD -")
rc=$?
expect_eq "$rc" 0 "SET SERVERPASSWORD - on a terminal succeeds"
expect_contains "$out" "New password of this server:" "the client asks for the password"
expect_contains "$out" "Repeat new password of this server:" "and asks again to confirm"
expect_contains "$out" "RPL0507I" "the daemon changed the password"
expect_not_contains "$out" "$new1" "the typed password is not echoed on the terminal"
expect_eq "$(mem_copies A "$new1")" 0 "the daemon's memory holds no copy of the new password"
out=$(adm B "PING SERVER A"); rc=$?
expect_eq "$rc" 1 "B, still holding A's old password, fails to PING A: the change took effect"
printf '%s\n' "$new1" >"$W/new1.pw"
"$RP" admin -d "$W/B" --password-file "$W/new1.pw" "UPDATE SERVER A SERVERPASSWORD=-" >/dev/null ||
	die "UPDATE SERVER A SERVERPASSWORD=- on B"
ping_ok B A || die "B cannot PING A with the new password"
ok "B PINGs A once given the new password (UPDATE SERVER ... SERVERPASSWORD=- with --password-file)"

out=$(python3 "$tools/ptyrun.py" "wait:server: " "send:mismatch-one-1" "wait:server: " "send:mismatch-two-2" -- \
	"$RP" admin -d "$W/A" "SET SERVERPASSWORD -" 2>&1)
rc=$?
expect_eq "$rc" 1 "two different entries are refused"
expect_contains "$out" "RPL0008E" "with RPL0008E"
ping_ok B A || die "the password changed although the entries differed"
ok "and the password stays as it was"

new2="new-A-pass-$RANDOM-two"
out=$(python3 "$tools/ptyrun.py" "wait:replpeer A> " "send:SET SERVERPASSWORD -" "wait:server: " "send:$new2" \
	"wait:server: " "send:$new2" "wait:replpeer A> " "send:QUIT" -- "$RP" admin -d "$W/A")
rc=$?
expect_eq "$rc" 0 "the console takes SET SERVERPASSWORD - as well"
expect_contains "$out" "RPL0507I" "the console's change is made"
expect_not_contains "$out" "$new2" "the console does not echo the password"
expect_eq "$(mem_copies A "$new2")" 0 "the daemon's memory holds no copy of it"
printf '%s\n' "$new2" >"$W/new2.pw"
"$RP" admin -d "$W/B" --password-file "$W/new2.pw" "UPDATE SERVER A SERVERPASSWORD=-" >/dev/null ||
	die "UPDATE on B with the second password"
ping_ok B A || die "B cannot PING A after the console change"
ok "B PINGs A with the password set in the console"

# --- DEFINE SERVER ... SERVERPASSWORD=- with --password-file -------------------------------
# Blanks and both quote characters: the client quotes what it puts in.
init_peer C "$PC" "pw C \"q\" 'x' $RANDOM"
start_peer C
pwC=$(cat "$W/C.pw")
"$RP" admin -d "$W/C" --password-file "$W/new2.pw" \
	"DEFINE SERVER A HLADDRESS=127.0.0.1 LLADDRESS=$PA SERVERPASSWORD=-" >/dev/null || die "define A on C"
(exec -a "control $pwC-ctl" sleep 10) &
ctl=$!
PIDS+=($ctl)
wait_until 5 eval '[ -n "$(cmdline_hits "$pwC-ctl")" ]' || die "control: the scan does not see a password in argv"
kill "$ctl" 2>/dev/null
ok "control: the command-line scan sees a password given in argv"
mkfifo "$W/C.fifo" # the client blocks on it: time to look at its command line
"$RP" admin -d "$W/A" --json --password-file "$W/C.fifo" \
	DEFINE SERVER C HLADDRESS=127.0.0.1 LLADDRESS="$PC" SERVERPASSWORD=- DESCRIPTION="two words" >"$W/defC.out" 2>&1 &
cpid=$!
wait_until 10 eval '[[ "$(ps -o args= -p '"$cpid"')" == *SERVERPASSWORD=-* ]]' || die "the admin client did not start"
expect_not_contains "$(ps -o args= -p "$cpid")" "$pwC" "ps shows the DEFINE without the password"
expect_eq "$(cmdline_hits "$pwC")" "" "no process has the password on its command line"
printf '%s\n' "$pwC" >"$W/C.fifo"
wait "$cpid"
rc=$?
expect_eq "$rc" 0 "DEFINE SERVER ... SERVERPASSWORD=- with --password-file succeeds"
expect_not_contains "$(cat "$W/defC.out")" "$pwC" "the client shows no password"
expect_eq "$(mem_copies A "$pwC")" 0 "the daemon's memory holds no copy of the partner password"
ping_ok A C || die "A cannot PING C"
ok "A PINGs C: the password read from the file (blanks and quotes) reached the daemon"
expect_eq "$(srv_field A C "s['description']")" "two words" "the other parameters of the command are kept"
for s in "$new1" "$new2" "$pwC"; do
	grep -qF -- "$s" "$W/A.log" && die "A's log shows a password"
	actlog_lines A | grep -qF -- "$s" && die "A's activity log shows a password"
done
ok "neither the daemon log nor the activity log shows a password"
