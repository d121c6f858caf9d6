#!/usr/bin/env bash
# replpeer benchmarks (not part of `make check`): `make bench`, or
#   RP=path/to/replpeer bench/run.sh [--partners "50 100"] [--renewals N] [--pings N]
# Prints figures only, no pass/fail thresholds. Everything runs on loopback
# in a private temporary directory; every process it starts is stopped on
# exit (tests/e2e/lib.sh's trap), whatever the outcome.
#
# 1. Renewal fan-out: one peer with N partners (N separate replpeer
#    processes) runs RENEW CERTIFICATE; reported per run:
#      total   wall clock from issuing RENEW to the end of the confirmation
#              round (timestamp of A's RPL0610I confirmation line)
#      keygen  RENEW issued -> "renewal started" log line (key generation)
#      announce / confirm   the two rounds, from A's log timestamps, and the
#              round times A itself reports in RPL0610I "(x.y s)"
# 2. PING cost: wall clock of `replpeer admin PING SERVER` for a first-contact
#    PING (no pins on either side: SRP, pinning both certificates) and for a
#    pinned PING (pins + pairing key), median/min/max over the runs; also the
#    median of a QUERY SERVER (the admin client's own overhead) and the
#    daemon-measured PING/PONG round trip (rtt_ms).
# 3. Replication (bench/repl.sh, run as its own process): the loopback
#    ceiling, 1 GiB of fresh data with SSL=NO and SSL=YES, the loops' latency
#    during each run, and 100,000 small objects with the no-change run.
#    --repl-only runs just this part; --no-repl skips it.
set -u
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../tests/e2e/lib.sh"
# Ctrl-C or kill: leave through the EXIT trap, which stops every daemon.
trap 'exit 130' INT
trap 'exit 143' TERM

SIZES="50 100"; RENEWALS=3; PINGS=20; REPL=yes
while [ $# -gt 0 ]; do
	case $1 in
	--repl-only) exec "$here/repl.sh" ;;
	--no-repl) REPL=no; shift ;;
	--partners) SIZES=$2; shift 2 ;;
	--renewals) RENEWALS=$2; shift 2 ;;
	--pings) PINGS=$2; shift 2 ;;
	-h|--help) sed -n '2,25p' "$0"; exit 0 ;;
	*) echo "bench/run.sh: unknown option $1" >&2; exit 2 ;;
	esac
done

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# log_ms LINE: the log line's timestamp in ms since the epoch.
log_ms() { python3 -c 'import sys,datetime
t=sys.argv[1].split()[0]
d=datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
print(int(d.timestamp()*1000))' "$1"; }
stats() { python3 -c 'import sys,statistics
v=[float(x) for x in sys.argv[1:]]
print("median %.1f  min %.1f  max %.1f  (n=%d)" % (statistics.median(v), min(v), max(v), len(v)))' "$@"; }

maxn=0
for n in $SIZES; do [ "$n" -gt "$maxn" ] && maxn=$n; done
echo "replpeer bench: $("$RP" version 2>/dev/null | head -1); $(nproc) CPUs; $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo

# ---- set-up: maxn partners, one hub per size ----
t0=$(now_ms)
mapfile -t ports < <(unique_ports $((maxn + 10)))
partners=()
for i in $(seq 1 "$maxn"); do partners+=("$(printf 'Q%03d' "$i")"); done
jobs=()
for i in $(seq 1 "$maxn"); do
	init_peer "${partners[i - 1]}" "${ports[i - 1]}" >/dev/null 2>&1 &
	jobs+=($!)
	if [ ${#jobs[@]} -ge 16 ]; then wait "${jobs[@]}"; jobs=(); fi
done
[ ${#jobs[@]} -gt 0 ] && wait "${jobs[@]}"
for p in "${partners[@]}"; do [ -f "$W/$p/cert256.pem" ] || die "init $p failed"; done
k=$maxn
hubs=()
for n in $SIZES; do
	init_peer "H$n" "${ports[k]}"; k=$((k + 1))
	conf_set "H$n" MAXSESSIONS 4096
	hubs+=("H$n")
done
init_peer X "${ports[k]}"; k=$((k + 1))
init_peer Y "${ports[k]}"
for p in "${partners[@]}"; do conf_set "$p" MAXSESSIONS 4096; done
start_peers "${hubs[@]}" "${partners[@]}" X Y
for n in $SIZES; do pair_many "H$n" "${partners[@]:0:n}"; done
echo "set-up: $maxn partners, hubs ${hubs[*]}: $(( ($(now_ms) - t0) / 1000 )) s"
echo

# ---- 1. renewal fan-out ----
echo "== RENEW CERTIFICATE against N partners (ms; RPL0610I's own figures in brackets)"
for n in $SIZES; do
	h=H$n
	for r in $(seq 1 "$RENEWALS"); do
		nc=$(grep -c "RPL0610I certificate confirmation round" "$W/$h.log")
		more() { [ "$(grep -c "RPL0610I certificate confirmation round" "$W/$h.log")" -gt "$nc" ]; }
		t_start=$(now_ms)
		out=$(adm "$h" RENEW CERTIFICATE) || die "RENEW on $h failed: $out"
		wait_until 300 more || die "$h: the confirmation round did not finish"
		l_start=$(grep "RPL0601I certificate renewal by" "$W/$h.log" | tail -1)
		l_ann0=$(grep "RPL0601I certificate announcement round with" "$W/$h.log" | tail -1)
		l_ann=$(grep "RPL0610I certificate announcement round" "$W/$h.log" | tail -1)
		l_conf0=$(grep "RPL0601I certificate confirmation round with" "$W/$h.log" | tail -1)
		l_conf=$(grep "RPL0610I certificate confirmation round" "$W/$h.log" | tail -1)
		ms_start=$(log_ms "$l_start"); ms_ann0=$(log_ms "$l_ann0"); ms_ann=$(log_ms "$l_ann")
		ms_conf0=$(log_ms "$l_conf0"); ms_conf=$(log_ms "$l_conf")
		total=$((ms_conf - t_start))
		eval "tot_$n+=' $total'"
		printf '%4d partners, run %d: total %5d  keygen %4d  announce %5d [%s]  confirm %5d [%s]  %s\n' \
			"$n" "$r" "$total" $((ms_start - t_start)) $((ms_ann - ms_ann0)) \
			"$(grep -o '([0-9.]* s)' <<<"$l_ann" | tr -d '()')" $((ms_conf - ms_conf0)) \
			"$(grep -o '([0-9.]* s)' <<<"$l_conf" | tr -d '()')" \
			"$(grep -o '[0-9]* partners\? done, [0-9]* pending' <<<"$l_conf")"
	done
	eval "echo \"\$(printf '%4d partners: total' $n) \$(stats \$tot_$n) ms\""
done
echo

# ---- 2. PING cost ----
echo "== PING SERVER cost, wall clock of the admin command (ms)"
px=$(peer_port X); py=$(peer_port Y)
define_xy() {
	adm X "DEFINE SERVER Y HLADDRESS=127.0.0.1 LLADDRESS=$py SERVERPASSWORD=$(cat "$W/Y.pw")" >/dev/null &&
	adm Y "DEFINE SERVER X HLADDRESS=127.0.0.1 LLADDRESS=$px SERVERPASSWORD=$(cat "$W/X.pw")" >/dev/null
}
timed_ping() { # -> "wall_ms rtt_ms verified_by"
	local t1 t2 out
	t1=$(date +%s%N)
	out=$(adm X PING SERVER Y) || die "PING X->Y failed: $out"
	t2=$(date +%s%N)
	echo "$(( (t2 - t1) / 1000 )) $(jget 'j["rtt_ms"]' <<<"$out") $(jget 'j["verified_by"]' <<<"$out")"
}
fc=(); fc_rtt=(); pin=(); pin_rtt=(); q=()
for i in $(seq 1 "$PINGS"); do
	adm X "DELETE SERVER Y" >/dev/null 2>&1; adm Y "DELETE SERVER X" >/dev/null 2>&1
	define_xy || die "define X/Y"
	read -r us rtt vb < <(timed_ping)
	[ "$vb" == first-contact ] || die "expected a first-contact PING, got $vb"
	fc+=("$(awk -v u="$us" 'BEGIN{printf "%.2f", u/1000}')"); fc_rtt+=("$rtt")
done
for i in $(seq 1 "$PINGS"); do
	read -r us rtt vb < <(timed_ping)
	[ "$vb" == pin ] || die "expected a pinned PING, got $vb"
	pin+=("$(awk -v u="$us" 'BEGIN{printf "%.2f", u/1000}')"); pin_rtt+=("$rtt")
done
for i in $(seq 1 "$PINGS"); do
	t1=$(date +%s%N); adm X "QUERY SERVER Y" >/dev/null; t2=$(date +%s%N)
	q+=("$(awk -v u="$(( (t2 - t1) / 1000 ))" 'BEGIN{printf "%.2f", u/1000}')")
done
echo "first-contact PING (SRP, no pins):   $(stats "${fc[@]}")"
echo "pinned PING (pins + pairing key):    $(stats "${pin[@]}")"
echo "admin client overhead (QUERY SERVER): $(stats "${q[@]}")"
echo "daemon PING/PONG rtt after auth:      first-contact $(stats "${fc_rtt[@]}" | cut -d' ' -f2) ms, pinned $(stats "${pin_rtt[@]}" | cut -d' ' -f2) ms (medians)"

if [ "$REPL" = yes ]; then
	echo
	"$here/repl.sh"
fi
