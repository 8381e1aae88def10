#!/usr/bin/env bash
# Live = replay, against the real stack (deploy/stack up; PATUH_* set):
#   scenarios  every public scenario through patuh produce -> patuhd
#              --until-idle -> patuh violations, compared with expected/;
#              and every publication (violation revisions, TPP events,
#              alerts, digest rows, dead letters) compared with patuh
#              replay's on the same events (SCENARIO_CONF adds patuhd.conf
#              lines, e.g. "batch.max_records = 3": the publications do
#              not depend on the batching)
#   backlog    a day produced while patuhd is down, then read in small
#              batches: nothing may fire early (no retraction, revision 1)
#   dlq        bad records reach patuh.dlq and dead_letters with their
#              reason, and the partition moves on
#   faults     patuhd killed (-9) mid-stream and restarted: same final
#              violations, no revision twice; SIGTERM mid-stream (the
#              broker slowed down) drains: every record read has its offset
#              committed and every revision is in PostgreSQL and on Kafka
#              when patuhd exits, so the restart reads exactly the rest and
#              publishes no revision twice
#   standby    a second instance with the same database stands by (outside
#              the group) while the first holds the engine lease, changes
#              nothing, and takes over when the first is killed: final
#              violations = expected, nothing decided twice
#   freeze     Redis frozen (SIGSTOP) mid-stream: the state write times
#              out (write.timeout_ms), is logged and retried, and once
#              Redis resumes the run ends with the expected violations;
#              then PostgreSQL killed (-m immediate) mid-stream and
#              started again: writes retried, same violations
#   reload     SIGHUP while patuhd runs: a calendar with a new holiday
#              retracts that day's violations, a broken calendar is
#              refused and changes nothing, a wfh_suspended Friday turns
#              WFH presence into wfh_not_permitted, an employee added to
#              the roster is not absent before the day after the reload
#              and is expected from then on (checked after a restart on a
#              later day); with Redis frozen a reload fails, keeps what is
#              in force and is retried; a new log.level applies at once, a key that
#              needs a restart is named; patuh_reloads_total counts each
#   reports    a late excuse amends a closed day: its digest row is
#              published again (PostgreSQL revision 2, patuh.digests), a
#              closed payroll month keeps its figures and lists the
#              correction, and explain shows the evidence and revisions
#   metrics    /metrics scraped while patuhd runs (metrics.listen on a
#              free port) and parsed (tests/metrics_check.py): records per
#              input topic = the messages on the topics, dead letters by
#              reason = dead_letters, decisions by kind and status =
#              violation_revisions (and patuh.dlq, patuh.violations),
#              histograms well formed; /healthz 200; /readyz 200, 503
#              naming redis while Redis is frozen (SIGSTOP) under a state
#              write, 200 again after SIGCONT, the counters still equal
#              PostgreSQL's; a second patuhd on the same metrics.listen
#              stops at start naming the key; a standby serves /metrics
#              and answers /readyz 503 "standby"
# (every other part sets metrics.listen = off: parts run several patuhd
# at once)
# (scenarios also checks the digests, payroll months and discipline years
# read back from PostgreSQL against every scenario's expected files)
# Exits 77 (skipped) when no stack is configured.
set -uo pipefail
BIN=$1
SRC=$2
WHAT=${3:-all}
. "$SRC/tests/live_lib.sh" live_test

# run_scenario NAME DIR POLICY EXTRA_CONFIG
run_scenario() {
	local name=$1 dir=$2 policy=$3 extra=${4:-}
	local prefix="t$RUN-$name."
	reset_state
	write_conf "$T/$name.conf" "$name" "$policy" "$dir/roster.jsonl" "$dir/calendar.json" "$extra"
	"$BIN/patuh" produce --prefix "$prefix" --events "$dir/events.jsonl" 2>"$T/$name.produce" ||
		{ echo "FAIL $name: produce"; cat "$T/$name.produce"; return 1; }
	timeout 120 "$BIN/patuhd" --config "$T/$name.conf" --until-idle 2>"$T/$name.log" ||
		{ echo "FAIL $name: patuhd"; tail -20 "$T/$name.log"; return 1; }
	"$BIN/patuh" violations --all >"$T/$name.got" ||
		{ echo "FAIL $name: patuh violations"; return 1; }
}

scenarios() {
	for dir in "$SRC"/tests/scenarios/*/; do
		local name
		name=$(basename "$dir")
		if ! run_scenario "$name" "$dir" "$dir/policy.json" "${SCENARIO_CONF:-}"; then
			fails=$((fails + 1)); continue
		fi
		if "$BIN/tests/compare_violations" "$dir/expected/violations.jsonl" "$T/$name.got" >"$T/$name.diff"; then
			echo "ok   live = expected: $name"
		else
			echo "FAIL live != expected: $name"; cat "$T/$name.diff"
			fails=$((fails + 1))
		fi
		live_reports "$name" "$dir"
		live_publications "$name" "$dir"
	done
}

reports() {
	local dir=$SRC/tests/scenarios/04-missing-and-absent name=reports
	run_scenario $name "$dir" "$dir/policy.json" || { fails=$((fails + 1)); return; }
	local emp=199102022016012005 day=2026-04-06 unit=diskominfo
	local vid rev0 excused0 absent0
	vid=$(q "SELECT violation_id FROM violations WHERE kind = 'absent' AND
		employee_id = '$emp' AND date = '$day' AND status = 'active'")
	rev0=$(q "SELECT revision FROM daily_digests WHERE date = '$day' AND unit_id = '$unit'")
	excused0=$(q "SELECT doc->>'excused' FROM daily_digests WHERE date = '$day' AND unit_id = '$unit'")
	absent0=$(q "SELECT doc->'violations'->>'absent' FROM daily_digests WHERE date = '$day' AND unit_id = '$unit'")
	# 1. April closed for payroll: what was paid
	"$BIN/patuh" payroll --month 2026-04 --close >/dev/null 2>"$T/close.err" ||
		{ echo "FAIL reports: payroll --close"; cat "$T/close.err"; fails=$((fails + 1)); }
	"$BIN/patuh" payroll --month 2026-04 --format jsonl >"$T/paid.jsonl"
	local paid_emp
	paid_emp=$(grep "\"$emp\"" "$T/paid.jsonl" | python3 -c 'import json,sys; print(json.load(sys.stdin)["deduction"])')
	# 2. a leave letter for that day arrives two days late
	cat >"$T/late.jsonl" <<LATE
{"topic":"excuses","ts":"2026-04-08T09:00:00+08:00","value":{"event_id":"x-late-1","excuse_id":"cuti-late-1","employee_id":"$emp","kind":"cuti","from":"$day","to":"$day","updated_at":"2026-04-08T08:55:00+08:00"}}
LATE
	"$BIN/patuh" produce --prefix "t$RUN-$name." --events "$T/late.jsonl" 2>/dev/null
	timeout 120 "$BIN/patuhd" --config "$T/$name.conf" --until-idle 2>"$T/$name.log2" ||
		{ echo "FAIL reports: patuhd after the late excuse"; tail "$T/$name.log2"; fails=$((fails + 1)); return; }
	local rev1 excused1 absent1 nrev status kafka
	rev1=$(q "SELECT revision FROM daily_digests WHERE date = '$day' AND unit_id = '$unit'")
	excused1=$(q "SELECT doc->>'excused' FROM daily_digests WHERE date = '$day' AND unit_id = '$unit'")
	absent1=$(q "SELECT doc->'violations'->>'absent' FROM daily_digests WHERE date = '$day' AND unit_id = '$unit'")
	nrev=$(q "SELECT count(*) FROM daily_digest_revisions WHERE date = '$day' AND unit_id = '$unit'")
	status=$(q "SELECT status || ':' || coalesce(reason, '') FROM violations WHERE violation_id = '$vid'")
	kafka=$(kcat -b "$PATUH_KAFKA_BOOTSTRAP" -C -t "t$RUN-$name.digests" -e -q -f '%k %s\n' 2>/dev/null |
		grep -c "^$unit .*\"date\":\"$day\"")
	if [ "$rev0" = 1 ] && [ "$rev1" = 2 ] && [ "$nrev" = 2 ] &&
		[ "$excused1" -eq $((excused0 + 1)) ] && [ "$absent1" -eq $((absent0 - 1)) ] &&
		[ "$status" = "retracted:excused" ] && [ "$kafka" -ge 2 ]; then
		echo "ok   late excuse: digest $day/$unit republished (revision $rev1, excused $excused0->$excused1, absent $absent0->$absent1, $kafka on patuh.digests)"
	else
		echo "FAIL late excuse: revision $rev0->$rev1 ($nrev kept), excused $excused0->$excused1, absent $absent0->$absent1, violation $status, $kafka on patuh.digests"
		fails=$((fails + 1))
	fi
	# 3. the closed month does not move; the correction is listed
	"$BIN/patuh" payroll --month 2026-04 --format jsonl >"$T/paid2.jsonl"
	"$BIN/patuh" payroll --month 2026-04 --corrections --format jsonl >"$T/corr.jsonl" 2>/dev/null
	local diff now
	diff=$(python3 -c 'import json,sys
rows=[json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(" ".join("%s:%d:%d" % (r["employee_id"], r["locked_deduction"], r["difference"]) for r in rows))' "$T/corr.jsonl")
	if cmp -s "$T/paid.jsonl" "$T/paid2.jsonl" && [[ $diff == "$emp:$paid_emp:-"* ]] &&
		[ "$(echo "$diff" | wc -w)" = 1 ]; then
		echo "ok   closed month unchanged; correction listed ($diff)"
	else
		echo "FAIL closed month: changed=$(cmp -s "$T/paid.jsonl" "$T/paid2.jsonl" && echo no || echo yes), corrections: '$diff' (paid $paid_emp)"
		fails=$((fails + 1))
	fi
	if "$BIN/patuh" payroll --month 2026-04 --close >/dev/null 2>&1; then
		echo "FAIL payroll --close twice succeeded"; fails=$((fails + 1))
	fi
	# 4. explain: who, the day, the rule, the evidence, every revision
	"$BIN/patuh" explain "$vid" >"$T/explain.txt" 2>&1
	"$BIN/patuh" explain "$vid" --json >"$T/explain.json" 2>&1
	local name_emp
	name_emp=$(q "SELECT name FROM employees WHERE employee_id = '$emp'")
	if grep -q "$name_emp" "$T/explain.txt" && grep -q "Senin, 6 April 2026" "$T/explain.txt" &&
		grep -q "SE 737 angka 3" "$T/explain.txt" && grep -q "revisi 2 .*dicabut" "$T/explain.txt" &&
		grep -q "x-late-1" "$T/explain.txt" &&
		python3 -c 'import json,sys
j=json.load(open(sys.argv[1]))
assert len(j["revisions"]) == 2 and j["revisions"][1]["reason"] == "excused", j["revisions"]
assert j["excuses"][0]["record_id"] == "x-late-1" and j["excuses"][0]["offset"] >= 0
assert j["day"]["excused"] is True and j["day"]["expected"] is False
assert j["policy"]["policy_id"]' "$T/explain.json"; then
		echo "ok   explain: employee, day, clause, excuse record and both revisions"
	else
		echo "FAIL explain"; cat "$T/explain.txt"; fails=$((fails + 1))
	fi
	# evidence of a presence decision carries its record and coordinates
	local late
	late=$(q "SELECT violation_id FROM violations WHERE kind = 'missing_clock_out' LIMIT 1")
	"$BIN/patuh" explain "$late" --json >"$T/explain2.json" 2>&1
	if python3 -c 'import json,sys
j=json.load(open(sys.argv[1]))
ev=j["evidence"]
assert ev and ev[0]["topic"] == "presence" and ev[0]["record_id"] in j["violation"]["evidence"]
assert ev[0]["value"]["event_id"] == ev[0]["record_id"] and ev[0]["partition"] >= 0' "$T/explain2.json" &&
		! "$BIN/patuh" explain 0123456789abcdef0123456789abcdef >/dev/null 2>&1 &&
		! "$BIN/patuh" explain not-an-id >/dev/null 2>&1; then
		echo "ok   explain: evidence records with partition and offset; unknown id refused"
	else
		echo "FAIL explain evidence"; cat "$T/explain2.json"; fails=$((fails + 1))
	fi
}

backlog() {
	local dir=$SRC/deploy/sample
	# small batches: a watermark that ran ahead of the data would fire
	# absent/missing early and retract them as the backlog is read
	run_scenario backlog "$dir" "$SRC/rules/balikpapan-se737-2026.json" \
		"batch.max_records = 3" || { fails=$((fails + 1)); return; }
	local early
	early=$(psql -X -tA "$PATUH_PG_CONNINFO" -c \
		"SELECT count(*) FROM violation_revisions WHERE revision > 1 OR doc->>'status' <> 'active'")
	local batches
	batches=$(grep -o '[0-9]* batches made durable' "$T/backlog.log" | cut -d' ' -f1)
	if [ "$early" = "0" ] && [ "${batches:-0}" -gt 5 ] &&
		"$BIN/tests/compare_violations" "$dir/expected/violations.jsonl" "$T/backlog.got"; then
		echo "ok   backlog read in $batches batches, no decision fired early"
	else
		echo "FAIL backlog: $early amended/retracted revisions, ${batches:-0} batches"
		fails=$((fails + 1))
	fi
}

dlq() {
	local dir=$SRC/tests/scenarios/14-bad-input
	run_scenario dlq "$dir" "$dir/policy.json" || { fails=$((fails + 1)); return; }
	# the lines with a sendable envelope that SPEC dead-letters
	local want got kafka
	want=$(grep -c '"topic": "' "$dir/expected/dlq.jsonl")
	want=$((want - 2)) # lines 29 (no value) and 30 (bad ts): never sent
	got=$(psql -X -tA "$PATUH_PG_CONNINFO" -c "SELECT count(*) FROM dead_letters")
	kafka=$(kcat -b "$PATUH_KAFKA_BOOTSTRAP" -C -t "t$RUN-dlq.dlq" -e -q -f '%s\n' 2>/dev/null | grep -c '"reason"')
	local reasons
	reasons=$(psql -X -tA "$PATUH_PG_CONNINFO" -c \
		"SELECT reason || ':' || coalesce(event_id, '-') FROM dead_letters ORDER BY 1" | tr '\n' ' ')
	if [ "$got" = "$want" ] && [ "$kafka" = "$want" ] &&
		[[ $reasons == *"unknown_employee:c-14-001"* ]] && [[ $reasons == *"invalid:p-14-012"* ]] &&
		[[ $reasons == *"malformed:-"* ]]; then
		echo "ok   dlq: $got dead letters in PostgreSQL and patuh.dlq, partitions moved on"
	else
		echo "FAIL dlq: PostgreSQL $got, Kafka $kafka, expected $want ($reasons)"
		fails=$((fails + 1))
	fi
}

faults() {
	local dir=$SRC/deploy/sample name=faults
	local prefix="t$RUN-$name."
	reset_state
	write_conf "$T/$name.conf" "$name" "$SRC/rules/balikpapan-se737-2026.json" "$dir/roster.jsonl" "$dir/calendar.json" "batch.max_records = 2
# the same lease holder: a restarted instance takes the lease back at once
# and its partitions directly (no group session of the killed one to wait
# out)
instance.id = faults-1"
	"$BIN/patuh" produce --prefix "$prefix" --events "$dir/events.jsonl" 2>/dev/null
	# 1. kill -9 after a few durable batches
	PATUH_TRACE=1 "$BIN/patuhd" --config "$T/$name.conf" 2>"$T/$name.log1" &
	local pid=$!
	for _ in $(seq 200); do
		[ "$(grep -c 'trace: offsets' "$T/$name.log1")" -ge 4 ] && break
		sleep 0.05
	done
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	local before
	before=$(grep -c 'trace: offsets' "$T/$name.log1")
	# 2. restart and finish; it must consume again within 10 s
	local t0 t1
	t0=$(date +%s%N)
	PATUH_TRACE=1 timeout 120 "$BIN/patuhd" --config "$T/$name.conf" --until-idle 2>"$T/$name.log2" &
	local rpid=$!
	wait_log "$T/$name.log2" "filling [1-9]" 60
	t1=$(date +%s%N)
	local back_ms=$(((t1 - t0) / 1000000))
	wait $rpid ||
		{ echo "FAIL faults: restart"; tail "$T/$name.log2"; fails=$((fails + 1)); return; }
	if [ "$back_ms" -le 10000 ] && [ "$(grep -c 'revoked\|assigned' "$T/$name.log2")" -ge 1 ]; then
		echo "ok   restart after kill -9 consuming again after $back_ms ms"
	else
		echo "FAIL faults: restart consumed again only after $back_ms ms"; fails=$((fails + 1))
	fi
	"$BIN/patuh" violations --all >"$T/$name.got"
	local amended
	amended=$(psql -X -tA "$PATUH_PG_CONNINFO" -c \
		"SELECT count(*) FROM violation_revisions WHERE revision > 1")
	if [ "$before" -ge 1 ] && [ "$amended" = "0" ] &&
		"$BIN/tests/compare_violations" "$dir/expected/violations.jsonl" "$T/$name.got"; then
		echo "ok   killed after $before durable batches, restarted: same violations, no revision twice"
	else
		echo "FAIL faults: killed after $before batches, $amended amended revisions"
		fails=$((fails + 1))
	fi
	# 3. SIGTERM mid-stream drains: the records consumed are written and
	# their offsets committed before patuhd exits 0, so that a restart
	# reads exactly the rest and publishes no revision twice.  A new group
	# over the same topics (so there is something to read), batches of 2
	# and the broker slowed down, so that batches are in flight when the
	# signal comes.
	reset_state
	local group=g$RUN-term sent
	sent=$(grep -c . "$dir/events.jsonl")
	sed -i "s/^kafka.group = .*/kafka.group = $group/" "$T/$name.conf"
	revisions_since "${prefix}violations" /dev/null >"$T/$name.k0"
	sandbox_rtt 150
	PATUH_TRACE=1 "$BIN/patuhd" --config "$T/$name.conf" 2>"$T/$name.log3" &
	pid=$!
	# some batches durable, a revision among them, the rest still to read
	for _ in $(seq 600); do
		[ "$(grep -c 'trace: offsets' "$T/$name.log3")" -ge 3 ] &&
			[ "$(q "SELECT count(*) FROM violation_revisions")" -ge 1 ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -TERM "$pid"
	local rc=0
	wait "$pid" || rc=$?
	sandbox_rtt 0
	# what the stopped instance read, committed and published
	local first committed drained pg1 k1 k1_distinct
	first=$(grep -o '[0-9]* records consumed' "$T/$name.log3" | cut -d' ' -f1)
	committed=$("$BIN/tests/kafka_committed" "$PATUH_KAFKA_BOOTSTRAP" "$group" \
		"${prefix}presence" "${prefix}calls" "${prefix}excuses" 2>"$T/$name.offsets") ||
		committed="?"
	drained=$(sed -n '/draining and committing/,$p' "$T/$name.log3" | grep -c 'trace: offsets')
	pg1=$(q "SELECT count(*) FROM violation_revisions")
	revisions_since "${prefix}violations" "$T/$name.k0" >"$T/$name.k1"
	k1=$(wc -l <"$T/$name.k1")
	k1_distinct=$(sort -u "$T/$name.k1" | wc -l)
	if [ "$rc" -ne 0 ] || ! grep -q 'signal 15: draining and committing' "$T/$name.log3"; then
		echo "FAIL faults: patuhd exited $rc on SIGTERM, without draining"; tail "$T/$name.log3"
		fails=$((fails + 1)); return
	fi
	# the signal came mid-stream (else there is nothing to drain)
	if ! [ "${first:-0}" -gt 0 ] || ! [ "$first" -lt "$sent" ]; then
		echo "FAIL faults: SIGTERM after ${first:-0} of $sent records: not mid-stream, the drain is not tested"
		fails=$((fails + 1)); return
	fi
	# 4. the restart: exactly the rest, and only new revisions
	timeout 120 "$BIN/patuhd" --config "$T/$name.conf" --until-idle 2>"$T/$name.log4" ||
		{ echo "FAIL faults: restart after SIGTERM"; tail "$T/$name.log4"; fails=$((fails + 1)); return; }
	"$BIN/patuh" violations --all >"$T/$name.got2"
	local second pg2 k2 k2_distinct
	second=$(grep -o '([0-9]* records,' "$T/$name.log4" | tr -dc '0-9')
	pg2=$(q "SELECT count(*) FROM violation_revisions")
	revisions_since "${prefix}violations" "$T/$name.k0" >"$T/$name.k2"
	k2=$(wc -l <"$T/$name.k2")
	k2_distinct=$(sort -u "$T/$name.k2" | wc -l)
	local why=""
	# the batches in hand when the signal came were written after it
	[ "$drained" -ge 1 ] || why="$why; no batch made durable after the signal"
	# every record the stopped instance read is committed
	[ "$committed" = "$first" ] || why="$why; $committed offsets committed for $first records read"
	# every revision it published went to both PostgreSQL and Kafka
	[ "$pg1" -eq "$k1_distinct" ] && [ "$k1" -eq "$k1_distinct" ] ||
		why="$why; at exit $pg1 revisions in PostgreSQL, $k1 on Kafka ($k1_distinct distinct)"
	# the restart read exactly the rest
	[ $((first + second)) -eq "$sent" ] || why="$why; restart read $second after $first of $sent"
	# and published only revisions not published before: none twice on
	# Kafka, PostgreSQL holding each once
	[ "$k2" -eq "$k2_distinct" ] && [ "$pg2" -eq "$k2_distinct" ] ||
		why="$why; after the restart $pg2 revisions in PostgreSQL, $k2 on Kafka ($k2_distinct distinct)"
	"$BIN/tests/compare_violations" "$dir/expected/violations.jsonl" "$T/$name.got2" >"$T/$name.diff2" ||
		why="$why; final violations differ: $(head -3 "$T/$name.diff2" | tr '\n' ' ')"
	if [ -z "$why" ]; then
		echo "ok   SIGTERM after $first of $sent records: $drained batches drained, $committed offsets committed, $pg1 revisions durable; restart read the other $second and added $((pg2 - pg1)) new revisions"
	else
		echo "FAIL faults: SIGTERM${why}"
		cat "$T/$name.offsets"
		fails=$((fails + 1))
	fi
}

standby() {
	local dir=$SRC/deploy/sample name=standby
	local prefix="t$RUN-$name."
	reset_state
	write_conf "$T/$name.conf" "$name" "$SRC/rules/balikpapan-se737-2026.json" "$dir/roster.jsonl" "$dir/calendar.json" "batch.max_records = 2
lease.ttl_ms = 3000
kafka.session.timeout.ms = 6000
kafka.heartbeat.interval.ms = 1000"
	(echo "instance.id = A"; cat "$T/$name.conf") >"$T/$name.a.conf"
	(echo "instance.id = B"; cat "$T/$name.conf") >"$T/$name.b.conf"
	"$BIN/patuh" produce --prefix "$prefix" --events "$dir/events.jsonl" 2>/dev/null
	# A holds the lease and evaluates, batch by batch; B stands by,
	# outside the group, so A keeps every partition
	PATUH_TRACE=1 "$BIN/patuhd" --config "$T/$name.a.conf" 2>"$T/$name.a.log" &
	local a=$!
	wait_log "$T/$name.a.log" "holding the engine lease" 30 ||
		{ echo "FAIL standby: A never held the lease"; kill -9 $a; fails=$((fails + 1)); return; }
	timeout 120 "$BIN/patuhd" --config "$T/$name.b.conf" --until-idle 2>"$T/$name.b.log" &
	local b=$!
	wait_log "$T/$name.b.log" "standing by: A holds" 30 ||
		{ echo "FAIL standby: B did not stand by"; kill -9 $a $b; fails=$((fails + 1)); return; }
	local i
	for i in $(seq 600); do
		[ "$(grep -c 'trace: offsets' "$T/$name.a.log")" -ge 3 ] && break
		sleep 0.05
	done
	local before b_joined
	b_joined=$(grep -c "assigned\\|batches made durable" "$T/$name.b.log")
	# A dies without a word mid-stream; B takes over once A's lease
	# expires, restores what A made durable, reads the rest and stops
	kill -9 $a
	wait $a 2>/dev/null
	before=$(grep -c 'trace: offsets' "$T/$name.a.log")
	if ! wait $b; then
		echo "FAIL standby: B did not finish after the takeover"; tail "$T/$name.b.log"
		fails=$((fails + 1)); return
	fi
	"$BIN/patuh" violations --all >"$T/$name.got"
	local amended
	amended=$(q "SELECT count(*) FROM violation_revisions WHERE revision > 1")
	if [ "$b_joined" = 0 ] && [ "$before" -ge 3 ] && [ "$amended" = 0 ] &&
		grep -q "holding the engine lease as B (epoch 2)" "$T/$name.b.log" &&
		"$BIN/tests/compare_violations" "$dir/expected/violations.jsonl" "$T/$name.got"; then
		echo "ok   standby: B waited outside the group while A made $before batches durable, took over after kill -9: same violations, no revision twice"
	else
		echo "FAIL standby: B joined early=$b_joined, A made $before batches durable, $amended amended revisions"
		tail -5 "$T/$name.b.log"
		fails=$((fails + 1))
	fi
}

freeze() {
	local dir=$SRC/deploy/sample name=freeze
	local prefix="t$RUN-$name."
	reset_state
	local rpid
	rpid=$(redis-cli -u "$PATUH_REDIS_URL" info server | tr -d '\r' |
		sed -n 's/^process_id://p')
	[ -n "$rpid" ] || { echo "FAIL freeze: no Redis pid"; fails=$((fails + 1)); return; }
	write_conf "$T/$name.conf" "$name" "$SRC/rules/balikpapan-se737-2026.json" "$dir/roster.jsonl" "$dir/calendar.json" "batch.max_records = 2
write.timeout_ms = 1000"
	"$BIN/patuh" produce --prefix "$prefix" --events "$dir/events.jsonl" 2>/dev/null
	PATUH_TRACE=1 timeout 120 "$BIN/patuhd" --config "$T/$name.conf" --until-idle 2>"$T/$name.log" &
	local pid=$!
	wait_log "$T/$name.log" "trace: offsets" 30
	# frozen, not down: the connection stays open and nothing answers
	kill -STOP "$rpid"
	local timed_out=0
	wait_log "$T/$name.log" "Redis write failed: no reply within 1000 ms" 20 && timed_out=1
	kill -CONT "$rpid"
	if ! wait $pid; then
		echo "FAIL freeze: patuhd did not finish after Redis resumed"; tail -5 "$T/$name.log"
		fails=$((fails + 1)); return
	fi
	"$BIN/patuh" violations --all >"$T/$name.got"
	if [ "$timed_out" = 1 ] &&
		"$BIN/tests/compare_violations" "$dir/expected/violations.jsonl" "$T/$name.got"; then
		echo "ok   freeze: a frozen Redis is a logged write failure, retried; same violations once it resumed"
	else
		echo "FAIL freeze: timed out=$timed_out"; grep -v trace "$T/$name.log" | tail -5
		fails=$((fails + 1))
	fi
	pg_crash
}

# PostgreSQL stopped with -m immediate (a crash: no shutdown checkpoint)
# mid-stream and started again: each failed write is logged and retried,
# the new session is opened without blocking the loop (the tick keeps
# running: patuhd logs its retries while the server is away), and the
# final violations are the same.
pg_crash() {
	local dir=$SRC/deploy/sample name=pgcrash
	local prefix="t$RUN-$name." pgdata=${PATUH_STACK_DIR:?the stack folder}/pg
	reset_state
	sed -e "s/$RUN-freeze/$RUN-$name/g" "$T/freeze.conf" >"$T/$name.conf"
	# the first half before the crash, the second half while it is down
	local half=$(($(wc -l <"$dir/events.jsonl") / 2))
	head -n "$half" "$dir/events.jsonl" >"$T/$name.1.jsonl"
	tail -n +"$((half + 1))" "$dir/events.jsonl" >"$T/$name.2.jsonl"
	"$BIN/patuh" produce --prefix "$prefix" --events "$T/$name.1.jsonl" 2>/dev/null
	# not --until-idle: the first half could be done before the crash
	PATUH_TRACE=1 timeout 120 "$BIN/patuhd" --config "$T/$name.conf" 2>"$T/$name.log" &
	local pid=$!
	wait_log "$T/$name.log" "trace: offsets" 30
	as_pg_ctl -D "$pgdata" -m immediate stop >/dev/null
	"$BIN/patuh" produce --prefix "$prefix" --events "$T/$name.2.jsonl" 2>/dev/null
	local failed=0 retried=0 same=0 i
	wait_log "$T/$name.log" "PostgreSQL write failed" 20 && failed=1
	wait_log "$T/$name.log" "retrying in 400 ms" 20 && retried=1
	"$SRC/deploy/stack" up >/dev/null
	for i in $(seq 600); do # until the violations are complete, 60 s at most
		"$BIN/patuh" violations --all >"$T/$name.got" 2>/dev/null &&
			"$BIN/tests/compare_violations" "$dir/expected/violations.jsonl" "$T/$name.got" \
				>/dev/null 2>&1 && { same=1; break; }
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	if [ "$failed" = 1 ] && [ "$retried" = 1 ] && [ "$same" = 1 ]; then
		echo "ok   pg crash: PostgreSQL killed mid-stream, writes retried until it came back; same violations"
	else
		echo "FAIL pg crash: failed=$failed retried=$retried same=$same"; grep -v trace "$T/$name.log" | tail -5
		"$BIN/tests/compare_violations" "$dir/expected/violations.jsonl" "$T/$name.got" | head -5
		fails=$((fails + 1))
	fi
}

# The state of the violations as "date employee kind status" lines.
viol_state() {
	q "SELECT date || ' ' || employee_id || ' ' || kind || ' ' || status
	   FROM violations ORDER BY 1"
}

# wait_state FILE SECONDS: until viol_state equals FILE's lines.
wait_state() {
	local i
	for i in $(seq $(($2 * 10))); do
		viol_state >"$T/state.now" 2>/dev/null
		cmp -s "$1" "$T/state.now" && return 0
		sleep 0.1
	done
	return 1
}

reload() {
	local name=reload prefix="t$RUN-reload." d=$T/reload
	mkdir -p "$d"
	reset_state
	# E1 supervises E2 and E3 (all WFH on Fridays); E4 joins later.
	local u='"unit_id":"dinkes","unit_name":"Dinas Kesehatan","service_class":null,"tpp_monthly":6000000,"wfh_exempt":null,"active":true,"head_id":null'
	{
		echo "{\"employee_id\":\"E1\",\"name\":\"Satu\",\"position_class\":\"pengawas\",\"supervisor_id\":null,$u}"
		echo "{\"employee_id\":\"E2\",\"name\":\"Dua\",\"position_class\":\"pelaksana\",\"supervisor_id\":\"E1\",$u}"
		echo "{\"employee_id\":\"E3\",\"name\":\"Tiga\",\"position_class\":\"pelaksana\",\"supervisor_id\":\"E1\",$u}"
	} >"$d/roster.jsonl"
	cp "$d/roster.jsonl" "$d/roster4.jsonl"
	# (a name with the characters COPY's text format escapes: the roster
	# goes to PostgreSQL through COPY, engine/refdata.c)
	echo "{\"employee_id\":\"E4\",\"name\":\"Empat\\\\ \\t\\\"x\",\"position_class\":\"pelaksana\",\"supervisor_id\":\"E1\",$u}" >>"$d/roster4.jsonl"
	echo '{"holidays":[],"wfh_suspended":[]}' >"$d/cal0.json"
	echo '{"holidays":[{"date":"2027-01-07","name":"Libur baru"}],"wfh_suspended":[]}' >"$d/cal1.json"
	echo '{"holidays":[{"date":"2027-01-07","name":"Libur baru"}],"wfh_suspended":[{"date":"2027-01-08","reason":"kondisi kedaruratan"}' >"$d/broken.json"
	echo '{"holidays":[{"date":"2027-01-07","name":"Libur baru"}],"wfh_suspended":[{"date":"2027-01-08","reason":"kondisi kedaruratan"}]}' >"$d/cal2.json"
	# ev FILE ID EMP TYPE MODE AT
	ev() {
		echo "{\"topic\":\"presence\",\"ts\":\"$6\",\"value\":{\"event_id\":\"$2\",\"employee_id\":\"$3\",\"type\":\"$4\",\"mode\":\"$5\",\"at\":\"$6\",\"source\":\"e-manuntung\"}}" >>"$1"
	}
	: >"$d/week1.jsonl"
	# Thursday 7 Jan: E1 late (15 min), E2 on time, E3 absent
	ev "$d/week1.jsonl" r1 E1 clock_in wfo 2027-01-07T07:45:00+08:00
	ev "$d/week1.jsonl" r2 E2 clock_in wfo 2027-01-07T07:20:00+08:00
	ev "$d/week1.jsonl" r3 E1 clock_out wfo 2027-01-07T16:05:00+08:00
	ev "$d/week1.jsonl" r4 E2 clock_out wfo 2027-01-07T16:10:00+08:00
	# Friday 8 Jan (WFH day): E1 and E2 work from home, E3 absent
	ev "$d/week1.jsonl" r5 E1 clock_in wfh 2027-01-08T07:25:00+08:00
	ev "$d/week1.jsonl" r6 E2 clock_in wfh 2027-01-08T07:26:00+08:00
	ev "$d/week1.jsonl" r7 E1 clock_out wfh 2027-01-08T16:40:00+08:00
	ev "$d/week1.jsonl" r8 E2 clock_out wfh 2027-01-08T16:41:00+08:00
	: >"$d/week2.jsonl"
	# Monday 11 Jan: E1 and E2 on time; E3 and the new E4 absent
	ev "$d/week2.jsonl" r9 E1 clock_in wfo 2027-01-11T07:25:00+08:00
	ev "$d/week2.jsonl" r10 E2 clock_in wfo 2027-01-11T07:25:00+08:00
	ev "$d/week2.jsonl" r11 E1 clock_out wfo 2027-01-11T16:05:00+08:00
	ev "$d/week2.jsonl" r12 E2 clock_out wfo 2027-01-11T16:05:00+08:00
	cp "$d/roster.jsonl" "$d/roster.cur"
	cp "$d/cal0.json" "$d/cal.cur"
	local port
	port=$(free_port)
	write_conf "$T/$name.conf" "$name" "$SRC/rules/balikpapan-se737-2026.json" "$d/roster.cur" "$d/cal.cur" "metrics.listen = 127.0.0.1:$port"
	"$BIN/patuh" produce --prefix "$prefix" --events "$d/week1.jsonl" 2>/dev/null
	# Saturday: both days closed, both within the amend horizon
	# (not under timeout(1): it would take the SIGHUPs; killed below)
	PATUH_NOW=2027-01-09T01:00:00+08:00 "$BIN/patuhd" \
		--config "$T/$name.conf" 2>"$T/$name.log" &
	local pid=$! ok=1 why=""
	BG_PIDS+=("$pid")
	printf '%s\n' "2027-01-07 E1 late_clock_in active" "2027-01-07 E3 absent active" \
		"2027-01-08 E3 absent active" >"$d/want0"
	wait_state "$d/want0" 60 || { ok=0; why="$why; first decisions"; }
	# 1. a new holiday on Thursday: its violations are retracted
	cp "$d/cal1.json" "$d/cal.cur"
	kill -HUP "$pid"
	printf '%s\n' "2027-01-07 E1 late_clock_in retracted" "2027-01-07 E3 absent retracted" \
		"2027-01-08 E3 absent active" >"$d/want1"
	wait_state "$d/want1" 60 || { ok=0; why="$why; holiday not retracted"; }
	local reason
	reason=$(q "SELECT DISTINCT reason FROM violations WHERE status = 'retracted'")
	# 2. a broken calendar: refused, logged, nothing changes
	cp "$d/broken.json" "$d/cal.cur"
	kill -HUP "$pid"
	wait_log "$T/$name.log" "reload refused" 30 || { ok=0; why="$why; broken calendar not refused"; }
	grep "reload refused" "$T/$name.log" | grep -q "cal.cur" || { ok=0; why="$why; refusal does not name the file"; }
	viol_state >"$T/state.now"
	cmp -s "$d/want1" "$T/state.now" || { ok=0; why="$why; broken calendar changed decisions"; }
	# 3. Friday's WFH suspended, and E4 joins the roster
	cp "$d/cal2.json" "$d/cal.cur"
	cp "$d/roster4.jsonl" "$d/roster.cur"
	kill -HUP "$pid"
	printf '%s\n' "2027-01-07 E1 late_clock_in retracted" "2027-01-07 E3 absent retracted" \
		"2027-01-08 E1 wfh_not_permitted active" "2027-01-08 E2 wfh_not_permitted active" \
		"2027-01-08 E3 absent active" >"$d/want2"
	wait_state "$d/want2" 60 || { ok=0; why="$why; wfh_suspended not applied (or E4 absent)"; }
	local joined
	joined=$(q "SELECT employee_id || ' ' || expected_from FROM employees WHERE expected_from IS NOT NULL")
	[ "$joined" = "E4 2027-01-10" ] || { ok=0; why="$why; expected_from '$joined'"; }
	# the published rows are the roster's, byte for byte
	local rows
	rows=$(q "SELECT json_agg(doc ORDER BY employee_id) FROM employees WHERE in_roster AND
		name IS NOT DISTINCT FROM doc->>'name' AND unit_name = doc->>'unit_name'")
	python3 -c 'import json,sys
got=json.loads(sys.argv[1]); want=[json.loads(l) for l in open(sys.argv[2])]
assert sorted(want, key=lambda r: r["employee_id"]) == got, (got, want)
assert got[3]["name"] == "Empat\\ \t\"x", got[3]["name"]' "$rows" "$d/roster4.jsonl" ||
		{ ok=0; why="$why; employees rows differ from the roster"; }
	# 3b. Redis frozen during a reload: it fails, is logged, keeps what is
	# in force and is tried again until Redis answers
	local rpid
	rpid=$(redis-cli -u "$PATUH_REDIS_URL" info server | tr -d '\r' |
		sed -n 's/^process_id://p')
	# (the suspension lifted again: a restore that went half through and
	# leaked its publications would retract Friday's wfh_not_permitted)
	echo '{"holidays":[{"date":"2027-01-07","name":"Libur baru"},{"date":"2027-01-06","name":"Cuti bersama"}],"wfh_suspended":[]}' >"$d/cal.cur"
	REDIS_STOPPED=$rpid
	kill -STOP "$rpid"
	kill -HUP "$pid"
	wait_log "$T/$name.log" "reload failed" 30 || { ok=0; why="$why; reload with Redis frozen not failed"; }
	# a second of batches (20 ticks) to show a leak, if there were one
	sleep 1
	viol_state >"$T/state.now"
	cmp -s "$d/want2" "$T/state.now" || { ok=0; why="$why; failed reload changed decisions"; }
	kill -CONT "$rpid"
	REDIS_STOPPED=
	local i applied=0
	for i in $(seq 300); do # the retry, 5 s later (30 s at most)
		applied=$(grep -c "reloaded the roster" "$T/$name.log")
		[ "$applied" -ge 3 ] && break
		sleep 0.1
	done
	[ "$applied" -ge 3 ] || { ok=0; why="$why; reload not retried after Redis resumed"; }
	printf '%s\n' "2027-01-07 E1 late_clock_in retracted" "2027-01-07 E3 absent retracted" \
		"2027-01-08 E1 wfh_not_permitted retracted" "2027-01-08 E2 wfh_not_permitted retracted" \
		"2027-01-08 E3 absent active" >"$d/want2b"
	wait_state "$d/want2b" 30 || { ok=0; why="$why; the retried reload not applied"; }
	# 4. the same files, a new log level and a key that needs a restart:
	# the level applies at once, the other change is named, not applied
	printf 'log.level = warn\nbatch.max_ms = 20\n' >>"$T/$name.conf"
	kill -HUP "$pid"
	wait_log "$T/$name.log" "log level now warn" 30 || { ok=0; why="$why; log level not reloaded"; }
	wait_log "$T/$name.log" "batch.max_ms changed" 30 || { ok=0; why="$why; restart-only key not named"; }
	local m=$T/$name.metrics got_reloads
	scrape "$port" "$m" || { ok=0; why="$why; no /metrics"; }
	got_reloads="$(mget "$m" patuh_reloads_total result=applied) $(mget "$m" patuh_reloads_total result=refused) $(mget "$m" patuh_reloads_total result=failed)"
	[ "$got_reloads" = "4 1 1" ] || { ok=0; why="$why; patuh_reloads_total applied/refused/failed $got_reloads"; }
	kill -0 "$pid" 2>/dev/null || { ok=0; why="$why; patuhd died"; }
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	# 5. the next week, after a restart: E4 is expected now
	"$BIN/patuh" produce --prefix "$prefix" --events "$d/week2.jsonl" 2>/dev/null
	PATUH_NOW=2027-01-12T01:00:00+08:00 timeout 120 "$BIN/patuhd" \
		--config "$T/$name.conf" --until-idle 2>>"$T/$name.log" || { ok=0; why="$why; restart failed"; }
	{ cat "$d/want2b"; printf '%s\n' "2027-01-11 E3 absent active" "2027-01-11 E4 absent active"; } |
		sort >"$d/want3"
	wait_state "$d/want3" 10 || { ok=0; why="$why; E4 not expected after joining"; }
	if [ "$ok" = 1 ]; then
		echo "ok   reload: new holiday retracted its day ($reason), broken calendar refused, wfh_suspended applied, new employee expected from the next day, reload with Redis frozen failed and retried, log level reloaded, restart-only change named; reloads applied/refused/failed $got_reloads"
	else
		echo "FAIL reload:$why"
		diff "$d/want3" "$T/state.now" | head -10
		grep -v trace "$T/$name.log" | tail -8
		fails=$((fails + 1))
	fi
}

# scrape PORT FILE: /metrics into FILE, parsed; fails when it is not
# well-formed exposition text (tests/metrics_check.py says why).
scrape() {
	curl -sf --max-time 5 "http://127.0.0.1:$1/metrics" >"$2" &&
		python3 "$SRC/tests/metrics_check.py" parse "$2" >"$2.samples"
}

# mget FILE NAME [LABEL=VALUE ...]: the sum of those samples.
mget() { python3 "$SRC/tests/metrics_check.py" get "$@"; }

# messages_on TOPIC: how many messages it holds.
messages_on() {
	kcat -b "$PATUH_KAFKA_BOOTSTRAP" -C -t "$1" -e -q -f 'x\n' 2>/dev/null | wc -l
}

# metrics_idle PORT FILE SENT: polls /metrics (60 s at most) until every
# one of SENT records is consumed and in a durable batch, no partition
# lags, no decision is pending, and the counters did not move since the
# previous scrape (a decision the clock fired after the last record goes
# out in a batch of its own).
metrics_idle() {
	local port=$1 f=$2 sent=$3 i prev="" cur
	for i in $(seq 300); do
		if scrape "$port" "$f" &&
			[ "$(mget "$f" patuh_records_total)" = "$sent" ] &&
			[ "$(mget "$f" patuh_batch_records_sum)" = "$sent" ] &&
			[ "$(mget "$f" patuh_consumer_lag)" = 0 ] &&
			[ "$(mget "$f" patuh_pending_decisions)" = 0 ]; then
			cur=$(grep -E '^patuh_(records|dead_letters|decisions)_total' "$f")
			[ "$cur" = "$prev" ] && return 0
			prev=$cur
		fi
		sleep 0.2
	done
	return 1
}

# metrics_expected PREFIX FILE: what the counters must say, from the input
# topics and PostgreSQL, as JSON for metrics_check.py compare.
metrics_expected() {
	local prefix=$1 t
	{
		for t in presence calls excuses; do
			echo "records $prefix$t $(messages_on "$prefix$t")"
		done
		q "SELECT 'dead ' || reason || ' ' || count(*) FROM dead_letters GROUP BY reason"
		q "SELECT 'decisions ' || ks || ' ' || count(*) FROM (
			SELECT (doc->>'kind') || '/' ||
				CASE WHEN doc->>'status' = 'retracted' THEN 'retracted'
				     WHEN revision = 1 THEN 'new' ELSE 'amended' END AS ks
			FROM violation_revisions) r GROUP BY ks"
	} | python3 -c 'import json, sys
want = {"records": {}, "dead": {}, "decisions": {}}
for line in sys.stdin:
    f = line.split()
    if len(f) == 3:
        want[f[0]][f[1]] = int(f[2])
json.dump(want, open(sys.argv[1], "w"))' "$2"
}

# readyz PORT FILE: /readyz's status code (its body into FILE).
readyz() {
	curl -s --max-time 5 -o "$2" -w '%{http_code}' "http://127.0.0.1:$1/readyz"
}

metrics() {
	local dir=$SRC/tests/scenarios/04-missing-and-absent name=metrics
	local prefix="t$RUN-$name." port rpid why=""
	reset_state
	rpid=$(redis-cli -u "$PATUH_REDIS_URL" info server | tr -d '\r' |
		sed -n 's/^process_id://p')
	[ -n "$rpid" ] || { echo "FAIL metrics: no Redis pid"; fails=$((fails + 1)); return; }
	port=$(free_port)
	write_conf "$T/$name.conf" "$name" "$dir/policy.json" "$dir/roster.jsonl" "$dir/calendar.json" "batch.max_records = 4
write.timeout_ms = 1000
metrics.listen = 127.0.0.1:$port"
	# the scenario, and records dead-lettered for several reasons on
	# every input topic (scenario 14's): an unknown employee, a bad
	# timestamp, a truncated value, an excuse ending before it starts
	{
		cat "$dir/events.jsonl"
		sed -n '1p;2p;8p;13p;27p' "$SRC/tests/scenarios/14-bad-input/events.jsonl"
	} >"$T/$name.1.jsonl"
	"$BIN/patuh" produce --prefix "$prefix" --events "$T/$name.1.jsonl" 2>"$T/$name.produce" ||
		{ echo "FAIL metrics: produce"; cat "$T/$name.produce"; fails=$((fails + 1)); return; }
	"$BIN/patuhd" --config "$T/$name.conf" 2>"$T/$name.log" &
	local pid=$! i code
	for i in $(seq 300); do
		[ "$(curl -s --max-time 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz")" = 200 ] && break
		kill -0 $pid 2>/dev/null || break
		sleep 0.1
	done
	# 1. a second patuhd on the same metrics.listen: refused at once,
	# before the lease (it would otherwise stand by)
	timeout 30 "$BIN/patuhd" --config "$T/$name.conf" 2>"$T/$name.second.log"
	code=$?
	[ "$code" = 1 ] && grep -q "metrics.listen: cannot listen: Address already in use" "$T/$name.second.log" ||
		why="$why; second instance on the same port: exit $code, $(tail -1 "$T/$name.second.log")"
	# 2. the counters once everything is durable
	local sent=$(( $(messages_on "${prefix}presence") + $(messages_on "${prefix}calls") + $(messages_on "${prefix}excuses") ))
	local m1=$T/$name.m1
	if ! metrics_idle "$port" "$m1" "$sent"; then
		echo "FAIL metrics: not idle within 60 s ($sent records sent)"
		cat "$m1.samples" 2>/dev/null | grep -v "_bucket\|decisions_total" | head -30; tail -5 "$T/$name.log"
		kill -9 $pid; wait $pid 2>/dev/null; fails=$((fails + 1)); return
	fi
	metrics_expected "$prefix" "$T/$name.want1"
	python3 "$SRC/tests/metrics_check.py" compare "$m1" "$T/$name.want1" >"$T/$name.cmp1" ||
		why="$why; after the first run: $(tr '\n' ' ' <"$T/$name.cmp1")"
	local dead decided kdlq kviol policy
	dead=$(mget "$m1" patuh_dead_letters_total)
	decided=$(mget "$m1" patuh_decisions_total)
	kdlq=$(messages_on "${prefix}dlq")
	kviol=$(messages_on "${prefix}violations")
	[ "$dead" = "$kdlq" ] && [ "$decided" = "$kviol" ] ||
		why="$why; $dead dead letters and $decided decisions counted, $kdlq and $kviol on Kafka"
	[ "$(python3 "$SRC/tests/metrics_check.py" get "$m1" patuh_dead_letters_total | tr -d '\n')" -ge 3 ] &&
		[ "$(grep -c '^patuh_dead_letters_total{reason=[^}]*} [1-9]' "$m1")" -ge 2 ] ||
		why="$why; the scenario did not dead-letter for two reasons"
	policy=$(python3 -c 'import json, sys; p = json.load(open(sys.argv[1])); print("%s/%s" % (p["policy_id"], p["version"]))' "$dir/policy.json")
	[ "$(mget "$m1" patuh_build_info policy="$policy")" = 1 ] ||
		why="$why; no patuh_build_info{policy=\"$policy\"}"
	[ "$(mget "$m1" patuh_watermark_delay_seconds)" = 0 ] ||
		why="$why; watermark delay $(mget "$m1" patuh_watermark_delay_seconds) s once idle (the clock is pinned)"
	[ "$(grep -c '^patuh_consumer_lag{' "$m1")" -eq 12 ] ||
		why="$why; $(grep -c '^patuh_consumer_lag{' "$m1") lag series for 12 partitions"
	local batches
	batches=$(mget "$m1" patuh_batch_duration_seconds_count)
	[ "$batches" -ge 3 ] && [ "$(mget "$m1" patuh_batch_records_count)" = "$batches" ] ||
		why="$why; $batches batches timed, $(mget "$m1" patuh_batch_records_count) sized"
	[ "$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz")" = 200 ] ||
		why="$why; /healthz not 200"
	[ "$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/nope")" = 404 ] ||
		why="$why; /nope not 404"
	# 3. a standby (same database, its own port) serves while it waits
	# for the lease: /healthz 200, /readyz 503 "standby", /metrics with
	# its build_info (PatuhPolicyMismatch compares the instances')
	local sport sb sready=0
	sport=$(free_port)
	sed "s/^metrics.listen = .*/metrics.listen = 127.0.0.1:$sport/" "$T/$name.conf" >"$T/$name.standby.conf"
	"$BIN/patuhd" --config "$T/$name.standby.conf" 2>"$T/$name.standby.log" &
	sb=$!
	if wait_log "$T/$name.standby.log" "standing by" 30; then
		for i in $(seq 50); do
			code=$(readyz "$sport" "$T/$name.sready")
			[ "$code" = 503 ] && grep -q '"check":"standby"' "$T/$name.sready" && { sready=1; break; }
			sleep 0.1
		done
		scrape "$sport" "$T/$name.ms" || why="$why; the standby's /metrics: $(cat "$T/$name.ms.samples")"
		[ "$(mget "$T/$name.ms" patuh_build_info policy="$policy")" = 1 ] &&
			[ "$(mget "$T/$name.ms" patuh_records_total)" = 0 ] ||
			why="$why; the standby's metrics: no build_info or records counted"
		[ "$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$sport/healthz")" = 200 ] ||
			why="$why; the standby's /healthz not 200"
		[ "$sready" = 1 ] || why="$why; the standby's /readyz: $code $(cat "$T/$name.sready")"
	else
		why="$why; the second instance did not stand by: $(tail -1 "$T/$name.standby.log")"
	fi
	kill -TERM $sb
	wait $sb || why="$why; the standby exited $? on SIGTERM"
	# 4. readiness: ready, then unready while Redis is frozen under a
	# state write (a late excuse retracts a violation), ready again once
	# it resumes
	code=$(readyz "$port" "$T/$name.ready0")
	[ "$code" = 200 ] || why="$why; /readyz $code before the freeze: $(cat "$T/$name.ready0")"
	cat >"$T/$name.2.jsonl" <<LATE
{"topic":"excuses","ts":"2026-04-08T09:00:00+08:00","value":{"event_id":"x-late-1","excuse_id":"cuti-late-1","employee_id":"199102022016012005","kind":"cuti","from":"2026-04-06","to":"2026-04-06","updated_at":"2026-04-08T08:55:00+08:00"}}
{"topic":"presence","ts":"2026-04-08T09:01:00+08:00","value":"{\"event_id\": \"p-m-bad\""}
LATE
	kill -STOP "$rpid"
	REDIS_STOPPED=$rpid
	"$BIN/patuh" produce --prefix "$prefix" --events "$T/$name.2.jsonl" 2>>"$T/$name.produce"
	local unready=0 ready=0
	# the write times out after write.timeout_ms (1 s): 10 s is ample
	for i in $(seq 100); do
		code=$(readyz "$port" "$T/$name.ready1")
		if [ "$code" = 503 ] && python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
assert j["ready"] is False and "redis" in [r["check"] for r in j["reasons"]]' "$T/$name.ready1" 2>/dev/null; then
			unready=1; break
		fi
		sleep 0.1
	done
	kill -CONT "$rpid"
	REDIS_STOPPED=
	for i in $(seq 300); do # the retry backs off up to 5 s
		code=$(readyz "$port" "$T/$name.ready2")
		[ "$code" = 200 ] && { ready=1; break; }
		sleep 0.1
	done
	[ "$unready" = 1 ] || why="$why; /readyz did not turn 503 naming redis while Redis was frozen (last: $code $(cat "$T/$name.ready1"))"
	[ "$ready" = 1 ] || why="$why; /readyz not 200 after SIGCONT: $(cat "$T/$name.ready2")"
	# 5. the counters after the freeze: the retraction, the dead letter,
	# the failed Redis writes
	local m2=$T/$name.m2
	sent=$(( $(messages_on "${prefix}presence") + $(messages_on "${prefix}calls") + $(messages_on "${prefix}excuses") ))
	if metrics_idle "$port" "$m2" "$sent"; then
		metrics_expected "$prefix" "$T/$name.want2"
		python3 "$SRC/tests/metrics_check.py" compare "$m2" "$T/$name.want2" >"$T/$name.cmp2" ||
			why="$why; after the freeze: $(tr '\n' ' ' <"$T/$name.cmp2")"
		[ "$(mget "$m2" patuh_decisions_total status=retracted)" -ge 1 ] ||
			why="$why; no retraction counted"
		[ "$(mget "$m2" patuh_sink_errors_total sink=redis)" -ge 1 ] ||
			why="$why; no Redis write error counted"
	else
		why="$why; not idle after the freeze"
	fi
	kill -TERM $pid
	wait $pid || why="$why; patuhd exited $? on SIGTERM"
	if [ -z "$why" ]; then
		echo "ok   metrics: $sent records, $(mget "$m2" patuh_dead_letters_total) dead letters, $(mget "$m2" patuh_decisions_total) decisions counted = Kafka = PostgreSQL; $(mget "$m2" patuh_batch_duration_seconds_count) batches timed; /readyz 503 (redis) while frozen, 200 after; a second instance on the port refused, a standby served 503"
	else
		echo "FAIL metrics${why}"
		grep -v trace "$T/$name.log" | tail -5
		fails=$((fails + 1))
	fi
}

case $WHAT in
scenarios) scenarios ;;
backlog) backlog ;;
dlq) dlq ;;
faults) faults ;;
freeze) freeze ;;
reports) reports ;;
standby) standby ;;
reload) reload ;;
metrics) metrics ;;
all) scenarios; backlog; dlq; faults; freeze; reports; standby; reload; metrics ;;
esac
echo "live_test $WHAT: $fails failed"
[ "$fails" -eq 0 ]
