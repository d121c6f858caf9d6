#!/usr/bin/env bash
# replpeer session benchmark (not part of `make check`): `make bench`, or
#   RP=build/replpeer SESSLOAD=build/bench/sessload bench/sessions.sh
#        [--partners N] [--inflight K] [--seconds S] [--runs R] [--no-perf]
#        [--no-srp] [--srp-inflight K] [--perf-keep FILE]
# Prints one table: sessions per second that one peer (A) accepts from N
# paired partners driven by bench/sessload (one process, one loop, K
# sessions in flight; each session = mutual TLS 1.3 + pins + pairing-key
# proof + PING/PONG, or with --srp both SRP password proofs as in a first
# contact), beside `openssl s_server` + `openssl s_time -new` (TLS 1.3,
# ECDSA P-256, no client certificate: one-sided, sequential) on the same
# machine; median of R runs each (default 3) and the ratios. The SRP runs
# keep one session in flight (--srp-inflight): A admits password proofs
# for unpaired partners at 64 a second (burst 128, peer/admit.h, the
# budget of tests/e2e/t_hostile_finding7_srp_budget.sh), so more in flight
# measures refusals; their figure is the CPU an SRP session costs A, and
# the table prints what that CPU allows beside the budget. A runs with
# PREAUTHPERADDR/PREAUTHMAX raised (all partners connect from 127.0.0.1;
# the defaults would refuse the load at admission, see
# tests/e2e/t_load_preauth.sh) and N partners (default 64) so that no
# partner nears its 25 sessions/s. Then, when perf works, where A's CPU
# goes during a pinned run (perf record -e cpu-clock on A's process): by
# library and the top functions (--perf-keep FILE keeps perf.data for
# `perf report -i FILE`). Every process it starts is stopped on exit.
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${SESSLOAD:?set SESSLOAD to the bench/sessload binary}"
source "$here/../tests/e2e/lib.sh"
trap 'exit 130' INT
trap 'exit 143' TERM

N=64; K=32; SECS=8; RUNS=3; PERF=1; SRP=1; PERF_KEEP=; SRPK=1
while [ $# -gt 0 ]; do
	case $1 in
	--partners) N=$2; shift 2 ;;
	--inflight) K=$2; shift 2 ;;
	--seconds) SECS=$2; shift 2 ;;
	--runs) RUNS=$2; shift 2 ;;
	--no-perf) PERF=0; shift ;;
	--no-srp) SRP=0; shift ;;
	--srp-inflight) SRPK=$2; shift 2 ;;
	--perf-keep) PERF_KEEP=$2; shift 2 ;;
	-h|--help) sed -n '2,27p' "$0"; exit 0 ;;
	*) echo "bench/sessions.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
# cpu_ms PID: user + system CPU time of PID so far, in ms.
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{printf "%d", ($14 + $15) * 1000 / hz}' "/proc/$1/stat"; }
median() { python3 -c 'import sys,statistics; print("%.2f" % statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }

cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
aesni_cpu=$(grep -qw aes /proc/cpuinfo && echo yes || echo no)
aesni_wolf=$(grep -q 'define WOLFSSL_AESNI' /usr/include/wolfssl/options.h && echo yes || echo no)
wolfv=$(pkg-config --modversion wolfssl 2>/dev/null)
echo "replpeer sessions bench: $("$RP" version 2>/dev/null | head -1); $cpu, $(nproc) cores; wolfSSL $wolfv (AES-NI: CPU $aesni_cpu, wolfSSL build $aesni_wolf); OpenSSL $(openssl version | cut -d' ' -f2); load $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%Y-%m-%dT%H:%M:%SZ)"

# ---- set-up: A and N paired partners; the partners' daemons stop, sessload
# opens their stores ----
t0=$(date +%s)
mapfile -t ports < <(unique_ports $((N + 2)))
init_peer A "${ports[0]}"
conf_set A PREAUTHPERADDR 1024
conf_set A PREAUTHMAX 2048
conf_set A MAXSESSIONS 4096
parts=(); specs=()
for i in $(seq 1 "$N"); do parts+=("$(printf 'P%03d' "$i")"); specs+=("${parts[i - 1]}:${ports[i]}"); done
init_peers "${specs[@]}"
start_peers A "${parts[@]}"
pair_many A "${parts[@]}"
for p in "${parts[@]}"; do ping_ok "$p" A || die "pinned PING $p->A"; done
for p in "${parts[@]}"; do stop_peer "$p"; done
dirs=$(printf "$W/%s," "${parts[@]}"); dirs=${dirs%,}
echo "set-up: A and $N paired partners in $(( $(date +%s) - t0 )) s"

sessload() { # MODE-ARGS...: one run, JSON on stdout
	"$SESSLOAD" --target A --dirs "$dirs" --inflight "$K" --seconds "$SECS" --warmup 2 "$@"
}
pin=(); srp=(); ref=(); pin_cpu=(); srp_cpu=(); ref_cpu=()
apid=$(pid_of A)
per_session() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", (b > 0 ? a / b : 0)}'; }
for r in $(seq 1 "$RUNS"); do
	c0=$(cpu_ms "$apid")
	out=$(sessload) || die "sessload failed: $out"
	pin_cpu+=("$(per_session $(($(cpu_ms "$apid") - c0)) "$(jget 'j["total_ok"]' <<<"$out")")")
	echo "pinned run $r: $out (A's CPU per session: ${pin_cpu[-1]} ms)"
	pin+=("$(jget 'j["sessions_per_s"]' <<<"$out")")
	[ "$(jget 'j["failed"]' <<<"$out")" -eq 0 ] || echo "  (failures in pinned run $r: $(jget 'j["failures"]' <<<"$out"))"
done
for r in $(seq 1 "$((SRP ? RUNS : 0))"); do
	c0=$(cpu_ms "$apid")
	out=$(sessload --srp --inflight "$SRPK") || die "sessload --srp failed: $out"
	srp_cpu+=("$(per_session $(($(cpu_ms "$apid") - c0)) "$(jget 'j["total_ok"]' <<<"$out")")")
	echo "SRP run $r: $out (A's CPU per session: ${srp_cpu[-1]} ms)"
	srp+=("$(jget 'j["sessions_per_s"]' <<<"$out")")
	[ "$(jget 'j["failed"]' <<<"$out")" -eq 0 ] || echo "  (failures in SRP run $r: $(jget 'j["failures"]' <<<"$out"))"
done

# ---- the anchor: openssl s_server + s_time -new ----
ps=$(port)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/ref.key" \
	-out "$W/ref.pem" -days 2 -subj /CN=bench >/dev/null 2>&1 || die "anchor certificate"
openssl s_server -accept "127.0.0.1:$ps" -cert "$W/ref.pem" -key "$W/ref.key" -tls1_3 -www \
	-quiet </dev/null >"$W/s_server.log" 2>&1 &
PIDS+=($!)
spid=$!
wait_until 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$ps" || die "openssl s_server did not start"
for r in $(seq 1 "$RUNS"); do
	c0=$(cpu_ms "$spid")
	out=$(openssl s_time -connect "127.0.0.1:$ps" -new -tls1_3 -time "$SECS" 2>&1)
	line=$(grep -E 'connections in [0-9.]+ real seconds' <<<"$out" | tail -1)
	[ -n "$line" ] || die "s_time: $out"
	rate=$(awk '{printf "%.1f", $1 / $4}' <<<"$line")
	ref_cpu+=("$(per_session $(($(cpu_ms "$spid") - c0)) "$(awk '{print $1}' <<<"$line")")")
	echo "openssl s_time -new run $r: $line ($rate/s; s_server's CPU per connection: ${ref_cpu[-1]} ms)"
	ref+=("$rate")
done

[ "$SRP" = 1 ] || { srp=(0); srp_cpu=(0); }
mp=$(median "${pin[@]}"); ms=$(median "${srp[@]}"); mr=$(median "${ref[@]}")
echo
echo "== sessions per second accepted by one peer (median of $RUNS runs, $SECS s each, $K in flight, $N partners)"
printf '%-58s %8s %6s %16s\n' "what" "per s" "ratio" "server CPU ms"
printf '%-58s %8s %6s %16s\n' "openssl s_server + s_time -new (TLS 1.3, P-256, one-sided)" "$mr" "1.00" "$(median "${ref_cpu[@]}")"
printf '%-58s %8s %6s %16s\n' "replpeer pinned session (mutual TLS + pins + key proof)" "$mp" "$(awk -v a="$mp" -v b="$mr" 'BEGIN{printf "%.2f", a/b}')" "$(median "${pin_cpu[@]}")"
printf '%-58s %8s %6s %16s\n' "replpeer SRP session (both password proofs)" "$ms" "$(awk -v a="$ms" -v b="$mr" 'BEGIN{printf "%.2f", a/b}')" "$(median "${srp_cpu[@]}")"
echo "(server CPU ms: the accepting process's user+system CPU per session, wherever it ran: loop and pool threads)"
if [ "$SRP" = 1 ]; then
	sc=$(median "${srp_cpu[@]}")
	echo "(SRP sessions: A admits at most 64 a second by design (burst 128), i.e. $(awk -v b="$mr" 'BEGIN{printf "%.2f", 64/b}') of the anchor; A's CPU per SRP session, $sc ms, would allow $(awk -v c="$sc" 'BEGIN{printf "%.0f", 1000/c}') a second on one core, $(awk -v c="$sc" -v b="$mr" 'BEGIN{printf "%.2f", 1000/c/b}') of the anchor, with the budget lifted and the client's share of the work elsewhere)"
fi

# ---- where A's time goes ----
if [ "$PERF" = 1 ] && command -v perf >/dev/null && perf record -o "$W/probe.data" -e cpu-clock -- true >/dev/null 2>&1; then
	pid=$(pid_of A)
	sessload >"$W/perf-run.out" &
	lp=$!
	sleep 2.5
	# DWARF call graphs: Debian's wolfSSL has no frame pointers.
	perf record -o "$W/perf.data" -e cpu-clock --call-graph dwarf,16384 -p "$pid" -- sleep 3 >/dev/null 2>&1
	wait "$lp"
	[ -n "$PERF_KEEP" ] && cp "$W/perf.data" "$PERF_KEEP"
	echo
	echo "== A's CPU during a pinned run ($(jget 'j["sessions_per_s"]' <"$W/perf-run.out") sessions/s), perf cpu-clock samples over 3 s"
	echo "-- by library (self)"
	perf report -i "$W/perf.data" --stdio --no-children --sort dso -g none 2>/dev/null | grep -E '^ +[0-9]' | head -8
	echo "-- where it goes (inclusive: the function and what it calls)"
	perf report -i "$W/perf.data" --stdio --children --sort sym -g none 2>/dev/null | grep -E '^ +[0-9]' >"$W/children.txt"
	for f in uv_run uv__io_poll conn_drive wolfSSL_accept wolfSSL_read wolfSSL_write \
		wc_ecc_sign_hash wc_ecc_verify_hash wc_ecc_shared_secret wc_ecc_make_key_ex \
		wc_curve25519_shared_secret wc_curve25519_make_key wolfSSL_get_peer_certificate \
		wolfSSL_export_keying_material auth_server_start load_peer_cert identity_cert_info \
		decide trust_decide server_on_hello load_pairing server_on_auth make_tag check_tag \
		proof_tag instance_unseal job_work start_commit batch_work commit_work mdb_txn_commit \
		fdatasync store_server_get store_server_put store_actlog_add conn_accept \
		admit_connection preauth_count rl_blocked log_write malloc free epoll_wait; do
		grep -E "\] $f\$" "$W/children.txt" | head -1 | awk -v f="$f" '{printf "   %7s  %s\n", $1, f}'
	done
	echo "-- top functions (self)"
	perf report -i "$W/perf.data" --stdio --no-children --sort dso,sym -g none 2>/dev/null | grep -E '^ +[0-9]' | head -20
else
	echo "(perf is not usable here: no profile)"
fi
