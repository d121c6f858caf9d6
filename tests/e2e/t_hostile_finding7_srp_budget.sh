#!/usr/bin/env bash
# Hostile peer, finding 7: "a HELLO naming a defined but unpaired server
# starts SRP work on every connection and is never counted as a failure".
# A defines U but has never met it; the tool claims to be U.
#  1. From one address, HELLOs asking for SRP are answered (SRP work) five
#     times; from then on that (address, name) is refused with RPL0402E and
#     gets no HELLO_REPLY (no salt, no B: no SRP work), and A logs it.
#  2. From 200 addresses at once (4 HELLOs each, under the per-address
#     limit), the global SRP budget holds: HELLO_REPLYs carrying SRP values
#     stay within the burst (128) plus 64 a second over the time the HELLOs
#     took; the others are refused with RPL0402E before any SRP work (800
#     HELLOs, so that a loaded machine still sends them faster than the
#     budget refills).
#  3. The real partner B, from its own address, keeps working right after
#     (pin and pairing key, no SRP), in both directions, and A's record of
#     U and of B is unchanged.
source "$(dirname "$0")/lib.sh"

pa=$(port); pb=$(port)
init_peer A "$pa"
init_peer B "$pb"
conf_set A PREAUTHMAX 2000
start_peer A
start_peer B
define_pair A B
ping_ok A B || die "first contact A->B failed"
ping_ok B A || die "B->A failed"
expect_rc 0 adm A DEFINE SERVER U HLADDRESS=127.0.0.1 LLADDRESS=9 SERVERPASSWORD=pw-U-secret
beforeU=$(hstate A U); beforeB=$(hstate A B)

hello='HELLO version=2 from=U to=A proto=2 purpose=1 method=2 flags=0'

# ---- 1. one address -------------------------------------------------------------
hrun one <<EOF
gen-identity U cn=U ip=127.0.0.1
repeat 8 i
connect s\$i 127.0.0.1 $pa src=127.0.0.60
tls client U
send $hello
try recv
close
end
EOF
replies=$(hcount one 'e["ev"]=="recv" and e["type"]=="HELLO_REPLY" and "B" in e["fields"] and "salt" in e["fields"]')
expect_eq "$replies" 5 "one (address, name): five HELLO_REPLYs with SRP values, then no more"
expect_eq "$(hcount one 'e["ev"]=="recv" and e["type"]=="ERROR" and e["fields"].get("msgid")=="RPL0402E"')" 3 \
	"the 6th to 8th HELLO are refused with RPL0402E"
expect_eq "$(hlast one 'e["ev"]=="recv" and e["s"]=="s5"' 'e["type"]')" ERROR "the 6th session gets an error, not SRP values"
log_has A 'RPL0402E session [0-9]+ from server U \(127.0.0.60\) refused: 5 failed sign-ons as server U from 127.0.0.60' ||
	die "A's log lacks the rate-limit refusal"
ok "A logged the refusal of U from 127.0.0.60 without a password proof"

# ---- 2. many addresses: the global budget -------------------------------------------
hrun many <<EOF
option quiet
gen-identity U cn=U ip=127.0.0.1
repeat 800 i
let a 20 + \$i / 4
connect s\$i 127.0.0.1 $pa src=127.0.0.\$a
tls client U
send $hello
note hello-sent
end
repeat 800 i
use s\$i
try recv timeout=10
close
end
EOF
srp=$(hcount many 'e["ev"]=="recv" and e["type"]=="HELLO_REPLY" and "B" in e["fields"]')
budget=$(hcount many 'e["ev"]=="recv" and e["type"]=="ERROR" and e["fields"].get("msgid")=="RPL0402E"')
span=$(python3 -c 'import json,sys
t = [e["t"] for e in map(json.loads, open(sys.argv[1])) if e["ev"]=="note"]
print("%.2f" % (t[-1] - t[0]))' "$W/many.ev")
allowed=$(python3 -c "import math; print(128 + math.ceil(64 * ($span + 0.5)))")
echo "MEASURE 800 SRP HELLOs from 200 addresses in ${span}s: $srp answered with SRP values, $budget refused RPL0402E (budget allows $allowed)"
[ "$srp" -le "$allowed" ] || die "$srp SRP set-ups in ${span}s exceed the global budget ($allowed)"
ok "the global SRP budget holds under 200 addresses ($srp <= $allowed)"
[ "$budget" -gt 0 ] || die "no HELLO was refused for the budget: the check cannot tell"
rate=$(hcount many 'e["ev"]=="recv" and e["type"]=="ERROR" and e["fields"].get("msgid")=="RPL0434E"')
expect_eq "$((srp + budget + rate))" 800 "every HELLO got SRP values or RPL0402E (budget); none RPL0434E before a proof ($rate)"
expect_eq "$rate" 0 "U's session rate is not charged before a proof"
log_has A 'password proofs for unpaired partners arrive faster than 64 a second' || die "A's log lacks the budget refusal"
ok "A logged the budget refusals"

# ---- 3. the real partner ----------------------------------------------------------
by_pairing_key B A || die "B -> A is not verified by pin with the pairing key"
ok "the real B (another address) keeps working: B -> A by pin with the pairing key"
by_pairing_key A B || die "A -> B is not verified by pin with the pairing key"
ok "A -> B by pin with the pairing key"
expect_eq "$(hstate A U)" "$beforeU" "A's record of U is unchanged"
expect_eq "$(hstate A B)" "$beforeB" "A's record of B is unchanged"
no_crash A
