#!/usr/bin/env bash
# Replication through a hostile network (issue 13, security model 7 and
# 11): A reaches B through a fault-injecting proxy
# (tests/e2e/tools/faultproxy.py; B is defined on A at the proxy's port, so
# the TLS sessions and the SSL=NO bulk channel both pass it). Each run
# changes a small node on A (3 objects rewritten, 1 added, 1 deleted; 4 to
# 160 KiB each) and replicates it while the proxy injects one fault mode
# (delay, 1-byte writes, stall longer than COMMTIMEOUT, reset at a random
# offset, flipped bit, duplicated chunk):
#  - SSL=NO, faults on the bulk channel (offsets inside the chunk bytes);
#  - SSL=NO, faults on the TLS sessions (handshake and first frames);
#  - SSL=YES, faults on the TLS session that carries the chunks.
# Every run either completes identical (B's objects, read back with
# 'store get' and sha256sum, equal A's files) or fails cleanly (JSON with
# a message ID); after every run nothing altered or partial is stored on B
# (every object B holds is some version A held), both daemons live,
# 'replpeer db verify' passes on both; and the next run without faults
# completes identical. FAULT_SEED reproduces a run (default random,
# printed).
source "$(dirname "$0")/lib.sh"

T=$(dirname "$0")/tools/faultproxy.py
SEED=${FAULT_SEED:-$((RANDOM * 32768 + RANDOM))}
echo "MEASURE fault seed $SEED (reproduce with FAULT_SEED=$SEED)"
modes=(delay frag stall reset flip dup)
rot=$((SEED % 6))

paired_ab
for n in A B; do
	conf_set "$n" COMMTIMEOUT 2
	conf_set "$n" HANDSHAKETIMEOUT 3
	conf_set "$n" ROUNDTIMEOUT 8
	restart_peer "$n"
done
pp=$(port)
ctl() { printf '%s\n' "$1" >"$W/P.ctl"; }
ctl '{"mode": "pass", "seed": 0}'
python3 "$T" --listen "$pp" --target "$pb" --control "$W/P.ctl" --log "$W/P.proxy.log" \
	--stall-seconds 3 --frag-limit 16384 --ready "$W/P.ready" >>"$W/P.proxy.err" 2>&1 &
PIDS+=($!)
wait_until 10 test -e "$W/P.ready" || die "the proxy did not start: $(cat "$W/P.proxy.err")"
adm A UPDATE SERVER B LLADDRESS="$pp" >/dev/null || die "UPDATE SERVER B LLADDRESS"
ping_ok A B || die "PING A->B through the proxy"
adm A REGISTER NODE n >/dev/null || die "REGISTER NODE n"
: >"$W/versions"
mutate_set d $((SEED % 100000)) 0 16 0; put_set A n d
out=$(adm A REPLICATE NODE n TARGET=B WAIT=YES) || die "the first run (no faults): $out"
expect_eq "$(node_manifest B n)" "$(dir_manifest d)" "A reaches B through the proxy; the first run without faults completes identical (16 objects)"

plog_lines() { wc -l <"$W/P.proxy.log" 2>/dev/null || echo 0; }
injected_since() { tail -n +"$(($1 + 1))" "$W/P.proxy.log" | grep -c '"injected": true'; }

# clean_or_ok WHAT OUTPUT STATUS (as in t_faultproxy_trust)
clean_or_ok() {
	local id
	[ "$3" -eq 0 ] && return 0
	id=$(jget 'j.get("message_id", "")' <<<"$2" 2>/dev/null)
	[[ "$id" =~ ^RPL[0-9]{4}[EW]$ ]] || die "$1 failed without a message ID (exit $3): $2 (stderr: $(tail -3 "$W/adm.err" 2>/dev/null))"
	echo "     ($1 failed cleanly: $id $(jget 'j.get("error", j.get("message", ""))' <<<"$2" | cut -c1-150))"
}

verify_both() {
	local n
	for n in A B; do
		"$RP" db -d "$W/$n" verify >"$W/verify.out" 2>&1 || die "$1: db verify on $n: $(cat "$W/verify.out")"
	done
}

# settle WHAT: no faults; the next run completes identical (a run B still
# winds down after a stall may make the first attempt fail: retried for
# up to 30 s).
settle() {
	local end=$((SECONDS + 30)) tries=0
	ctl '{"mode": "pass", "seed": 0}'
	while :; do
		tries=$((tries + 1))
		out=$(timeout 90 "$RP" admin -d "$W/A" --json REPLICATE NODE n TARGET=B WAIT=YES 2>>"$W/adm.err") && break
		[ $SECONDS -lt $end ] || die "$1: the next run without faults does not complete: $out"
		sleep 1
	done
	expect_eq "$(jget 'j["state"]' <<<"$out")" completed "$1: the next run without faults completes (attempt $tries)"
	expect_eq "$(node_manifest B n)" "$(dir_manifest d)" "$1: B's objects equal A's files (sha256 of store get)"
	verify_both "$1"
}

declare -A outcome
run_faulted() { # LABEL SSL ONLY MODE DIR MAXOFF SEED
	local label=$1 ssl=$2 only=$3 m=$4 dir=$5 maxoff=$6 s=$7 what rc p0 inj
	what="$label ($m, seed $s)"
	mutate_set d "$s" 3 1 1; put_set A n d
	p0=$(plog_lines)
	ctl "{\"mode\": \"$m\", \"seed\": $s, \"only\": \"$only\", \"dir\": \"$dir\", \"max_offset\": $maxoff}"
	out=$(timeout 90 "$RP" admin -d "$W/A" --json REPLICATE NODE n TARGET=B WAIT=YES 2>>"$W/adm.err"); rc=$?
	[ $rc -ne 124 ] || die "$what: REPLICATE did not return within 90 s"
	clean_or_ok "$what: REPLICATE" "$out" "$rc"
	sleep 0.3 # the proxy logs a connection when it ends
	inj=$(injected_since "$p0")
	no_crash A; no_crash B
	if [ $rc -eq 0 ]; then
		expect_eq "$(jget 'j["state"]' <<<"$out")" completed "$what: the run reports completed"
		expect_eq "$(node_manifest B n)" "$(dir_manifest d)" "$what: completed identical under faults ($inj connections faulted)"
		outcome[$m]+="c"
	else
		outcome[$m]+="f"
		nothing_altered "$what: failed cleanly ($inj connections faulted)" B n
	fi
	verify_both "$what"
	ok "$what: db verify passes on A and B"
	settle "$what"
}

i=0
# SSL=NO, faults inside the bulk channel's chunk bytes (A -> B).
for k in 0 1 2 3 4 5; do
	run_faulted "SSL=NO bulk channel" NO bulk "${modes[$(( (rot + k) % 6 ))]}" c2s 200000 $((SEED + i)); i=$((i + 1))
done
# SSL=NO, faults in the TLS sessions (handshakes, metadata, both ways).
for k in 0 2 4; do
	run_faulted "SSL=NO TLS session" NO tls "${modes[$(( (rot + k + 1) % 6 ))]}" any 4096 $((SEED + i)); i=$((i + 1))
done
adm A UPDATE SERVER B SSL=YES >/dev/null || die "UPDATE SERVER B SSL=YES"
for k in 0 1 2 3 4 5; do
	run_faulted "SSL=YES" YES tls "${modes[$(( (rot + k) % 6 ))]}" c2s 200000 $((SEED + i)); i=$((i + 1))
done
inj=$(python3 -c '
import json, sys
n = {}
for l in open(sys.argv[1]):
    d = json.loads(l)
    if d.get("injected"):
        k = "%s/%s" % (d.get("kind"), d["mode"])
        n[k] = n.get(k, 0) + 1
print(" ".join("%s:%d" % kv for kv in sorted(n.items())))' "$W/P.proxy.log")
echo "MEASURE connections with a fault injected, by channel/mode: $inj"
echo "MEASURE run outcomes by mode (c completed identical, f failed cleanly): $(for m in "${modes[@]}"; do printf '%s:%s ' "$m" "${outcome[$m]:-}"; done)"
n_bulk=$(grep -c '"kind": "bulk".*"injected": true' "$W/P.proxy.log")
[ "$n_bulk" -ge 3 ] || die "only $n_bulk bulk-channel connections had a fault injected"
ok "$n_bulk bulk-channel connections had a fault injected; every run completed identical or failed cleanly, and the next run completed identical"
