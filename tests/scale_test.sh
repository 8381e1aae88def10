#!/usr/bin/env bash
# Several patuhd instances in one group (scale.mode = group,
# docs/scale-out.md), against the real stack:
#   one    one instance in group mode is the same program with every work
#          partition: every publication equals patuh replay's (the month
#          of scenario 28, with its bad records), and the reports; single
#          mode refuses to start on group mode's state, naming it
#   fromsingle  a single-mode patuhd killed mid-stream; two instances in
#          group mode take its state over (where a restart would have
#          gone on): every publication = replay exactly once
#   three  three instances on a generated input of thousands of records
#          per input partition: A and B start, C joins late, A is
#          SIGKILLed mid-stream (decisions still to be made; on a slow
#          machine the input may be read to its end by then), B takes
#          over and decides for A's work partitions, B leaves with
#          SIGTERM, C finishes alone.
#          Every publication in PostgreSQL equals patuh replay's on the
#          same input, exactly once — the violations with every revision
#          (so no decision made early: no false absent during a handover,
#          and none twice), TPP rows, dead letters with their reasons —
#          and the Kafka outputs hold each of replay's at least once.
#   caughtup  handovers between instances that had read everything (their
#          checkpoints' time is the wall clock): A and B read the first
#          half, A leaves, B takes over, the second half comes, C joins;
#          the final violations = replay's of the whole input, no
#          revision published with two contents
#   zombie two instances; A frozen (SIGSTOP) past its session while it
#          decides, B takes every work partition, A resumed: whatever A
#          still writes for them is fenced (work_owners, the Redis epochs),
#          A regroups; every publication = replay exactly once.
# Exits 77 (skipped) when no stack is configured.
set -uo pipefail
BIN=$1
SRC=$2
WHAT=${3:-all}
. "$SRC/tests/live_lib.sh" scale_test

# conf NAME ID DIR [LINES]: instance ID's configuration for the run NAME.
conf() {
	write_conf "$T/$1-$2.conf" "$1" "$3/policy.json" "$3/roster.jsonl" \
		"$3/calendar.json" "write.timeout_ms = 2000
scale.mode = group
scale.session_timeout_ms = 6000
instance.id = $2
${4:-}"
}

# topics NAME PARTITIONS: every topic of the run, work included.
topics() {
	"$BIN/patuh" topics create --prefix "t$RUN-$1." --partitions "$2" \
		--sandbox-control "$PATUH_SANDBOX_CONTROL" >"$T/$1.topics" 2>&1 ||
		{ echo "FAIL $1: patuh topics create"; cat "$T/$1.topics"; fails=$((fails + 1)); }
}

produce() { # produce NAME EVENTS
	"$BIN/patuh" produce --prefix "t$RUN-$1." --events "$2" 2>>"$T/$1.produce"
}

# count FILE PATTERN: lines matching so far.
count() { grep -c "$2" "$1" 2>/dev/null || true; }

# failed NAME INSTANCE...: counts a failed part and shows the end of each
# instance's log, trace lines left out
failed() {
	local name=$1 i
	shift
	for i in "$@"; do echo "== $i"; grep -v trace "$T/$name-$i.log" | tail -6; done
	fails=$((fails + 1))
}

# wait_count FILE PATTERN N SECONDS: until N lines match.
wait_count() { wait_until "$4" at_least "$1" "$2" "$3"; }
at_least() { [ "$(count "$1" "$2")" -ge "$3" ]; } # at_least FILE PATTERN N

# wait_deciding FILE SECONDS: until the instance decides for every work
# partition of its latest regroup (one "deciding" line after the
# "regrouped" line for each partition it lists).
wait_deciding() { wait_until "$2" deciding_all "$1"; }
deciding_all() {
	awk '/regrouped: work partitions \[/ {
		s = $0; sub(/.*work partitions \[/, "", s); sub(/\].*/, "", s)
		n = split(s, parts, ","); d = 0 }
	/work partition [0-9]+: deciding/ { d++ }
	END { exit !(n > 0 && d >= n) }' "$1" 2>/dev/null
}

# generate NAME RECORDS EMPLOYEES SEED: a generated input in $T/NAME-data
# (bench/gen_replay) and patuh replay's outputs of it in $T/NAME-replay;
# WANT: the number of revisions replay made.
generate() {
	mkdir -p "$T/$1-data"
	"$BIN/bench/gen_replay" --records "$2" --employees "$3" --seed "$4" \
		--out "$T/$1-data" 2>/dev/null
	"$BIN/patuh" replay --policy "$T/$1-data/policy.json" \
		--roster "$T/$1-data/roster.jsonl" --calendar "$T/$1-data/calendar.json" \
		--events "$T/$1-data/events.jsonl" --out "$T/$1-replay" >/dev/null 2>&1
	WANT=$(wc -l <"$T/$1-replay/revisions.jsonl")
}

# start NAME ID: instance ID of the run NAME in the background (its log
# $T/NAME-ID.log, with the batch trace); PID: its process.
start() {
	PATUH_TRACE=1 "$BIN/patuhd" --config "$T/$1-$2.conf" 2>"$T/$1-$2.log" &
	PID=$!
	BG_PIDS+=("$PID")
}

one() {
	local name=one dir=$SRC/tests/scenarios/28-reports-month
	reset_state
	topics "$name" 4
	conf "$name" a "$dir" "batch.max_records = 100"
	produce "$name" "$dir/events.jsonl"
	if ! timeout 120 "$BIN/patuhd" --config "$T/$name-a.conf" --until-idle \
		2>"$T/$name.log"; then
		echo "FAIL one: patuhd in group mode did not finish"; tail -8 "$T/$name.log"
		fails=$((fails + 1)); return
	fi
	grep -q "regrouped: work partitions \[0,1,2,3\] of 4" "$T/$name.log" ||
		{ echo "FAIL one: the one instance did not take every work partition"
		  fails=$((fails + 1)); }
	live_publications "$name" "$dir"
	live_reports "$name" "$dir"
	# single mode on group mode's state is refused, naming it, and the
	# other way round (a ledger is right only at its own watermark)
	grep -v "^scale\.\|^instance\." "$T/$name-a.conf" >"$T/$name-single.conf"
	if timeout 60 "$BIN/patuhd" --config "$T/$name-single.conf" --until-idle \
		2>"$T/$name-single.log" ||
		! grep -q "holds the state of patuhd in group mode" "$T/$name-single.log"; then
		echo "FAIL one: single mode started on group mode's state"; tail -3 "$T/$name-single.log"
		fails=$((fails + 1))
	else
		echo "ok   single mode refuses group mode's state"
	fi
	# PostgreSQL restored from an older backup (work_owners behind the
	# epochs Redis holds): the next start takes epochs above both
	timeout 60 "$BIN/patuhd" --config "$T/$name-a.conf" --until-idle 2>"$T/$name-again.log"
	local before
	before=$(q "SELECT min(epoch) FROM work_owners") # 2: two starts
	q "TRUNCATE work_owners" >/dev/null
	if timeout 60 "$BIN/patuhd" --config "$T/$name-a.conf" --until-idle 2>>"$T/$name-again.log" &&
		[ "$(q "SELECT min(epoch) FROM work_owners")" -gt "$before" ]; then
		echo "ok   epochs above Redis's after work_owners was emptied"
	else
		echo "FAIL one: a start after work_owners was emptied"; tail -3 "$T/$name-again.log"
		fails=$((fails + 1))
	fi
}

# From single mode: a single-mode patuhd killed mid-stream leaves its state
# (watermark, ledgers, frames, committed offsets); two instances in group
# mode take it over where a restart would have, and between them every
# publication in PostgreSQL equals replay's exactly once.
fromsingle() {
	local name=fromsingle dir=$SRC/tests/scenarios/28-reports-month pa pb want rc
	reset_state
	topics "$name" 4
	conf "$name" a "$dir" "batch.max_records = 100"
	conf "$name" b "$dir" "batch.max_records = 100"
	grep -v "^scale\.\|^instance\." "$T/$name-a.conf" >"$T/$name-single.conf"
	produce "$name" "$dir/events.jsonl"
	PATUH_FAILPOINT=after_redis:8 timeout 120 "$BIN/patuhd" \
		--config "$T/$name-single.conf" --until-idle 2>"$T/$name-single.log"
	rc=$?
	if [ "$rc" -ne 137 ]; then
		echo "FAIL fromsingle: the single instance was not killed mid-stream (exit $rc)"
		tail -3 "$T/$name-single.log"; fails=$((fails + 1)); return
	fi
	"$BIN/patuh" replay --policy "$dir/policy.json" --roster "$dir/roster.jsonl" \
		--calendar "$dir/calendar.json" --events "$dir/events.jsonl" \
		--out "$T/$name-replay" >/dev/null 2>&1
	want=$(wc -l <"$T/$name-replay/revisions.jsonl")
	echo "--   fromsingle: single mode killed with $(q "SELECT count(*) FROM violation_revisions") of $want revisions"
	start "$name" a; pa=$PID
	start "$name" b; pb=$PID
	local ok=1
	wait_log "$T/$name-a.log" "taking it over" 60 || wait_log "$T/$name-b.log" "taking it over" 5 ||
		{ echo "FAIL fromsingle: no instance took single mode's state over"; ok=0; }
	wait_revisions "$want" 120 ||
		{ echo "FAIL fromsingle: $(q "SELECT count(*) FROM violation_revisions") revisions, replay made $want"; ok=0; }
	kill -TERM "$pa" "$pb"
	wait "$pa" "$pb"
	BG_PIDS=()
	[ "$ok" = 1 ] || failed "$name" a b
	live_publications "$name" "$dir" --kafka-at-least-once
	# and single mode refuses the state group mode left
	if timeout 60 "$BIN/patuhd" --config "$T/$name-single.conf" --until-idle \
		2>"$T/$name-back.log" ||
		! grep -q "holds the state of patuhd in group mode" "$T/$name-back.log"; then
		echo "FAIL fromsingle: single mode started on group mode's state"
		fails=$((fails + 1))
	fi
}

# The final state: PostgreSQL holds as many revisions as replay made
# (each is unique by id and revision); polled, the input being read by
# whichever instances run.
wait_revisions() { # wait_revisions WANT SECONDS
	local i
	for i in $(seq $(($2 * 4))); do
		[ "$(q "SELECT count(*) FROM violation_revisions")" = "$1" ] && return 0
		sleep 0.25
	done
	return 1
}

three() {
	local name=three data=$T/three-data pa pb pc want at_kill
	reset_state
	generate "$name" 60000 1500 7
	want=$WANT
	topics "$name" 6
	for i in a b c; do conf "$name" "$i" "$data" "batch.max_records = 20"; done
	produce "$name" "$data/events.jsonl"
	start "$name" a; pa=$PID
	start "$name" b; pb=$PID
	local ok=1
	# C joins once A and B have decided for a while
	wait_count "$T/$name-a.log" "trace: offsets" 100 60 ||
		{ echo "FAIL three: A made no 100 batches"; ok=0; }
	start "$name" c; pc=$PID
	wait_count "$T/$name-c.log" "work partition .*: deciding" 1 60 ||
		{ echo "FAIL three: C decided for no work partition"; ok=0; }
	wait_count "$T/$name-c.log" "trace: offsets" 50 60 ||
		{ echo "FAIL three: C made no 50 batches"; ok=0; }
	# A dies mid-stream: decisions are still being made
	at_kill=$(q "SELECT count(*) FROM violation_revisions")
	local b_regroups
	b_regroups=$(count "$T/$name-b.log" "regrouped")
	kill -KILL "$pa"
	echo "--   three: C deciding; A SIGKILLed with $at_kill of $want revisions in PostgreSQL"
	[ "$at_kill" -lt "$want" ] || { echo "FAIL three: A was killed after the end"; ok=0; }
	# its work partitions move once its session times out
	wait_count "$T/$name-b.log" "regrouped" $((b_regroups + 1)) 60 ||
		{ echo "FAIL three: B did not take over from A"; ok=0; }
	# and B decides for every one of them: it has read each up to its
	# checkpoint. (Not "B makes N more batches": on a slow machine A and
	# B may have read the whole input before A's session times out, and
	# then B takes over with nothing left to read.)
	wait_deciding "$T/$name-b.log" 60 ||
		{ echo "FAIL three: B did not decide for every work partition it took over"; ok=0; }
	kill -TERM "$pb"
	wait "$pb" || { echo "FAIL three: B's SIGTERM drain failed"; ok=0; }
	wait_log "$T/$name-c.log" "regrouped: work partitions \[0,1,2,3,4,5\] of 6" 60 ||
		{ echo "FAIL three: C did not take every work partition"; ok=0; }
	wait_revisions "$want" 120 ||
		{ echo "FAIL three: $(q "SELECT count(*) FROM violation_revisions") revisions in PostgreSQL, replay made $want"; ok=0; }
	kill -TERM "$pc"
	wait "$pc" || { echo "FAIL three: C's SIGTERM drain failed"; ok=0; }
	BG_PIDS=()
	if [ "$ok" = 1 ]; then
		echo "--   three: A, B, C in turn; every decision made once"
	else
		failed "$name" a b c
	fi
	live_publications "$name" "$data" --kafka-at-least-once
	clashes "$name"
}

# A frozen instance (a long GC-like pause, a VM stalled) loses its work
# partitions and comes back still holding batches of them: its writes are
# fenced by the new owner's epochs, it drops them and regroups.
zombie() {
	local name=zombie data=$T/zombie-data pa pb want i
	reset_state
	generate "$name" 40000 1000 11
	want=$WANT
	topics "$name" 4
	for i in a b; do conf "$name" "$i" "$data" "batch.max_records = 20"; done
	produce "$name" "$data/events.jsonl"
	start "$name" a; pa=$PID
	start "$name" b; pb=$PID
	local ok=1
	wait_count "$T/$name-a.log" "work partition .*: deciding" 1 60 || ok=0
	wait_count "$T/$name-b.log" "work partition .*: deciding" 1 60 || ok=0
	wait_count "$T/$name-a.log" "trace: offsets" 200 60 || ok=0
	kill -STOP "$pa"
	wait_log "$T/$name-b.log" "regrouped: work partitions \[0,1,2,3\] of 4" 60 ||
		{ echo "FAIL zombie: B did not take A's work partitions"; ok=0; }
	kill -CONT "$pa"
	wait_count "$T/$name-a.log" "regrouped" 2 60 ||
		{ echo "FAIL zombie: A did not regroup after it woke"; ok=0; }
	if grep -q "taken over\|fenced by epoch" "$T/$name-a.log"; then
		echo "--   zombie: A woke with batches of partitions now B's: fenced, dropped"
	else
		echo "--   zombie: A woke between batches: the rebalance came first"
	fi
	wait_revisions "$want" 120 ||
		{ echo "FAIL zombie: $(q "SELECT count(*) FROM violation_revisions") revisions in PostgreSQL, replay made $want"; ok=0; }
	kill -TERM "$pa" "$pb"
	wait "$pa" "$pb"
	BG_PIDS=()
	[ "$ok" = 1 ] || failed "$name" a b
	live_publications "$name" "$data" --kafka-at-least-once
	clashes "$name"
}

# Handovers of instances that are caught up: their checkpoints' time is
# the wall clock (every partition read to its end), not a record's.  A and
# B read the first half of the input to its end; A leaves (SIGTERM) and B
# takes its work partitions at that checkpoint; the second half comes;
# C joins while it is read and takes a share.  The final active violations
# in PostgreSQL equal replay's of the whole input (SPEC §3.4: the wall
# clock closed the first half's days before the second half came, so the
# revisions between differ from replay's, which has no clock); no record
# of the second half is lost by the instance that took over.
caughtup() {
	local name=caughtup data=$T/caughtup-data pa pb pc ok=1 n half
	reset_state
	generate "$name" 30000 1000 5
	n=$(wc -l <"$data/events.jsonl")
	half=$((n / 2))
	head -n "$half" "$data/events.jsonl" >"$data/first.jsonl"
	tail -n +$((half + 1)) "$data/events.jsonl" >"$data/second.jsonl"
	topics "$name" 4
	for i in a b c; do conf "$name" "$i" "$data" "batch.max_records = 200"; done
	produce "$name" "$data/first.jsonl"
	start "$name" a; pa=$PID
	start "$name" b; pb=$PID
	wait_count "$T/$name-a.log" "work partition .*: deciding" 1 60 || ok=0
	wait_count "$T/$name-b.log" "work partition .*: deciding" 1 60 || ok=0
	# caught up: both have read the first half to its end and written it
	local i before
	for i in $(seq 600); do
		before=$(q "SELECT count(*) FROM violation_revisions")
		sleep 0.5
		[ "$before" -gt 0 ] && [ "$(q "SELECT count(*) FROM violation_revisions")" = "$before" ] && break
	done
	kill -TERM "$pa"
	wait "$pa" || { echo "FAIL caughtup: A's SIGTERM drain failed"; ok=0; }
	wait_log "$T/$name-b.log" "regrouped: work partitions \[0,1,2,3\] of 4" 60 ||
		{ echo "FAIL caughtup: B did not take A's work partitions"; ok=0; }
	wait_deciding "$T/$name-b.log" 60 ||
		{ echo "FAIL caughtup: B did not decide for every work partition"; ok=0; }
	produce "$name" "$data/second.jsonl"
	BG_PIDS=("$pb")
	start "$name" c; pc=$PID
	wait_count "$T/$name-c.log" "work partition .*: deciding" 1 60 ||
		{ echo "FAIL caughtup: C never decided"; ok=0; }
	# done: the active violations stop moving and equal replay's
	local got=$T/$name.got
	for i in $(seq 240); do
		q "SELECT doc FROM violations" >"$got"
		"$BIN/tests/compare_violations" "$T/caughtup-replay/violations.jsonl" "$got" \
			>"$T/$name.diff" 2>&1 && break
		sleep 0.5
	done
	kill -TERM "$pb" "$pc"
	wait "$pb" "$pc"
	BG_PIDS=()
	if "$BIN/tests/compare_violations" "$T/caughtup-replay/violations.jsonl" "$got" \
		>"$T/$name.diff" 2>&1 && [ "$ok" = 1 ]; then
		echo "ok   caught-up handovers: the final violations = replay's ($(grep -c '"active"' "$got") active)"
	else
		echo "FAIL caughtup"; head -20 "$T/$name.diff"
		failed "$name" a b c
	fi
	clashes "$name"
}

# clashes NAME: no revision of a violation went out on patuh.violations
# with two different contents (a repeat is allowed, at least once).
clashes() {
	local n
	n=$(kcat -b "$PATUH_KAFKA_BOOTSTRAP" -C -t "t$RUN-$1.violations" -e -q -f '%s\n' 2>/dev/null |
		python3 -c 'import json,sys
seen={}
bad=0
for l in sys.stdin:
    if not l.strip():
        continue
    d=json.loads(l)
    k=(d["violation_id"], d["revision"])
    if k in seen and seen[k] != d:
        bad+=1
    seen.setdefault(k, d)
print(bad)')
	if [ "$n" = 0 ]; then
		echo "ok   $1: no revision published with two contents"
	else
		echo "FAIL $1: $n revisions published with two different contents"
		fails=$((fails + 1))
	fi
}

case $WHAT in
one) one ;;
three) three ;;
zombie) zombie ;;
caughtup) caughtup ;;
fromsingle) fromsingle ;;
all) one; three; zombie; caughtup; fromsingle ;;
*) echo "unknown part $WHAT"; exit 2 ;;
esac
[ "$fails" -eq 0 ] && echo "scale_test $WHAT: ok" || echo "scale_test $WHAT: $fails failure(s)"
[ "$fails" -eq 0 ]
