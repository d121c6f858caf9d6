#!/usr/bin/env bash
# Hostile peer: pairing-key generations on the client side (peer/auth.c
# commit_work). The tool is server E. After a first contact (generation 100),
# A opens two PING sessions to E at once; E demands the password proofs in
# both, answers the first with generation 300 and, later, the second with
# generation 200. A must keep the key of generation 300 (the one a real
# server would hold: it numbers the keys in the order it stores them),
# although that AUTH_OK came first. A key arriving with a lower generation
# than A's is dropped when the two sessions ran at once; a session begun
# after A stored its key replaces it whatever its generation (50 here).
source "$(dirname "$0")/lib.sh"

pa=$(port); pt=$(port)
init_peer A "$pa"
start_peer A
pwA=$(cat "$W/A.pw")
expect_rc 0 adm A DEFINE SERVER E HLADDRESS=127.0.0.1 "LLADDRESS=$pt" SERVERPASSWORD=pw-E-secret

# srp_round SESS GEN: in session SESS (HELLO already answered), finish the
# password proofs and send AUTH_OK with generation GEN.
hrun gen <<EOF &
listen $pt
gen-identity E cn=E ip=127.0.0.1
accept s0
tls server E
expect HELLO from=A to=E method=2
srp-server p1=pw-E-secret p2=$pwA
send HELLO_REPLY version=2 from=E method=2 salt=\$salt B=\$B salt2=\$salt2 B2=\$B2
expect AUTH
srp-server-finish
set k0 \$pairing
tag t key=\$k0 side=server client=A server=E method=2 purpose=1
send AUTH_OK M2=\$M2 M2_2=\$M2_2 tag=\$t verified_by=3 t35=u64:100
sleep 1
close
accept s1 timeout=20
tls server E
expect HELLO from=A to=E method=1
srp-server p1=pw-E-secret p2=$pwA
send HELLO_REPLY version=2 from=E method=2 salt=\$salt B=\$B salt2=\$salt2 B2=\$B2
accept s2 timeout=20
tls server E
expect HELLO from=A to=E method=1
srp-server p1=pw-E-secret p2=$pwA
send HELLO_REPLY version=2 from=E method=2 salt=\$salt B=\$B salt2=\$salt2 B2=\$B2
expect AUTH
srp-server-finish
set k2 \$pairing
set m2a \$M2
set m2b \$M2_2
tag t2 key=\$k2 side=server client=A server=E method=2 purpose=1
use s1
expect AUTH
srp-server-finish
set k1 \$pairing
tag t1 key=\$k1 side=server client=A server=E method=2 purpose=1
send AUTH_OK M2=\$M2 M2_2=\$M2_2 tag=\$t1 verified_by=1 t35=u64:300
sleep 1
use s2
send AUTH_OK M2=\$m2a M2_2=\$m2b tag=\$t2 verified_by=1 t35=u64:200
sleep 1
print k0 k1 k2
close
use s1
close
accept s3 timeout=30
tls server E
expect HELLO from=A to=E method=1
srp-server p1=pw-E-secret p2=$pwA
send HELLO_REPLY version=2 from=E method=2 salt=\$salt B=\$B salt2=\$salt2 B2=\$B2
expect AUTH
srp-server-finish
set k3 \$pairing
tag t3 key=\$k3 side=server client=A server=E method=2 purpose=1
send AUTH_OK M2=\$M2 M2_2=\$M2_2 tag=\$t3 verified_by=1 t35=u64:50
sleep 1
print k3
close
EOF
hp=$!
sleep 0.3
adm A PING SERVER E >"$W/p0" 2>&1
wait_until 10 bash -c "[ \"\$(\"$RP\" admin -d \"$W/A\" --json QUERY SERVER E | python3 -c 'import json,sys; print(json.load(sys.stdin)[0][\"paired_out\"])')\" = True ]" ||
	die "A stored no pairing key after the first contact"
adm A PING SERVER E >"$W/p1" 2>&1 &
p1=$!
adm A PING SERVER E >"$W/p2" 2>&1 &
p2=$!
wait "$p1" "$p2"
wait_until 20 grep -q '"k2"' "$W/gen.ev" || die "the tool did not finish the two sessions: $(tail -5 "$W/gen.ev")"
k0=$(hlast gen 'e["ev"]=="value"' 'e["k0"]')
k1=$(hlast gen 'e["ev"]=="value"' 'e["k1"]')
k2=$(hlast gen 'e["ev"]=="value"' 'e["k2"]')
[ -n "$k1" ] && [ "$k1" != "$k2" ] && [ "$k1" != "$k0" ] || die "the sessions made no distinct keys ($k0 $k1 $k2)"
hkeyA() {
	hrun keyA <<EOF
secret k $W/A pairing-out E
print k
EOF
	hlast keyA 'e["ev"]=="value"' 'e["k"]'
}
kA=$(hkeyA)
expect_eq "$kA" "$k1" "A keeps the key of generation 300, which came before the key of generation 200"

# A later session, begun after A stored that key, with a lower generation
# (a server whose record was made anew, as after a disaster recovery, counts
# from its own clock): it is newer than A's key, whatever its number.
adm A PING SERVER E >"$W/p3" 2>&1
wait "$hp" || die "the tool's script failed: $(tail -5 "$W/gen.ev")"
k3=$(hlast gen 'e["ev"]=="value" and "k3" in e' 'e["k3"]')
expect_eq "$(hkeyA)" "$k3" "a later session's key replaces A's although its generation (50) is lower"
