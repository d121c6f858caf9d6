#!/usr/bin/env bash
# Node storage acceptance: 200 files of mixed sizes (0 B to 8 MiB, at most
# 64 MiB in all, with duplicates and one file that is another shifted by one
# byte, names with spaces and UTF-8) go into a node while the daemon runs and
# while it does not; 'store get' gives each back byte-identical with its mode
# and mtime; ls, rm, 'db verify' and 'db verify --deep' agree; a put to an
# unregistered node names REGISTER NODE; an unreadable file stores nothing;
# a symbolic link is skipped with a warning; 'db backup' + 'db restore' keep
# the objects. Measures put/get throughput of a 256 MiB incompressible file
# and the dedup ratio of the mixed set.
source "$(dirname "$0")/lib.sh"

S=$W/S
init_peer S "$(port)"
start_peer S
wait_admin S
adm S REGISTER NODE n1 >/dev/null || die "REGISTER NODE n1"
expect_eq "$(adm S QUERY NODE N1 | jget 'j[0]["name"] + " " + j[0]["kind"] + " " + str(j[0]["objects"])')" \
	"n1 local 0" "REGISTER NODE n1: QUERY NODE shows an empty local node"

# ---- the mixed set -----------------------------------------------------
mkdir -p "$W/data"
python3 - "$W/data" >"$W/manifest" <<'PY'
import os, random, sys
root = sys.argv[1]
rnd = random.Random(20261126)
dirs = ["", "sub dir", "sub dir/deeper", "ünïcödé", "ünïcödé/日本語 フォルダ", "x/y/z"]
for d in dirs:
    os.makedirs(os.path.join(root, d), exist_ok=True)
budget = 60 << 20
files = []
def name(i):
    d = rnd.choice(dirs)
    base = rnd.choice(["file", "Datei mit Leerzeichen", "résumé", "€ price list", "данные", "a  b"]) + " %03d.bin" % i
    return os.path.join(d, base) if d else base
sizes = [0, 1, 2, 4095, 4096, 65536, 8 << 20, 5 << 20] + [rnd.choice([rnd.randrange(0, 4096), rnd.randrange(4096, 200000), rnd.randrange(200000, 1500000)]) for _ in range(170)]
total = 0
for i, sz in enumerate(sizes):
    if total + sz > budget - (12 << 20):
        sz = rnd.randrange(0, 4096)
    total += sz
    files.append((name(i), os.urandom(sz)))
# duplicates of earlier files (same content, other names)
for i in range(20):
    src = files[rnd.randrange(len(files))][1]
    files.append((name(200 + i), src))
# one file shifted by one byte: the 5 MiB file with a byte in front
files.append((name(300), b"\x01" + files[7][1]))
assert len(files) == 199
files.append(("ünïcödé/last one.bin", os.urandom(100)))
for i, (n, data) in enumerate(files):
    p = os.path.join(root, n)
    with open(p, "wb") as f:
        f.write(data)
    os.chmod(p, rnd.choice([0o644, 0o600, 0o755, 0o444, 0o640]))
    os.utime(p, ns=(1700000000 * 10**9 + i, 1600000000 * 10**9 + rnd.randrange(10**9) + i * 10**9))
    print(n)
PY
[ "$(wc -l <"$W/manifest")" -eq 200 ] || die "the generator made $(wc -l <"$W/manifest") files"
total=$(find "$W/data" -type f -printf "%s\n" | awk "{s+=\$1} END {print s}")
[ "$total" -le $((64 << 20)) ] || die "the mixed set has $total bytes"
ok "mixed set: 200 files, $total bytes"
ln -s "file 000.bin" "$W/data/a link"

# ---- put while the daemon runs ------------------------------------------
cd "$W" || die "cd"
succeeds "store put of the tree while serve runs" "$RP" store -d "$S" --json put n1 data
grep -q 'RPL0812W' "$W/err" && grep -q 'a link' "$W/err" || die "no RPL0812W warning for the symbolic link: $(cat "$W/err")"
ok "a symbolic link is skipped with RPL0812W"
put_json=$(cat "$W/out")
expect_eq "$(jget 'j["objects"]' <<<"$put_json")" 200 "put reports 200 objects"
logical=$(jget 'j["bytes"]' <<<"$put_json")
stored=$(jget 'j["new_bytes"]' <<<"$put_json")
expect_eq "$logical" "$total" "put reports the logical bytes of the set"
echo "MEASURE dedup of the mixed set: $logical logical bytes stored in $stored ($(python3 -c "print('%.2f' % ($logical / $stored))")x)"
# The shifted file shares all but about one chunk with its original.
[ $((logical - stored)) -gt $((4 << 20)) ] || die "the duplicates and the shifted file saved only $((logical - stored)) bytes"
ok "duplicates and the shifted file are deduplicated"

succeeds "store ls" "$RP" store -d "$S" --json ls n1
python3 - "$W/out" "$W/manifest" <<'PY' || die "ls does not list exactly the stored names"
import json, sys
ls = json.load(open(sys.argv[1]))
want = sorted("data/" + l.rstrip("\n") for l in open(sys.argv[2], encoding="utf-8"))
got = [o["name"] for o in ls]
assert got == sorted(got), "ls is not in name order"
assert sorted(got) == want, (set(got) ^ set(want))
PY
ok "ls lists the 200 names in order"
expect_eq "$(adm S QUERY NODE n1 | jget 'str(j[0]["objects"]) + " " + str(j[0]["bytes"])')" "200 $total" \
	"QUERY NODE counts 200 objects and their bytes"

# get_all DIR INSTANCE: every object back into DIR; compares content,
# mode and mtime (nanoseconds) with the originals.
get_all() {
	local out=$1 inst=$2 n=0 name
	mkdir -p "$out"
	while IFS= read -r name; do
		n=$((n + 1))
		run "$RP" store -d "$inst" get n1 "data/$name" -o "$out/$n" || die "get data/$name: $(cat "$W/err")"
		cmp -s "$out/$n" "data/$name" || die "get data/$name: content differs"
		[ "$(stat -c '%a %y' "$out/$n")" == "$(stat -c '%a %y' "data/$name")" ] ||
			die "get data/$name: mode/mtime $(stat -c '%a %y' "$out/$n") instead of $(stat -c '%a %y' "data/$name")"
	done <"$W/manifest"
	expect_eq "$n" 200 "$3"
}
get_all "$W/got" "$S" "get gives all 200 objects back byte-identical with mode and mtime"
(cd "$W/got" && sha256sum -- * | awk '{print $1}' | sort) >"$W/got.sums"
(cd "$W/data" && find . -type f -print0 | xargs -0 sha256sum | awk '{print $1}' | sort) >"$W/data.sums"
cmp -s "$W/got.sums" "$W/data.sums" || die "sha256sum lists differ"
ok "sha256sums of the restored files equal the originals'"

# get without -o writes the relative path; to stdout with -o -.
mkdir "$W/rel" && (cd "$W/rel" && "$RP" store -d "$S" get n1 "data/ünïcödé/last one.bin" >/dev/null) ||
	die "get without -o"
cmp -s "$W/rel/data/ünïcödé/last one.bin" "data/ünïcödé/last one.bin" || die "get without -o: content"
"$RP" store -d "$S" get n1 "./data//ünïcödé/last one.bin" -o - | cmp -s - "data/ünïcödé/last one.bin" ||
	die "get -o - with an unnormalized name"
ok "get writes NAME relative to the current directory, or to stdout with -o -"

succeeds "db verify" "$RP" db -d "$S" verify
grep -q RPL0821I "$W/out" || die "verify not clean: $(cat "$W/out")"
succeeds "db verify --deep" "$RP" db -d "$S" --json verify --deep
expect_eq "$(jget 'str(j["faults"]) + " " + str(j["rehashed_bytes"] == j["stored_bytes"])' <"$W/out")" "0 True" \
	"db verify and db verify --deep are clean (every chunk re-hashed)"

# ---- rm ----------------------------------------------------------------
first=$(head -1 "$W/manifest")
succeeds "store rm" "$RP" store -d "$S" rm n1 "data/$first"
fails 1 RPL0806E "a removed object is gone" "$RP" store -d "$S" get n1 "data/$first" -o "$W/gone"
[ ! -e "$W/gone" ] || die "a failed get left its output file"
expect_eq "$("$RP" store -d "$S" --json ls n1 | jget 'len(j)')" 199 "ls shows 199 objects after rm"
fails 1 RPL0806E "rm of a missing object" "$RP" store -d "$S" rm n1 "data/$first"
succeeds "db verify after rm" "$RP" db -d "$S" verify --deep

# ---- refusals ----------------------------------------------------------
fails 1 RPL0801E "put to an unregistered node is refused" "$RP" store -d "$S" put nosuch "data/$first"
grep -q "REGISTER NODE" "$W/err" || die "the refusal does not name REGISTER NODE: $(cat "$W/err")"
ok "the refusal names REGISTER NODE"
printf 'secret\n' >"$W/unreadable"
chmod 000 "$W/unreadable"
before=$("$RP" db -d "$S" --json verify | jget 'str(j["objects"]) + " " + str(j["chunks"])')
if [ "$(id -u)" = 0 ]; then
	# root reads everything: drop the capabilities that let it.
	fails 1 RPL0809E "an unreadable file is refused" \
		setpriv --bounding-set=-dac_override,-dac_read_search "$RP" store -d "$S" put n1 data/sub\ dir "$W/unreadable"
else
	fails 1 RPL0809E "an unreadable file is refused" "$RP" store -d "$S" put n1 data/sub\ dir "$W/unreadable"
fi
grep -q "unreadable" "$W/err" || die "the error does not name the file: $(cat "$W/err")"
expect_eq "$("$RP" db -d "$S" --json verify | jget 'str(j["objects"]) + " " + str(j["chunks"])')" "$before" \
	"an unreadable file stores nothing, not even the readable files given with it"
fails 2 RPL0001E "--as with a directory is a usage error" "$RP" store -d "$S" put n1 data --as x
fails 1 RPL0805E "an empty object name is refused" "$RP" store -d "$S" put n1 "data/$first" --as ./

# ---- put while the daemon does not run ----------------------------------
stop_peer S
succeeds "store put offline" "$RP" store -d "$S" --json put n1 data
expect_eq "$(jget 'str(j["objects"]) + " " + str(j["new_bytes"])' <"$W/out")" "200 0" \
	"an offline put of the same tree stores 200 objects and no new byte"
succeeds "store put --as offline" "$RP" store -d "$S" put n1 "data/$first" --as "renamed/one"
succeeds "db verify offline" "$RP" db -d "$S" verify --deep
start_peer S
wait_admin S
expect_eq "$(adm S QUERY NODE 'n?' | jget 'str(j[0]["objects"])')" 201 "QUERY NODE with a wildcard sees the offline puts"

# ---- backup and restore keep the objects --------------------------------
printf 'backup-password-1\n' >"$W/backup.pw"
succeeds "db backup" "$RP" db -d "$S" backup --out "$W/s.bak" --password-file "$W/backup.pw"
succeeds "db restore" "$RP" db restore --in "$W/s.bak" -d "$W/R" --password-file "$W/backup.pw"
succeeds "verify the restored copy" "$RP" db -d "$W/R" verify --deep
grep -q RPL0821I "$W/out" || die "the restored copy is not clean"
get_all "$W/got2" "$W/R" "the restored copy gives all 200 objects back identical"

# ---- REMOVE NODE --------------------------------------------------------
adm S REMOVE NODE n1 >"$W/out" && die "REMOVE NODE of a node with objects succeeded"
expect_contains "$(cat "$W/out")" RPL0803E "REMOVE NODE of a node with objects is refused (RPL0803E)"
adm S REMOVE NODE n1 DELETEOBJECTS=YES >/dev/null || die "REMOVE NODE DELETEOBJECTS=YES"
expect_eq "$("$RP" db -d "$S" --json verify | jget 'str(j["faults"]) + " " + str(j["chunks"]) + " " + str(j["nodes"])')" "0 0 0" \
	"REMOVE NODE DELETEOBJECTS=YES frees every chunk, verify clean"
expect_contains "$(actlog_lines S)" "RPL0815I .*node n1 removed with 201 objects" "the removal is in the activity log"
expect_contains "$(actlog_lines S)" "RPL0816I .*stored in node n1" "the puts are in the activity log"

# ---- throughput: 256 MiB incompressible ---------------------------------
adm S REGISTER NODE big >/dev/null || die "REGISTER NODE big"
head -c $((256 << 20)) /dev/urandom >"$W/big.bin"
t0=$(date +%s%N)
succeeds "put of 256 MiB" "$RP" store -d "$S" put big "$W/big.bin" --as big.bin
t1=$(date +%s%N)
succeeds "get of 256 MiB" "$RP" store -d "$S" get big big.bin -o "$W/big.out"
t2=$(date +%s%N)
cmp -s "$W/big.bin" "$W/big.out" || die "the 256 MiB file came back different"
echo "MEASURE put 256 MiB incompressible: $(python3 -c "print('%.0f MB/s (%.2f s)' % (268435456/(($t1-$t0)/1e9)/1e6, ($t1-$t0)/1e9))")"
echo "MEASURE get 256 MiB incompressible (hashes checked): $(python3 -c "print('%.0f MB/s (%.2f s)' % (268435456/(($t2-$t1)/1e9)/1e6, ($t2-$t1)/1e9))")"
ok "256 MiB round trip is identical"
