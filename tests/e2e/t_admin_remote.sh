#!/usr/bin/env bash
# Remote administrators (issue 11, acceptance 4, 5 and 6) over real TLS to a
# real peer, with the client's own pins in a private HOME:
#  - a server certificate the client does not know is refused before
#    anything is sent (RPL1014E with the fingerprint); --accept-cert pins it
#    (known_servers, mode 0600, one line host:port fingerprint label);
#  - a LOCAL administrator signs on with the right password and runs QUERY
#    SERVER; a wrong one is refused (RPL1001E) and, after 5, even the right
#    one is refused without a proof (RPL1002E);
#  - the password is in no file: data.mdb, the daemon log, the activity log;
#  - an OPERATOR may run what the README's class table lists and is refused
#    UPDATE SERVER ... FORCESYNC=YES and RENEW CERTIFICATE naming the class;
#  - every remote command is in the activity log with the administrator's
#    name, passwords masked;
#  - after a TLS sign-on the administrator is STRICT and the down-level path
#    (--legacy) is refused (RPL1004E) until UPDATE ADMIN ... TRANSITIONAL;
#  - the client follows RENEW CERTIFICATE of the server with no prompt
#    (continuity proof, RPL1017I), and refuses another server on the same
#    address naming both fingerprints (RPL1015E).
source "$(dirname "$0")/lib.sh"

export HOME="$W/home"
mkdir -p "$HOME"
KNOWN="$HOME/.config/replpeer/known_servers"
PA=$(port)
PB=$(port)
init_peer A "$PA"
init_peer B "$PB"
start_peer A
start_peer B
define_pair A B

SECRET='Zebra-Quokka-7741'
printf '%s\n' "$SECRET" >"$W/alice.pw"
printf '%s\n' 'Wrong-Guess-0000' >"$W/wrong.pw"
printf '%s\n' 'Opal-Heron-2231' >"$W/olga.pw"
adm A "REGISTER ADMIN alice $SECRET CLASS=SYSTEM" >/dev/null || die "REGISTER ADMIN alice"
adm A "REGISTER ADMIN olga $(cat "$W/olga.pw") CLASS=OPERATOR" >/dev/null || die "REGISTER ADMIN olga"

radm() { # radm ID PWFILE [client options...] -- COMMAND...
	local id=$1 pw=$2
	shift 2
	local opts=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	"$RP" admin --host 127.0.0.1 --port "$PA" --id "$id" --password-file "$pw" "${opts[@]}" "$@"
}

# ---- the server's certificate, first contact --------------------------------
fp_a=$(fingerprint "$W/A/cert256.pem")
fails 1 RPL1014E "an unknown server certificate is refused without --accept-cert" \
	radm alice "$W/alice.pw" -- QUERY SERVER
expect_contains "$(cat "$W/err")" "$fp_a" "the refusal shows the server's fingerprint"
log_has A "RPL1009I|RPL1010W" && die "the refused client reached the sign-on"
ok "nothing reached the sign-on: A logged no administrator sign-on"
[ ! -e "$KNOWN" ] || die "known_servers written for a refused server"

succeeds "--accept-cert: sign on and QUERY SERVER" radm alice "$W/alice.pw" --accept-cert -- --json QUERY SERVER
expect_eq "$(jget 'j[0]["name"]' <"$W/out")" B "QUERY SERVER over the remote session lists B"
expect_contains "$(cat "$W/err")" "RPL1016I.*$fp_a" "the client says it pinned the fingerprint"
expect_eq "$(cat "$KNOWN")" "127.0.0.1:$PA $fp_a A" "known_servers holds host:port fingerprint label"
expect_eq "$(stat -c %a "$KNOWN")" 600 "known_servers is mode 0600"
succeeds "the pinned server: sign on without --accept-cert" radm alice "$W/alice.pw" -- QUERY ADMIN
log_has A "RPL1009I.*administrator ALICE \(SYSTEM\) signed on from 127.0.0.1: TLSv1" ||
	die "A's log lacks the sign-on of ALICE over TLS"
ok "A logs the sign-on (RPL1009I) with the TLS version"
# What a remote command costs beside a local one (client start, TLS, SRP).
ms_remote=$( { TIMEFORMAT=%R; time for i in 1 2 3 4 5 6 7 8 9 10; do radm alice "$W/alice.pw" -- QUERY SERVER >/dev/null 2>&1; done; } 2>&1 )
ms_local=$( { TIMEFORMAT=%R; time for i in 1 2 3 4 5 6 7 8 9 10; do adm A QUERY SERVER >/dev/null 2>&1; done; } 2>&1 )
echo "MEASURE 10 remote sign-ons + QUERY SERVER: ${ms_remote} s; 10 admin.sock QUERY SERVER: ${ms_local} s"

# ---- wrong passwords ----------------------------------------------------------
fails 1 RPL1001E "a wrong password is refused" radm alice "$W/wrong.pw" -- QUERY SERVER
fails 1 RPL1001E "an unknown administrator is refused like a wrong password" \
	radm nobody "$W/wrong.pw" -- QUERY SERVER
expect_eq "$(adm A QUERY ADMIN alice | jget 'j[0]["failed_signons"]')" 1 "QUERY ADMIN counts the failed sign-on"
for i in 2 3 4 5; do run radm alice "$W/wrong.pw" -- QUERY SERVER; done
fails 1 RPL1002E "after 5 failures the right password is refused without a proof" \
	radm alice "$W/alice.pw" -- QUERY SERVER
succeeds "another administrator from the same address is not affected" radm olga "$W/olga.pw" -- QUERY SERVER

# ---- the password is in no file ----------------------------------------------------
adm A "QUERY ACTLOG BEGINTIME=-10" >"$W/actlog.json" || die "QUERY ACTLOG"
for f in "$W/A/data.mdb" "$W/A.log" "$W/actlog.json"; do
	! grep -aqF "$SECRET" "$f" || die "the password is readable in $f"
done
ok "the password is in neither data.mdb, the daemon log nor the activity log"

# ---- classes --------------------------------------------------------------------------
# Every command the README lets an OPERATOR run is run by one: none is
# refused for its class (RPL1005E); others are, naming the class.
row=$(grep -E '^\| *OPERATOR *\|' "$(dirname "$0")/../../README.md") || die "README has no OPERATOR row"
mapfile -t allowed < <(grep -oE '`[^`]+`' <<<"$row" | tr -d '`')
[ "${#allowed[@]}" -ge 4 ] || die "README's OPERATOR row lists too little: $row"
for c in "${allowed[@]}"; do
	case "$c" in
	QUERY) cmd="QUERY ADMIN" ;;
	"PING SERVER") cmd="PING SERVER B" ;;
	"REPLICATE NODE") cmd="REPLICATE NODE NOSUCHNODE" ;;
	"CANCEL PROCESS") cmd="CANCEL PROCESS 999" ;;
	*) cmd="$c" ;;
	esac
	run radm olga "$W/olga.pw" -- $cmd
	! grep -q RPL1005E "$W/err" || die "OPERATOR refused '$cmd' although the README allows $c: $(cat "$W/err")"
done
ok "an OPERATOR runs every command of the README's row: ${allowed[*]}"
fails 1 RPL1005E "OPERATOR: UPDATE SERVER B FORCESYNC=YES is refused" \
	radm olga "$W/olga.pw" -- UPDATE SERVER B FORCESYNC=YES
expect_contains "$(cat "$W/err")" "needs class SYSTEM.*OLGA is OPERATOR" "the refusal names the class needed"
fails 1 RPL1005E "OPERATOR: RENEW CERTIFICATE is refused" radm olga "$W/olga.pw" -- RENEW CERTIFICATE
expect_eq "$(srv_field A B 's["forcesync_pending"]')" false "the refused FORCESYNC changed nothing"

# ---- the activity log names the administrator and masks passwords -----------------------
adm A "UPDATE ADMIN olga CLASS=SYSTEM" >/dev/null || die "UPDATE ADMIN olga CLASS=SYSTEM"
NEWPW='Ibis-Walrus-5513'
succeeds "REGISTER ADMIN over the remote session" radm olga "$W/olga.pw" -- REGISTER ADMIN dave "$NEWPW"
log=$(adm A "QUERY ACTLOG BEGINTIME=-10 SEARCH=OLGA")
expect_contains "$log" "administrator OLGA \(from 127.0.0.1\): REGISTER ADMIN dave \*\*\*" "the activity log names OLGA and masks the password"
adm A "QUERY ACTLOG BEGINTIME=-10" >"$W/actlog2.json"
! grep -aqF "$NEWPW" "$W/actlog2.json" "$W/A.log" "$W/A/data.mdb" || die "the new administrator's password is readable"
ok "the password given remotely is in no file either"

# ---- session security --------------------------------------------------------------------------
expect_eq "$(adm A QUERY ADMIN olga | jget 'j[0]["sessionsecurity"]')" STRICT "after a TLS sign-on OLGA is STRICT"
fails 1 RPL1004E "STRICT: the down-level sign-on is refused" radm olga "$W/olga.pw" --legacy -- QUERY SERVER
failed0=$(adm A QUERY ADMIN olga | jget 'j[0]["failed_signons"]')
fails 1 RPL1004E "STRICT: a down-level sign-on with a wrong password gets the same refusal, before any password test (no guessing by protocol 1)" \
	radm olga "$W/wrong.pw" --legacy -- QUERY SERVER
expect_eq "$(adm A QUERY ADMIN olga | jget 'j[0]["failed_signons"]')" "$failed0" "...and counts no failed password"
adm A "UPDATE ADMIN olga SESSIONSECURITY=TRANSITIONAL" >/dev/null || die "UPDATE ADMIN TRANSITIONAL"
succeeds "TRANSITIONAL again: the down-level sign-on is accepted" radm olga "$W/olga.pw" --legacy -- --json QUERY ADMIN olga
expect_eq "$(jget 'j[0]["sessionsecurity"]' <"$W/out")" TRANSITIONAL "a down-level sign-on does not make it STRICT"
fails 1 RPL1019E "a password is never sent over the down-level path" \
	radm olga "$W/olga.pw" --legacy -- UPDATE ADMIN dave PASSWORD=Other-Pass-9999
fails 1 RPL1001E "down-level: a wrong password is refused" radm olga "$W/wrong.pw" --legacy -- QUERY SERVER

# ---- the server renews; another server takes its address ------------------------------------------
adm A "RENEW CERTIFICATE ACTIVATE=IMMEDIATE" >/dev/null || die "RENEW CERTIFICATE on A"
wait_until 20 test "$(fingerprint "$W/A/cert256.pem")" != "$fp_a" || die "A did not switch certificates"
fp_a2=$(fingerprint "$W/A/cert256.pem")
succeeds "after A's renewal the client signs on with no prompt" radm olga "$W/olga.pw" -- QUERY SERVER
expect_contains "$(cat "$W/err")" "RPL1017I.*$fp_a2.*$fp_a" "the client says it followed the renewal, naming both fingerprints"
expect_eq "$(cat "$KNOWN")" "127.0.0.1:$PA $fp_a2 A" "known_servers now pins the new certificate"

stop_peer A
init_named Z A "$PA"
start_peer Z
adm Z "REGISTER ADMIN olga $(cat "$W/olga.pw") CLASS=SYSTEM" >/dev/null || die "REGISTER ADMIN on Z"
fp_z=$(fingerprint "$W/Z/cert256.pem")
fails 1 RPL1015E "another server on A's address is refused" radm olga "$W/olga.pw" -- QUERY SERVER
expect_contains "$(cat "$W/err")" "$fp_z.*$fp_a2" "the refusal names the certificate seen and the one pinned"
log_has Z "RPL1009I" && die "the client signed on to the impostor"
ok "no sign-on reached the impostor"
expect_eq "$(cat "$KNOWN")" "127.0.0.1:$PA $fp_a2 A" "known_servers is unchanged"
no_crash B
