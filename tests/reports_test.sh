#!/usr/bin/env bash
# Reports from replay (SPEC 4.4, 6), every public scenario, no servers:
#   - digests.jsonl equals expected/digests.jsonl;
#   - the digest rows replay published as it went (digest_revisions.jsonl,
#     what patuhd sends to patuh.digests) end in the same final rows;
#   - patuh payroll / patuh discipline over the replay's violations.jsonl
#     equal expected/payroll-YYYY-MM.jsonl and expected/discipline-YYYY.jsonl;
#   - the table and csv formats render every such report (exit 0).
# usage: reports_test.sh PATUH COMPARE_ROWS SOURCE_DIR
set -uo pipefail
PATUH=$1
CMP=$2
SRC=$3
T=$(mktemp -d /tmp/patuh-reports-XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
check() { # check WHAT EXPECTED GOT KEYS [compare_rows options]
	local what=$1 want=$2 got=$3 keys=$4
	shift 4
	if "$CMP" "$@" "$want" "$got" "$keys" >"$T/diff"; then
		echo "ok   $what"
	else
		echo "FAIL $what"
		head -n 20 "$T/diff"
		fails=$((fails + 1))
	fi
}
for dir in "$SRC"/tests/scenarios/*/; do
	name=$(basename "$dir")
	out=$T/$name
	args=(--roster "$dir/roster.jsonl" --policy "$dir/policy.json")
	if ! "$PATUH" replay --policy "$dir/policy.json" --roster "$dir/roster.jsonl" \
		--calendar "$dir/calendar.json" --events "$dir/events.jsonl" --out "$out" 2>"$T/err"; then
		echo "FAIL $name: replay"; cat "$T/err"; fails=$((fails + 1)); continue
	fi
	check "$name digests" "$dir/expected/digests.jsonl" "$out/digests.jsonl" date,unit_id
	check "$name digests as published" "$dir/expected/digests.jsonl" \
		"$out/digest_revisions.jsonl" date,unit_id --drop-zero expected
	for f in "$dir"/expected/payroll-*.jsonl; do
		[ -e "$f" ] || continue
		m=$(basename "$f" .jsonl); m=${m#payroll-}
		"$PATUH" payroll --month "$m" --violations "$out/violations.jsonl" "${args[@]}" \
			--format jsonl >"$out/payroll-$m.jsonl" 2>"$T/err" ||
			{ echo "FAIL $name payroll $m"; cat "$T/err"; fails=$((fails + 1)); continue; }
		check "$name payroll $m" "$f" "$out/payroll-$m.jsonl" employee_id
		for fmt in table csv; do
			"$PATUH" payroll --month "$m" --violations "$out/violations.jsonl" "${args[@]}" \
				--format $fmt >/dev/null 2>"$T/err" ||
				{ echo "FAIL $name payroll $m --format $fmt"; cat "$T/err"; fails=$((fails + 1)); }
		done
	done
	for f in "$dir"/expected/discipline-*.jsonl; do
		[ -e "$f" ] || continue
		y=$(basename "$f" .jsonl); y=${y#discipline-}
		"$PATUH" discipline --year "$y" --violations "$out/violations.jsonl" "${args[@]}" \
			--format jsonl >"$out/discipline-$y.jsonl" 2>"$T/err" ||
			{ echo "FAIL $name discipline $y"; cat "$T/err"; fails=$((fails + 1)); continue; }
		check "$name discipline $y" "$f" "$out/discipline-$y.jsonl" employee_id
	done
done
echo "reports_test: $fails failure(s)"
[ "$fails" -eq 0 ]
