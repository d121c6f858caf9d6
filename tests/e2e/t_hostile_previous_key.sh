#!/usr/bin/env bash
# Hostile peer: the pairing key A accepts for a short time after replacing
# it (peer/auth.c keep_previous_in). When B's sessions prove both passwords
# again (FORCESYNC), A stores the new key before its AUTH_OK reaches B, so
# B's sessions begun in between prove the key B still holds; A accepts that
# previous key for PAIR_GEN_WINDOW (120 s), and only that:
# 1. the previous key verifies within the window (logged), a made-up key
#    does not (RPL0401E);
# 2. after the window it is refused (RPL0401E): A restarted with its clock
#    200 s ahead (test-clock build);
# 3. SET SERVERPASSWORD on A forgets it at once, with the current one (B
#    pairs again by both passwords, and neither older key verifies);
# in every refused case A's record of B is unchanged, and the real B's next
# session is verified by pin with the pairing key.
source "$(dirname "$0")/lib.sh"

paired_ab
# hkey TAG: B's outbound pairing key now, as hex.
hkey() {
	hrun "$1" <<EOF
secret k $W/B pairing-out A
print k
EOF
	hlast "$1" 'e["ev"]=="value"' 'e["k"]'
}
# prove TAG SRC KEYHEX WANT: the tool is B (B's certificate), proves KEYHEX
# by pairing key; WANT is AUTH_OK or RPL0401E.
prove() {
	local expect="expect AUTH_OK verified_by=1"
	[ "$4" = AUTH_OK ] || expect="expect ERROR msgid=$4
expect-close"
	hrun "$1" <<EOF
identity B instance $W/B
connect 127.0.0.1 $pa src=$2
tls client B
send HELLO version=2 from=B to=A proto=2 purpose=1 method=1 flags=0
expect HELLO_REPLY method=1
tag t key=hex:$3 side=client client=B server=A method=1 purpose=1
send AUTH tag=\$t verified_by=1
$expect
close
EOF
}

k0=$(hkey k0)
[ -n "$k0" ] || die "no pairing key of B for A"
adm B UPDATE SERVER A FORCESYNC=YES >/dev/null || die "FORCESYNC on B"
ping_ok B A || die "B's FORCESYNC session failed"
k1=$(hkey k1)
[ "$k1" != "$k0" ] || die "the FORCESYNC session did not make a new pairing key"
ok "a FORCESYNC session of B made a new pairing key"

# ---- 1. within the window --------------------------------------------------
before=$(hstate A B)
prove prev-ok 127.0.0.61 "$k0" AUTH_OK
expect_eq "$?" 0 "the previous pairing key is accepted within the window"
log_has A "RPL0422I session [0-9]+ from server B: it proved the pairing key it held before the last password proofs" ||
	die "A does not log the use of the previous key"
ok "A logs that B proved its previous pairing key"
prove made-up 127.0.0.62 "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" RPL0401E
expect_eq "$?" 0 "a made-up pairing key is refused (RPL0401E)"
expect_eq "$(hstate A B)" "$before" "A's record of B unchanged"

# ---- 2. after the window ---------------------------------------------------
stop_peer A
REPLPEER_CLOCK_OFFSET=200 start_peer A
prove prev-late 127.0.0.63 "$k0" RPL0401E
expect_eq "$?" 0 "200 s later the previous pairing key is refused (RPL0401E)"
prove cur-late 127.0.0.64 "$k1" AUTH_OK
expect_eq "$?" 0 "...and the current one still verifies"

# ---- 3. SET SERVERPASSWORD forgets it ---------------------------------------
adm B UPDATE SERVER A FORCESYNC=YES >/dev/null || die "second FORCESYNC on B"
ping_ok B A || die "B's second FORCESYNC session failed"
k2=$(hkey k2)
[ "$k2" != "$k1" ] || die "the second FORCESYNC session did not make a new pairing key"
expect_rc 0 adm A SET SERVERPASSWORD "$(cat "$W/A.pw")"
# B pairs again (A demands the password proofs: it has no key for B), so
# that A has a pairing key to check the old ones against.
ping_ok B A || die "B's PING after A's SET SERVERPASSWORD failed"
k3=$(hkey k3)
[ "$k3" != "$k2" ] || die "B did not pair again after SET SERVERPASSWORD"
ok "after A's SET SERVERPASSWORD, B pairs again with both password proofs"
before=$(hstate A B)
prove prev-forgotten 127.0.0.65 "$k1" RPL0401E
expect_eq "$?" 0 "after SET SERVERPASSWORD the previous pairing key is refused (RPL0401E)"
prove cur-forgotten 127.0.0.66 "$k2" RPL0401E
expect_eq "$?" 0 "...and so is the current one"
expect_eq "$(hstate A B)" "$before" "A's record of B unchanged by the refused proofs"

# ---- the real B --------------------------------------------------------------
p=$(adm B PING SERVER A) || die "the real B's PING failed: $p"
p=$(adm B PING SERVER A) || die "the real B's second PING failed: $p"
expect_eq "$(jget 'j["verified_by"]' <<<"$p")" pin "the real B's next session is verified by pin"
log_has B "RPL0422I session [0-9]+ to server A .*pairing key, ping" || die "B's session did not use the pairing key"
ok "...with the pairing key (no password proof)"
