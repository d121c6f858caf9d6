#!/usr/bin/env bash
# Hostile peer, finding 3: "a partner's password alone makes you that partner
# on A's outbound first contact / FORCESYNC: the outbound client accepts the
# server after a proof of the server's own password only". Any partner of B
# knows B's password; it must not become B on A. The tool is a fake B that
# knows B's password but not A's, with a certificate of its own:
#  1. A's outbound first contact to it: the tool proves B's password (slot 1)
#     correctly and cannot prove A's (slot 2); whatever it sends for slot 2
#     (random, missing, slot 1's copy) A refuses with RPL0401E, logs the
#     failed sign-on and pins nothing;
#  2. its inbound first contact to A: refused with RPL0401E, nothing pinned;
#  3. then the real B pairs, A is marked FORCESYNC for B, and the fake B
#     tries the FORCESYNC session in both directions: refused, the mark
#     stays and the pins, level and pairing keys do not change.
# Afterwards (mark cleared) the real B's sessions in both directions are
# verified by pin with the stored pairing key.
source "$(dirname "$0")/lib.sh"

pa=$(port); pb=$(port); pt=$(port)
init_peer A "$pa"
init_peer B "$pb"
start_peer A
start_peer B
define_pair A B
pwA=$(cat "$W/A.pw"); pwB=$(cat "$W/B.pw")
expect_rc 0 adm A UPDATE SERVER B "LLADDRESS=$pt"
fresh=$(hstate A B)
expect_eq "$(jget 'j["pins"]' <<<"$fresh")" "[]" "A has nothing pinned for B yet"

# fake_server TAG AUTHOK-FIELDS [TRIGGER]: the fake B answers A's HELLO with
# SRP over B's password and a guess of A's, then AUTH_OK with the fields.
fake_server() {
	local tag=$1 fields=$2 trigger=${3:-"spawn out=$W/$1.ping $RP admin -d $W/A --json PING SERVER B"}
	hrun "$tag" <<EOF
listen $pt
gen-identity FAKE cn=B ip=127.0.0.1
$trigger
accept s
tls server FAKE
expect HELLO from=A to=B method=2
srp-server p1=$pwB p2=guessed-A-password
send HELLO_REPLY version=2 from=B method=2 salt=\$salt B=\$B salt2=\$salt2 B2=\$B2
expect AUTH
srp-server-finish
tag t key=\$pairing side=server client=A server=B method=2 purpose=\$purpose
send AUTH_OK $fields tag=\$t verified_by=3
try expect-close
reap
EOF
}

# ---- 1. outbound first contact ----------------------------------------------
n=0
for v in random missing copy; do
	case $v in
	random) f='M2=$M2 M2_2=$M2_2' ;;
	missing) f='M2=$M2' ;;
	copy) f='M2=$M2 M2_2=$M2' ;;
	esac
	fails=$(srv_field A B 's["failed_signons"]')
	fake_server "first-out-$v" "$f" "set purpose 1
spawn out=$W/first-out-$v.ping $RP admin -d $W/A --json PING SERVER B"
	expect_eq "$(hlast "first-out-$v" 'e["ev"]=="srp-server-finish"' '[e["slot1"], e["slot2"]]')" "[True, False]" \
		"$v: the fake B checks A's proof of B's password, not of A's"
	expect_contains "$(cat "$W/first-out-$v.ping")" '"message_id": "RPL0401E"' "$v: A's first contact to the fake B fails with RPL0401E"
	expect_eq "$(hstate A B)" "$fresh" "$v: A pinned nothing and stored no pairing key for B"
	wait_until 5 eval '[ "$(srv_field A B "s[\"failed_signons\"]")" -gt "$fails" ]' || die "$v: no failed sign-on recorded"
	ok "$v: A recorded the failed sign-on"
done
expect_contains "$(grep RPL0425W "$W/A.log")" "sign-on to server B .* failed: the server's password proofs are wrong" \
	"A's log says the server did not prove both passwords"

# ---- 2. inbound first contact ---------------------------------------------------
hrun first-in <<EOF
gen-identity FAKE cn=B ip=127.0.0.1
connect 127.0.0.1 $pa src=127.0.0.41
tls client FAKE
send HELLO version=2 from=B to=A proto=2 purpose=1 method=2 flags=0
expect HELLO_REPLY method=2
srp-client p1=guessed-A-password p2=$pwB
tag t key=\$pairing side=client client=B server=A method=2 purpose=1
send AUTH A=\$A M1=\$M1 A2=\$A2 M1_2=\$M1_2 tag=\$t verified_by=3
expect ERROR msgid=RPL0401E
expect-close
EOF
expect_eq "$?" 0 "the fake B's first contact to A is refused with RPL0401E"
expect_eq "$(hstate A B)" "$fresh" "A pinned nothing for B after the inbound attempt"
log_has A 'sign-on from server B \(127.0.0.41\) failed: wrong password proof' || die "A's log lacks the inbound failure"
ok "A's log names the failed inbound sign-on from 127.0.0.41"

# ---- 3. FORCESYNC ---------------------------------------------------------------
expect_rc 0 adm A UPDATE SERVER B "LLADDRESS=$pb"
p=$(adm A PING SERVER B) || die "first contact with the real B failed: $p"
expect_eq "$(jget 'j["verified_by"]' <<<"$p")" first-contact "A pairs with the real B"
ping_ok B A || die "B -> A failed"
paired=$(hstate A B)
expect_rc 0 adm A UPDATE SERVER B "LLADDRESS=$pt"
# Marking B starts a session at once: the fake B takes it.
fake_server fs-out 'M2=$M2 M2_2=$M2_2' "set purpose 2
spawn out=$W/fs-out.mark $RP admin -d $W/A --json UPDATE SERVER B FORCESYNC=YES"
expect_eq "$(hcount fs-out 'e["ev"]=="recv" and e["type"]=="HELLO" and e["fields"].get("flags")==1')" 1 \
	"A's FORCESYNC session reached the fake B (HELLO with the FORCESYNC flag)"
expect_eq "$(hlast fs-out 'e["ev"]=="srp-server-finish"' '[e["slot1"], e["slot2"]]')" "[True, False]" \
	"FORCESYNC: the fake B proves B's password only"
wait_until 5 log_has A 'sign-on to server B .* failed: the server.s password proofs are wrong' || die "no failure logged"
marked=$(hstate A B)
expect_eq "$(jget 'j["forcesync_pending"]' <<<"$marked")" true "the FORCESYNC mark stays after the fake B's attempt (A as client)"
unmarked=$(python3 -c 'import json,sys; j=json.load(sys.stdin); j["forcesync_pending"]=False; print(json.dumps(j, sort_keys=True))' <<<"$marked")
expect_eq "$unmarked" "$paired" \
	"apart from the mark, A's pins, level and pairing for B are as before the attempt"
pinsB=$(jget 'j["pins"]' <<<"$marked")
hrun fs-in <<EOF
gen-identity FAKE cn=B ip=127.0.0.1
connect 127.0.0.1 $pa src=127.0.0.42
tls client FAKE
send HELLO version=2 from=B to=A proto=2 purpose=2 method=2 flags=1
expect HELLO_REPLY method=2
srp-client p1=guessed-A-password p2=$pwB
tag t key=\$pairing side=client client=B server=A method=2 purpose=2
send AUTH A=\$A M1=\$M1 A2=\$A2 M1_2=\$M1_2 tag=\$t verified_by=3
expect ERROR msgid=RPL0401E
expect-close
EOF
expect_eq "$?" 0 "FORCESYNC from the fake B to A is refused with RPL0401E"
expect_eq "$(hstate A B)" "$marked" "A's pins, level, FORCESYNC mark and pairing for B unchanged (A as server)"
expect_eq "$(jget 'j["pins"]' <<<"$marked")" "$pinsB" "A still pins the real B's certificate only"

# ---- the real B ----------------------------------------------------------------
expect_rc 0 adm A UPDATE SERVER B FORCESYNC=NO "LLADDRESS=$pb"
by_pairing_key A B || die "A -> B is not verified by pin with the pairing key"
ok "A -> real B: verified by pin with the stored pairing key"
by_pairing_key B A || die "B -> A is not verified by pin with the pairing key"
ok "real B -> A: verified by pin with the stored pairing key"
no_crash A
