#!/bin/sh
# The `patuh replay` command-line contract (SPEC §6, issue acceptance):
# exit 0 on success even with bad records (they go to dlq.jsonl), exit 2
# with a message naming the file and the field for a refused policy,
# roster or calendar, and for bad arguments.
set -u
PATUH=$1
SRC=$2
PATUHD=${3:-}
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

# patuhd refuses a bad configuration before touching any server.
if [ -n "$PATUHD" ]; then
	P=$SRC/rules/balikpapan-se737-2026.json
	R=$SCEN/roster.jsonl
	C=$SCEN/calendar.json
	env_none="env -u PATUH_KAFKA_BOOTSTRAP -u PATUH_REDIS_URL -u PATUH_PG_CONNINFO"
	printf 'policy.file = %s\nroster.file = %s\ncalendar.file = %s\nkafka.bootstrap = x:1\nredis.url = redis://127.0.0.1:1/0\npg.conninfo = host=127.0.0.1\nbatch.max_record = 10\n' "$P" "$R" "$C" >"$T/d1.conf"
	expect 2 "d1.conf line 7: unknown key 'batch.max_record'" -- $env_none "$PATUHD" --config "$T/d1.conf"
	printf 'roster.file = %s\ncalendar.file = %s\n' "$R" "$C" >"$T/d2.conf"
	expect 2 "d2.conf: missing policy.file" -- $env_none "$PATUHD" --config "$T/d2.conf"
	printf 'policy.file = %s\nroster.file = %s\ncalendar.file = %s\nkafka.bootstrap = x:1\nredis.url = redis://127.0.0.1:1/0\npg.conninfo = host=127.0.0.1\nbatch.max_ms = soon\n' "$P" "$R" "$C" >"$T/d3.conf"
	expect 2 "batch.max_ms: expected an integer" -- $env_none "$PATUHD" --config "$T/d3.conf"
	printf 'policy.file = %s\nroster.file = %s\ncalendar.file = %s\n' "$P" "$R" "$C" >"$T/d4.conf"
	expect 2 "missing kafka.bootstrap (or PATUH_KAFKA_BOOTSTRAP)" -- $env_none "$PATUHD" --config "$T/d4.conf"
	printf 'policy.file = %s\nroster.file = %s\ncalendar.file = %s\nkafka.bootstrap = x:1\nredis.url = localhost:6379\npg.conninfo = host=127.0.0.1\n' "$P" "$R" "$C" >"$T/d5.conf"
	expect 2 "redis.url: expected redis://host:port/db" -- $env_none "$PATUHD" --config "$T/d5.conf"
	printf 'policy.file = %s\nroster.file = %s\ncalendar.file = %s\nkafka.bootstrap = x:1\nredis.url = redis://127.0.0.1:1/0\npg.conninfo = host=127.0.0.1 password=hunter2\n' "$T/p1.json" "$R" "$C" >"$T/d6.conf"
	expect 2 "p1.json: late_bands[2].from: expected an integer" -- $env_none "$PATUHD" --config "$T/d6.conf"
	if grep -q hunter2 "$T/err" "$T/out"; then
		echo "FAIL: patuhd printed a password from its configuration"; fails=$((fails + 1))
	fi

	no_secret() { # the password of the configs below, in no output
		if grep -q hunter2 "$T/err" "$T/out"; then
			echo "FAIL: patuhd printed a password: $1"; fails=$((fails + 1))
		fi
	}
	# --check: validates the file and the three reference files, lists
	# every key of the table with its value and source, secrets masked;
	# connects to nothing (the servers named here do not exist).
	conns='kafka.bootstrap = x:1\nredis.url = redis://127.0.0.1:1/0\n'
	printf "policy.file = %s\nroster.file = %s\ncalendar.file = %s\n$conns" "$P" "$R" "$C" >"$T/refs.conf"
	cp "$T/refs.conf" "$T/c1.conf"
	printf 'pg.conninfo = host=db.example port=5432 dbname=patuh user=patuhd password=hunter2\nkafka.sasl.password = hunter2\nkafka.ssl.key.password = hunter2\nkafka.security.protocol = SASL_SSL\nlog.format = json\n' >>"$T/c1.conf"
	expect 0 "pg.conninfo              = host=db.example port=5432 dbname=patuh user=patuhd password=********  # file" -- $env_none "$PATUHD" --config "$T/c1.conf" --check
	no_secret c1
	nkeys=0
	for key in $("$PATUHD" --print-config-doc | sed -n 's/^| `\([a-z_.]*\)` |.*/\1/p'); do
		nkeys=$((nkeys + 1))
		if [ "$(grep -c "^$key " "$T/out")" -ne 1 ]; then
			echo "FAIL: patuhd --check lists $key $(grep -c "^$key " "$T/out") times"; fails=$((fails + 1))
		fi
	done
	if [ "$nkeys" -lt 16 ]; then echo "FAIL: only $nkeys keys in --print-config-doc"; fails=$((fails + 1)); fi
	for want in "log.format               = json  # file" "kafka.group              = patuhd  # default" \
		"kafka.sasl.password      = ********  # file" "kafka.security.protocol  = SASL_SSL  # file"; do
		grep -qF -- "$want" "$T/out" || { echo "FAIL: --check lacks '$want'"; fails=$((fails + 1)); }
	done
	# the environment, and where a value came from
	expect 0 "pg.conninfo              = host=127.0.0.1 password=********  # environment PATUH_PG_CONNINFO" -- \
		env -u PATUH_KAFKA_BOOTSTRAP -u PATUH_REDIS_URL PATUH_PG_CONNINFO="host=127.0.0.1 password=hunter2" "$PATUHD" --config "$T/refs.conf" --check
	no_secret PATUH_PG_CONNINFO
	# a refused reference file, configuration or librdkafka property: exit 2
	# naming the file and field, no value
	sed "s#^policy.file = .*#policy.file = $T/p1.json#" "$T/c1.conf" >"$T/c2.conf"
	expect 2 "p1.json: late_bands[2].from: expected an integer" -- $env_none "$PATUHD" --config "$T/c2.conf" --check
	no_secret c2
	sed "s#^roster.file = .*#roster.file = $T/r1.jsonl#" "$T/c1.conf" >"$T/c3.conf"
	expect 2 "r1.jsonl line 3: position_class" -- $env_none "$PATUHD" --config "$T/c3.conf" --check
	no_secret c3
	sed "s#^calendar.file = .*#calendar.file = $T/c1.json#" "$T/c1.conf" >"$T/c4.conf"
	expect 2 "c1.json: holidays[0].date: expected a date" -- $env_none "$PATUHD" --config "$T/c4.conf" --check
	no_secret c4
	sed "s#^roster.file = .*#roster.file = $T/nope.jsonl#" "$T/c1.conf" >"$T/c5.conf"
	expect 2 "nope.jsonl" -- $env_none "$PATUHD" --config "$T/c5.conf" --check
	no_secret c5
	(cat "$T/c1.conf"; echo "log.level = hunter2") >"$T/c6.conf"
	expect 2 "c6.conf line 11: log.level: expected one of error|warn|info|debug" -- $env_none "$PATUHD" --config "$T/c6.conf" --check
	no_secret c6
	(cat "$T/c1.conf"; echo "metrics.listen = localhost:hunter2") >"$T/c7.conf"
	expect 2 "c7.conf line 11: metrics.listen: expected host:port" -- $env_none "$PATUHD" --config "$T/c7.conf" --check
	no_secret c7
	(cat "$T/c1.conf"; echo "kafka.security.protocol = hunter2") >"$T/c8.conf"
	expect 2 "c8.conf: kafka.security.protocol: librdkafka refuses it" -- $env_none "$PATUHD" --config "$T/c8.conf" --check
	no_secret c8
	(cat "$T/c1.conf"; echo "kafka.sasl.pasword = hunter2") >"$T/c9.conf"
	expect 2 "kafka.sasl.pasword: librdkafka refuses it" -- $env_none "$PATUHD" --config "$T/c9.conf"
	no_secret c9
	expect 0 "| \`log.level\` |" -- "$PATUHD" --print-config-doc
	expect 0 "--check" -- "$PATUHD" --help
fi

# patuh alerts refuses bad arguments (naming the option) before any server,
# and never repeats a webhook URL, which may carry a token.
env_kafka="env PATUH_KAFKA_BOOTSTRAP=127.0.0.1:1"
expect 2 "--follow is required" -- $env_kafka "$PATUH" alerts
expect 2 "--webhook: only http:// URLs" -- $env_kafka "$PATUH" alerts --follow --webhook "https://chat.example.org/hook?token=s3cr3t"
if grep -q s3cr3t "$T/err" "$T/out"; then
	echo "FAIL: patuh alerts printed a webhook token"; fails=$((fails + 1))
fi
expect 2 "--webhook: user:password@" -- $env_kafka "$PATUH" alerts --follow --webhook "http://bot:s3cr3t@chat.example.org/"
expect 2 "--retry-max-ms: expected an integer" -- $env_kafka "$PATUH" alerts --follow --retry-max-ms 5s
expect 2 "--timeout-ms: expected an integer" -- $env_kafka "$PATUH" alerts --follow --timeout-ms 0
expect 2 "--supervisor needs a value" -- $env_kafka "$PATUH" alerts --follow --supervisor
expect 2 "--kafka: expected NAME=VALUE" -- $env_kafka "$PATUH" alerts --follow --kafka debug
expect 2 "--kafka sasl.pasword: librdkafka refuses" -- $env_kafka "$PATUH" alerts --follow --kafka sasl.pasword=s3cr3t
if grep -q s3cr3t "$T/err" "$T/out"; then
	echo "FAIL: patuh alerts printed a --kafka value"; fails=$((fails + 1))
fi
expect 2 "unknown option --webhok" -- $env_kafka "$PATUH" alerts --follow --webhok http://x/
expect 2 "set PATUH_KAFKA_BOOTSTRAP" -- env -u PATUH_KAFKA_BOOTSTRAP "$PATUH" alerts --follow
expect 0 "--supervisor ID" -- "$PATUH" alerts --help

# patuh topics refuses bad arguments naming the option, before any server
# (tests/topics_test.sh, live_topics, runs it against the sandbox).
expect 2 "--partitions: expected an integer from 1 to 10000" -- $env_kafka "$PATUH" topics create --partitions 0
expect 2 "--replication-factor: expected an integer from 1 to 32" -- $env_kafka "$PATUH" topics create --replication-factor x
expect 2 "unknown option --prefx" -- $env_kafka "$PATUH" topics create --prefx a.
expect 2 "set PATUH_KAFKA_BOOTSTRAP" -- env -u PATUH_KAFKA_BOOTSTRAP "$PATUH" topics create
expect 0 "p.violations partitions=4 replication.factor=3 key=violation_id cleanup.policy=compact" -- "$PATUH" topics create --dry-run --prefix p.

# The report commands: a clear message for bad input, exit 2; an empty
# result is said and exits 0.  (Rows themselves: report_scenarios and the
# live tests.)
R28=$SRC/tests/scenarios/28-reports-month
"$PATUH" replay --policy "$R28/policy.json" --roster "$R28/roster.jsonl" \
	--calendar "$R28/calendar.json" --events "$R28/events.jsonl" --out "$T/r28" 2>/dev/null
rep="--violations $T/r28/violations.jsonl --roster $R28/roster.jsonl --policy $R28/policy.json"
expect 2 "--month must be YYYY-MM, not '2026-13'" -- "$PATUH" payroll --month 2026-13 $rep
expect 2 "--month must be YYYY-MM, not '2026-4'" -- "$PATUH" payroll --month 2026-4 $rep
expect 2 "--month YYYY-MM is needed" -- "$PATUH" payroll $rep
expect 2 "--format must be table, jsonl, csv or html, not 'pdf'" -- "$PATUH" payroll --month 2026-04 --format pdf $rep
expect 2 "nope.jsonl: No such file" -- "$PATUH" payroll --month 2026-04 --violations "$T/nope.jsonl" --roster "$R28/roster.jsonl" --policy "$R28/policy.json"
expect 2 "--close and --corrections work on PostgreSQL" -- "$PATUH" payroll --month 2026-04 --close $rep
expect 0 "tidak ada data" -- "$PATUH" payroll --month 2026-04 --unit no-such-unit $rep
if [ -s "$T/out" ]; then echo "FAIL: an empty payroll printed rows"; fails=$((fails + 1)); fi
expect 2 "--year must be YYYY, not '26'" -- "$PATUH" discipline --year 26 $rep
expect 0 "tidak ada data" -- "$PATUH" discipline --year 2030 $rep
expect 2 "--date must be a date YYYY-MM-DD, not '2026-04-31'" -- "$PATUH" digest --date 2026-04-31 --digests "$T/r28/digests.jsonl"
expect 2 "give --date D, or --from D and --to D" -- "$PATUH" digest --from 2026-04-01 --digests "$T/r28/digests.jsonl"
expect 2 "--from is after --to" -- "$PATUH" digest --from 2026-05-01 --to 2026-04-01 --digests "$T/r28/digests.jsonl"
expect 0 "tidak ada data" -- "$PATUH" digest --date 2026-04-18 --digests "$T/r28/digests.jsonl"
expect 2 "is not a violation id" -- "$PATUH" explain 12345
expect 2 "VIOLATION_ID is needed" -- "$PATUH" explain
expect 1 "PATUH_PG_CONNINFO is not set" -- env -u PATUH_PG_CONNINFO "$PATUH" payroll --month 2026-04

echo "$fails failed"
[ "$fails" -eq 0 ]
