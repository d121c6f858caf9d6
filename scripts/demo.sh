#!/usr/bin/env bash
# The main job on loopback: two peers find and verify each other, pin each
# other's certificates, move to STRICT, replicate a node (progress and
# summary, then an incremental run that moves almost nothing), renew a
# certificate without an outage with replication working right after it,
# and recover a lost identity with FORCESYNC. Everything runs in a
# temporary directory and is stopped at the end.
set -u
: "${RP:?set RP to the replpeer binary}"
W=$(mktemp -d /tmp/replpeer-demo.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()'; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
fail() { echo "demo: $*" >&2; exit 1; }
serve() {
	"$RP" serve -d "$W/$1" >>"$W/$1.log" 2>&1 &
	PIDS+=($!)
	eval "PID_$1=$!"
	for _ in $(seq 100); do [ -S "$W/$1/admin.sock" ] && return 0; sleep 0.05; done
	fail "$1 did not start; see its log: $(tail -3 "$W/$1.log")"
}
stop() { local p; eval "p=\$PID_$1"; kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; }
adm() { local d=$1; shift; "$RP" admin -d "$W/$d" "$@"; }

PA=$(port); PB=$(port)
echo 'alpha-server-pw' >"$W/a.pw"; echo 'bravo-server-pw' >"$W/b.pw"

say "Two instances, each with its own key pair and self-signed certificate"
run "$RP" init -d "$W/ALPHA" --name ALPHA --port "$PA" --password-file "$W/a.pw" || fail init
run "$RP" init -d "$W/BRAVO" --name BRAVO --port "$PB" --password-file "$W/b.pw" || fail init
run "$RP" cert -d "$W/ALPHA" show

say "Both peers run; each defines the other with the other's server password"
serve ALPHA; serve BRAVO
run "$RP" admin -d "$W/ALPHA" DEFINE SERVER BRAVO HLADDRESS=127.0.0.1 LLADDRESS="$PB" SERVERPASSWORD=bravo-server-pw >/dev/null || fail define
run "$RP" admin -d "$W/BRAVO" DEFINE SERVER ALPHA HLADDRESS=127.0.0.1 LLADDRESS="$PA" SERVERPASSWORD=alpha-server-pw >/dev/null || fail define

say "First contact: mutual TLS, SRP password proof bound to the session, certificates pinned"
run "$RP" admin -d "$W/ALPHA" PING SERVER BRAVO || fail ping
say "The next session is verified by the pins (no password proof needed)"
run "$RP" admin -d "$W/BRAVO" PING SERVER ALPHA || fail ping
run "$RP" admin -d "$W/BRAVO" QUERY SERVER

say "Renewal without an outage: ALPHA renews, BRAVO follows with no admin action"
run "$RP" admin -d "$W/ALPHA" RENEW CERTIFICATE || fail renew
for _ in $(seq 100); do
	adm ALPHA --json QUERY CERTIFICATE | grep -q '"state": "retired"' && break
	sleep 0.1
done
run "$RP" admin -d "$W/ALPHA" QUERY CERTIFICATE
run "$RP" admin -d "$W/BRAVO" PING SERVER ALPHA || fail "ping after renewal"

say "Replication: a node with sample files on ALPHA goes to BRAVO (progress, then a summary)"
run "$RP" admin -d "$W/ALPHA" REGISTER NODE docs >/dev/null || fail "register node"
mkdir -p "$W/sample"
for i in $(seq 1 24); do head -c $(( (i % 6 + 1) * 400000 )) /dev/urandom >"$W/sample/file$i.bin"; done
cp "$W/sample/file1.bin" "$W/sample/copy-of-file1.bin"
printf 'hello from ALPHA\n' >"$W/sample/readme.txt"
(cd "$W" && run "$RP" store -d "$W/ALPHA" put docs sample) || fail "store put"
run "$RP" admin -d "$W/ALPHA" REPLICATE NODE docs TARGET=BRAVO WAIT=YES || fail "replicate"
say "An incremental run: nothing changed, almost nothing moves"
run "$RP" admin -d "$W/ALPHA" REPLICATE NODE docs TARGET=BRAVO WAIT=YES || fail "replicate again"
say "Certificate renewal on ALPHA, and replication right after it"
run "$RP" admin -d "$W/ALPHA" RENEW CERTIFICATE ACTIVATE=IMMEDIATE >/dev/null || fail "renew"
printf 'written after the renewal\n' >"$W/sample/after-renewal.txt"
(cd "$W" && "$RP" store -d "$W/ALPHA" put docs sample/after-renewal.txt >/dev/null) || fail "store put"
run "$RP" admin -d "$W/ALPHA" REPLICATE NODE docs TARGET=BRAVO WAIT=YES || fail "replicate after renewal"
say "A file read back from BRAVO's replica"
run "$RP" store -d "$W/BRAVO" get docs sample/readme.txt -o - || fail "get"
run "$RP" store -d "$W/BRAVO" get docs sample/after-renewal.txt -o - || fail "get"
run "$RP" admin -d "$W/ALPHA" QUERY REPLICATION
run "$RP" admin -d "$W/BRAVO" QUERY NODE

say "Disaster recovery: ALPHA loses its instance and comes back with a new key"
stop ALPHA
rm -rf "$W/ALPHA"
"$RP" init -d "$W/ALPHA" --name ALPHA --port "$PA" --password-file "$W/a.pw" >/dev/null || fail init
serve ALPHA
"$RP" admin -d "$W/ALPHA" DEFINE SERVER BRAVO HLADDRESS=127.0.0.1 LLADDRESS="$PB" SERVERPASSWORD=bravo-server-pw >/dev/null
echo "BRAVO refuses the unknown key, and says why and how to fix it:"
run "$RP" admin -d "$W/BRAVO" PING SERVER ALPHA && fail "a changed key was accepted"
say "The administrator confirms the change: FORCESYNC re-exchanges certificates after the password proof"
run "$RP" admin -d "$W/BRAVO" UPDATE SERVER ALPHA FORCESYNC=YES || fail forcesync
for _ in $(seq 100); do
	adm BRAVO --json QUERY SERVER ALPHA | grep -q '"forcesync_pending": false' && break
	sleep 0.1
done
run "$RP" admin -d "$W/BRAVO" PING SERVER ALPHA || fail "ping after forcesync"
run "$RP" admin -d "$W/ALPHA" PING SERVER BRAVO || fail "ping after forcesync"

say "Activity log of BRAVO"
"$RP" admin -d "$W/BRAVO" QUERY ACTLOG | cut -c1-160
say "Demo finished: both peers are STRICT, pinned, renewed and recovered"
adm ALPHA HALT >/dev/null; adm BRAVO HALT >/dev/null
