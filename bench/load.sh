#!/usr/bin/env bash
# replpeer load bench (not part of `make check`; tests/e2e/t_load_preauth
# asserts the same load succeeds): `make bench`, or
#   RP=build/replpeer bench/load.sh [--mib N] [--runs R] [--no-flood] [--no-pings]
# Replication rate of B1 -> A (SSL=NO, N MiB of fresh data each run,
# default 32; no MAXBANDWIDTH) unloaded, and while A takes 1,000
# connections that never finish a TLS handshake from 127.0.0.2-127.0.0.200
# plus 100 PING sessions a second from three other partners on
# 127.0.0.1; median of R runs each (default 3), and the ratio. Each run
# must complete with A's copy equal to B1's files.
set -u
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../tests/e2e/lib.sh"
trap 'exit 130' INT
trap 'exit 143' TERM

MIB=32; RUNS=3; FLOOD=1; PINGS=1
while [ $# -gt 0 ]; do
	case $1 in
	--no-flood) FLOOD=0; shift ;;
	--no-pings) PINGS=0; shift ;;
	--mib) MIB=$2; shift 2 ;;
	--runs) RUNS=$2; shift 2 ;;
	-h|--help) sed -n '2,11p' "$0"; exit 0 ;;
	*) echo "bench/load.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
T=$here/../tests/e2e/tools
ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null
[ "$(ulimit -n)" -ge 2500 ] || die "the bench needs 2500 descriptors, the limit is $(ulimit -n)"
echo "replpeer load bench: $("$RP" version 2>/dev/null | head -1); $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%Y-%m-%dT%H:%M:%SZ)"

mapfile -t ports < <(unique_ports 5)
init_peer A "${ports[0]}"
bs=()
for i in 1 2 3 4; do init_peer "B$i" "${ports[i]}"; bs+=("B$i"); done
start_peers A "${bs[@]}"
pair_many A "${bs[@]}"
for b in "${bs[@]}"; do ping_ok "$b" A || die "PING $b->A"; done
pa=$(peer_port A)
dirs="$W/B2,$W/B3,$W/B4"
adm B1 REGISTER NODE r >/dev/null || die "REGISTER NODE r"
: >"$W/versions"

# one_run: N MiB of fresh files on B1, replicated to A; prints MB/s.
k=0
one_run() {
	local t0 t1 out
	k=$((k + 1))
	mkdir -p "$W/d"
	rm -f "$W"/d/*
	for i in $(seq 1 $((MIB / 4))); do head -c $((4 << 20)) /dev/urandom >"$W/d/f$k.$i"; done
	: >"$W/deleted"
	put_set B1 r d
	t0=$(date +%s%N)
	out=$(adm B1 REPLICATE NODE r TARGET=A WAIT=YES) || die "replication run $k: $out"
	t1=$(date +%s%N)
	[ "$(node_manifest A r)" == "$(dir_manifest d)" ] || die "run $k: A's copy differs from B1's files"
	python3 -c "print('%.1f' % ($(jget 'j["bytes_replicated"]' <<<"$out") / (($t1 - $t0) / 1e9) / 1e6))"
}
median() { python3 -c 'import sys,statistics; print("%.1f" % statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }

idle=()
for r in $(seq 1 "$RUNS"); do idle+=("$(one_run)"); done
echo "unloaded: ${idle[*]} MB/s"

rm -f "$W/flood.stop"
# (if, not '&&': "[ ] && cmd &" backgrounds a subshell, and killing it
# would leave cmd running)
if [ $FLOOD = 1 ]; then
	python3 "$T/rawpeer.py" flood "$pa" 1000 --sources 127.0.0.2-127.0.0.200 --seconds 3600 \
		--stop "$W/flood.stop" >"$W/flood.out" 2>&1 &
	PIDS+=($!)
	wait_until 30 grep -q filled "$W/flood.out" || die "the flood did not open its connections: $(cat "$W/flood.out")"
fi
PING=
if [ $PINGS = 1 ]; then
	python3 "$T/pingload.py" "$RP" "$dirs" A --rate 100 --seconds 3600 --jobs 24 >"$W/pings.out" 2>&1 &
	PING=$!
	PIDS+=($PING)
fi
sleep 2
loaded=()
for r in $(seq 1 "$RUNS"); do loaded+=("$(one_run)"); done
touch "$W/flood.stop"
[ -n "$PING" ] && kill "$PING" 2>/dev/null
what="$([ $FLOOD = 1 ] && echo "1,000 never-finishing handshakes from 199 addresses")$([ $FLOOD = 1 ] && [ $PINGS = 1 ] && echo " + ")$([ $PINGS = 1 ] && echo "100 PINGs/s")"
echo "under ${what:-no load}: ${loaded[*]} MB/s"
mi=$(median "${idle[@]}"); ml=$(median "${loaded[@]}")
echo "MEASURE replication B1 -> A ($MIB MiB, SSL=NO): unloaded median $mi MB/s, under ${what:-no load} $ml MB/s, ratio $(python3 -c "print('%.2f' % ($ml / $mi))")"
