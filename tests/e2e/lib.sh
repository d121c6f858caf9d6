# Shared helpers for end-to-end scenarios. Source it first; it creates $W
# (a private temporary directory) and stops every process started through
# start_peer/track when the scenario exits, whatever the outcome.
set -u
: "${RP:?set RP to the replpeer binary}"
W=$(mktemp -d /tmp/rpl-e2e.XXXXXX)
PIDS=()
FAILED=0

cleanup() {
	local p
	for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
	sleep 0.2
	for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	if [ "$FAILED" -ne 0 ] || [ -n "${KEEP:-}" ]; then
		for f in "$W"/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -40 "$f"; }; done
	fi
	rm -rf "$W"
}
trap cleanup EXIT

# A free TCP port on 127.0.0.1.
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()'; }

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

# define_pair A B: each defines the other with the other's password.
define_pair() {
	local a=$1 b=$2 pa pb
	pa=$(awk 'toupper($1)=="TCPPORT"{print $2}' "$W/$a/replpeer.conf")
	pb=$(awk 'toupper($1)=="TCPPORT"{print $2}' "$W/$b/replpeer.conf")
	adm "$a" "DEFINE SERVER $b HLADDRESS=127.0.0.1 LLADDRESS=$pb SERVERPASSWORD=$(cat "$W/$b.pw")" >/dev/null || die "define $b on $a"
	adm "$b" "DEFINE SERVER $a HLADDRESS=127.0.0.1 LLADDRESS=$pa SERVERPASSWORD=$(cat "$W/$a.pw")" >/dev/null || die "define $a on $b"
}

fingerprint() { openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f'; }
