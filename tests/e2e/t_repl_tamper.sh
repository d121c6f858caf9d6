#!/usr/bin/env bash
# Integrity of replicated data on a hostile path (acceptance 3). A reaches
# B through a loopback proxy started by the test (B is defined on A with the
# proxy's port). SSL=NO: the proxy flips one byte in every 4th chunk on the
# bulk channel, keeping its framing: the objects using those chunks fail
# with RPL0836E logged on B with the server, node and object, B stores
# nothing altered (every object on B equals A's or is absent), db verify is
# clean, and the next run without the proxy completes. SSL=YES: the same
# data goes inside TLS through the proxy correctly; when the proxy flips a
# byte there, the TLS session ends instead and again nothing altered is
# stored. A bulk token seen on the wire cannot be replayed.
source "$(dirname "$0")/lib.sh"

paired_ab
pp=$(port)
echo none >"$W/proxy.mode"
python3 "$(dirname "$0")/tools/flipproxy.py" "$pp" "$pb" "$W/proxy.mode" "$W/proxy.ready" >>"$W/proxy.log" 2>&1 &
PIDS+=($!)
wait_until 10 test -e "$W/proxy.ready" || die "the proxy did not start"
adm A UPDATE SERVER B LLADDRESS="$pp" >/dev/null || die "UPDATE SERVER B LLADDRESS"
ping_ok A B || die "PING through the proxy"
ok "A reaches B through the proxy"

# make_set NODE DIR N SEED: N files of 0.1 to 1 MiB random bytes, stored on A.
make_set() {
	local node=$1 dir=$2 n=$3 seed=$4
	mkdir -p "$W/$dir"
	python3 - "$W/$dir" "$n" "$seed" <<'PY'
import os, random, sys
d, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
r = random.Random(seed)
for i in range(n):
    open(os.path.join(d, "f%03d" % i), "wb").write(os.urandom(r.randrange(100000, 1000000)))
PY
	adm A REGISTER NODE "$node" >/dev/null 2>&1
	(cd "$W" && "$RP" store -d "$W/A" put "$node" "$dir" >/dev/null) || die "put $dir"
}

# same_or_absent NODE DIR: every object of DIR on B equals A's file or is
# absent; prints how many are present.
same_or_absent() {
	local node=$1 dir=$2 f present=0
	for f in "$W/$dir"/*; do
		if "$RP" store -d "$W/B" get "$node" "$dir/$(basename "$f")" -o "$W/chk" >/dev/null 2>&1; then
			cmp -s "$W/chk" "$f" || die "$dir/$(basename "$f") on B differs from A's"
			present=$((present + 1))
		fi
	done
	echo "$present"
}

# ---- SSL=NO, bytes flipped on the bulk channel -----------------------------
make_set n1 d1 40 1
echo bulk >"$W/proxy.mode"
out=$(adm A REPLICATE NODE n1 TARGET=B WAIT=YES) && die "a tampered run reported success: $out"
expect_eq "$(jget 'j["message_id"] + " " + j["state"]' <<<"$out")" "RPL0853E failed" \
	"the tampered run fails with RPL0853E"
failed=$(jget 'j["objects_failed"]' <<<"$out")
[ "$failed" -gt 0 ] || die "no object failed: $out"
ok "$failed objects failed, $(jget 'j["objects_replicated"]' <<<"$out") were stored; the proxy flipped $(cat "$W/proxy.mode.flips") chunks"
log_has B "RPL0836E replication from server A, node n1: object d1/f[0-9]+ not stored: .*altered" ||
	die "B's log lacks the RPL0836E line naming server, node and object"
ok "B logs RPL0836E with the server, the node and the object"
expect_contains "$(actlog_lines B)" "RPL0836E .*node n1: object d1/f" "B's activity log names the failed objects"
present=$(same_or_absent n1 d1)
ok "B stores nothing altered: $present of 40 objects present, each identical to A's"
succeeds "db verify --deep on B after tampering" "$RP" db -d "$W/B" verify --deep

echo none >"$W/proxy.mode"
# The bulk token an eavesdropper saw is spent: replayed, it is refused.
token=$(head -1 "$W/proxy.mode.tokens")
[ -n "$token" ] || die "the proxy saw no bulk channel"
python3 -c 'import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(bytes.fromhex(sys.argv[2]) + b"\0\0\0\x05\x46" + b"x" * 64)
s.settimeout(5)
t = time.monotonic()
assert s.recv(100) == b"" and time.monotonic() - t < 2' "$pb" "$token" || die "a replayed bulk token was not refused at once"
wait_until 5 log_has B "bulk connection from 127.0.0.1 refused: an unknown or used token" ||
	die "B does not log the refused replay"
ok "a bulk token seen on the wire is refused when replayed (spent)"
adm A UPDATE SERVER B LLADDRESS="$pb" >/dev/null || die "UPDATE SERVER B back"
out=$(adm A REPLICATE NODE n1 TARGET=B WAIT=YES) || die "the run without the proxy failed: $out"
expect_eq "$(jget 'j["state"] + " " + str(j["objects_replicated"])' <<<"$out")" "completed $failed" \
	"the next run without the proxy completes and sends just the failed objects"
expect_eq "$(same_or_absent n1 d1)" 40 "all 40 objects are on B, identical"

# ---- SSL=YES through the proxy -----------------------------------------------
adm A UPDATE SERVER B LLADDRESS="$pp" SSL=YES >/dev/null || die "UPDATE SERVER B SSL=YES"
make_set n2 d2 20 2
out=$(adm A REPLICATE NODE n2 TARGET=B WAIT=YES) || die "SSL=YES through the proxy: $out"
expect_eq "$(jget 'j["state"] + " " + str(j["objects_replicated"])' <<<"$out")" "completed 20" \
	"SSL=YES carries the data through the proxy correctly"
expect_eq "$(same_or_absent n2 d2)" 20 "all 20 objects are on B, identical"
log_has A "session [0-9]+ to server B .*replication" || die "no replication session in A's log"
make_set n3 d3 20 3
echo tls >"$W/proxy.mode"
out=$(adm A REPLICATE NODE n3 TARGET=B WAIT=YES) && die "a flipped TLS byte went unnoticed: $out"
ok "a flipped byte inside TLS ends the session: $(jget 'j["message_id"] + " " + j["message"]' <<<"$out" | cut -c1-150)"
present=$(same_or_absent n3 d3)
ok "B stores nothing altered: $present of 20 objects present, each identical"
succeeds "db verify --deep on B" "$RP" db -d "$W/B" verify --deep
echo none >"$W/proxy.mode"
out=$(adm A REPLICATE NODE n3 TARGET=B WAIT=YES) || die "the next SSL=YES run: $out"
expect_eq "$(same_or_absent n3 d3)" 20 "the next run completes: all 20 objects on B"
