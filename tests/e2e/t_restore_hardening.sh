#!/usr/bin/env bash
# Restore hardening. Proves that 'db restore':
# - refuses a symlinked target (RPL0706E), a 0777 or foreign-owned target
#   (RPL0110E) and a backup whose header asks for huge scrypt parameters
#   (RPL0702E, at once), writing nothing anywhere;
# - writes nothing anywhere when the last segment of a multi-segment backup
#   is damaged (the parent directory's listing is the same before and after,
#   an existing empty target stays empty);
# - killed with SIGKILL at random moments (seed printed; SEED=n repeats a
#   run) never leaves anything in the target: it is as before (absent, or
#   empty with its mode) or holds the whole restored instance; the only
#   other trace is the documented PARENT/.NAME.restore-XXXXXX, which the
#   next restore to that target removes;
# - stopped with SIGTERM leaves no trace at all (RPL0010E) or has finished;
# - still restores a good backup (mode 0700) into a new or an empty
#   directory, and the restored instance serves.
source "$(dirname "$0")/lib.sh"

restore() { "$RP" db restore --in "$1" -d "$2" --password-file "$W/bk.pw"; }
# listing: everything under $W/p, with modes, for before/after comparisons.
listing() { (cd "$W/p" && find . -printf '%p %m %y\n' | sort); }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# An instance whose backup spans several 1 MiB segments.
PA=$(port)
init_peer A "$PA"
start_peer A
D=$(printf 'x%.0s' $(seq 250))
for i in $(seq 3000); do
	echo "DEFINE SERVER S$i HLADDRESS=127.0.0.1 LLADDRESS=9 SERVERPASSWORD=password-$i DESCRIPTION=$D"
done | "$RP" admin -d "$W/A" >/dev/null || die "defining 3000 servers"
printf 'backup-password-1\n' >"$W/bk.pw"
succeeds "db backup" "$RP" db -d "$W/A" backup --out "$W/A.bak" --password-file "$W/bk.pw"
size=$(stat -c %s "$W/A.bak")
[ "$size" -gt $((2 * 1048576 + 100)) ] || die "the backup has fewer than 3 segments ($size bytes)"
ok "the backup spans 3 or more segments ($size bytes)"
fpA=$(fingerprint "$W/A/cert256.pem")
stop_peer A
mkdir "$W/p"

# --- refused targets ------------------------------------------------------------
mkdir "$W/real"
ln -s "$W/real" "$W/p/link"
before=$(listing)
fails 1 RPL0706E "a symlinked target is refused" restore "$W/A.bak" "$W/p/link"
expect_eq "$(ls -A "$W/real")" "" "nothing is written where the link points"
ln -s "$W/nowhere" "$W/p/dangling"
before=$(listing)
fails 1 RPL0706E "a dangling symlinked target is refused" restore "$W/A.bak" "$W/p/dangling"
[ ! -e "$W/nowhere" ] || die "the restore created the link's target"
expect_eq "$(listing)" "$before" "a refused symlink changes nothing in the parent"
mkdir "$W/p/open"
chmod 0777 "$W/p/open"
before=$(listing)
fails 1 RPL0110E "a 0777 target is refused" restore "$W/A.bak" "$W/p/open"
expect_eq "$(listing)" "$before" "the 0777 target stays as it was (empty, 0777)"
mkdir "$W/p/theirs"
chown nobody:nogroup "$W/p/theirs"
before=$(listing)
fails 1 RPL0110E "a target owned by another user is refused" restore "$W/A.bak" "$W/p/theirs"
expect_eq "$(listing)" "$before" "and stays as it was"

# --- scrypt parameters from the unauthenticated header ---------------------------------
# Header: magic(8) kdf(1) log2N(1) r(1) p(1) salt(32) nonce(12).
for params in "22 32 16" "21 8 1" "20 16 1" "16 8 64"; do
	python3 -c 'import sys; b=bytearray(open(sys.argv[1],"rb").read()); b[9],b[10],b[11]=map(int,sys.argv[3:6]); open(sys.argv[2],"wb").write(b)' \
		"$W/A.bak" "$W/kdf.bak" $params
	before=$(listing)
	t0=$(now_ms)
	fails 1 RPL0702E "a header asking for scrypt log2N/r/p = $params is refused" restore "$W/kdf.bak" "$W/p/kdf"
	ms=$(( $(now_ms) - t0 ))
	[ "$ms" -lt 1000 ] || die "the refusal took $ms ms"
	echo "MEASURE refusal of scrypt log2N/r/p = $params: $ms ms (whole command)"
	expect_eq "$(listing)" "$before" "and writes nothing"
done

# --- the last segment damaged ----------------------------------------------------------
python3 -c 'import sys; b=bytearray(open(sys.argv[1],"rb").read()); b[-5]^=1; open(sys.argv[2],"wb").write(b)' \
	"$W/A.bak" "$W/last.bak"
mkdir "$W/p/empty"
before=$(listing)
fails 1 RPL0701E "a backup whose last segment is damaged is refused" restore "$W/last.bak" "$W/p/new"
expect_eq "$(listing)" "$before" "a damaged last segment writes nothing in the parent (new target)"
fails 1 RPL0701E "the same into an existing empty directory" restore "$W/last.bak" "$W/p/empty"
expect_eq "$(listing)" "$before" "the existing empty target stays empty, and nothing else appears"
python3 -c 'import sys; b=bytearray(open(sys.argv[1],"rb").read()); open(sys.argv[2],"wb").write(b[:-1048600])' \
	"$W/A.bak" "$W/short.bak"
fails 1 RPL0701E "a backup cut short by a segment is refused" restore "$W/short.bak" "$W/p/new"
expect_eq "$(listing)" "$before" "and writes nothing"

# --- SIGKILL at random moments ---------------------------------------------------------------
# Most of a restore is scrypt; the segments are decrypted and written in
# the last few milliseconds (after the time a wrong password takes).
printf 'not-the-password\n' >"$W/wrong.pw"
t0=$(now_ms)
"$RP" db restore --in "$W/A.bak" -d "$W/p/timed" --password-file "$W/wrong.pw" >/dev/null 2>&1
pwtime=$(( $(now_ms) - t0 ))
t0=$(now_ms)
succeeds "a timed restore" restore "$W/A.bak" "$W/p/timed"
dur=$(( $(now_ms) - t0 ))
rm -rf "$W/p/timed"
seed=${SEED:-$RANDOM}
echo "MEASURE SIGKILL seed $seed (SEED=$seed repeats these kill moments)"
RANDOM=$seed
untouched=0; complete=0; leftover=0
for i in $(seq 16); do
	target="$W/p/k$i"
	existed=$((i % 2))
	[ "$existed" = 1 ] && mkdir -m 0700 "$target"
	# Half the rounds anywhere, half around the writing phase.
	if [ $((i % 4)) -lt 2 ]; then
		delay=$(( RANDOM % (dur * 12 / 10 + 1) ))
	else
		lo=$(( pwtime > 20 ? pwtime - 20 : 0 ))
		span=$(( dur - lo + 10 > 10 ? dur - lo + 10 : 10 ))
		delay=$(( lo + RANDOM % span ))
	fi
	"$RP" db restore --in "$W/A.bak" -d "$target" --password-file "$W/bk.pw" >/dev/null 2>&1 &
	pid=$!
	sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	if [ -e "$target" ] && [ -n "$(ls -A "$target")" ]; then
		# Renamed into place before the kill: it must be the whole instance.
		"$RP" cert -d "$target" show >/dev/null 2>&1 || die "round $i (kill at $delay ms): $target holds a partial restore: $(ls -A "$target")"
		[ "$(fingerprint "$target/cert256.pem")" = "$fpA" ] || die "round $i: the restored certificate differs"
		[ "$(stat -c %a "$target")" = 700 ] || die "round $i: the restored directory is not 0700"
		complete=$((complete + 1))
	else
		if [ "$existed" = 1 ]; then
			[ -d "$target" ] && [ "$(stat -c %a "$target")" = 700 ] || die "round $i: the empty target changed"
		else
			[ ! -e "$target" ] || die "round $i: an empty $target appeared"
		fi
		untouched=$((untouched + 1))
	fi
	others=$(cd "$W/p" && ls -A | grep -vxE "k[0-9]+|link|dangling|open|theirs|empty|kdf|new" | grep -vE "^\.k$i\.restore-[A-Za-z0-9]{6}$")
	[ -z "$others" ] || die "round $i (kill at $delay ms) left: $others"
	if ls -A "$W/p" | grep -qE "^\.k$i\.restore-"; then
		leftover=$((leftover + 1))
		[ "$(stat -c %a "$W/p"/.k$i.restore-*)" = 700 ] || die "round $i: the work directory is not 0700"
		[ -e "$target" ] && [ -n "$(ls -A "$target")" ] && die "round $i: completed but left its work directory"
		# The next restore to the same target removes it (and then succeeds).
		rm -rf "$target"
		succeeds "restore again after round $i" restore "$W/A.bak" "$target"
		ls -A "$W/p" | grep -qE "^\.k$i\.restore-" && die "round $i: the next restore did not remove the leftover"
	fi
done
ok "16 SIGKILL rounds: the target was untouched ($untouched) or complete ($complete), never partial"
ok "work directories left by SIGKILL ($leftover) were removed by the next restore to the same target"
echo "MEASURE restore of $size bytes: $dur ms ($pwtime ms until a wrong password is known); SIGKILL rounds: $untouched untouched, $complete complete, $leftover left a work directory"
rm -rf "$W"/p/k*

# --- SIGTERM leaves nothing ------------------------------------------------------------------
stopped=0
for i in $(seq 6); do
	target="$W/p/t$i"
	delay=$(( RANDOM % (dur * 12 / 10 + 1) ))
	"$RP" db restore --in "$W/A.bak" -d "$target" --password-file "$W/bk.pw" >"$W/term.out" 2>&1 &
	pid=$!
	sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
	kill -TERM "$pid" 2>/dev/null
	wait "$pid"
	rc=$?
	if [ "$rc" = 0 ]; then
		"$RP" cert -d "$target" show >/dev/null 2>&1 || die "SIGTERM round $i: finished but the instance does not open"
		rm -rf "$target"
	else
		[ ! -e "$target" ] || die "SIGTERM round $i (at $delay ms, exit $rc): $target exists"
		grep -q RPL0010E "$W/term.out" && stopped=$((stopped + 1))
	fi
	[ -z "$(ls -A "$W/p" | grep -E '^\.t[0-9]+\.restore-')" ] || die "SIGTERM round $i (at $delay ms) left a work directory"
done
ok "6 SIGTERM rounds left no work directory and no partial target ($stopped stopped with RPL0010E)"

# --- a good backup -------------------------------------------------------------------------------
succeeds "restore into a new directory" restore "$W/A.bak" "$W/p/good"
expect_eq "$(stat -c %a "$W/p/good")" 700 "the restored directory is mode 0700"
chmod 0700 "$W/p/empty"
succeeds "restore into an existing empty directory" restore "$W/A.bak" "$W/p/empty"
expect_eq "$(fingerprint "$W/p/empty/cert256.pem")" "$fpA" "restored over an empty directory"
expect_eq "$(ls -A "$W/p" | grep -c restore-)" 0 "no work directory is left after good restores"
"$RP" serve -d "$W/p/good" >>"$W/good.log" 2>&1 &
PIDS+=($!)
wait_until 20 eval "[ -S '$W/p/good/admin.sock' ] && (exec 3<>/dev/tcp/127.0.0.1/$PA)" || die "the restored instance does not start"
out=$("$RP" admin -d "$W/p/good" --json "QUERY CERTIFICATE") || die "admin on the restored instance"
expect_contains "$out" "$fpA" "the restored instance serves with the original certificate"
out=$("$RP" admin -d "$W/p/good" --json "QUERY SERVER S2999") || die "QUERY SERVER S2999 on the restored instance"
expect_contains "$out" '"name": "S2999"' "and holds the data of the last segments"
