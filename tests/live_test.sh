#!/usr/bin/env bash
# Live = replay, against the real stack (deploy/stack up; PATUH_* set):
#   scenarios  every public scenario through patuh produce -> patuhd
#              --until-idle -> patuh violations, compared with expected/
#   backlog    a day produced while patuhd is down, then read in small
#              batches: nothing may fire early (no retraction, revision 1)
#   dlq        bad records reach patuh.dlq and dead_letters with their
#              reason, and the partition moves on
#   faults     patuhd killed (-9) mid-stream and restarted: same final
#              violations, no revision twice; SIGTERM drains and commits,
#              so a restart reads nothing again
# Exits 77 (skipped) when no stack is configured.
set -uo pipefail
BIN=$1
SRC=$2
WHAT=${3:-all}
if [ -z "${PATUH_KAFKA_BOOTSTRAP:-}" ] || [ -z "${PATUH_PG_CONNINFO:-}" ] ||
	[ -z "${PATUH_REDIS_URL:-}" ]; then
	echo "live_test: no stack (run deploy/stack up; eval \"\$(deploy/stack env)\")"
	exit 77
fi
# Scenario dates run into 2027: pin the engine clock past them, so that
# "consumed to its end" closes every day as replay's end of input does.
export PATUH_NOW=${PATUH_NOW:-2100-01-01T00:00:00Z}
T=$(mktemp -d /tmp/patuh-live-XXXXXX)
trap 'rm -rf "$T"' EXIT
RUN=$(date +%s%N | tail -c 9)
fails=0

reset_state() {
	redis-cli -u "$PATUH_REDIS_URL" flushdb >/dev/null
	psql -X -q "$PATUH_PG_CONNINFO" -c \
		"TRUNCATE violations, violation_revisions, tpp_deductions, dead_letters"
}

# run_scenario NAME DIR POLICY EXTRA_CONFIG
run_scenario() {
	local name=$1 dir=$2 policy=$3 extra=${4:-}
	local prefix="t$RUN-$name."
	reset_state
	cat >"$T/$name.conf" <<CONF
policy.file = $policy
roster.file = $dir/roster.jsonl
calendar.file = $dir/calendar.json
kafka.topic_prefix = $prefix
kafka.group = g$RUN-$name
$extra
CONF
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
		if ! run_scenario "$name" "$dir" "$dir/policy.json"; then
			fails=$((fails + 1)); continue
		fi
		if "$BIN/tests/compare_violations" "$dir/expected/violations.jsonl" "$T/$name.got" >"$T/$name.diff"; then
			echo "ok   live = expected: $name"
		else
			echo "FAIL live != expected: $name"; cat "$T/$name.diff"
			fails=$((fails + 1))
		fi
	done
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
	cat >"$T/$name.conf" <<CONF
policy.file = $SRC/rules/balikpapan-se737-2026.json
roster.file = $dir/roster.jsonl
calendar.file = $dir/calendar.json
kafka.topic_prefix = $prefix
kafka.group = g$RUN-$name
batch.max_records = 2
# a killed member must not hold its partitions for the default 45 s
kafka.session.timeout.ms = 6000
kafka.heartbeat.interval.ms = 1000
CONF
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
	# 2. restart and finish
	timeout 120 "$BIN/patuhd" --config "$T/$name.conf" --until-idle 2>"$T/$name.log2" ||
		{ echo "FAIL faults: restart"; tail "$T/$name.log2"; fails=$((fails + 1)); return; }
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
	# 3. SIGTERM drains and commits: nothing is read twice afterwards
	# (a new group over the same topics, so there is something to read)
	reset_state
	sed -i "s/^kafka.group = .*/kafka.group = g$RUN-term/" "$T/$name.conf"
	PATUH_TRACE=1 "$BIN/patuhd" --config "$T/$name.conf" 2>"$T/$name.log3" &
	pid=$!
	for _ in $(seq 300); do
		grep -q 'trace: offsets' "$T/$name.log3" && break
		sleep 0.05
	done
	sleep 2 # the rest of the topic, batch by batch
	kill -TERM "$pid"
	if wait "$pid"; then
		timeout 120 "$BIN/patuhd" --config "$T/$name.conf" --until-idle 2>"$T/$name.log4"
		# what the stopped run consumed plus what the restart read must
		# be exactly what was produced: nothing twice, nothing lost
		local first second sent
		first=$(grep -o '[0-9]* records consumed' "$T/$name.log3" | cut -d' ' -f1)
		second=$(grep -o '([0-9]* records,' "$T/$name.log4" | tr -dc '0-9')
		sent=$(grep -c . "$dir/events.jsonl")
		if [ "${first:-0}" -gt 0 ] && [ $((first + second)) -eq "$sent" ]; then
			echo "ok   SIGTERM: clean exit after $first records, restart read the other $second"
		else
			echo "FAIL faults: $first records before SIGTERM, $second after, $sent sent"
			fails=$((fails + 1))
		fi
	else
		echo "FAIL faults: patuhd did not exit 0 on SIGTERM"; tail "$T/$name.log3"
		fails=$((fails + 1))
	fi
}

case $WHAT in
scenarios) scenarios ;;
backlog) backlog ;;
dlq) dlq ;;
faults) faults ;;
all) scenarios; backlog; dlq; faults ;;
esac
echo "live_test $WHAT: $fails failed"
[ "$fails" -eq 0 ]
