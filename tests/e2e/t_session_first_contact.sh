#!/usr/bin/env bash
# Sessions acceptance 1: two peers defined to each other pair on first
# contact. The first PING SERVER B from A is verified by "first-contact"
# (password proof, then the certificate is pinned), the next one by "pin";
# both sides then hold the other's certificate fingerprint (as OpenSSL
# computes it from cert256.pem) as their only pin and have moved the other
# to STRICT; the reverse direction B -> A works by pin as well.
source "$(dirname "$0")/lib.sh"

init_peer A "$(port)"
init_peer B "$(port)"
start_peer A
start_peer B
define_pair A B

fpA=$(fingerprint "$W/A/cert256.pem")
fpB=$(fingerprint "$W/B/cert256.pem")
[[ "$fpA" =~ ^[0-9a-f]{64}$ && "$fpB" =~ ^[0-9a-f]{64}$ ]] || die "openssl fingerprints: '$fpA' '$fpB'"
[ "$fpA" != "$fpB" ] || die "A and B share a certificate"

# Before any session: no pins, TRANSITIONAL on both sides.
expect_eq "$(pins_json A B)" "[]" "A holds no pin for B before the first contact"
expect_eq "$(pins_json B A)" "[]" "B holds no pin for A before the first contact"
expect_eq "$(srv_field A B 's["sessionsecurity"]')" TRANSITIONAL "B starts TRANSITIONAL on A"
expect_eq "$(srv_field B A 's["sessionsecurity"]')" TRANSITIONAL "A starts TRANSITIONAL on B"

p1=$(adm A PING SERVER B) || die "first PING SERVER B failed: $p1"
expect_eq "$(jget 'j["ok"]' <<<"$p1")" true "first PING SERVER B from A succeeds"
expect_eq "$(jget 'j["server"]' <<<"$p1")" B "PING names the server"
expect_eq "$(jget 'j["verified_by"]' <<<"$p1")" first-contact "first PING is verified by first-contact"
expect_eq "$(jget 'j["protocol"]' <<<"$p1")" 2 "first PING uses protocol 2"
expect_eq "$(jget 'j["sessionsecurity"]' <<<"$p1")" STRICT "first PING reports B STRICT"
expect_contains "$(jget 'j["tls_version"]' <<<"$p1")" '^TLSv1\.[23]$' "first PING reports a TLS version"
expect_eq "$(jget 'isinstance(j["rtt_ms"], (int, float)) and j["rtt_ms"] >= 0' <<<"$p1")" true "first PING reports rtt_ms"

p2=$(adm A PING SERVER B) || die "second PING SERVER B failed: $p2"
expect_eq "$(jget 'j["ok"]' <<<"$p2")" true "second PING SERVER B succeeds"
expect_eq "$(jget 'j["verified_by"]' <<<"$p2")" pin "second PING is verified by pin"

# Each side pins exactly the other's certificate.
pinsAB=$(pins_json A B)
expect_eq "$(jget 'len(j)' <<<"$pinsAB")" 1 "A holds one pin for B"
expect_eq "$(jget 'j[0]["fingerprint"]' <<<"$pinsAB")" "$fpB" "A's pin for B = openssl fingerprint of B/cert256.pem"
expect_eq "$(jget 'j[0]["state"]' <<<"$pinsAB")" current "A's pin for B is current"
expect_eq "$(jget 'j[0]["not_after"] is not None' <<<"$pinsAB")" true "A's pin for B has not_after"
pinsBA=$(pins_json B A)
expect_eq "$(jget 'len(j)' <<<"$pinsBA")" 1 "B holds one pin for A"
expect_eq "$(jget 'j[0]["fingerprint"]' <<<"$pinsBA")" "$fpA" "B's pin for A = openssl fingerprint of A/cert256.pem"
expect_eq "$(jget 'j[0]["state"]' <<<"$pinsBA")" current "B's pin for A is current"

# The pin's not_after is the certificate's notAfter.
na=$(openssl x509 -in "$W/B/cert256.pem" -noout -enddate | sed 's/notAfter=//')
expect_eq "$(jget 'j[0]["not_after"]' <<<"$pinsAB")" "$(date -u -d "$na" +%Y-%m-%dT%H:%M:%SZ)" "A's pin not_after = B's certificate notAfter"

expect_eq "$(srv_field A B 's["sessionsecurity"]')" STRICT "B is STRICT on A"
expect_eq "$(srv_field B A 's["sessionsecurity"]')" STRICT "A is STRICT on B"
expect_eq "$(srv_field A B 's["last_tls_version"]')" "$(jget 'j["tls_version"]' <<<"$p2")" "A records the last TLS version for B"

# The activity logs tell the pinning and the move to STRICT.
expect_contains "$(adm A QUERY ACTLOG)" "\"RPL0423I\"" "A's activity log records the pin"
expect_contains "$(adm B QUERY ACTLOG | jget '[e["message"] for e in j if e["message_id"] == "RPL0424I"]')" 'server A moved to STRICT' "B's activity log records A moved to STRICT"

p3=$(adm B PING SERVER A) || die "PING SERVER A from B failed: $p3"
expect_eq "$(jget 'j["ok"]' <<<"$p3")" true "PING SERVER A from B succeeds"
expect_eq "$(jget 'j["verified_by"]' <<<"$p3")" pin "PING B->A is verified by pin"
expect_eq "$(jget 'j["sessionsecurity"]' <<<"$p3")" STRICT "PING B->A reports A STRICT"

# Nothing was re-pinned by the later sessions.
expect_eq "$(pins_json A B)" "$pinsAB" "A's pins for B unchanged by later sessions"
expect_eq "$(pins_json B A)" "$pinsBA" "B's pins for A unchanged by later sessions"

# QUERY SERVER's last contact follows the pinned sessions. A session that
# changes nothing but the second of the last contact writes nothing
# (peer/auth.c commit_work); one in a later second must still record it,
# on both sides.
lcA1=$(srv_field A B 's["last_contact"]'); lcB1=$(srv_field B A 's["last_contact"]')
sleep 1.2
p4=$(adm A PING SERVER B) || die "PING SERVER B from A failed: $p4"
later() { python3 -c 'import sys, datetime as d
a, b = (d.datetime.strptime(x, "%Y-%m-%dT%H:%M:%SZ") for x in sys.argv[1:3])
print("later" if b > a else "not later: %s -> %s" % (a, b))' "$1" "$2"; }
expect_eq "$(later "$lcA1" "$(srv_field A B 's["last_contact"]')")" later "A's last contact with B moves with a later pinned session"
expect_eq "$(later "$lcB1" "$(srv_field B A 's["last_contact"]')")" later "B's last contact with A moves with a later pinned session"
