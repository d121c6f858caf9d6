#!/usr/bin/env bash
# Two peers in two network namespaces joined by a veth pair, so that they
# talk over two distinct addresses (10.231.0.1 and 10.231.0.2, which exist
# inside the namespaces only) instead of one loopback: A and B define each
# other, the first contact pins both certificates (each side sees the
# other's address), PINGs work both ways by pin, and RENEW CERTIFICATE on A
# is announced and confirmed over the veth (B pins A's new certificate
# alone, as current). The namespaces and the veth are removed on every exit,
# also on failure. Needs CAP_NET_ADMIN (and 'ip'); without it the scenario
# prints SKIP with the reason.
source "$(dirname "$0")/lib.sh"

NA=rpl-$$-a NB=rpl-$$-b VA=rpv$$a VB=rpv$$b
IPA=10.231.0.1 IPB=10.231.0.2

netns_down() {
	stop_peer A
	stop_peer B
	ip link del "$VA" 2>/dev/null
	ip netns del "$NA" 2>/dev/null
	ip netns del "$NB" 2>/dev/null
}
trap 'r=$?; netns_down; (exit $r); cleanup' EXIT

command -v ip >/dev/null || { echo "SKIP two network namespaces: the 'ip' command (iproute2) is missing"; exit 0; }
if ! why=$(ip netns add "$NA" 2>&1); then
	echo "SKIP two network namespaces: cannot create one (needs CAP_NET_ADMIN): $why"
	exit 0
fi
ip netns add "$NB" || die "ip netns add $NB"
ip link add "$VA" type veth peer name "$VB" || die "ip link add veth pair"
ip link set "$VA" netns "$NA" || die "veth into $NA"
ip link set "$VB" netns "$NB" || die "veth into $NB"
ip -n "$NA" addr add "$IPA/30" dev "$VA" && ip -n "$NA" link set "$VA" up && ip -n "$NA" link set lo up ||
	die "addresses in $NA"
ip -n "$NB" addr add "$IPB/30" dev "$VB" && ip -n "$NB" link set "$VB" up && ip -n "$NB" link set lo up ||
	die "addresses in $NB"
ok "namespaces $NA ($IPA) and $NB ($IPB) joined by a veth pair"
[ -z "$(ip -o addr show to 10.231.0.0/30)" ] || die "10.231.0.0/30 is visible outside the namespaces"

pa=$(port); pb=$(port)
printf 'pw-A-secret\n' >"$W/A.pw"
printf 'pw-B-secret\n' >"$W/B.pw"
"$RP" init -d "$W/A" --name A --port "$pa" --address "$IPA" --password-file "$W/A.pw" >/dev/null || die "init A"
"$RP" init -d "$W/B" --name B --port "$pb" --address "$IPB" --password-file "$W/B.pw" >/dev/null || die "init B"

# start_in NAME NETNS ADDRESS PORT: serve inside the namespace; the admin
# socket (a file) is reached from here as usual.
start_in() {
	ip netns exec "$2" "$RP" serve -d "$W/$1" >>"$W/$1.log" 2>&1 &
	PIDS+=($!)
	eval "PID_$1=$!"
	wait_until 10 ip netns exec "$2" bash -c "exec 3<>/dev/tcp/$3/$4" || die "peer $1 does not listen on $3:$4"
	wait_admin "$1"
}
start_in A "$NA" "$IPA" "$pa"
start_in B "$NB" "$IPB" "$pb"
ip netns exec "$NA" bash -c "exec 3<>/dev/tcp/$IPB/$pb" || die "$IPA cannot reach B on $IPB:$pb over the veth"
# Isolation is checked without a packet leaving the namespaces: a connect
# from here to 10.231.0.2 would follow the default route off this machine.
ss -Hltn "sport = :$pb" | grep -q . && die "B's port $pb is listening outside the namespaces"
ip netns exec "$NB" ss -Hltn "sport = :$pb" | grep -q "$IPB:$pb" || die "B does not listen on $IPB:$pb in $NB"
ok "A's namespace reaches B on $IPB:$pb over the veth; B's port listens in its namespace only"

adm A "DEFINE SERVER B HLADDRESS=$IPB LLADDRESS=$pb SERVERPASSWORD=$(cat "$W/B.pw")" >/dev/null || die "define B on A"
adm B "DEFINE SERVER A HLADDRESS=$IPA LLADDRESS=$pa SERVERPASSWORD=$(cat "$W/A.pw")" >/dev/null || die "define A on B"

p=$(adm A PING SERVER B) || die "first contact A->B: $p"
expect_eq "$(jget 'j["verified_by"]' <<<"$p")" first-contact "A->B over the veth: first contact"
p=$(adm B PING SERVER A) || die "PING B->A: $p"
expect_eq "$(jget 'j["verified_by"]' <<<"$p")" pin "B->A: verified by the pin of the first contact"
p=$(adm A PING SERVER B) || die "PING A->B: $p"
expect_eq "$(jget 'j["verified_by"]' <<<"$p")" pin "A->B: verified by pin"
expect_contains "$(cat "$W/B.log")" "session [0-9]+ from server A \($IPA\)" "B sees A's sessions come from $IPA"
expect_contains "$(cat "$W/A.log")" "session [0-9]+ from server B \($IPB\)" "A sees B's sessions come from $IPB"
expect_eq "$(pin_list B A)" "$(fingerprint "$W/A/cert256.pem"):current" "B pins A's certificate"
expect_eq "$(pin_list A B)" "$(fingerprint "$W/B/cert256.pem"):current" "A pins B's certificate"

old=$(own_fp A current)
r=$(adm A RENEW CERTIFICATE) || die "RENEW CERTIFICATE on A: $r"
wait_until 60 log_has A "RPL0610I certificate confirmation round" || die "A's confirmation round did not finish: $(grep RPL06 "$W/A.log" | tail -5)"
new=$(own_fp A current)
[ -n "$new" ] && [ "$new" != "$old" ] || die "A's current certificate did not change"
cur_pinned() { pins_are B A "$new:current"; }
wait_until 20 cur_pinned || die "B does not pin A's new certificate alone as current: $(pin_list B A)"
ok "RENEW CERTIFICATE on A: announced and confirmed over the veth; B pins the new certificate alone, as current"
expect_eq "$(fingerprint "$W/A/cert256.pem")" "$new" "A's cert256.pem is the new certificate"
p=$(adm B PING SERVER A) || die "PING B->A after the renewal: $p"
expect_eq "$(jget 'j["verified_by"]' <<<"$p")" pin "B->A after the renewal: verified by the new pin"
p=$(adm A PING SERVER B) || die "PING A->B after the renewal: $p"
expect_eq "$(jget 'j["ok"]' <<<"$p")" true "A->B after the renewal"
no_crash A
no_crash B
