#!/usr/bin/env bash
# The admin language as the anchor's administrators type it: commands,
# objects, parameters and keyword values abbreviated to the capitals of the
# command table (q se, Q SE B F=D, UPD SE B SESSIONSEC=TRANS); shorter or
# ambiguous ones, unknown, duplicated and missing parameters refused with
# exit status 2 and the reason; * and ? in QUERY/PING SERVER (one result per
# server); --json after the command; RPL0005E for commands to come; several
# commands on standard input end with the worst status; and the output
# options for scripts (--dataonly, --comma, --tab, --outfile and the
# anchor's -dataonly=yes, -comma, -tab, -outfile=F).
source "$(dirname "$0")/lib.sh"

PA=$(port); PB=$(port); PX=$(port)
init_peer A "$PA"; init_peer B "$PB"
start_peer A; start_peer B
define_pair A B
adm A "DEFINE SERVER BX HLADDRESS=127.0.0.1 LLADDRESS=$PX SERVERPASSWORD=pw-BX-secret" >/dev/null || die "define BX"
a() { "$RP" admin -d "$W/A" "$@"; }

# --- abbreviations -----------------------------------------------------------
out=$(a q server); rc=$?
expect_eq "$rc" 0 "q server is QUERY SERVER (the command abbreviated, in lower case)"
expect_contains "$out" "^B +127\.0\.0\.1 +$PB" "q server lists B"
out=$(a q se); rc=$?
expect_eq "$rc" 0 "q se is QUERY SERVER"
expect_contains "$out" "^B +127\.0\.0\.1 +$PB" "q se lists B in a table"
out=$(a Q SE B F=D); rc=$?
expect_eq "$rc" 0 "Q SE B F=D is QUERY SERVER B FORMAT=DETAILED"
expect_contains "$out" "Pins:" "F=D gives the detailed form"
a UPD SE B SESSIONSEC=TRANS DESC=abbreviated >/dev/null || die "UPD SE B SESSIONSEC=TRANS DESC=abbreviated"
expect_eq "$(srv_field A B 's["sessionsecurity"] + " " + s["description"]')" "TRANSITIONAL abbreviated" \
	"UPD SE B SESSIONSEC=TRANS DESC=... abbreviates parameters and keyword values"
out=$(a PING SE B --json); rc=$?
expect_eq "$rc" 0 "PING SE B"
expect_eq "$(jget 'j["server"]' <<<"$out")" "B" "PING SE B pings B"

# --- syntax errors: exit 2, the reason named ---------------------------------
fails_adm() { # STATUS ID WHAT COMMAND...
	local want=$1 id=$2 what=$3
	shift 3
	run "$RP" admin -d "$W/A" "$@"
	local rc=$?
	[ "$rc" -eq "$want" ] || die "$what: exit $rc, want $want: $(cat "$W/err")"
	grep -qE -- "$id" "$W/err" || die "$what: stderr lacks $id: $(cat "$W/err")"
	ok "$what"
}
fails_adm 2 "RPL1101E.*SERVER \(SE\).*SESSION \(SES\)" "Q S is ambiguous, exit 2, the candidates named" Q S
fails_adm 2 "RPL1101E.*HALT" "HA is not HALT (no abbreviation)" HA
no_crash A
fails_adm 2 "RPL0501E" "an unknown command exits 2" FROBNICATE SERVER
fails_adm 2 "RPL1104E.*FORMAT" "an unknown parameter exits 2 naming the ones it takes" QUERY SERVER B X=1
fails_adm 2 "RPL0502E.*STANDARD.*DETAILED" "an invalid keyword value exits 2" QUERY SERVER B FORMAT=WIDE
fails_adm 2 "RPL1102E missing parameter: server name" "PING SERVER without a name: missing parameter: server name" PING SERVER
fails_adm 2 "RPL1103E.*LLADDRESS" "a duplicated parameter is refused" UPDATE SERVER B LLADDRESS=1501 LLADDRESS=1502
expect_eq "$(srv_field A B 's["lladdress"]')" "$PB" "and changes nothing"
out=$(a --json PING SERVER); rc=$?
expect_eq "$rc" 2 "with --json too"
expect_eq "$(jget 'j["message_id"]' <<<"$out")" "RPL1102E" "the JSON failure names RPL1102E"
# A command of the table without a handler yet (the first one: its
# keywords in full, required values filled in), when there still is one.
tocome=$(python3 - "$(dirname "$0")/../../sync/commands.def" <<'PY'
import re, sys
for m in re.finditer(r'CMD\("([^"]*)",\s*NULL,', open(sys.argv[1]).read()):
    words, keywords = [], True
    for w in m.group(1).split():
        if keywords and w[:1].isupper() and "=" not in w and "|" not in w:
            words.append(w.upper()); continue
        keywords = False
        if w.startswith("["): continue
        key, eq, val = w.rpartition("=") if "=" in w else ("", "", w)
        val = val.split("|")[0].upper() if "|" in val else "x"
        words.append(key.upper() + eq + val)
    print(" ".join(words)); break
PY
)
if [ -n "$tocome" ]; then
	name=$(awk '{print $1, $2}' <<<"$tocome")
	# shellcheck disable=SC2086 # the command's words
	fails_adm 1 "RPL0005E.*$name" "a command to come ($tocome) answers RPL0005E naming it, exit 1" $tocome
else
	ok "every command of the table has a handler: no RPL0005E to check"
fi
fails_adm 1 "RPL0406E" "an operational failure exits 1" QUERY SERVER NOSUCH

# --- --json after the command ------------------------------------------------
out=$(a QUERY SERVER --json); rc=$?
expect_eq "$rc" 0 "QUERY SERVER --json: --json is an option, not a server name"
expect_eq "$(jget '[s["name"] for s in j]' <<<"$out")" '["B", "BX"]' "and lists every server as JSON"

# --- wildcards -----------------------------------------------------------------
expect_eq "$(a --json QUERY SERVER 'b*' | jget '[s["name"] for s in j]')" '["B", "BX"]' "QUERY SERVER b* matches B and BX"
expect_eq "$(a --json QUERY SERVER 'B?' | jget '[s["name"] for s in j]')" '["BX"]' "QUERY SERVER B? matches BX"
expect_eq "$(a --json QUERY SERVER 'Z*')" "[]" "a pattern without a match is an empty list"
out=$(a --json PING SERVER 'B*'); rc=$?
expect_eq "$rc" 1 "PING SERVER B* with BX down exits 1"
expect_eq "$(jget '[(r["server"], r["ok"]) for r in j]' <<<"$out")" '[["B", true], ["BX", false]]' \
	"PING SERVER B* reports each server"
expect_eq "$(jget 'j[1]["message_id"]' <<<"$out")" "RPL0411E" "BX's failure has its message ID"
out=$(a PING SERVER 'B*' 2>&1)
expect_contains "$out" "^B +Yes" "PING of several servers prints one line each (B)"
expect_contains "$out" "^BX +No" "PING of several servers prints one line each (BX)"
fails_adm 1 "RPL0406E" "PING of a pattern without a match fails" PING SERVER 'Z*'

# --- several commands: the worst status wins ----------------------------------
printf 'QUERY SERVER NOSUCH\nQUERY SERVER B\n' | a >/dev/null 2>&1
expect_eq "$?" 1 "piped: a failure before a success still exits 1"
printf 'FROBNICATE\nQUERY SERVER NOSUCH\nq se b\n' | a >/dev/null 2>&1
expect_eq "$?" 2 "piped: a syntax error anywhere exits 2"
printf 'q se b\nQUIT\nFROBNICATE\n' | a >/dev/null 2>&1
expect_eq "$?" 0 "piped: QUIT ends the input"

# --- output options -------------------------------------------------------------
out=$(a --dataonly Q SE B)
expect_not_contains "$out" "Name|----" "--dataonly leaves out the heading"
expect_contains "$out" "^B +127\.0\.0\.1" "and keeps the rows"
out=$(a -dataonly=yes Q SE B)
expect_not_contains "$out" "Name|----" "-dataonly=yes as in the anchor"
out=$(a --comma Q SE)
expect_eq "$(sed -n 1p <<<"$out")" "Name,High-level Address,Low-level Address,Session Security,Last TLS Version,Last Contact" \
	"--comma: a heading line of labels"
expect_contains "$(sed -n 2p <<<"$out")" "^B,127\.0\.0\.1,$PB,[A-Z]+,TLSv1\.3,[-0-9T:]+Z$" "--comma: one line per row"
expect_eq "$(a -comma -dataonly=yes Q SE | wc -l)" 2 "-comma -dataonly=yes: rows only"
out=$(a -tab Q SE B)
expect_contains "$(sed -n 2p <<<"$out")" "^B	127\.0\.0\.1	$PB	" "-tab: tab-separated"
a "UPDATE SERVER BX DESCRIPTION='say \"hi\", ok'" >/dev/null || die "UPDATE SERVER BX DESCRIPTION"
out=$(a --comma Q SE BX F=D)
expect_contains "$out" ',"say ""hi"", ok",' "--comma quotes a field with a comma or a quote as RFC 4180 does"
out=$(a --comma --json Q SE B)
expect_eq "$(jget 'j[0]["name"]' <<<"$out")" "B" "--json wins over --comma"
out=$(a --outfile "$W/out.txt" Q SE B)
expect_eq "$out" "" "--outfile: nothing on the terminal"
expect_contains "$(cat "$W/out.txt")" "^B +127\.0\.0\.1" "--outfile F holds the reply"
a -outfile="$W/out2.txt" -comma Q SE B >/dev/null
expect_contains "$(cat "$W/out2.txt")" "^B,127\.0\.0\.1" "-outfile=F -comma as in the anchor"
