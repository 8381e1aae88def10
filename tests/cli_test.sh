#!/bin/sh
# The `patuh replay` command-line contract (SPEC §6, issue acceptance):
# exit 0 on success even with bad records (they go to dlq.jsonl), exit 2
# with a message naming the file and the field for a refused policy,
# roster or calendar, and for bad arguments.
set -u
PATUH=$1
SRC=$2
SCEN=$SRC/tests/scenarios/14-bad-input
T=$(mktemp -d /tmp/patuh-cli-XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0

# expect CODE PATTERN -- command...: exit status and a stderr pattern.
expect() {
	code=$1 pattern=$2
	shift 3
	"$@" >"$T/out" 2>"$T/err"
	got=$?
	if [ "$got" -ne "$code" ]; then
		echo "FAIL: exit $got, expected $code: $*"; cat "$T/err"
		fails=$((fails + 1))
	elif [ -n "$pattern" ] && ! grep -qF -- "$pattern" "$T/err" "$T/out"; then
		echo "FAIL: output lacks '$pattern': $*"; cat "$T/err"
		fails=$((fails + 1))
	else
		echo "ok: exit $got${pattern:+, '$pattern'}"
	fi
}

replay() { # replay POLICY ROSTER CALENDAR
	"$PATUH" replay --policy "$1" --roster "$2" --calendar "$3" \
		--events "$SCEN/events.jsonl" --out "$T/o"
}

expect 0 "patuh replay" -- "$PATUH" --help
expect 0 "--events" -- "$PATUH" replay --help
expect 2 "missing --out" -- "$PATUH" replay --policy a --roster b --calendar c --events d
expect 2 "unknown option" -- "$PATUH" replay --nonsense x
expect 2 "unknown command" -- "$PATUH" frobnicate

# Bad records are dead letters, not failures.
expect 0 "dead-lettered" -- replay "$SCEN/policy.json" "$SCEN/roster.jsonl" "$SCEN/calendar.json"
n=$(grep -c '"reason":' "$T/o/dlq.jsonl")
if [ "$n" -ne 20 ]; then echo "FAIL: $n dead letters, expected 20"; fails=$((fails + 1)); fi

# A refused policy names the file and the field.
sed 's/"from": 61/"from": "61"/' "$SRC/rules/balikpapan-se737-2026.json" >"$T/p1.json"
expect 2 "p1.json: late_bands[2].from: expected an integer" -- replay "$T/p1.json" "$SCEN/roster.jsonl" "$SCEN/calendar.json"
sed 's/"fri": \["07:30", "16:30"\]/"fri": ["16:30", "07:30"]/' "$SRC/rules/balikpapan-se737-2026.json" >"$T/p2.json"
expect 2 "p2.json: hours.fri: end must be after start" -- replay "$T/p2.json" "$SCEN/roster.jsonl" "$SCEN/calendar.json"
sed 's/"callback_minutes": 30,//' "$SRC/rules/balikpapan-se737-2026.json" >"$T/p3.json"
expect 2 "p3.json: callback_minutes: missing" -- replay "$T/p3.json" "$SCEN/roster.jsonl" "$SCEN/calendar.json"
echo '{"policy_id": ' >"$T/p4.json"
expect 2 "p4.json: not valid JSON" -- replay "$T/p4.json" "$SCEN/roster.jsonl" "$SCEN/calendar.json"
expect 2 "nope.json: cannot read" -- replay "$T/nope.json" "$SCEN/roster.jsonl" "$SCEN/calendar.json"

# A refused roster names the file, the line and the field.
sed '3s/"pengawas"/"menteri"/' "$SCEN/roster.jsonl" >"$T/r1.jsonl"
expect 2 "r1.jsonl line 3: position_class" -- replay "$SCEN/policy.json" "$T/r1.jsonl" "$SCEN/calendar.json"
(cat "$SCEN/roster.jsonl"; head -n 1 "$SCEN/roster.jsonl") >"$T/r2.jsonl"
expect 2 "employee_id: repeated employee_id" -- replay "$SCEN/policy.json" "$T/r2.jsonl" "$SCEN/calendar.json"

# A refused calendar names the file and the field.
echo '{"holidays":[{"date":"2026-02-30","name":"x"}]}' >"$T/c1.json"
expect 2 "c1.json: holidays[0].date: expected a date" -- replay "$SCEN/policy.json" "$SCEN/roster.jsonl" "$T/c1.json"
echo '{"hours_overrides":[{"from":"2026-02-18","to":"2026-03-19","hours":{"fri":["08:00","15:30"]}},{"from":"2026-03-19","to":"2026-03-20","hours":{"mon":["08:00","15:00"]}}]}' >"$T/c2.json"
expect 2 "c2.json: hours_overrides: entries" -- replay "$SCEN/policy.json" "$SCEN/roster.jsonl" "$T/c2.json"

echo "$fails failed"
[ "$fails" -eq 0 ]
