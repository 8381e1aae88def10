#!/usr/bin/env bash
# The fault matrix (docs/reliability.md): each fault injected mid-stream
# into patuhd running over a generated month (scenario 28: 3,199 records,
# 222 of them bad, batches of 100 or 20), recovery without a manual step,
# and the same assertion every time: every publication in PostgreSQL
# (violation revisions with every field, TPP rows, dead letters with their
# reasons) equals `patuh replay` on the same events, exactly once; the
# Kafka outputs hold each of replay's publications and nothing else (a
# repeat is allowed: outputs are produced again when a crash came before
# the offsets); the digests, payroll months and discipline years read back
# from PostgreSQL equal the scenario's expected files.
#   kill      patuhd SIGKILLed (PATUH_FAILPOINT, engine/failpoint.h) before
#             a batch's PostgreSQL transaction, between it and the Redis
#             write, and between that and the offsets; then restarted
#   redis     redis-server SIGKILLed mid-stream and started again from its
#             AOF: patuhd retries and goes on by itself
#   freeze    redis-server frozen (SIGSTOP) for 30 s mid-stream: every
#             write times out (write.timeout_ms) and is retried, patuhd's
#             memory stays bounded (consumption pauses), nothing is lost
#   broker    a Kafka sandbox of 3 brokers of its own: a broker down and
#             up, partition leaders moved, the group coordinator moved,
#             Produce errors injected, a 2 s round trip
#   replays   duplicate delivery (every accepted record produced again) and
#             the group rewound by 1,000 offsets: no new row in PostgreSQL,
#             no change in Redis
#   poison    a record whose evaluation kills patuhd is quarantined after 3
#             deaths instead of killing every restart
# (The PostgreSQL crash is in live_test.sh freeze, a simulated day of
# downtime in live_test.sh backlog; both carry the faults label too.)
# Exits 77 (skipped) when no stack is configured.
set -uo pipefail
BIN=$1
SRC=$2
WHAT=${3:-all}
. "$SRC/tests/live_lib.sh" faults_test
DIR=$SRC/tests/scenarios/28-reports-month

# conf NAME [LINES]: patuhd's configuration for the run NAME.
conf() {
	write_conf "$T/$1.conf" "$1" "$DIR/policy.json" "$DIR/roster.jsonl" \
		"$DIR/calendar.json" "batch.max_records = 100
write.timeout_ms = 1000
${2:-}"
}

# produce NAME [EVENTS]: the month (or EVENTS) onto NAME's topics.
produce() {
	"$BIN/patuh" produce --prefix "t$RUN-$1." --events "${2:-$DIR/events.jsonl}" \
		2>>"$T/$1.produce"
}

# finish NAME: patuhd until idle, after the fault; 0 when it got there.
finish() {
	timeout 120 "$BIN/patuhd" --config "$T/$1.conf" --until-idle 2>>"$T/$1.log" && return 0
	echo "FAIL $1: patuhd did not finish after the fault"
	grep -v trace "$T/$1.log" | tail -8
	fails=$((fails + 1))
	return 1
}

# check NAME: the assertion of every fault (above).
check() {
	live_publications "$1" "$DIR" --kafka-at-least-once
	live_reports "$1" "$DIR"
}

redis_pid() {
	redis-cli -u "$PATUH_REDIS_URL" info server | tr -d '\r' | sed -n 's/^process_id://p'
}

kill_points() {
	local point name rc
	for point in before_pg after_pg after_redis; do
		name=kill_$point
		reset_state
		conf "$name"
		produce "$name"
		PATUH_FAILPOINT=$point:4 timeout 120 "$BIN/patuhd" --config "$T/$name.conf" \
			--until-idle 2>"$T/$name.log"
		rc=$?
		if [ "$rc" -ne 137 ] || ! grep -q "failpoint $point" "$T/$name.log"; then
			echo "FAIL $name: patuhd was not killed at $point (exit $rc)"
			tail -5 "$T/$name.log"; fails=$((fails + 1)); continue
		fi
		echo "--   $name: killed at the 4th batch's $point, restarting"
		finish "$name" && check "$name"
	done
}

redis_kill() {
	local name=redis rpid
	reset_state
	conf "$name" "batch.max_records = 20"
	produce "$name"
	rpid=$(redis_pid)
	PATUH_TRACE=1 timeout 120 "$BIN/patuhd" --config "$T/$name.conf" --until-idle \
		2>"$T/$name.log" &
	local pid=$!
	wait_log "$T/$name.log" "trace: offsets" 30
	local running=0 noticed=0
	kill -0 "$pid" 2>/dev/null && running=1
	kill -KILL "$rpid"
	# patuhd notices at its next write, then retries with backoff
	wait_log "$T/$name.log" "Redis write failed\|Redis: not connected\|Redis: cannot connect" 20 &&
		noticed=1
	"$SRC/deploy/stack" up >"$T/$name.stack" 2>&1 ||
		{ echo "FAIL redis: deploy/stack up"; cat "$T/$name.stack"; }
	if wait "$pid" && [ "$running" = 1 ] && [ "$noticed" = 1 ]; then
		echo "--   redis: killed mid-stream, started again from its AOF; patuhd went on"
		check "$name"
	else
		echo "FAIL redis: running when killed=$running, failure noticed=$noticed, or patuhd did not finish after Redis came back"
		grep -v trace "$T/$name.log" | tail -8; fails=$((fails + 1))
	fi
}

rss_kib() { sed -n 's/^VmRSS:[^0-9]*\([0-9]*\).*/\1/p' "/proc/$1/status" 2>/dev/null; }

freeze() {
	local name=freeze rpid
	reset_state
	conf "$name" "batch.max_records = 20"
	produce "$name"
	rpid=$(redis_pid)
	PATUH_TRACE=1 timeout 180 "$BIN/patuhd" --config "$T/$name.conf" --until-idle \
		2>"$T/$name.log" &
	local pid=$!
	wait_log "$T/$name.log" "trace: offsets" 30
	REDIS_STOPPED=$rpid
	kill -STOP "$rpid"
	local timed_out=0 rss0 rss1 i dpid
	dpid=$(pgrep -P "$pid" -x patuhd) # timeout(1)'s child
	wait_log "$T/$name.log" "Redis write failed: no reply within 1000 ms" 20 && timed_out=1
	rss0=$(rss_kib "$dpid")
	# the fault lasts 30 s by design; meanwhile the writes keep timing out
	for i in $(seq 28); do sleep 1; done
	rss1=$(rss_kib "$dpid")
	local failures
	failures=$(grep -c "Redis write failed" "$T/$name.log")
	kill -CONT "$rpid"
	REDIS_STOPPED=
	if ! wait "$pid"; then
		echo "FAIL freeze: patuhd did not finish after Redis resumed"
		grep -v trace "$T/$name.log" | tail -8; fails=$((fails + 1)); return
	fi
	# bounded: consumption pauses while a batch cannot be made durable
	if [ "$timed_out" = 1 ] && [ -n "$rss0" ] && [ -n "$rss1" ] &&
		[ "$rss1" -lt $((rss0 + 32768)) ] && [ "$failures" -ge 3 ]; then
		echo "--   freeze: 30 s frozen, $failures writes timed out and retried, RSS ${rss0} -> ${rss1} KiB"
		check "$name"
	else
		echo "FAIL freeze: timed_out=$timed_out failures=$failures RSS ${rss0:-?} -> ${rss1:-?} KiB"
		fails=$((fails + 1))
	fi
}

# A sandbox of 3 brokers for this part alone: its topics carry the run's
# prefix, its control FIFO takes the faults (deploy/kafka_sandbox.c).
broker() {
	local name=broker prefix="t$RUN-broker."
	local fifo=$T/broker.control bs=$T/broker.bootstrap
	"$BIN/patuh-kafka-sandbox" --brokers 3 --partitions 6 --prefix "$prefix" \
		--bootstrap-file "$bs" --control "$fifo" >"$T/broker.sandbox.log" 2>&1 &
	local spid=$! i
	BG_PIDS+=("$spid")
	for i in $(seq 100); do [ -s "$bs" ] && break; sleep 0.1; done
	local saved=$PATUH_KAFKA_BOOTSTRAP
	export PATUH_KAFKA_BOOTSTRAP
	PATUH_KAFKA_BOOTSTRAP=$(cat "$bs")
	ctl() { echo "$*" | timeout 5 tee "$fifo" >/dev/null; }
	reset_state
	conf "$name" "batch.max_records = 5"
	produce "$name"
	PATUH_TRACE=1 timeout 180 "$BIN/patuhd" --config "$T/$name.conf" --until-idle \
		2>"$T/$name.log" &
	local pid=$!
	wait_log "$T/$name.log" "trace: offsets" 30
	# each fault lasts a set time by design; the slow round trip first, so
	# that the run is still going while the others are applied
	ctl rtt 1 2000
	ctl broker down 2
	sleep 2
	ctl broker up 2
	ctl leader "${prefix}presence" 0 3
	ctl leader "${prefix}violations" 1 1
	ctl coordinator "g$RUN-$name" 3
	ctl produce-errors 5
	local ok=1 during=0
	kill -0 "$pid" 2>/dev/null && during=1
	sleep 2
	ctl rtt 1 0
	wait "$pid" || ok=0
	[ "$during" = 1 ] || ok=0
	grep -c "sandbox: .*: ok" "$T/broker.sandbox.log" >"$T/broker.oks"
	if [ "$ok" = 1 ] && [ "$(cat "$T/broker.oks")" -ge 8 ]; then
		echo "--   broker: broker 2 down 2 s and up, leaders and coordinator moved, 5 Produce errors, rtt 2 s; patuhd went on"
		check "$name"
	else
		echo "FAIL broker: patuhd still running under the faults and finished after=$ok (running=$during), faults applied $(cat "$T/broker.oks") of 8"
		grep -v trace "$T/$name.log" | tail -8; cat "$T/broker.sandbox.log" | tail -8
		fails=$((fails + 1))
	fi
	kill "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
	PATUH_KAFKA_BOOTSTRAP=$saved
}

# What PostgreSQL and Redis hold, as one comparable text: row counts and
# digests of every published table, and every Redis key but the lease
# epoch (a new process takes a new one) with a digest of its value.
snapshot() {
	q "SELECT 'revisions ' || count(*) || ' ' || md5(coalesce(string_agg(doc::text, '' ORDER BY violation_id, revision), '')) FROM violation_revisions"
	q "SELECT 'violations ' || count(*) || ' ' || md5(coalesce(string_agg(doc::text, '' ORDER BY violation_id), '')) FROM violations"
	q "SELECT 'tpp ' || count(*) FROM tpp_deductions"
	q "SELECT 'dead ' || count(*) FROM dead_letters"
	q "SELECT 'digests ' || count(*) FROM daily_digest_revisions"
	redis-cli -u "$PATUH_REDIS_URL" --scan | grep -v '^patuh:epoch$' | sort |
		while read -r k; do
			printf '%s %s\n' "$k" "$(redis-cli -u "$PATUH_REDIS_URL" --no-raw dump "$k" | md5sum | cut -c1-16)"
		done
}

replays() {
	local name=replays
	reset_state
	conf "$name"
	produce "$name"
	finish "$name" || return
	snapshot >"$T/$name.snap0"
	local t topics=()
	for t in presence calls excuses; do topics+=("t$RUN-$name.$t"); done
	"$BIN/tests/kafka_committed" --rewind 1000 "$PATUH_KAFKA_BOOTSTRAP" "g$RUN-$name" \
		"${topics[@]}" >/dev/null 2>"$T/$name.rewind"
	grep -q "rewound 1000 records" "$T/$name.rewind" ||
		{ echo "FAIL rewind: $(tail -1 "$T/$name.rewind")"; fails=$((fails + 1)); return; }
	finish "$name" || return
	snapshot >"$T/$name.snap2"
	if cmp -s "$T/$name.snap0" "$T/$name.snap2"; then
		echo "ok   group rewound 1000 offsets: read again, nothing new in PostgreSQL or Redis"
	else
		echo "FAIL the rewind changed the state"; diff "$T/$name.snap0" "$T/$name.snap2" | head
		fails=$((fails + 1))
	fi
	# every accepted record again: replay's dead letters name the lines
	# that were not accepted
	"$BIN/patuh" replay --policy "$DIR/policy.json" --roster "$DIR/roster.jsonl" \
		--calendar "$DIR/calendar.json" --events "$DIR/events.jsonl" \
		--out "$T/$name.replay" >/dev/null 2>&1
	python3 -c 'import json,sys
bad={json.loads(l)["line"] for l in open(sys.argv[1]) if l.strip()}
for i,l in enumerate(open(sys.argv[2]),1):
    if i not in bad:
        sys.stdout.write(l)' "$T/$name.replay/dlq.jsonl" "$DIR/events.jsonl" >"$T/$name.again.jsonl"
	produce "$name" "$T/$name.again.jsonl"
	finish "$name" || return
	snapshot >"$T/$name.snap1"
	if cmp -s "$T/$name.snap0" "$T/$name.snap1"; then
		echo "ok   duplicate delivery: $(wc -l <"$T/$name.again.jsonl") accepted records produced again, nothing new in PostgreSQL or Redis"
	else
		echo "FAIL duplicate delivery changed the state"; diff "$T/$name.snap0" "$T/$name.snap1" | head
		fails=$((fails + 1))
	fi
	check "$name"
}

# A record whose evaluation kills patuhd (PATUH_FAILPOINT=record:ID): the
# restarts die on it until the third, which finds it in the quarantine
# file (engine/quarantine.h), dead-letters it as quarantined and goes on;
# every other publication equals replay of the month without that record.
poison() {
	local name=poison d=$T/poison.dir
	mkdir -p "$d"
	cp "$DIR/policy.json" "$DIR/roster.jsonl" "$DIR/calendar.json" "$d/"
	"$BIN/patuh" replay --policy "$DIR/policy.json" --roster "$DIR/roster.jsonl" \
		--calendar "$DIR/calendar.json" --events "$DIR/events.jsonl" \
		--out "$T/$name.replay" >/dev/null 2>&1
	# an accepted presence record from the middle of the month, and the
	# month without it (a blank line in its place: the other lines keep
	# their numbers, which produce's "not sent" messages give)
	local id
	id=$(python3 -c 'import json,sys
bad={json.loads(l)["line"] for l in open(sys.argv[1]) if l.strip()}
lines=open(sys.argv[2]).readlines()
for i in range(len(lines)//2, len(lines)):
    e=json.loads(lines[i])
    if i+1 not in bad and e.get("topic")=="presence":
        print(e["value"]["event_id"])
        with open(sys.argv[3],"w") as f:
            f.writelines(lines[:i]+["\n"]+lines[i+1:])
        break' "$T/$name.replay/dlq.jsonl" "$DIR/events.jsonl" "$d/events.jsonl")
	reset_state
	conf "$name" "quarantine.file = $T/$name.crash
quarantine.after = 3"
	produce "$name"
	local rcs="" rc i
	for i in 1 2 3 4 5; do
		PATUH_FAILPOINT=record:$id timeout 120 "$BIN/patuhd" --config "$T/$name.conf" \
			--until-idle 2>>"$T/$name.log"
		rc=$?
		rcs="$rcs $rc"
		[ "$rc" -eq 0 ] && break
	done
	local dl
	dl=$(q "SELECT reason || ' ' || (doc->>'raw' LIKE '%\"$id\"%') FROM dead_letters WHERE reason = 'quarantined'")
	if [ "$rcs" = " 137 137 137 0" ] && [ "$dl" = "quarantined true" ] &&
		grep -q "quarantined presence\|quarantined .*presence" "$T/$name.log"; then
		echo "--   poison: record $id killed patuhd 3 times, then was quarantined (exits$rcs)"
		live_publications "$name" "$d" --kafka-at-least-once --except-quarantined
	else
		echo "FAIL poison: exits$rcs, dead letter '$dl'"
		grep -v trace "$T/$name.log" | grep -i "quarantin\|failpoint" | tail -6
		fails=$((fails + 1))
	fi
}

case $WHAT in
kill) kill_points ;;
redis) redis_kill ;;
freeze) freeze ;;
broker) broker ;;
replays) replays ;;
poison) poison ;;
all) kill_points; redis_kill; freeze; broker; replays; poison ;;
esac
echo "faults_test $WHAT: $fails failed"
[ "$fails" -eq 0 ]
