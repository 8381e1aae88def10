#!/usr/bin/env bash
# Runs every libFuzzer target of a PATUH_LIBFUZZER build for a bounded
# time each, on a fresh copy of its seeds (tests/fuzz/corpus/<name> plus
# the real reference files and the scenarios' ones) with its dictionary
# (tests/fuzz/<name>.dict: the format's keys and words), and prints one line
# per fuzzer with its executions.  Exits non-zero when one fails (a crash,
# a leak, a sanitizer report or a broken property); the input that did it
# is kept in BUILD_DIR/fuzz-crashes/.
#   tests/fuzz/run_fuzzers.sh BUILD_DIR [SECONDS] [FUZZER...]
set -uo pipefail
build=$1
secs=${2:-20}
shift $(($# < 2 ? $# : 2))
src=$(cd "$(dirname "$0")/../.." && pwd)
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(decode policy roster calendar config)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/patuh-fuzz.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
crashes=$build/fuzz-crashes
status=0

seeds() { # seeds NAME DIR: the starting corpus of fuzzer NAME into DIR
	local name=$1 dir=$2 s
	mkdir -p "$dir"
	cp "$src/tests/fuzz/corpus/$name"/* "$dir"/ 2>/dev/null || true
	case $name in
	decode) # one line a file, the first lines of every scenario
		for s in "$src"/tests/scenarios/*/events.jsonl; do
			head -n 8 "$s" | split -l 1 - "$dir/$(basename "$(dirname "$s")")-"
		done ;;
	policy)
		cp "$src"/rules/*.json "$dir"/
		for s in "$src"/tests/scenarios/*/policy.json; do
			cp "$s" "$dir/$(basename "$(dirname "$s")").json"
		done ;;
	roster | calendar)
		local f=roster.jsonl
		[ "$name" = calendar ] && f=calendar.json
		cp "$src/deploy/sample/$f" "$dir/sample-$f"
		for s in "$src"/tests/scenarios/*/"$f"; do
			cp "$s" "$dir/$(basename "$(dirname "$s")")-$f"
		done ;;
	config) cp "$src/deploy/patuhd.conf.sample" "$dir"/ ;;
	esac
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
for name in "${names[@]}"; do
	bin=$build/tests/fuzz/fuzz_$name
	if [ ! -x "$bin" ]; then
		echo "fuzz_$name: FAILED (no binary $bin)"
		status=1
		continue
	fi
	seeds "$name" "$tmp/$name"
	# the largest input worth trying: a config file or a record is small
	case $name in
	config | decode) max_len=8192 ;;
	*) max_len=65536 ;;
	esac
	mkdir -p "$tmp/$name-art"
	dict=()
	[ ! -f "$src/tests/fuzz/$name.dict" ] || dict=(-dict="$src/tests/fuzz/$name.dict")
	"$bin" "${dict[@]}" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-max_len=$max_len -print_final_stats=1 \
		-artifact_prefix="$tmp/$name-art/" "$tmp/$name" \
		>"$tmp/$name.log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$tmp/$name.log" | tail -n 1)
	if [ "$rc" -eq 0 ]; then
		echo "fuzz_$name: ok, ${runs:-?} executions in ${secs} s, corpus $(ls "$tmp/$name" | wc -l) inputs"
	else
		status=1
		mkdir -p "$crashes"
		cp "$tmp/$name-art"/* "$crashes"/ 2>/dev/null || true
		echo "fuzz_$name: FAILED (exit $rc after ${runs:-?} executions); inputs in $crashes:"
		ls "$tmp/$name-art" | sed 's/^/  /'
		grep -v '^#\|^INFO\|^\s*$' "$tmp/$name.log" | head -n 40
	fi
done
exit "$status"
