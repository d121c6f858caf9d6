#!/usr/bin/env bash
# Replication acceptance (1, 2 and QUERY REPLNODE): 200 files of mixed sizes
# (0 B to 8 MiB, at most 64 MiB, duplicates, one file shifted by one byte)
# put on A go to B with 'REPLICATE NODE n WAIT=YES' (SSL=NO: chunk bytes on
# the bulk channel); every file read back from B with 'store get' is
# byte-identical (sha256sum) with the same mode and mtime; QUERY REPLICATION
# shows fewer bytes transferred than logical bytes (dedup). A second run
# with no change transfers under 1% of the data; after changing one file,
# adding one and deleting one, only the new chunks move (a few MiB, not the
# set) and the deleted object disappears from B. QUERY REPLNODE shows equal
# counts; db verify --deep is clean on both; the replica is read-only.
source "$(dirname "$0")/lib.sh"

paired_ab
adm A REGISTER NODE n >/dev/null || die "REGISTER NODE n"
mkdir -p "$W/data"
python3 "$(dirname "$0")/tools/mixedset.py" "$W/data" >"$W/manifest" || die "generating the set"
total=$(find "$W/data" -type f -printf "%s\n" | awk '{s+=$1} END {print s}')
[ "$total" -le $((64 << 20)) ] || die "the mixed set has $total bytes"
ok "mixed set: $(wc -l <"$W/manifest") files, $total bytes"
cd "$W" || die cd
succeeds "store put on A" "$RP" store -d "$W/A" put n data

# ---- the first run ----------------------------------------------------
t0=$(date +%s%N)
out=$(adm A REPLICATE NODE n TARGET=B WAIT=YES) || die "REPLICATE NODE n: $out"
t1=$(date +%s%N)
expect_eq "$(jget 'j["state"] + " " + str(j["objects_replicated"]) + " " + str(j["bytes_replicated"])' <<<"$out")" \
	"completed 200 $total" "the first run sends 200 objects and their logical bytes"
first_wire=$(jget 'j["bytes_transferred"]' <<<"$out")
echo "MEASURE first run: $total logical bytes, $first_wire bytes transferred, $(python3 -c "print('%.2f s, %.0f MB/s' % (($t1-$t0)/1e9, $total/(($t1-$t0)/1e9)/1e6))")"
q=$(adm A QUERY REPLICATION n)
expect_eq "$(jget 'j[0]["node"] + " " + j[0]["target"] + " " + j[0]["state"]' <<<"$q")" "n B completed" \
	"QUERY REPLICATION shows the run completed"
[ "$(jget 'j[0]["bytes_transferred"]' <<<"$q")" -lt "$(jget 'j[0]["bytes_replicated"]' <<<"$q")" ] ||
	die "bytes transferred not below the logical bytes: $q"
ok "QUERY REPLICATION: bytes_transferred $(jget 'j[0]["bytes_transferred"]' <<<"$q") < bytes_replicated $(jget 'j[0]["bytes_replicated"]' <<<"$q") (deduplicated)"
[ "$(jget 'j[0]["last_success"] is not None' <<<"$q")" == "true" ] || die "no last_success"
expect_eq "$(adm B QUERY NODE n | jget 'j[0]["kind"] + " " + j[0]["source"]["server"] + " " + str(j[0]["objects"]) + " " + str(j[0]["bytes"])')" \
	"replica A 200 $total" "B holds a replica node of A with 200 objects"

# every file back from B: content (sha256), mode, mtime
n=0
while IFS= read -r name; do
	n=$((n + 1))
	run "$RP" store -d "$W/B" get n "data/$name" -o "$W/got.$n" || die "get data/$name from B: $(cat "$W/err")"
	[ "$(sha256sum <"$W/got.$n")" == "$(sha256sum <"data/$name")" ] || die "data/$name differs on B"
	[ "$(stat -c '%a %y' "$W/got.$n")" == "$(stat -c '%a %y' "data/$name")" ] ||
		die "data/$name: mode/mtime $(stat -c '%a %y' "$W/got.$n") on B, $(stat -c '%a %y' "data/$name") on A"
	rm -f "$W/got.$n"
done <"$W/manifest"
expect_eq "$n" 200 "all 200 files read back from B are byte-identical (sha256) with mode and mtime"

rq=$(adm A QUERY REPLNODE n TARGET=B)
expect_eq "$(jget 'str(j["source_objects"]) + " " + str(j["target_objects"]) + " " + str(j["equal"])' <<<"$rq")" \
	"200 200 True" "QUERY REPLNODE shows equal counts and bytes on A and B"

# ---- a second run with no change -----------------------------------------
out=$(adm A REPLICATE NODE n TARGET=B WAIT=YES) || die "second run: $out"
wire=$(jget 'j["bytes_transferred"]' <<<"$out")
[ "$wire" -lt $((total / 100)) ] || die "the no-change run transferred $wire bytes"
ok "a run with no change transfers $wire bytes (< 1% of $total)"

# ---- one changed, one new, one deleted --------------------------------------
changed=$(sed -n 7p "$W/manifest")   # the 8 MiB file
deleted=$(sed -n 20p "$W/manifest")
printf 'appended' >>"data/$changed"
head -c 3000000 /dev/urandom >"data/new file.bin"
succeeds "put the changed and the new file" "$RP" store -d "$W/A" put n "data/$changed" "data/new file.bin"
succeeds "rm one object" "$RP" store -d "$W/A" rm n "data/$deleted"
out=$(adm A REPLICATE NODE n TARGET=B WAIT=YES) || die "incremental run: $out"

expect_eq "$(jget 'str(j["objects_replicated"]) + " " + str(j["objects_deleted"])' <<<"$out")" "2 1" \
	"the incremental run sends 2 objects and deletes 1"
sent=$(jget 'j["chunk_bytes_sent"]' <<<"$out")
[ "$sent" -gt 3000000 ] && [ "$sent" -lt $((3000000 + 2 * 524288 + 100000)) ] ||
	die "the incremental run sent $sent chunk bytes (want the new file and the changed file's last chunks)"
ok "only the new and changed chunks moved: $sent chunk bytes"
fails 1 RPL0806E "the deleted object is gone from B" "$RP" store -d "$W/B" get n "data/$deleted" -o "$W/x"
"$RP" store -d "$W/B" get n "data/$changed" -o - | cmp -s - "data/$changed" || die "the changed file differs on B"
"$RP" store -d "$W/B" get n "data/new file.bin" -o - | cmp -s - "data/new file.bin" || die "the new file differs on B"
ok "the changed and the new file are identical on B"
expect_eq "$(adm A QUERY REPLNODE n TARGET=B | jget 'str(j["target_objects"]) + " " + str(j["equal"])')" "200 True" \
	"QUERY REPLNODE equal after the incremental run"

# ---- the replica is read-only; db verify ------------------------------------
fails 1 RPL0802E "store put on the replica is refused" "$RP" store -d "$W/B" put n "data/new file.bin" --as x
fails 1 RPL0802E "store rm on the replica is refused" "$RP" store -d "$W/B" rm n "data/new file.bin"
succeeds "db verify --deep on A" "$RP" db -d "$W/A" verify --deep
succeeds "db verify --deep on B" "$RP" db -d "$W/B" --json verify --deep
expect_eq "$(jget 'str(j["faults"]) + " " + str(j["staged_records"])' <"$W/out")" "0 0" \
	"B is clean and holds no staging after completed runs"
expect_contains "$(actlog_lines A)" "RPL0831I replication of node n to server B completed" "A's activity log has the run"
expect_contains "$(actlog_lines B)" "RPL0852I replication of node n from server A received" "B's activity log has the run"
