#!/usr/bin/env bash
# Security model 3 against a downgrade: an active attacker who stands in for a
# partner on A's first contact (B defined on A, never contacted, so
# TRANSITIONAL) and answers A's TLS ClientHello with the down-level marker
# must learn nothing that allows an offline dictionary attack on B's server
# password. With the defaults (ALLOWLEGACY YES) and with ALLOWLEGACY NO.
# The attacker (tools/fake_downlevel.py) tries a small dictionary that holds
# the real password against whatever A sends it.
source "$(dirname "$0")/lib.sh"

F=$(dirname "$0")/tools/fake_downlevel.py
init_peer A "$(port)"
start_peer A
printf '%s\n' password 123456 letmein pw-B-secret hunter2 >"$W/dict"

attempt() { # LABEL: one first contact of A with the fake B
	local fp
	fp=$(port)
	adm A DELETE SERVER B >/dev/null 2>&1
	adm A DEFINE SERVER B HLADDRESS=127.0.0.1 "LLADDRESS=$fp" SERVERPASSWORD=pw-B-secret >/dev/null ||
		die "define B on A"
	python3 "$F" "$fp" B "$W/dict" --timeout 8 >"$W/fake.out" 2>&1 &
	local fake=$!
	PIDS+=($fake)
	wait_until 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$fp" || die "the fake B does not listen"
	# (that probe was one connection without data; the fake ignores it)
	out=$(adm A PING SERVER B)
	kill "$fake" 2>/dev/null
	wait "$fake" 2>/dev/null
	res=$(cat "$W/fake.out")
	expect_eq "$(jget 'j["tls_attempt"]' <<<"$res")" true "$1: A first offered TLS to the fake B"
	expect_eq "$(jget 'j["ok"]' <<<"$out")" false "$1: A's PING SERVER B fails"
	if [ "$(jget 'j["fallback"]' <<<"$res")" == true ]; then
		echo "note: $1: A fell back to protocol 1 on a first contact; the fake B tried $(jget 'j["tried"]' <<<"$res") passwords offline, matched: $(jget 'j["matched"]' <<<"$res")"
	fi
	expect_eq "$(jget 'j["matched"]' <<<"$res")" null "$1: the attacker cannot verify a password guess offline"
	expect_eq "$(pins_json A B)" "[]" "$1: A pinned nothing"
}

attempt "ALLOWLEGACY YES (default)"

stop_peer A
conf_set A ALLOWLEGACY NO
start_peer A
wait_admin A
attempt "ALLOWLEGACY NO"
