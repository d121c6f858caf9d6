#!/usr/bin/env bash
# replpeer memory bench (not part of `make check`): `make bench`, or
#   RP=build/replpeer SESSLOAD=build/bench/sessload bench/memory.sh
#        [--sessions N] [--partners P] [--runs R] [--hold S]
# RSS of a peer (A) holding N idle authenticated sessions (default 1,000):
# bench/sessload --hold opens them from P paired partners (default 8, so
# that none nears its per-partner share or session rate), each one mutual
# TLS 1.3 + pin + pairing-key proof, then keeps them idle (no PING). A's
# VmRSS is read before (paired, idle, after a second of warm-up sessions:
# see below) and while all N are held (3 s after the last one is up, and
# A's QUERY SESSION must list N
# sessions from the partners); the figure is (held - before) / N, median of
# R runs (default 3; A restarts for each run). Goal (issue 13): under
# 64 KiB per session. A runs with MAXSESSIONS 4096, PREAUTHPERADDR 1024,
# PREAUTHMAX 2048 (all partners share 127.0.0.1) and COMMTIMEOUT /
# ROUNDTIMEOUT 600, so that the idle sessions stay for the measurement.
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${SESSLOAD:?set SESSLOAD to the bench/sessload binary}"
source "$here/../tests/e2e/lib.sh"
trap 'exit 130' INT
trap 'exit 143' TERM

N=1000; P=8; RUNS=3; HOLD=8
while [ $# -gt 0 ]; do
	case $1 in
	--sessions) N=$2; shift 2 ;;
	--partners) P=$2; shift 2 ;;
	--runs) RUNS=$2; shift 2 ;;
	--hold) HOLD=$2; shift 2 ;;
	-h|--help) sed -n '2,17p' "$0"; exit 0 ;;
	*) echo "bench/memory.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null
[ "$(ulimit -n)" -ge $((N + 200)) ] || die "the bench needs $((N + 200)) descriptors, the limit is $(ulimit -n)"
rss_kib() { awk '/^VmRSS/{print $2}' "/proc/$1/status"; }
median() { python3 -c 'import sys,statistics; print("%.1f" % statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }

cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
aesni_cpu=$(grep -qw aes /proc/cpuinfo && echo yes || echo no)
aesni_wolf=$(grep -q 'define WOLFSSL_AESNI' /usr/include/wolfssl/options.h && echo yes || echo no)
echo "replpeer memory bench: $("$RP" version 2>/dev/null | head -1); $cpu, $(nproc) cores; wolfSSL $(pkg-config --modversion wolfssl 2>/dev/null) (AES-NI: CPU $aesni_cpu, wolfSSL build $aesni_wolf); $(date -u +%Y-%m-%dT%H:%M:%SZ)"

mapfile -t ports < <(unique_ports $((P + 1)))
init_peer A "${ports[0]}"
for k in "MAXSESSIONS 4096" "PREAUTHPERADDR 1024" "PREAUTHMAX 2048" "COMMTIMEOUT 600" "ROUNDTIMEOUT 600" "HANDSHAKETIMEOUT 60"; do
	conf_set A $k
done
parts=(); specs=()
for i in $(seq 1 "$P"); do parts+=("$(printf 'M%03d' "$i")"); specs+=("${parts[i - 1]}:${ports[i]}"); done
init_peers "${specs[@]}"
start_peers A "${parts[@]}"
pair_many A "${parts[@]}"
for p in "${parts[@]}"; do ping_ok "$p" A || die "pinned PING $p->A"; done
for p in "${parts[@]}"; do
	stop_peer "$p"
	conf_set "$p" COMMTIMEOUT 600
	conf_set "$p" ROUNDTIMEOUT 600
	conf_set "$p" MAXSESSIONS 4096
done
dirs=$(printf "$W/%s," "${parts[@]}"); dirs=${dirs%,}

per=(); clients=()
printf '%-4s %10s %10s %8s %12s %14s %10s\n' run "before KiB" "held KiB" sessions "KiB/session" "client KiB/s." "set-up s"
for r in $(seq 1 "$RUNS"); do
	restart_peer A
	# Warm-up: a second of pinned sessions from every partner, so that
	# "before" already holds what does not grow with the number of
	# sessions: wolfSSL's fixed-point ECC tables (FP_ECC: up to 15 points a
	# thread, ~0.85 MiB each; heaptrack showed 8.4 MB of them at the peak of
	# a 300-session hold) and malloc's arenas.
	"$SESSLOAD" --target A --dirs "$dirs" --inflight 2 --seconds 1 --warmup 0 >"$W/warm.out" 2>&1
	sleep 1
	before=$(rss_kib "$(pid_of A)")
	"$SESSLOAD" --target A --dirs "$dirs" --inflight 32 --hold "$N" --seconds "$HOLD" >"$W/hold.out" 2>"$W/hold.err" &
	sl=$!
	PIDS+=($sl)
	wait_until 120 grep -q '"held"' "$W/hold.out" || die "run $r: sessload did not hold $N sessions: $(cat "$W/hold.out" "$W/hold.err" | tail -5)"
	sleep 3
	held=$(rss_kib "$(pid_of A)")
	if [ -n "${MEMBENCH_MALLOC_STATS:-}" ]; then
		# glibc's own account, printed on A's stderr: in use vs. held by malloc.
		gdb -p "$(pid_of A)" -batch -ex 'call (void)malloc_stats()' >/dev/null 2>&1
		echo "     (run $r, A's malloc_stats: $(grep -A3 '^Total (incl. mmap)' "$W/A.log" | tail -3 | tr -s ' ' | tr '\n' ';'))"
	fi
	client=$(rss_kib "$sl")
	n=$(adm A QUERY SESSION | jget 'len([s for s in j if s.get("server") and s["state"] != "closing"])')
	[ "$n" -ge "$N" ] || die "run $r: A lists $n sessions from the partners, want $N: $(adm A QUERY SESSION | head -c 600)"
	wait "$sl"
	tail -1 "$W/hold.out" | grep -q '"dropped": 0' || echo "     (run $r: $(tail -1 "$W/hold.out"))"
	kib=$(python3 -c "print('%.1f' % (($held - $before) / $N))")
	ckib=$(python3 -c "print('%.1f' % ($client / $N))")
	per+=("$kib"); clients+=("$ckib")
	printf '%-4s %10d %10d %8d %12s %14s %10s\n' "$r" "$before" "$held" "$n" "$kib" "$ckib" "$(head -1 "$W/hold.out" | jget 'j["seconds_to_hold"]')"
done
echo "MEASURE memory: A holding $N idle authenticated sessions: median $(median "${per[@]}") KiB per session (goal < 64 KiB); the load client (the partners' side, one process): $(median "${clients[@]}") KiB of its RSS per session"
