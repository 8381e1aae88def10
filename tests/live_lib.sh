# What the live and fault tests share (tests/live_test.sh,
# tests/faults_test.sh): the stack check, a scratch folder, a run id, and
# the helpers below.  Sourced with BIN and SRC set; $1 names the script
# in messages.  Exits 77 (skipped) when no stack is configured.
if [ -z "${PATUH_KAFKA_BOOTSTRAP:-}" ] || [ -z "${PATUH_PG_CONNINFO:-}" ] ||
	[ -z "${PATUH_REDIS_URL:-}" ]; then
	echo "$1: no stack (run deploy/stack up; eval \"\$(deploy/stack env)\")"
	exit 77
fi
# Scenario dates run into 2027: pin the engine clock past them, so that
# "consumed to its end" closes every day as replay's end of input does.
export PATUH_NOW=${PATUH_NOW:-2100-01-01T00:00:00Z}
T=$(mktemp -d /tmp/patuh-live-XXXXXX)
# what patuhd keeps in $TMPDIR by default (its quarantine file) goes
# with the rest
export TMPDIR=$T
# a Redis stopped by a part is resumed whatever happens
REDIS_STOPPED=
# processes a part left running (a patuhd outside timeout(1), a sandbox)
# are stopped whatever happens
BG_PIDS=()
trap 'sandbox_rtt 0; [ -z "$REDIS_STOPPED" ] || kill -CONT "$REDIS_STOPPED"
	[ ${#BG_PIDS[@]} -eq 0 ] || { kill -CONT "${BG_PIDS[@]}"; kill "${BG_PIDS[@]}"; } 2>/dev/null
	[ -n "${KEEP_T:-}" ] || rm -rf "$T"' EXIT
RUN=$(date +%s%N | tail -c 9)
fails=0

reset_state() {
	redis-cli -u "$PATUH_REDIS_URL" flushdb >/dev/null
	psql -X -q "$PATUH_PG_CONNINFO" -c \
		"TRUNCATE violations, violation_revisions, tpp_deductions, dead_letters,
		 daily_digests, daily_digest_revisions, input_records, input_chunks, employees,
		 reference_docs, payroll_snapshots, payroll_closures, engine_lease, work_owners"
}

q() { psql -X -tA "$PATUH_PG_CONNINFO" -c "$1"; }

# write_conf FILE NAME POLICY ROSTER CALENDAR [LINES]: patuhd's
# configuration for the run NAME — its own topics (t$RUN-NAME.) and
# consumer group (g$RUN-NAME) — with LINES added; no HTTP endpoints
# unless LINES set metrics.listen (parts run several patuhd at once).
write_conf() {
	local lines=${6:-}
	case $lines in
	*metrics.listen*) ;;
	*) lines="metrics.listen = off
$lines" ;;
	esac
	cat >"$1" <<CONF
policy.file = $3
roster.file = $4
calendar.file = $5
kafka.topic_prefix = t$RUN-$2.
kafka.group = g$RUN-$2
$lines
CONF
}

# revisions_since TOPIC BEFORE: "violation_id revision" of every message on
# TOPIC, less those listed in BEFORE (earlier output of the same; a
# multiset difference, as partitions come in any order).
revisions_since() {
	kcat -b "$PATUH_KAFKA_BOOTSTRAP" -C -t "$1" -e -q -f '%s\n' 2>/dev/null |
		python3 -c 'import collections,json,sys
before=collections.Counter(l.strip() for l in open(sys.argv[1]) if l.strip())
for l in sys.stdin:
    if not l.strip():
        continue
    d=json.loads(l)
    k="%s %d" % (d["violation_id"], d["revision"])
    if before[k] > 0:
        before[k] -= 1
    else:
        print(k)' "$2"
}

# wait_until SECONDS COMMAND...: runs COMMAND every 50 ms until it
# succeeds (0) or SECONDS have passed (1): the waits for a condition,
# never a blind sleep.
wait_until() {
	local i n=$(($1 * 20))
	shift
	for i in $(seq "$n"); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}

has_line() { grep -q "$2" "$1" 2>/dev/null; } # has_line FILE PATTERN

wait_log() { wait_until "$3" has_line "$1" "$2"; } # wait_log FILE PATTERN SECONDS

# Slows the sandbox broker's round trips (MS, 0: normal) when its control
# channel is there (deploy/stack env exports it).
sandbox_rtt() {
	local c=${PATUH_SANDBOX_CONTROL:-}
	[ -n "$c" ] && [ -p "$c" ] && echo "rtt 1 $1" | timeout 5 tee "$c" >/dev/null
	return 0
}

# pg_ctl of the stack's PostgreSQL, as the account it runs under.
as_pg_ctl() {
	local bin
	bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
	if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$bin/pg_ctl" "$@"; else "$bin/pg_ctl" "$@"; fi
}

# A TCP port free on the loopback right now.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Every publication patuhd made equals replay's on the same events:
# violation revisions (PostgreSQL and patuh.violations), TPP events
# (PostgreSQL and patuh.tpp), alerts, digest rows in the order each
# (date, unit) was published, dead letters (tests/compare_pubs.py).
# live_publications NAME DIR [FLAG...]: every publication
# of the run NAME (topic prefix t$RUN-NAME., produce's messages in
# $T/NAME.produce) against patuh replay of DIR's events
# (tests/compare_pubs.py and its flags: --kafka-at-least-once after a
# crash, --except-quarantined).
live_publications() {
	local name=$1 dir=$2 prefix="t$RUN-$name." o=$T/$name.pubs t
	mkdir -p "$o/live"
	if ! "$BIN/patuh" replay --policy "$dir/policy.json" --roster "$dir/roster.jsonl" \
		--calendar "$dir/calendar.json" --events "$dir/events.jsonl" \
		--out "$o/replay" >/dev/null 2>"$o/replay.err"; then
		echo "FAIL $name: replay"; cat "$o/replay.err"; fails=$((fails + 1)); return
	fi
	q "SELECT doc FROM violation_revisions" >"$o/live/pg_revisions.jsonl"
	q "SELECT row_to_json(t) FROM tpp_deductions t" >"$o/live/pg_tpp.jsonl"
	q "SELECT doc FROM dead_letters" >"$o/live/pg_dlq.jsonl"
	for t in violations tpp alerts dlq digests; do
		kcat -b "$PATUH_KAFKA_BOOTSTRAP" -C -t "$prefix$t" -e -q -f '%s\n' \
			>"$o/live/k_$t.jsonl" 2>/dev/null
	done
	# lines with a bad envelope have no topic: patuh produce says so
	sed -n 's/.* line \([0-9]*\): .*(not sent)$/\1/p' "$T/$name.produce" >"$o/not_sent"
	if python3 "$SRC/tests/compare_pubs.py" ${3:-} ${4:-} "$o/replay" "$o/live" "$o/not_sent" >"$o/diff"; then
		echo "ok   live = replay, every publication: $name"
	else
		echo "FAIL live != replay publications: $name"; head -n 40 "$o/diff"
		fails=$((fails + 1))
	fi
}

# The reports read back from PostgreSQL equal the scenario's expected rows.
live_reports() { # live_reports NAME DIR
	local name=$1 dir=$2 f m y
	"$BIN/patuh" digest --from 1970-01-01 --to 2100-01-01 --format jsonl \
		>"$T/$name.digests" 2>/dev/null
	report_check "$name digests" "$dir/expected/digests.jsonl" "$T/$name.digests" date,unit_id
	for f in "$dir"/expected/payroll-*.jsonl; do
		[ -e "$f" ] || continue
		m=$(basename "$f" .jsonl); m=${m#payroll-}
		"$BIN/patuh" payroll --month "$m" --format jsonl >"$T/$name.p$m" 2>/dev/null
		report_check "$name payroll $m" "$f" "$T/$name.p$m" employee_id
	done
	for f in "$dir"/expected/discipline-*.jsonl; do
		[ -e "$f" ] || continue
		y=$(basename "$f" .jsonl); y=${y#discipline-}
		"$BIN/patuh" discipline --year "$y" --format jsonl >"$T/$name.d$y" 2>/dev/null
		report_check "$name discipline $y" "$f" "$T/$name.d$y" employee_id
	done
}

report_check() { # report_check WHAT EXPECTED GOT KEYS
	if "$BIN/tests/compare_rows" "$2" "$3" "$4" >"$T/rows.diff"; then
		echo "ok   live = expected: $1"
	else
		echo "FAIL live != expected: $1"; head -n 20 "$T/rows.diff"
		fails=$((fails + 1))
	fi
}
