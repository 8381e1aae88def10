#!/usr/bin/env bash
# patuh alerts --follow against the real stack (deploy/stack up; PATUH_* set).
# The sample Friday goes through the real engine (patuh produce -> patuhd
# --until-idle), whose alerts on <prefix>alerts are then delivered:
#   retries    a webhook failing its first 3 requests gets every alert
#              exactly once (alert_id list = the topic's), after 3 retries
#   committed  a second run in the same group delivers nothing
#   timeout    a webhook that never answers the first request: the request
#              times out (--timeout-ms) and is retried
#   down       no webhook listening for the first attempts, then one
#              comes up: nothing lost (read-ahead 1: fetching paused and
#              resumed around every alert)
#   sigterm    SIGTERM during the backoff exits 0 and commits nothing
#              unconfirmed: a restart delivers every alert
#   print      --supervisor prints only that supervisor's alerts, in
#              Bahasa Indonesia; skipped alerts are committed too
# Exits 77 (skipped) when no stack is configured.
set -uo pipefail
BIN=$1
SRC=$2
if [ -z "${PATUH_KAFKA_BOOTSTRAP:-}" ] || [ -z "${PATUH_PG_CONNINFO:-}" ] ||
	[ -z "${PATUH_REDIS_URL:-}" ]; then
	echo "alerts_test: no stack (run deploy/stack up; eval \"\$(deploy/stack env)\")"
	exit 77
fi
export PATUH_NOW=${PATUH_NOW:-2100-01-01T00:00:00Z}
T=$(mktemp -d /tmp/patuh-alerts-XXXXXX)
export TMPDIR=$T # patuhd's quarantine file (its default place) goes with the rest
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
RUN=$(date +%s%N | tail -c 9)
PREFIX="t$RUN-alerts."
SINK=$BIN/tests/webhook_sink
ALERTS=("$BIN/patuh" alerts --follow --prefix "$PREFIX" --until-idle
	# the sandbox holds a rejoining group for session.timeout.ms
	--kafka session.timeout.ms=6000 --kafka heartbeat.interval.ms=1000)
fails=0
ok() { echo "ok   $*"; }
fail() {
	echo "FAIL $*"
	fails=$((fails + 1))
}

# wait_for SECONDS COMMAND...: true as soon as COMMAND is, polling 10/s.
wait_for() {
	local n=$(($1 * 10))
	shift
	for ((i = 0; i < n; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}
alive() { kill -0 "$1" 2>/dev/null; }
dead() { ! kill -0 "$1" 2>/dev/null; }
at_least() { [ "$(grep -c -- "$2" "$3" 2>/dev/null)" -ge "$1" ]; }
ids() { grep -o '"alert_id":"[0-9a-f]*"' "$1" | sort; }

# start_sink NAME ARGS...: a webhook_sink on /hook; sets SINK_PID, PORT.
start_sink() {
	local name=$1
	shift
	"$SINK" --out "$T/$name.jsonl" --port-file "$T/$name.port" --path /hook \
		--timeout-s 120 "$@" >"$T/$name.log" 2>&1 &
	SINK_PID=$!
	PIDS+=("$SINK_PID")
	wait_for 10 test -s "$T/$name.port" || { echo "webhook_sink did not start"; cat "$T/$name.log"; exit 1; }
	PORT=$(cat "$T/$name.port")
}

# free_port: a port nothing listens on (a sink's, once it has stopped).
free_port() {
	start_sink probe-$1
	kill -TERM "$SINK_PID"
	wait "$SINK_PID" 2>/dev/null
}

# same_ids NAME: the bodies NAME received are the topic's alerts, each once.
same_ids() {
	ids "$T/$1.jsonl" >"$T/$1.ids"
	diff "$T/topic.ids" "$T/$1.ids" >"$T/$1.diff"
}

# --- the engine publishes the sample Friday's alerts ----------------------
redis-cli -u "$PATUH_REDIS_URL" flushdb >/dev/null
psql -X -q "$PATUH_PG_CONNINFO" -c \
	"TRUNCATE violations, violation_revisions, tpp_deductions, dead_letters, employees, engine_lease"
cat >"$T/patuhd.conf" <<CONF
policy.file = $SRC/rules/balikpapan-se737-2026.json
roster.file = $SRC/deploy/sample/roster.jsonl
calendar.file = $SRC/deploy/sample/calendar.json
kafka.topic_prefix = $PREFIX
kafka.group = g$RUN-alerts-engine
metrics.listen = off
CONF
"$BIN/patuh" produce --prefix "$PREFIX" --events "$SRC/deploy/sample/events.jsonl" 2>"$T/produce.log" ||
	{ echo "FAIL produce"; cat "$T/produce.log"; exit 1; }
timeout 120 "$BIN/patuhd" --config "$T/patuhd.conf" --until-idle 2>"$T/patuhd.log" ||
	{ echo "FAIL patuhd"; tail -20 "$T/patuhd.log"; exit 1; }
kcat -b "$PATUH_KAFKA_BOOTSTRAP" -C -t "${PREFIX}alerts" -e -q -f '%k\t%s\n' >"$T/topic.tsv" 2>/dev/null
ids "$T/topic.tsv" >"$T/topic.ids"
N=$(wc -l <"$T/topic.ids")
if [ "$N" -lt 5 ]; then
	echo "FAIL only $N alerts on ${PREFIX}alerts"; exit 1
fi
echo "--   $N alerts on ${PREFIX}alerts"

# --- retries: the first 3 requests fail ----------------------------------
start_sink s1 --fail-first 3 --expect "$N"
S1=$SINK_PID
timeout 120 "${ALERTS[@]}" --group "ga$RUN" \
	--webhook "http://127.0.0.1:$PORT/hook?token=s3cr3t$RUN" 2>"$T/a1.err"
rc=$?
wait_for 10 dead "$S1"
wait "$S1"
src=$?
answered503=$(grep -c '^503 ' "$T/s1.log")
retried=$(grep -c 'HTTP 503 for alert .*; retry [0-9]* in [0-9]* ms' "$T/a1.err")
if [ "$rc" -eq 0 ] && [ "$src" -eq 0 ] && same_ids s1 && [ "$answered503" -eq 3 ] &&
	[ "$retried" -eq 3 ] && grep -q ' 0 refused' "$T/s1.log"; then
	ok "retries: $N alerts delivered exactly once after $answered503 answers 503 and $retried retries"
else
	fail "retries: exit $rc, sink $src, $answered503 answered 503, $retried retries logged"
	cat "$T/s1.diff" "$T/s1.log" "$T/a1.err"
fi
if grep -q "s3cr3t$RUN" "$T/a1.err"; then
	fail "the webhook token reached the log"
fi
want=$(grep -c '"kind":"violation"' "$T/topic.tsv")
got=$(grep -c '"message":"\[Pelanggaran\] Kepada: [0-9]*\\nTanggal: Jumat, 17 April 2026\\nWaktu: ' "$T/s1.jsonl")
if [ "$got" -eq "$want" ]; then
	ok "webhook bodies carry the chat message ($got violations)"
else
	fail "webhook bodies: $got messages for $want violations"; head -2 "$T/s1.jsonl"
fi

# --- committed: the same group again delivers nothing ---------------------
start_sink s2
S2=$SINK_PID
timeout 120 "${ALERTS[@]}" --group "ga$RUN" --webhook "http://127.0.0.1:$PORT/hook" 2>"$T/a2.err"
rc=$?
kill -TERM "$S2"
wait "$S2"
requests=$(grep -c '^[0-9]' "$T/s2.log")
if [ "$rc" -eq 0 ] && [ "$requests" -eq 0 ]; then
	ok "committed: a second run in the same group sent nothing"
else
	fail "committed: exit $rc, $requests requests on the second run"; cat "$T/a2.err"
fi

# --- timeout: the first request is never answered ------------------------
start_sink s5 --hang-first 1 --expect "$N"
S5=$SINK_PID
# bounded well below libevent's own 50 s default, which must not be the one
timeout 30 "${ALERTS[@]}" --group "gh$RUN" --timeout-ms 500 \
	--webhook "http://127.0.0.1:$PORT/hook" 2>"$T/a5.err"
rc=$?
wait_for 10 dead "$S5"
timed_out=$(grep -c 'timed out for alert .*; retry 1 in 100 ms' "$T/a5.err")
if [ "$rc" -eq 0 ] && [ "$timed_out" -eq 1 ] && grep -q '^hang ' "$T/s5.log" && same_ids s5; then
	ok "timeout: the unanswered request timed out, was retried, $N alerts delivered exactly once"
else
	fail "timeout: exit $rc, $timed_out timeouts logged"; cat "$T/a5.err" "$T/s5.log" "$T/s5.diff"
fi

# --- down: nobody listens at first, then a webhook comes up ---------------
free_port 3
P3=$PORT
"${ALERTS[@]}" --group "gb$RUN" --webhook "http://127.0.0.1:$P3/hook" \
	--retry-max-ms 300 --read-ahead 1 2>"$T/a3.err" &
A3=$!
PIDS+=("$A3")
wait_for 30 at_least 3 'cannot connect' "$T/a3.err" || fail "down: no refused attempts logged"
"$SINK" --out "$T/s3.jsonl" --port "$P3" --path /hook --expect "$N" --timeout-s 120 >"$T/s3.log" 2>&1 &
S3=$!
PIDS+=("$S3")
wait_for 120 dead "$A3"
wait "$A3"
rc=$?
refused=$(grep -c 'cannot connect' "$T/a3.err")
if [ "$rc" -eq 0 ] && same_ids s3; then
	ok "down: $refused refused attempts, then $N alerts delivered exactly once"
else
	fail "down: exit $rc"; cat "$T/s3.diff" "$T/a3.err"
fi
wait_for 10 dead "$S3"

# --- sigterm: stopped during the backoff, restarted ----------------------
free_port 4
P4=$PORT
"${ALERTS[@]}" --group "gt$RUN" --webhook "http://127.0.0.1:$P4/hook" 2>"$T/a4.err" &
A4=$!
PIDS+=("$A4")
wait_for 30 at_least 2 'cannot connect' "$T/a4.err"
kill -TERM "$A4"
wait_for 10 dead "$A4"
wait "$A4"
rc=$?
start_sink s4 --expect "$N"
timeout 120 "${ALERTS[@]}" --group "gt$RUN" --webhook "http://127.0.0.1:$PORT/hook" 2>"$T/a4b.err"
rc2=$?
if [ "$rc" -eq 0 ] && grep -q 'signal 15: stopping' "$T/a4.err" && [ "$rc2" -eq 0 ] && same_ids s4; then
	ok "sigterm: exit 0 during the backoff; the restart delivered all $N alerts"
else
	fail "sigterm: exit $rc, restart exit $rc2"; cat "$T/a4.err" "$T/s4.diff"
fi

# --- print: one supervisor's alerts in Bahasa Indonesia -------------------
sup=$(cut -f1 "$T/topic.tsv" | sort | uniq -c | sort -rn | awk 'NR == 1 { print $2 }')
want=$(awk -F'\t' -v k="$sup" '$1 == k' "$T/topic.tsv" | wc -l)
timeout 120 "${ALERTS[@]}" --group "gp$RUN" --supervisor "$sup" >"$T/p1.out" 2>"$T/p1.err"
rc=$?
blocks=$(grep -c '^\[' "$T/p1.out")
to_sup=$(grep -c "^\[[A-Za-z ]*\] Kepada: $sup\$" "$T/p1.out")
dates=$(grep -c '^Tanggal: Jumat, 17 April 2026$' "$T/p1.out")
times=$(grep -Ec '^Waktu: (.* )?[0-2][0-9]:[0-5][0-9] WITA$' "$T/p1.out")
if [ "$rc" -eq 0 ] && [ "$want" -lt "$N" ] && [ "$blocks" -eq "$want" ] &&
	[ "$to_sup" -eq "$want" ] && [ "$dates" -eq "$want" ] && [ "$times" -eq "$want" ]; then
	ok "print: --supervisor $sup printed its $want of $N alerts, dated 'Jumat, 17 April 2026', WITA times"
else
	fail "print: exit $rc; $blocks blocks, $to_sup to $sup, $dates dates, $times times; want $want of $N"
	cat "$T/p1.out" "$T/p1.err"
fi
# the other supervisors' alerts were skipped and committed as such
timeout 120 "${ALERTS[@]}" --group "gp$RUN" >"$T/p2.out" 2>"$T/p2.err"
rc=$?
if [ "$rc" -eq 0 ] && [ ! -s "$T/p2.out" ]; then
	ok "print: skipped alerts are committed (the same group without --supervisor prints nothing)"
else
	fail "print: exit $rc, the same group printed again:"; head "$T/p2.out"
fi
timeout 120 "${ALERTS[@]}" --group "gq$RUN" >"$T/p3.out" 2>"$T/p3.err"
rc=$?
blocks=$(grep -c '^Tanggal: Jumat, 17 April 2026$' "$T/p3.out")
if [ "$rc" -eq 0 ] && [ "$blocks" -eq "$N" ]; then
	ok "print: a new group prints all $N alerts"
else
	fail "print: exit $rc, $blocks of $N alerts printed"; cat "$T/p3.err"
fi

echo "alerts_test: $fails failed"
[ "$fails" -eq 0 ]
