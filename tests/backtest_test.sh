#!/bin/bash
# `patuh backtest` against the commands it stands for: on scenario
# 28-reports-month (the 6 % monthly cap binds there), each policy's per-unit
# figures must equal `patuh replay` + `patuh payroll --month M --violations`
# summed per unit over the months, diff = B - A, the city line = the sum of
# the units; raising the cap must change the deduction, a copy of A must
# change nothing, --month must restrict, bad arguments exit 2, and the
# temporary directories of the runs must be gone afterwards.
set -u
PATUH=$1
SRC=$2
S=$SRC/tests/scenarios/28-reports-month
T=$(mktemp -d /tmp/patuh-backtest-test-XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/tmp"
export TMPDIR=$T/tmp # where backtest makes (and must remove) its run dirs
fails=0
fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

A=$S/policy.json
# B: the cap raised from 6 to 100 and TL1 from 0.5 to 1 (a draft Perwali)
sed -e 's/"tpp_monthly_cap_percent": 6,/"tpp_monthly_cap_percent": 100,/' \
	-e 's/"TL1": 0.5,/"TL1": 1,/' \
	-e 's/"policy_id": "balikpapan-se737-2026-cap"/"policy_id": "draft-perwali"/' \
	"$A" >"$T/b.json"
# C: a 10-minute grace for lateness (TL1 from 11): fewer violations
sed -e 's/{"band": "TL1", "from": 1, "to": 30}/{"band": "TL1", "from": 11, "to": 30}/' \
	"$A" >"$T/c.json"
cp "$A" "$T/a-copy.json"
grep -q '"tpp_monthly_cap_percent": 100,' "$T/b.json" || fail "B: cap not raised"
grep -q '"TL1": 1,' "$T/b.json" || fail "B: TL1 not changed"
grep -q '"from": 11, "to": 30' "$T/c.json" || fail "C: TL1 grace not set"

common=(--roster "$S/roster.jsonl" --calendar "$S/calendar.json"
	--events "$S/events.jsonl")

# backtest NAME POLICY_B [ARGS...]: A against POLICY_B, jsonl to $T/NAME.jsonl
backtest() {
	name=$1 pb=$2
	shift 2
	"$PATUH" backtest --policy "$A" --policy "$pb" "${common[@]}" \
		--format jsonl "$@" >"$T/$name.jsonl" 2>"$T/$name.err"
	rc=$?
	[ "$rc" -eq 0 ] || { fail "backtest $name: exit $rc"; cat "$T/$name.err"; }
	# stderr: the two runs' replay summaries, nothing else
	if [ "$(grep -c '^patuh backtest: [AB] .*records, .*violations' "$T/$name.err")" -ne 2 ] ||
		[ "$(wc -l <"$T/$name.err")" -ne 2 ]; then
		fail "backtest $name: stderr is not the two summaries"
		cat "$T/$name.err"
	fi
	if [ -n "$(ls -A "$TMPDIR")" ]; then
		fail "backtest $name: left $(ls "$TMPDIR") in TMPDIR"
		rm -rf "${TMPDIR:?}"/*
	fi
}

# payroll NAME POLICY [MONTH]: the independent figures: patuh replay, then
# patuh payroll for MONTH or for every month with an active violation,
# all rows into $T/pay-NAME.jsonl
payroll() {
	name=$1 pol=$2 month=${3:-}
	"$PATUH" replay --policy "$pol" "${common[@]}" --out "$T/r-$name" 2>/dev/null ||
		fail "replay $name"
	if [ -n "$month" ]; then
		months=$month
	else
		months=$(python3 -c '
import json, sys
print(" ".join(sorted({json.loads(l)["date"][:7] for l in open(sys.argv[1])
                       if json.loads(l)["status"] == "active"})))' \
			"$T/r-$name/violations.jsonl")
	fi
	: >"$T/pay-$name.jsonl"
	for m in $months; do
		"$PATUH" payroll --month "$m" --violations "$T/r-$name/violations.jsonl" \
			--roster "$S/roster.jsonl" --policy "$pol" --format jsonl \
			>>"$T/pay-$name.jsonl" 2>/dev/null || fail "payroll $name $m"
	done
	echo "$name: months $months"
}

# check NAME PAY_A PAY_B EXPECT: the backtest jsonl against the payroll sums;
# EXPECT is "deduction-differs", "same" or "violations-differ"
check() {
	python3 - "$T/$1.jsonl" "$T/pay-$2.jsonl" "$T/pay-$3.jsonl" \
		"$S/roster.jsonl" "$4" <<'EOF' || fails=$((fails + 1))
import json, sys
bt_path, pa_path, pb_path, roster_path, expect = sys.argv[1:]
bad = []

def sums(path):
    """Per unit: violations, distinct violators, deduction, from payroll rows."""
    units, seen = {}, set()
    for line in open(path):
        r = json.loads(line)
        u = units.setdefault(r["unit_id"], {"violations": 0, "violators": 0,
                                            "deduction": 0})
        nv = sum(r["violations"].values())
        u["violations"] += nv
        u["deduction"] += r["deduction"]
        if nv > 0 and r["employee_id"] not in seen:
            seen.add(r["employee_id"])
            u["violators"] += 1
    return units

zero = {"violations": 0, "violators": 0, "deduction": 0}
roster_units = {json.loads(l)["unit_id"]: json.loads(l)["unit_name"]
                for l in open(roster_path)}
exp = {"a": sums(pa_path), "b": sums(pb_path)}
lines = [json.loads(l) for l in open(bt_path)]
if not lines:
    sys.exit("FAIL: no backtest output")
city, units = lines[-1], lines[:-1]
if city["unit_id"] is not None:
    bad.append("last line is not the city total (unit_id null)")
ids = [u["unit_id"] for u in units]
if ids != sorted(roster_units):
    bad.append("units %s are not the roster's, sorted" % ids)
total = {s: dict(zero) for s in ("a", "b", "diff")}
for u in units:
    uid = u["unit_id"]
    if u["unit_name"] != roster_units.get(uid):
        bad.append("%s: unit_name %r" % (uid, u["unit_name"]))
    for side in ("a", "b"):                       # (a), (b)
        want = exp[side].get(uid, zero)
        if u[side] != want:
            bad.append("%s %s: %s, payroll says %s" % (uid, side, u[side], want))
    for k in zero:                                # (c)
        if u["diff"][k] != u["b"][k] - u["a"][k]:
            bad.append("%s diff.%s != b - a" % (uid, k))
        for s in total:
            total[s][k] += u[s][k]
for s in total:                                   # (d)
    if city[s] != total[s]:
        bad.append("city %s %s != sum of units %s" % (s, city[s], total[s]))
for side in ("a", "b"):
    if sum(v["violations"] for v in exp[side].values()) == 0:
        bad.append("%s: no violations at all: the check proves nothing" % side)
diffs = [u["diff"] for u in lines]
if expect == "same":                              # (e) B a copy of A
    if any(d != zero for d in diffs) or any(u["a"] != u["b"] for u in lines):
        bad.append("B is a copy of A, yet some figures differ")
elif expect == "deduction-differs":               # (e) the cap raised
    if city["diff"]["deduction"] <= 0:
        bad.append("raising the cap did not raise the city's deduction")
    if any(d["violations"] or d["violators"] for d in diffs):
        bad.append("only percentages changed, yet counts differ")
elif expect == "violations-differ":
    if city["diff"]["violations"] >= 0:
        bad.append("a grace for lateness did not lower the violations")
for b in bad:
    print("FAIL:", b)
if not bad:
    print("ok: %s: %d units, city a=%s b=%s diff=%s" % (
        bt_path.rsplit("/", 1)[-1], len(units), city["a"], city["b"],
        city["diff"]))
sys.exit(1 if bad else 0)
EOF
}

payroll a "$A"
payroll b "$T/b.json"
payroll c "$T/c.json"
payroll a-04 "$A" 2026-04
payroll b-04 "$T/b.json" 2026-04

# the scenario must be one where the 6 % cap binds, or (e) proves nothing
python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
sys.exit(0 if any(r["percent"] > r["percent_capped"] for r in rows) else 1)' \
	"$T/pay-a.jsonl" || fail "the cap does not bind under A in 28-reports-month"

backtest ab "$T/b.json"
check ab a b deduction-differs
backtest same "$T/a-copy.json"
check same a a same
backtest ac "$T/c.json"
check ac a c violations-differ
backtest ab-04 "$T/b.json" --month 2026-04
check ab-04 a-04 b-04 deduction-differs
# April alone is less than both months together
python3 -c '
import json, sys
all_, apr = (json.loads(open(p).read().splitlines()[-1]) for p in sys.argv[1:])
sys.exit(0 if apr["a"]["deduction"] < all_["a"]["deduction"] else 1)' \
	"$T/ab.jsonl" "$T/ab-04.jsonl" || fail "--month 2026-04 did not restrict"

# csv: the same figures, RFC 4180 lines; table: in Bahasa Indonesia
"$PATUH" backtest --policy "$A" --policy "$T/b.json" "${common[@]}" \
	--format csv >"$T/ab.csv" 2>/dev/null || fail "csv: exit $?"
python3 - "$T/ab.csv" "$T/ab.jsonl" <<'EOF' || fails=$((fails + 1))
import csv, io, json, sys
raw = open(sys.argv[1], newline="").read()
lines = [json.loads(l) for l in open(sys.argv[2])]
rows = list(csv.reader(io.StringIO(raw, newline="")))
bad = []
if not raw.endswith("\r\n") or raw.count("\r\n") != len(lines) + 1:
    bad.append("lines are not CRLF-terminated, one per row")
if rows[0] != ["unit_id", "unit_name", "violations_a", "violators_a",
               "deduction_a", "violations_b", "violators_b", "deduction_b",
               "violations_diff", "violators_diff", "deduction_diff"]:
    bad.append("header %s" % rows[0])
for row, j in zip(rows[1:], lines):
    want = [j["unit_id"] or "", j["unit_name"] or "Jumlah seluruh unit"] + [
        str(j[s][k]) for s in ("a", "b", "diff")
        for k in ("violations", "violators", "deduction")]
    if row != want:
        bad.append("csv %s != jsonl %s" % (row, want))
for b in bad:
    print("FAIL:", b)
print("ok: csv" if not bad else "")
sys.exit(1 if bad else 0)
EOF
"$PATUH" backtest --policy "$A" --policy "$T/b.json" "${common[@]}" \
	>"$T/ab.txt" 2>/dev/null || fail "table: exit $?"
for want in "Kebijakan A: balikpapan-se737-2026-cap/1" "Kebijakan B: draft-perwali/1" \
	"Pelanggaran A" "Pelanggar B" "Potongan A (Rp)" "Selisih potongan (Rp)" \
	"Badan Penanggulangan Bencana Daerah" "JUMLAH"; do
	grep -qF -- "$want" "$T/ab.txt" || fail "table lacks '$want'"
done
city_b=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])["b"]["deduction"])' "$T/ab.jsonl")
city_b_dots=$(printf "%s" "$city_b" | sed ':a;s/\B[0-9]\{3\}\>/.&/;ta')
grep -q "^JUMLAH .* $city_b_dots " "$T/ab.txt" || fail "table: city B deduction is not $city_b_dots"
echo "ok: table ($(wc -l <"$T/ab.txt") lines)"

# expect CODE PATTERN -- command...: exit status, a message, and no stdout
# on an error
expect() {
	code=$1 pattern=$2
	shift 3
	"$@" >"$T/out" 2>"$T/err"
	got=$?
	if [ "$got" -ne "$code" ]; then
		fail "exit $got, expected $code: $*"
		cat "$T/err"
	elif ! grep -qF -- "$pattern" "$T/err" "$T/out"; then
		fail "output lacks '$pattern': $*"
		cat "$T/err"
	elif [ -s "$T/out" ] && [ "$code" -ne 0 ]; then
		fail "stdout not empty on error: $*"
	else
		echo "ok: exit $got, '$pattern'"
	fi
}
B=$T/b.json
expect 2 "--month must be YYYY-MM, not '2026-4'" -- \
	"$PATUH" backtest --policy "$A" --policy "$B" "${common[@]}" --month 2026-4
expect 2 "--month must be YYYY-MM, not '2026-13'" -- \
	"$PATUH" backtest --policy "$A" --policy "$B" "${common[@]}" --month 2026-13
expect 2 "--policy is given exactly twice" -- \
	"$PATUH" backtest --policy "$A" --policy "$B" --policy "$A" "${common[@]}"
expect 2 "--policy is needed twice" -- \
	"$PATUH" backtest --policy "$A" "${common[@]}"
expect 2 "missing --roster" -- \
	"$PATUH" backtest --policy "$A" --policy "$B" --calendar "$S/calendar.json" \
	--events "$S/events.jsonl"
expect 2 "missing --events" -- \
	"$PATUH" backtest --policy "$A" --policy "$B" --roster "$S/roster.jsonl" \
	--calendar "$S/calendar.json"
expect 2 "--format must be table, jsonl or csv" -- \
	"$PATUH" backtest --policy "$A" --policy "$B" "${common[@]}" --format html
expect 2 "unknown option --out" -- \
	"$PATUH" backtest --policy "$A" --policy "$B" "${common[@]}" --out x
sed 's/"callback_minutes": 30,//' "$A" >"$T/bad.json"
expect 2 "bad.json: callback_minutes: missing" -- \
	"$PATUH" backtest --policy "$A" --policy "$T/bad.json" "${common[@]}"
echo '{"holidays": [{"date": "2026-13-01"}]}' >"$T/cal.json"
expect 2 "cal.json" -- \
	"$PATUH" backtest --policy "$A" --policy "$B" --roster "$S/roster.jsonl" \
	--calendar "$T/cal.json" --events "$S/events.jsonl"
expect 0 "--policy A --policy B" -- "$PATUH" backtest --help
# I/O errors exit 1: standard output full, no room for the run directories
if [ -w /dev/full ]; then
	"$PATUH" backtest --policy "$A" --policy "$B" "${common[@]}" \
		>/dev/full 2>"$T/err"
	rc=$?
	if [ "$rc" -eq 1 ] && grep -q "write error" "$T/err"; then
		echo "ok: exit 1 on a full standard output"
	else
		fail "stdout to /dev/full: exit $rc"
		cat "$T/err"
	fi
fi
expect 1 "cannot create a temporary directory in $T/none" -- \
	env TMPDIR="$T/none" "$PATUH" backtest --policy "$A" --policy "$B" "${common[@]}"
[ -z "$(ls -A "$TMPDIR")" ] || fail "a refused run left $(ls "$TMPDIR") in TMPDIR"

if [ "$fails" -ne 0 ]; then
	echo "$fails failure(s)"
	exit 1
fi
echo "all backtest checks passed"
