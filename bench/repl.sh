#!/usr/bin/env bash
# Replication figures (part of `make bench`, never a timed test):
#   RP=path/to/replpeer bench/repl.sh [--size MiB] [--small N] [--runs R]
# 1. the loopback ceiling: a plain socket copy of SIZE MiB of fresh
#    incompressible bytes into a file with fsync (bench/ceiling.py, median of
#    three);
# 2. REPLICATE NODE of the same amount of fresh incompressible data with
#    SSL=NO (bulk channel) and with SSL=YES (inside TLS), with the ratio to
#    the ceiling; during each run the loops are probed every 100 ms: QUERY
#    SESSION on both daemons (each loop answers its admin socket) and PING
#    SERVER A->B (rtt_ms = PING/PONG inside the session, through both loops);
#    and the CPU seconds each daemon spent in the run, its loop thread and
#    its other threads (hashing, database writer) apart: on a shared
#    machine the wall clock moves with everyone's load, the CPU much less;
# 3. N small objects (default 100,000): put, a first replication, and the
#    no-change run that compares summaries.
# Beside 2 and 3, the anchor a user would pick instead: rsync over ssh to
# localhost (Debian's openssh-server, started here on a loopback port with a
# throw-away host key and its own sshd_config; defaults for cipher and
# compression): `rsync -a --fsync` of the same fresh files, and `rsync -an`
# (nothing changed) over the same small files. Needs root (sshd's privilege
# separation) and the packages of `make deps BENCH=1`; otherwise a SKIP line.
# Each figure is the median of R runs (default 3; fresh data for every run
# of 2; the small objects' first copy once, their no-change runs R times),
# and a summary table at the end gives the medians and the ratios.
set -u
here=$(cd "$(dirname "$0")" && pwd)
SIZE=1024; SMALL=100000; RUNS=3
while [ $# -gt 0 ]; do
	case $1 in
	--size) SIZE=$2; shift 2 ;;
	--small) SMALL=$2; shift 2 ;;
	--runs) RUNS=$2; shift 2 ;;
	-h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0"; exit 0 ;;
	*) echo "bench/repl.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
source "$here/../tests/e2e/lib.sh"
trap 'exit 130' INT
trap 'exit 143' TERM
bytes=$((SIZE << 20))
now_ns() { date +%s%N; }
median() { python3 -c 'import statistics,sys; print("%.2f" % statistics.median(map(float, sys.argv[1:])))' "$@"; }
secs() { python3 -c "print('%.2f' % (($2 - $1) / 1e9))"; }

echo "== Replication ($SIZE MiB of fresh incompressible data; $SMALL small objects)"
echo "   $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) at start"

# ---- 1. the ceiling -----------------------------------------------------------
head -c "$bytes" /dev/urandom >"$W/ceil.src"
ceil=()
for i in 1 2 3; do
	ceil+=("$(python3 "$here/ceiling.py" "$W/ceil.src" "$W/ceil.dst" | awk '{print $1}')")
	rm -f "$W/ceil.dst"
done
rm -f "$W/ceil.src"
ceil_s=$(python3 -c 'import statistics,sys; print("%.3f" % statistics.median(map(float, sys.argv[1:])))' "${ceil[@]}")
echo "ceiling (loopback socket copy into a file + fsync): ${ceil_s} s, $(python3 -c "print('%.0f' % ($bytes / $ceil_s / 1e6))") MB/s (runs: ${ceil[*]})"

# ---- the anchor: rsync over ssh to localhost --------------------------------------
RSYNC_OK=0; SSH=""; RSYNC_FSYNC=""
start_sshd() {
	local sp sshd=/usr/sbin/sshd
	if ! command -v rsync >/dev/null || [ ! -x "$sshd" ]; then
		echo "rsync over ssh: SKIP (openssh-server or rsync is missing: make deps BENCH=1)"
		return 0
	fi
	if [ "$(id -u)" != 0 ]; then
		echo "rsync over ssh: SKIP (sshd's privilege separation needs root)"
		return 0
	fi
	sp=$(port)
	mkdir -p "$W/ssh" && chmod 700 "$W/ssh"
	ssh-keygen -q -t ed25519 -N '' -f "$W/ssh/host" && ssh-keygen -q -t ed25519 -N '' -f "$W/ssh/client" ||
		die "ssh-keygen"
	cp "$W/ssh/client.pub" "$W/ssh/authorized_keys"
	printf '%s\n' "ListenAddress 127.0.0.1" "Port $sp" "HostKey $W/ssh/host" \
		"PidFile $W/ssh/sshd.pid" "AuthorizedKeysFile $W/ssh/authorized_keys" \
		"PasswordAuthentication no" "KbdInteractiveAuthentication no" "UsePAM no" \
		"StrictModes no" "PermitRootLogin prohibit-password" >"$W/ssh/sshd_config"
	mkdir -p /run/sshd # its privilege separation directory
	"$sshd" -D -e -f "$W/ssh/sshd_config" 2>"$W/ssh/sshd.log" &
	PIDS+=($!)
	SSH="ssh -p $sp -i $W/ssh/client -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR"
	if ! wait_until 10 $SSH 127.0.0.1 true; then
		echo "rsync over ssh: SKIP (the bench's sshd did not start: $(tail -2 "$W/ssh/sshd.log" | tr '\n' ' '))"
		return 0
	fi
	rsync --help 2>/dev/null | grep -q -- '--fsync' && RSYNC_FSYNC=--fsync
	RSYNC_OK=1
	echo "rsync over ssh: $(rsync --version | head -1 | awk '{print $1, $3}'), $(ssh -V 2>&1 | cut -d, -f1), cipher $($SSH -v 127.0.0.1 true 2>&1 | grep -m1 -o 'cipher: [^ ]*' | cut -d' ' -f2), sshd on 127.0.0.1:$sp${RSYNC_FSYNC:+, rsync $RSYNC_FSYNC}"
}
start_sshd

# ---- 2. 1 GiB with SSL=NO and SSL=YES ------------------------------------------------
paired_ab
cd "$W" || exit 1

# probe OUTFILE: until $W/probe.stop exists, every 100 ms: wall ms of QUERY
# SESSION on A and on B, and PING SERVER B from A (wall ms, rtt_ms).
probe() {
	local out=$1 t0 t1 t2 t3 p
	: >"$out"
	while [ ! -e "$W/probe.stop" ]; do
		t0=$(now_ns); "$RP" admin -d "$W/A" --json QUERY SESSION >/dev/null
		t1=$(now_ns); "$RP" admin -d "$W/B" --json QUERY SESSION >/dev/null
		t2=$(now_ns); p=$("$RP" admin -d "$W/A" --json PING SERVER B 2>/dev/null | jget 'j.get("rtt_ms", -1)' 2>/dev/null)
		t3=$(now_ns)
		echo "$(( (t1 - t0) / 1000000 )) $(( (t2 - t1) / 1000000 )) $(( (t3 - t2) / 1000000 )) ${p:--1}" >>"$out"
		sleep 0.1
	done
}
probe_summary() {
	python3 - "$1" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
if not rows:
    print("no probes"); sys.exit()
qa = [int(r[0]) for r in rows]; qb = [int(r[1]) for r in rows]
pw = [int(r[2]) for r in rows]; rtt = [float(r[3]) for r in rows if float(r[3]) >= 0]
print("%d probes: QUERY SESSION max %d ms on A, %d ms on B; PING SERVER max %d ms (median %d); rtt_ms max %.1f (median %.1f)" % (
    len(rows), max(qa), max(qb), max(pw), sorted(pw)[len(pw)//2], max(rtt) if rtt else -1, sorted(rtt)[len(rtt)//2] if rtt else -1))
PY
}

# cpu_ticks PID: "tid:ticks ..." (user + system, 1/100 s) of every thread.
cpu_ticks() { local t; for t in /proc/"$1"/task/*; do awk '{printf "%s:%d ", $1, $14 + $15}' "$t/stat"; done; }
# cpu_delta BEFORE AFTER: "loop X s, other threads Y s" (the loop thread is
# the process's first thread, its id the process id).
cpu_delta() {
	python3 - "$1" "$2" <<'PY'
import sys
a = dict(p.split(":") for p in sys.argv[1].split())
b = dict(p.split(":") for p in sys.argv[2].split())
main = min(b, key=int)
d = {t: int(v) - int(a.get(t, 0)) for t, v in b.items()}
print("loop %.2f s, other threads %.2f s" % (d[main] / 100, sum(v for t, v in d.items() if t != main) / 100))
PY
}

replicate_fresh() { # NODE LABEL
	local node=$1 label=$2 t0 t1 out
	mkdir -p "$node"
	for i in 0 1 2 3; do head -c $((bytes / 4)) /dev/urandom >"$node/f$i"; done
	adm A REGISTER NODE "$node" >/dev/null
	t0=$(now_ns)
	"$RP" store -d "$W/A" put "$node" "$node" >/dev/null || die "put $node"
	t1=$(now_ns)
	echo "store put of the same bytes on A (the store's own ingest: read, cut, hash, LMDB): $(secs "$t0" "$t1") s"
	rs=""
	if [ "$RSYNC_OK" = 1 ]; then
		t0=$(now_ns)
		rsync -a $RSYNC_FSYNC -e "$SSH" "$node/" "127.0.0.1:$W/rsync.$node/" || die "rsync over ssh of $node"
		t1=$(now_ns)
		rs=$(secs "$t0" "$t1")
		rm -rf "$W/rsync.$node"
		echo "rsync -a $RSYNC_FSYNC over ssh of the same files to an empty directory: $rs s, $(python3 -c "print('%.0f MB/s' % ($bytes / $rs / 1e6))")"
	fi
	rm -rf "$node"
	rm -f "$W/probe.stop"
	probe "$W/probe.$node" &
	local pp=$!
	local ca0 cb0 ca1 cb1
	ca0=$(cpu_ticks "$(pid_of A)"); cb0=$(cpu_ticks "$(pid_of B)")
	t0=$(now_ns)
	out=$(adm A REPLICATE NODE "$node" TARGET=B WAIT=YES) || die "REPLICATE $node: $out"
	t1=$(now_ns)
	ca1=$(cpu_ticks "$(pid_of A)"); cb1=$(cpu_ticks "$(pid_of B)")
	touch "$W/probe.stop"; wait "$pp"
	s=$(secs "$t0" "$t1")
	echo "$label: $s s, $(python3 -c "print('%.0f MB/s, %.2fx the ceiling' % ($bytes / $s / 1e6, $ceil_s / $s))"), $(jget '"%d bytes on the wire" % j["bytes_transferred"]' <<<"$out")"
	[ -n "$rs" ] && echo "   beside rsync over ssh: $(python3 -c "print('%.2fx its speed' % ($rs / $s))")"
	echo "   loops during the run: $(probe_summary "$W/probe.$node")"
	echo "   longest loop turn (CPU, measured by the daemons): A $(jget '"%.1f ms" % j["loop_max_ms"]' <<<"$out"), B $(grep -o 'longest loop turn [0-9.]* ms' "$W/B.log" | tail -1 | awk '{print $4 " ms"}')"
	echo "   CPU during the run (probes included): A $(cpu_delta "$ca0" "$ca1"); B $(cpu_delta "$cb0" "$cb1"); load average $(cut -d' ' -f1 /proc/loadavg)"
}
no_s=(); no_rs=(); yes_s=(); yes_rs=()
for r in $(seq 1 "$RUNS"); do
	replicate_fresh "big$r" "REPLICATE NODE, SSL=NO (bulk channel), run $r "
	no_s+=("$s"); [ -n "$rs" ] && no_rs+=("$rs")
	adm A UPDATE SERVER B SSL=YES >/dev/null
	replicate_fresh "bigs$r" "REPLICATE NODE, SSL=YES (inside TLS), run $r  "
	yes_s+=("$s"); [ -n "$rs" ] && yes_rs+=("$rs")
	adm A UPDATE SERVER B SSL=NO >/dev/null
done

# ---- 3. many small objects --------------------------------------------------------
python3 - "$W/small" "$SMALL" <<'PY'
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
r = random.Random(7)
for d in range(100):
    os.makedirs(os.path.join(root, "d%02d" % d), exist_ok=True)
for i in range(n):
    with open(os.path.join(root, "d%02d" % (i % 100), "o%06d" % i), "wb") as f:
        f.write(os.urandom(r.randrange(100, 2000)))
PY
adm A REGISTER NODE small >/dev/null
t0=$(now_ns); "$RP" store -d "$W/A" put small small >/dev/null || die "put small"; t1=$(now_ns)
echo "store put of $SMALL small objects: $(secs "$t0" "$t1") s"
t0=$(now_ns); out=$(adm A REPLICATE NODE small TARGET=B WAIT=YES) || die "first small run: $out"; t1=$(now_ns)
echo "first replication of $SMALL small objects: $(secs "$t0" "$t1") s ($(jget 'j["objects_replicated"]' <<<"$out") objects)"
first_small=$(secs "$t0" "$t1")
nc_s=(); rn_s=()
rm -f "$W/probe.stop"; probe "$W/probe.small" & pp=$!
for r in $(seq 1 "$RUNS"); do
	t0=$(now_ns); out=$(adm A REPLICATE NODE small TARGET=B WAIT=YES) || die "no-change run: $out"; t1=$(now_ns)
	echo "no-change run over $SMALL objects, run $r: $(secs "$t0" "$t1") s, $(jget '"%d bytes on the wire, %d objects sent" % (j["bytes_transferred"], j["objects_replicated"])' <<<"$out")"
	nc_s+=("$(secs "$t0" "$t1")")
done
touch "$W/probe.stop"; wait "$pp"
if [ "$RSYNC_OK" = 1 ]; then
	t0=$(now_ns); rsync -a -e "$SSH" small/ "127.0.0.1:$W/rsync.small/" || die "rsync over ssh of small"; t1=$(now_ns)
	rsync_first_small=$(secs "$t0" "$t1")
	echo "rsync -a over ssh of the $SMALL small files to an empty directory: $rsync_first_small s"
	for r in $(seq 1 "$RUNS"); do
		t0=$(now_ns); rsync -an -e "$SSH" small/ "127.0.0.1:$W/rsync.small/" || die "rsync -n over ssh of small"; t1=$(now_ns)
		rn_s+=("$(secs "$t0" "$t1")")
		echo "rsync -an over ssh, nothing changed, $SMALL files, run $r: ${rn_s[-1]} s"
	done
	rm -rf "$W/rsync.small"
fi
echo "   loops during the run: $(probe_summary "$W/probe.small")"
echo "   longest loop turn (CPU, measured by the daemons): A $(jget '"%.1f ms" % j["loop_max_ms"]' <<<"$out"), B $(grep -o 'longest loop turn [0-9.]* ms' "$W/B.log" | tail -1 | awk '{print $4 " ms"}')"
echo "   load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"

# ---- summary --------------------------------------------------------------------
ratio() { python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print('%.2fx' % (a / b) if b > 0 else 'n/a')" "$1" "$2"; }
mno=$(median "${no_s[@]}"); myes=$(median "${yes_s[@]}"); mnc=$(median "${nc_s[@]}")
echo
echo "== Replication summary (medians of $RUNS runs; ratios: the anchor's time / replpeer's time)"
printf '%-48s %10s %12s %14s %14s\n' what replpeer "vs ceiling" "rsync+ssh" "vs rsync+ssh"
if [ "$RSYNC_OK" = 1 ]; then
	mnr=$(median "${no_rs[@]}"); myr=$(median "${yes_rs[@]}"); mrn=$(median "${rn_s[@]}")
	printf '%-48s %9ss %12s %13ss %14s\n' "$SIZE MiB fresh, SSL=NO" "$mno" "$(ratio "$ceil_s" "$mno")" "$mnr" "$(ratio "$mnr" "$mno")"
	printf '%-48s %9ss %12s %13ss %14s\n' "$SIZE MiB fresh, SSL=YES" "$myes" "$(ratio "$ceil_s" "$myes")" "$myr" "$(ratio "$myr" "$myes")"
	printf '%-48s %9ss %12s %13ss %14s\n' "$SMALL small objects, first copy (one run)" "$first_small" "-" "$rsync_first_small" "$(ratio "$rsync_first_small" "$first_small")"
	printf '%-48s %9ss %12s %13ss %14s\n' "$SMALL small objects, nothing changed" "$mnc" "-" "$mrn" "$(ratio "$mrn" "$mnc")"
else
	printf '%-48s %9ss %12s %14s %14s\n' "$SIZE MiB fresh, SSL=NO" "$mno" "$(ratio "$ceil_s" "$mno")" - -
	printf '%-48s %9ss %12s %14s %14s\n' "$SIZE MiB fresh, SSL=YES" "$myes" "$(ratio "$ceil_s" "$myes")" - -
	printf '%-48s %9ss %12s %14s %14s\n' "$SMALL small objects, first copy (one run)" "$first_small" - - -
	printf '%-48s %9ss %12s %14s %14s\n' "$SMALL small objects, nothing changed" "$mnc" - - -
fi
echo "(goals, issue 13: SSL=NO >= 0.8x the ceiling and >= 3x rsync+ssh; SSL=YES >= 0.5x and >= 1.5x; the no-change run faster than rsync -n)"
