# Shared helpers for end-to-end scenarios. Source it first; it creates $W
# (a private temporary directory) and stops every process started through
# start_peer/track when the scenario exits, whatever the outcome.
set -u
: "${RP:?set RP to the replpeer binary}"
# The hostile-peer tool (tests/tools/hostile.c), built beside the binary under
# test (build/tests/hostile, build-asan/tests/hostile); make e2e sets it.
HOSTILE=${HOSTILE:-$(dirname "$RP")/tests/hostile}
[ -x "$HOSTILE" ] || HOSTILE=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/tests/hostile
W=$(mktemp -d /tmp/rpl-e2e.XXXXXX)
# The scenarios leave the user's home alone (the admin console keeps its
# history in ~/.config/replpeer).
export HOME="$W/home"
mkdir -m 700 "$HOME"
# The scenarios start Python thousands of times, standard library only;
# skipping its site initialisation (the .pth files of the machine's
# packages) saves about a quarter of each start. A wrapper that execs keeps
# '$!' the Python process itself (a shell function would not).
mkdir "$W/bin"
printf '#!/bin/sh
exec %s -S "$@"
' "$(command -v python3)" >"$W/bin/python3"
chmod +x "$W/bin/python3"
PATH="$W/bin:$PATH"
PIDS=()
FAILED=0

# Stops what the scenario started: SIGTERM first so that daemons shut down
# in order (and, in the sanitizer build, report leaks), SIGKILL after 5 s.
# Under 'make asan' (RPL_ASAN=1) a sanitizer report in any daemon log fails
# the scenario, even when every assertion passed; so does one in the hostile
# tool's stderr ($W/*.herr).
cleanup() {
	local p rc=$? n
	for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
	for n in $(seq 100); do
		local alive=0
		for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -0 "$p" 2>/dev/null && alive=1; done
		[ "$alive" = 0 ] && break
		sleep 0.05
	done
	for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	if [ -n "${RPL_ASAN:-}" ] && grep -lE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$W"/*.log "$W"/*.herr >/dev/null 2>&1; then
		echo "FAIL: sanitizer report in a daemon log (or the hostile tool's stderr)" >&2
		grep -hE -A30 "ERROR: (Address|Leak)Sanitizer|runtime error:" "$W"/*.log "$W"/*.herr 2>/dev/null | head -80 >&2
		FAILED=1
		rc=1
	fi
	if [ -n "$(severity_mismatches)" ]; then
		echo "FAIL: daemon-log lines whose level and message ID disagree:" >&2
		severity_mismatches | head -5 >&2
		FAILED=1
		rc=1
	fi
	# KEEP_EV=DIR keeps the hostile tool's event files (*.ev) of a run.
	[ -n "${KEEP_EV:-}" ] && mkdir -p "$KEEP_EV" && cp "$W"/*.ev "$KEEP_EV"/ 2>/dev/null
	if [ "$FAILED" -ne 0 ] || [ -n "${KEEP:-}" ]; then
		for f in "$W"/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -40 "$f"; }; done
	fi
	rm -rf "$W"
	exit "$rc"
}
trap cleanup EXIT

# Daemon-log lines whose level is not the one their message ID's letter
# names (ERROR E, WARN W, INFO I), in any log of the scenario; at the end
# of every scenario there must be none (scripts/msgcheck.py checks the
# sources for the same rule).
severity_mismatches() {
	cat "$W"/*.log 2>/dev/null | awk '$2 ~ /^(ERROR|WARN|INFO)$/ && $3 ~ /^RPL[0-9][0-9][0-9][0-9][EWI]$/ {
		if (substr($2, 1, 1) != substr($3, 8, 1)) print }'
}

# A free TCP port on 127.0.0.1.
# port: a free loopback TCP port that no other call of port() has handed out
# recently, in this scenario or in another one running beside it. The kernel's
# "any free port" gives the same port twice when nothing has bound it yet
# (two daemons configured before either starts); and it comes from the range
# that outbound connections use. So: random ports below that range, each
# reserved by an atomic mkdir for 30 minutes, and checked free by binding it.
port() {
	local dir=/tmp/rpl-e2e-ports p i
	mkdir -p "$dir" 2>/dev/null
	find "$dir" -mindepth 1 -maxdepth 1 -mmin +30 -exec rmdir {} + 2>/dev/null
	for i in $(seq 500); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
		mkdir "$dir/$p" 2>/dev/null || continue
		if python3 -c 'import socket,sys
s=socket.socket();s.bind(("127.0.0.1",int(sys.argv[1])));s.close()' "$p" 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	echo "port: no free port found in 20000-31999" >&2
	return 1
}

ok() { echo "ok $*"; }
die() { echo "FAIL: $*" >&2; FAILED=1; exit 1; }
expect_eq() { [ "$1" == "$2" ] || die "$3: expected '$2', got '$1'"; ok "$3"; }
expect_rc() { local want=$1; shift; "$@" >"$W/last.out" 2>"$W/last.err"; local rc=$?
	[ "$rc" -eq "$want" ] || { cat "$W/last.out" "$W/last.err" >&2; die "exit $rc (want $want): $*"; }; }
expect_contains() { grep -qE -- "$2" <<<"$1" || die "$3: '$2' not found in: $1"; ok "$3"; }
expect_not_contains() { ! grep -qE -- "$2" <<<"$1" || die "$3: '$2' found in: $1"; ok "$3"; }

# JSON field access: jget 'expr' where expr is Python applied to j.
jget() { python3 -c "import json,sys; j=json.load(sys.stdin); v=$1; print(json.dumps(v) if isinstance(v,(dict,list,bool)) or v is None else v)"; }

# init_peer NAME PORT [PASSWORD] -> instance in $W/NAME
init_peer() {
	local name=$1 p=$2 pw=${3:-pw-$1-secret}
	printf '%s\n' "$pw" >"$W/$name.pw"
	"$RP" init -d "$W/$name" --name "$name" --port "$p" --address 127.0.0.1 \
		--password-file "$W/$name.pw" >/dev/null || die "init $name"
}

# start_peer NAME: runs serve in the background and waits for its port.
start_peer() {
	local name=$1 p
	p=$(awk 'toupper($1)=="TCPPORT"{print $2}' "$W/$name/replpeer.conf")
	"$RP" serve -d "$W/$name" >>"$W/$name.log" 2>&1 &
	PIDS+=($!)
	eval "PID_$name=$!"
	for _ in $(seq 100); do
		[ -S "$W/$name/admin.sock" ] && (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && return 0
		sleep 0.05
	done
	die "peer $name did not start"
}

# stop_peer NAME [SIGNAL]
stop_peer() {
	local name=$1 sig=${2:-TERM} pid
	eval "pid=\${PID_$name:-}"
	[ -n "$pid" ] || return 0
	kill -"$sig" "$pid" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	wait "$pid" 2>/dev/null
	eval "PID_$name="
}

# adm NAME COMMAND... -> JSON on stdout; exit status of the admin client.
adm() { local name=$1; shift; "$RP" admin -d "$W/$name" --json "$*"; }

# poll_json N NAME COMMAND EXPR: runs the admin COMMAND on NAME every 50 ms,
# up to N times, until jget EXPR of its answer is not empty. Leaves the
# value in $polled and the last answer in $out (for a message); returns 1
# when EXPR stayed empty. Call it directly, not in $( ).
poll_json() {
	local n=$1 name=$2 cmd=$3 expr=$4
	polled=""
	for _ in $(seq "$n"); do
		out=$(adm "$name" "$cmd")
		polled=$(jget "$expr" <<<"$out")
		[ -n "$polled" ] && return 0
		sleep 0.05
	done
	return 1
}

# define_pair A B: each defines the other with the other's password.
define_pair() {
	local a=$1 b=$2 pa pb
	pa=$(awk 'toupper($1)=="TCPPORT"{print $2}' "$W/$a/replpeer.conf")
	pb=$(awk 'toupper($1)=="TCPPORT"{print $2}' "$W/$b/replpeer.conf")
	adm "$a" "DEFINE SERVER $b HLADDRESS=127.0.0.1 LLADDRESS=$pb SERVERPASSWORD=$(cat "$W/$b.pw")" >/dev/null || die "define $b on $a"
	adm "$b" "DEFINE SERVER $a HLADDRESS=127.0.0.1 LLADDRESS=$pa SERVERPASSWORD=$(cat "$W/$a.pw")" >/dev/null || die "define $a on $b"
}

fingerprint() { openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f'; }

# CLI helpers for scenarios that run replpeer commands directly: run keeps
# stdout/stderr in $W/out and $W/err and fails on a crash or a sanitizer
# report; succeeds and fails assert the outcome (fails also wants the given
# message ID pattern and some RPLnnnnE on stderr).
run() {
	"$@" >"$W/out" 2>"$W/err"
	local rc=$?
	[ "$rc" -lt 128 ] || die "crashed (exit $rc): $*"
	! grep -qE 'Sanitizer|runtime error:' "$W/err" || die "sanitizer report from $*: $(cat "$W/err")"
	return $rc
}
succeeds() { local what=$1; shift; run "$@" || die "$what: exit $?: $(cat "$W/err")"; }
fails() {
	local want=$1 id=$2 what=$3 rc
	shift 3
	run "$@"
	rc=$?
	[ "$rc" -eq "$want" ] || die "$what: exit $rc, want $want: $(cat "$W/err")"
	grep -qE "$id" "$W/err" || die "$what: stderr lacks $id: $(cat "$W/err")"
	grep -qE 'RPL[0-9]{4}E' "$W/err" || die "$what: no message ID on stderr"
	ok "$what"
}

# ---- helpers added for the t_session_* scenarios ----

# peer_port NAME: the TCPPORT of instance $W/NAME.
peer_port() { awk 'toupper($1)=="TCPPORT"{print $2}' "$W/$1/replpeer.conf"; }

# conf_unset NAME KEY: removes the active KEY lines from $W/NAME/replpeer.conf.
conf_unset() { sed -i "/^[[:space:]]*$2[[:space:]]/Id" "$W/$1/replpeer.conf"; }

# conf_set NAME KEY VALUE: KEY VALUE for the next start (replaces an earlier one).
conf_set() { conf_unset "$1" "$2"; printf '%s %s\n' "$2" "$3" >>"$W/$1/replpeer.conf"; }

# init_named DIR NAME PORT [PASSWORD]: an instance in $W/DIR whose SERVERNAME is
# NAME (two instances with one name, e.g. an impostor); start_peer DIR runs it.
init_named() {
	local dir=$1 name=$2 p=$3 pw=${4:-pw-$2-secret}
	printf '%s\n' "$pw" >"$W/$dir.pw"
	"$RP" init -d "$W/$dir" --name "$name" --port "$p" --address 127.0.0.1 \
		--password-file "$W/$dir.pw" >/dev/null || die "init $dir ($name)"
}

# wait_admin NAME: waits until the admin socket of a (re)started peer answers.
# start_peer returns when the TCP port accepts; after a kill -9 a stale
# admin.sock file may exist before the new daemon listens on it.
wait_admin() {
	for _ in $(seq 100); do
		"$RP" admin -d "$W/$1" --json QUERY SERVER >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	die "admin socket of $1 does not answer"
}

# restart_peer NAME: stop (TERM) and start again, admin socket ready.
restart_peer() { stop_peer "$1"; start_peer "$1"; wait_admin "$1"; }

# make_ca DIR CN DAYS: a throw-away OpenSSL CA (P-256) in DIR: ca.key,
# ca.pem and ca.cnf for 'openssl ca -config DIR/ca.cnf' (which copies the
# request's extensions, the SAN among them).
make_ca() {
	local dir=$1
	mkdir -p "$dir"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/ca.key" \
		-out "$dir/ca.pem" -subj "/CN=$2" -days "$3" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
		>/dev/null 2>&1 || die "cannot make the test CA"
	cat >"$dir/ca.cnf" <<EOF
[ ca ]
default_ca = throwaway
[ throwaway ]
dir = $dir
database = \$dir/index.txt
new_certs_dir = \$dir
serial = \$dir/serial
default_md = sha256
policy = any
copy_extensions = copy
unique_subject = no
[ any ]
commonName = supplied
EOF
	: >"$dir/index.txt"
	openssl rand -hex 16 >"$dir/serial"
}

# forcesync_mark NAME SERVER: UPDATE SERVER SERVER FORCESYNC=YES on NAME.
# Status 0 once the mark is set, whether the exchange happened at once
# (RPL1207I, exit 0) or stays pending because SERVER was not reached or
# refused (RPL1206E, exit 1); the reply is printed otherwise.
forcesync_mark() {
	local out
	out=$(adm "$1" "UPDATE SERVER $2 FORCESYNC=YES")
	grep -qE '"message_id": "RPL12(06E|07I)"' <<<"$out" || { echo "$out"; return 1; }
}

# wait_until SECONDS CMD...: polls CMD every 0.05 s; status 0 once it succeeds.
wait_until() {
	local limit=$1 end; shift
	end=$(( $(date +%s%N) + limit * 1000000000 ))
	while [ "$(date +%s%N)" -lt "$end" ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	return 1
}

# pins_json NAME SERVER: the pins array of SERVER on NAME, canonical JSON,
# without days_left (computed from the clock at query time: a certificate made
# this second shows 3650, one second later 3649).
pins_json() {
	adm "$1" QUERY SERVER "$2" | python3 -c 'import json,sys
pins = json.load(sys.stdin)[0]["pins"]
for p in pins: p.pop("days_left", None)
print(json.dumps(pins, sort_keys=True))'
}

# srv_field NAME SERVER EXPR: EXPR (Python on s, the QUERY SERVER object).
srv_field() {
	adm "$1" QUERY SERVER "$2" | jget "(lambda s: $3)(j[0])"
}

# no_crash NAME: the daemon of NAME still runs.
no_crash() {
	local pid
	eval "pid=\${PID_$1:-}"
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || die "daemon $1 is not running any more"
}

# ---- lifecycle helpers (t_lifecycle_* scenarios and bench/run.sh) ----

# own_fp NAME STATE: fingerprint of NAME's own certificate in STATE
# (current|next|previous), "" when there is none.
own_fp() {
	adm "$1" "QUERY CERTIFICATE" | jget "next((c['fingerprint'] for c in j if c['state'] == '$2'), '')"
}

# own_state NAME FP: state of NAME's own certificate FP, "" when unknown.
own_state() {
	adm "$1" "QUERY CERTIFICATE" | jget "next((c['state'] for c in j if c['fingerprint'] == '$2'), '')"
}

# own_count NAME STATE: how many own certificates of NAME are in STATE.
own_count() {
	adm "$1" "QUERY CERTIFICATE" | jget "len([c for c in j if c['state'] == '$2'])"
}

# own_cert NAME FP EXPR: EXPR (Python on c, the QUERY CERTIFICATE entry of FP).
own_cert() {
	adm "$1" "QUERY CERTIFICATE" | jget "(lambda c: $3)(next(c for c in j if c['fingerprint'] == '$2'))"
}

# pin_list NAME SERVER: NAME's pins for SERVER as "fp:state" words in stored
# order ("" when none).
pin_list() {
	adm "$1" "QUERY SERVER $2" | jget "' '.join(p['fingerprint'] + ':' + p['state'] for p in j[0]['pins'])"
}

# pins_are NAME SERVER "fp:state ...": status 0 when pin_list matches exactly.
pins_are() { [ "$(pin_list "$1" "$2")" == "$3" ]; }

# state_is NAME FP STATE: status 0 when NAME's own certificate FP is in STATE.
state_is() { [ "$(own_state "$1" "$2")" == "$3" ]; }

# ping_ok NAME SERVER: status 0 when PING SERVER succeeds.
ping_ok() { adm "$1" "PING SERVER $2" 2>/dev/null | grep -q '"ok": true'; }

# paired_ab: instances A and B on fresh ports ($pa, $pb), running, defined to
# each other and paired by a first contact in each direction.
paired_ab() {
	pa=$(port); pb=$(port)
	init_peer A "$pa"
	init_peer B "$pb"
	start_peer A
	start_peer B
	define_pair A B
	ping_ok A B || die "first contact A->B failed"
	ping_ok B A || die "PING B->A failed"
}

# log_has NAME REGEX: NAME's daemon log (stderr of serve) matches REGEX.
log_has() { grep -qE -- "$2" "$W/$1.log"; }

# actlog_lines NAME: the activity log of NAME, one "MSGID message" per line,
# oldest first (SINCE covers clocks shifted with REPLPEER_CLOCK_OFFSET); an
# entry that counts N equal events (repeated) gives N lines.
actlog_lines() {
	adm "$1" "QUERY ACTLOG SINCE=${2:-5256000}" | python3 -c 'import json,sys
for e in json.load(sys.stdin):
    for _ in range(e.get("repeated", 1)): print(e["message_id"] + " " + e["message"])'
}

# line_no FILE-CONTENT REGEX: number of the first line of $1 matching $2, 0 if none.
line_no() { local n; n=$(grep -nE -- "$2" <<<"$1" | head -1 | cut -d: -f1); echo "${n:-0}"; }

# round_line NAME KIND: the last RPL0610I line of NAME for KIND
# (announcement|confirmation), "" when none.
round_line() { grep -E "RPL0610I certificate $2 round" "$W/$1.log" | tail -1; }

# pid_of NAME: the serve process of NAME started by start_peer ("" if stopped).
pid_of() { eval "echo \${PID_$1:-}"; }

# start_peers NAME...: start_peer for many instances at once: launches every
# daemon first, then waits for each port and admin socket.
start_peers() {
	local name p
	for name in "$@"; do
		"$RP" serve -d "$W/$name" >>"$W/$name.log" 2>&1 &
		PIDS+=($!)
		eval "PID_$name=$!"
	done
	for name in "$@"; do
		p=$(peer_port "$name")
		wait_until 20 eval "[ -S '$W/$name/admin.sock' ] && (exec 3<>/dev/tcp/127.0.0.1/$p)" ||
			die "peer $name did not start"
		wait_admin "$name"
	done
}

# unique_ports N: N distinct free TCP ports on 127.0.0.1, one per line.
unique_ports() {
	python3 -c 'import socket,sys
n=int(sys.argv[1]); socks=[]
for _ in range(n):
    s=socket.socket(); s.bind(("127.0.0.1",0)); socks.append(s)
for s in socks: print(s.getsockname()[1])
for s in socks: s.close()' "$1"
}
# pair_many HUB NAME...: define_pair HUB NAME and a first-contact PING HUB ->
# NAME for every NAME, 10 partners at a time (SRP runs on the pool).
pair_many() {
	local hub=$1 name jobs=()
	shift
	mkdir -p "$W/.pair"
	for name in "$@"; do
		( define_pair "$hub" "$name" && ping_ok "$hub" "$name" && touch "$W/.pair/$name" ) >/dev/null 2>&1 &
		jobs+=($!)   # never a bare 'wait': it would wait for the daemons too
		if [ ${#jobs[@]} -ge 10 ]; then wait "${jobs[@]}"; jobs=(); fi
	done
	[ ${#jobs[@]} -gt 0 ] && wait "${jobs[@]}"
	for name in "$@"; do
		[ -e "$W/.pair/$name" ] || die "pairing $hub with $name failed"
	done
}
# start_holdproxy NAME LISTEN TARGET: a TCP proxy 127.0.0.1:LISTEN ->
# 127.0.0.1:TARGET. A connection accepted while $W/NAME.arm exists is held:
# once the client has sent its second chunk (its TLS handshake is complete,
# so it has decided on the server's certificate), the proxy creates
# $W/NAME.paused and forwards nothing more from the server until
# $W/NAME.release exists. Other connections pass through unchanged.
start_holdproxy() {
	local name=$1
	python3 - "$W/$name" "$2" "$3" >>"$W/$name.proxy.log" 2>&1 <<'PY' &
import os, socket, sys, threading, time
base, lport, tport = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", lport)); ls.listen(64)
open(base + ".ready", "w").close()
def handle(c):
    held = os.path.exists(base + ".arm")
    if held: os.unlink(base + ".arm")
    s = socket.create_connection(("127.0.0.1", tport))
    st = {"c2s": 0, "gate": threading.Event()}
    if not held: st["gate"].set()
    def c2s():
        while True:
            d = c.recv(65536)
            if not d: break
            s.sendall(d); st["c2s"] += 1
            if held and st["c2s"] == 2:
                open(base + ".paused", "w").close()
                threading.Thread(target=release, daemon=True).start()
        try: s.shutdown(socket.SHUT_WR)
        except OSError: pass
    def release():
        while not os.path.exists(base + ".release"): time.sleep(0.005)
        st["gate"].set()
    def s2c():
        while True:
            d = s.recv(65536)
            if not d: break
            if held and st["c2s"] >= 2: st["gate"].wait()
            c.sendall(d)
        try: c.shutdown(socket.SHUT_WR)
        except OSError: pass
    threading.Thread(target=c2s, daemon=True).start()
    threading.Thread(target=s2c, daemon=True).start()
while True:
    c, _ = ls.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
PY
	PIDS+=($!)
	wait_until 10 test -e "$W/$name.ready" || die "proxy $name did not start"
}
# ---- end of lifecycle helpers ----

# log_events FILE REGEX: how many events a daemon log records for lines that
# match REGEX, counting "last message repeated N times" after a matching line
# as N more (the log coalesces equal consecutive lines).
log_events() {
	python3 - "$1" "$2" <<'PYEOF'
import re, sys
n, last = 0, False
for line in open(sys.argv[1], errors="replace"):
    m = re.search(r"last message repeated (\d+) times", line)
    if m and last:
        n += int(m.group(1))
        continue
    last = re.search(sys.argv[2], line) is not None
    n += last
print(n)
PYEOF
}

# known_bug_shown CLAIM DETAILS: an assertion that fails today because of a
# bug reported and not fixed yet, in a scenario that goes on checking the
# rest (known_bug below ends the scenario). Prints a SKIP line (the runner
# shows them) so the scenario stays green and the gap stays visible;
# E2E_KNOWN_BUGS=fail or KNOWN_BUGS=fail makes it fail like any assertion.
known_bug_shown() {
	[ "${E2E_KNOWN_BUGS:-${KNOWN_BUGS:-}}" == fail ] && die "$1 (known bug): $2"
	echo "SKIP known bug, not asserted: $1: $2"
}

# init_peers NAME:PORT...: init_peer for many instances, 8 at a time.
init_peers() {
	local spec jobs=()
	for spec in "$@"; do
		init_peer "${spec%%:*}" "${spec#*:}" >/dev/null 2>&1 &
		jobs+=($!)   # never a bare 'wait': it would wait for the daemons too
		if [ ${#jobs[@]} -ge 8 ]; then wait "${jobs[@]}"; jobs=(); fi
	done
	[ ${#jobs[@]} -gt 0 ] && wait "${jobs[@]}"
	for spec in "$@"; do [ -f "$W/${spec%%:*}/cert256.pem" ] || die "init ${spec%%:*} failed"; done
}

# ---- hostile-peer helpers (t_hostile_* scenarios, tests/tools/hostile.c) ----

# hstate NAME SERVER: what a refused hostile peer must not change on NAME for
# SERVER — pins (fingerprint:state), session security, FORCESYNC mark, and
# whether pairing keys exist — as one canonical line.
hstate() {
	adm "$1" QUERY SERVER "$2" | python3 -c 'import json,sys
s = json.load(sys.stdin)[0]
print(json.dumps({"pins": [p["fingerprint"] + ":" + p["state"] for p in s["pins"]],
	"sessionsecurity": s["sessionsecurity"], "forcesync_pending": s["forcesync_pending"],
	"paired_in": s.get("paired_in"), "paired_out": s.get("paired_out")}, sort_keys=True))'
}

# hrun TAG [ARGS]: runs the tool on the script from stdin; events in $W/TAG.ev
# (appended), the tool's status is returned.
hrun() { local tag=$1; shift; "$HOSTILE" "$@" >>"$W/$tag.ev" 2>>"$W/$tag.herr"; }

# hcount TAG EXPR: how many events of $W/TAG.ev satisfy EXPR (Python on e).
hcount() {
	python3 -c 'import json,sys
n = 0
for l in open(sys.argv[1]):
    try: e = json.loads(l)
    except ValueError: continue
    n += bool(eval(sys.argv[2]))
print(n)' "$W/$1.ev" "$2"
}

# hlast TAG EXPR FIELD-EXPR: FIELD-EXPR of the last event satisfying EXPR.
hlast() {
	python3 -c 'import json,sys
v = ""
for l in open(sys.argv[1]):
    try: e = json.loads(l)
    except ValueError: continue
    if eval(sys.argv[2]): v = eval(sys.argv[3])
print(v)' "$W/$1.ev" "$2" "$3"
}

# by_pairing_key X Y: PING SERVER Y on X succeeds verified by pin, and the
# session used the stored pairing key (no password proof) on both sides:
# proof that neither side's pairing key for the other changed.
by_pairing_key() {
	local out line before
	before=$(grep -cE "RPL0422I session [0-9]+ from server $1 .*certificate by pin, pairing key" "$W/$2.log")
	out=$(adm "$1" PING SERVER "$2") || { echo "PING SERVER $2 on $1 failed: $out" >&2; return 1; }
	[ "$(jget 'j["verified_by"]' <<<"$out")" == pin ] || { echo "not verified by pin: $out" >&2; return 1; }
	line=$(grep -E "RPL0422I session [0-9]+ to server $2 " "$W/$1.log" | tail -1)
	grep -q "certificate by pin, pairing key" <<<"$line" || { echo "$1's session to $2: $line" >&2; return 1; }
	wait_until 5 eval "[ \$(grep -cE 'RPL0422I session [0-9]+ from server $1 .*certificate by pin, pairing key' '$W/$2.log') -gt $before ]" ||
		{ echo "$2's log lacks a pin and pairing-key session from $1" >&2; return 1; }
}

# unexpected_logged NAME ROLE MSG STATE: NAME's log says that message MSG was
# not expected in STATE in a session of ROLE (inbound|outbound).
unexpected_logged() {
	grep -qE "session [0-9]+ $2 .*protocol error: message $3 \([0-9]+\) is not expected in state $4\$" "$W/$1.log"
}

# known_bug ID TEXT: a check failed in the way a known, reported bug makes it
# fail. The scenario then reports "KNOWN_BUG ID reproduced: TEXT" and passes,
# so that it documents the bug in every run; KNOWN_BUGS=fail makes it fail
# instead (to confirm a fix: once fixed, the scenario passes on its checks).
known_bug() {
	local id=$1; shift
	[ "${KNOWN_BUGS:-report}" = fail ] && die "$id: $*"
	echo "KNOWN_BUG $id reproduced: $*"
	exit 0
}

# timing_judged: 0 when a timing assertion may be made here — not the
# sanitizer build, and the machine not busy with other work (1-minute load
# average at most twice the cores; the scenarios' own work counts in it).
# Otherwise a SKIP line says why, and the caller prints its figures only.
timing_judged() {
	local l n
	if [ -n "${RPL_ASAN:-}" ]; then
		echo "SKIP timing assertion: the sanitizer build's timing says nothing"
		return 1
	fi
	l=$(cut -d' ' -f1 /proc/loadavg); n=$(nproc)
	python3 -c "import sys; sys.exit(0 if $l <= 2 * $n else 1)" && return 0
	echo "SKIP timing assertion: load average $l on $n cores (other work on the machine; the figures are printed above, not judged)"
	return 1
}

# ---- replication data helpers (t_faultproxy_repl, t_repl_kill9_random, soak) ----

# node_manifest NAME NODE: "object sha256" for every object of NODE on NAME,
# read back with 'store get' (works while the daemon runs), sorted; an
# object listed but not readable gives "object UNREADABLE".
node_manifest() {
	local o
	"$RP" store -d "$W/$1" --json ls "$2" 2>/dev/null | jget "'\n'.join(o['name'] for o in j)" 2>/dev/null |
		while IFS= read -r o; do
			[ -n "$o" ] || continue
			if "$RP" store -d "$W/$1" get "$2" "$o" -o "$W/.manifest.obj" >/dev/null 2>&1; then
				echo "$o $(sha256sum <"$W/.manifest.obj" | cut -c1-64)"
			else
				echo "$o UNREADABLE"
			fi
		done | LC_ALL=C sort
}

# dir_manifest DIR: "path sha256" for the files under $W/DIR (paths as
# 'store put DIR' names them, run from $W), sorted.
dir_manifest() { (cd "$W" && find "$1" -type f -print0 | xargs -0r sha256sum | awk '{print $2 " " $1}' | LC_ALL=C sort); }

# mutate_set DIR SEED [CHANGE ADD DELETE]: CHANGE files get new random
# content, ADD new files appear, DELETE files that existed before go (their
# object names in $W/deleted, one a line, for put_set's 'store rm'); sizes
# 4 KiB to 160 KiB; all from SEED.
mutate_set() {
	python3 - "$W/$1" "$2" "${3:-3}" "${4:-1}" "${5:-1}" >"$W/deleted" <<'PY'
import os, random, sys
d, seed, ch, add, dl = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
r = random.Random(seed)
os.makedirs(d, exist_ok=True)
names = sorted(os.listdir(d))
def fill(n):
    with open(os.path.join(d, n), "wb") as f:
        f.write(r.randbytes(r.randrange(4096, 160 << 10)))
for n in r.sample(names, min(ch, len(names))):
    fill(n)
for n in r.sample(names, min(dl, max(0, len(names) - 4))):
    os.unlink(os.path.join(d, n))
    print(os.path.join(os.path.basename(d), n))
for i in range(add):
    fill("o%d_%d" % (seed, i))
PY
}

# put_set NAME NODE DIR: stores DIR's files on NAME (names DIR/file), and
# removes the objects whose files mutate_set deleted ($W/deleted). Every
# version put is appended to $W/versions ("object sha256").
put_set() {
	local o
	while IFS= read -r o; do
		[ -n "$o" ] && { "$RP" store -d "$W/$1" rm "$2" "$o" >/dev/null 2>&1 || die "store rm $2 $o on $1"; }
	done <"$W/deleted"
	(cd "$W" && "$RP" store -d "$W/$1" put "$2" "$3" >/dev/null 2>"$W/put.err") || die "store put $2 $3 on $1: $(cat "$W/put.err")"
	dir_manifest "$3" >>"$W/versions"
	LC_ALL=C sort -u -o "$W/versions" "$W/versions"
}

# nothing_altered WHAT NAME NODE: every object of NODE on NAME is some
# version that was put on the source (in $W/versions): nothing altered or
# partial was stored.
nothing_altered() {
	local bad
	node_manifest "$2" "$3" >"$W/got.manifest"
	bad=$(LC_ALL=C comm -23 "$W/got.manifest" "$W/versions")
	[ -z "$bad" ] || die "$1: $2 stores objects that are no version A ever held (altered or partial): $(head -3 <<<"$bad")"
	ok "$1: $2 holds $(wc -l <"$W/got.manifest") objects, each a version A held (sha256 of store get)"
}
