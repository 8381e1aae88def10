#!/usr/bin/env bash
# patuh topics create against the sandbox (deploy/stack up; PATUH_* set):
#   create     every topic of the table, with the partition count asked,
#              as the broker's metadata (kcat -L) shows them
#   again      a second run says each topic exists and exits 0, and says
#              so when the partition count asked differs
#   admin      without --sandbox-control the Admin API is used: the mock
#              cluster answers no CreateTopics, so each topic is named in
#              an error and the exit status is 1 (what a real cluster
#              refusing the request looks like)
#   down       a cluster that does not answer: exit 1, naming the topics
#   arguments  bad arguments exit 2 with a message naming the option,
#              before any server is asked
#   dry-run    the configs sent: compaction for violations (not digests),
#              retention for the inputs, alerts and dlq
# Exits 77 (skipped) when no stack is configured.
#
# usage: topics_test.sh BUILD_DIR SOURCE_DIR
set -uo pipefail
BIN=$1
PATUH=$BIN/patuh
if [ -z "${PATUH_KAFKA_BOOTSTRAP:-}" ] || [ -z "${PATUH_SANDBOX_CONTROL:-}" ]; then
	echo "topics_test: no stack (run deploy/stack up; eval \"\$(deploy/stack env)\")"
	exit 77
fi
T=$(mktemp -d /tmp/patuh-topics-XXXXXX)
trap 'rm -rf "$T"' EXIT
RUN=$(date +%s%N | tail -c 9)
PREFIX="t$RUN."
TOPICS=(presence calls excuses violations tpp alerts digests dlq work)
fails=0
ok() { echo "ok   $*"; }
fail() {
	echo "FAIL $*"
	fails=$((fails + 1))
}

# expect CODE PATTERN -- command...: exit status and an output pattern.
expect() {
	local code=$1 pattern=$2
	shift 3
	"$@" >"$T/out" 2>"$T/err"
	local got=$?
	if [ "$got" -ne "$code" ]; then
		fail "exit $got, expected $code: $*"
		cat "$T/out" "$T/err"
	elif [ -n "$pattern" ] && ! grep -qF -- "$pattern" "$T/err" "$T/out"; then
		fail "output lacks '$pattern': $*"
		cat "$T/out" "$T/err"
	else
		ok "exit $got${pattern:+, '$pattern'}: ${*:2}"
	fi
}

# partitions TOPIC: the partition count the broker reports, or nothing.
# kcat -L without -t lists every topic: naming one would make the mock
# cluster create it (auto-creation).
partitions() {
	kcat -b "$PATUH_KAFKA_BOOTSTRAP" -L -m 10 2>/dev/null |
		sed -n "s/^  topic \"$1\" with \([0-9]*\) partitions:.*/\1/p"
}

CREATE=("$PATUH" topics create --prefix "$PREFIX" --partitions 3
	--replication-factor 1 --sandbox-control "$PATUH_SANDBOX_CONTROL")

# --- create
for t in "${TOPICS[@]}"; do
	[ -z "$(partitions "$PREFIX$t")" ] || fail "$PREFIX$t exists before the test"
done
expect 0 "9 created, 0 existing, 0 failed" -- "${CREATE[@]}"
for t in "${TOPICS[@]}"; do
	grep -qF "$PREFIX$t: created" "$T/out" || fail "$PREFIX$t: not said created"
	p=$(partitions "$PREFIX$t")
	if [ "$p" = 3 ]; then
		ok "$PREFIX$t has 3 partitions"
	else
		fail "$PREFIX$t: ${p:-no} partitions, expected 3"
	fi
done

# --- again: nothing created, each topic said to exist, exit 0
expect 0 "0 created, 9 existing, 0 failed" -- "${CREATE[@]}"
n=$(grep -c ": exists (left as it is)$" "$T/out")
[ "$n" -eq ${#TOPICS[@]} ] && ok "${#TOPICS[@]} topics said to exist" || fail "$n topics said to exist, expected ${#TOPICS[@]}"
expect 0 "${PREFIX}dlq: exists (left as it is; 3 partitions, not 5)" -- \
	"$PATUH" topics create --prefix "$PREFIX" --partitions 5 \
	--replication-factor 1 --sandbox-control "$PATUH_SANDBOX_CONTROL"
[ "$(partitions "${PREFIX}dlq")" = 3 ] && ok "an existing topic is left as it is" ||
	fail "${PREFIX}dlq changed its partition count"

# --- admin: the mock cluster has no CreateTopics; each topic is named
expect 1 "${PREFIX}x.presence: " -- "$PATUH" topics create --prefix "${PREFIX}x." \
	--replication-factor 1 --timeout-ms 1000
for t in "${TOPICS[@]}"; do
	grep -qF "${PREFIX}x.$t: " "$T/err" || fail "the Admin API error does not name ${PREFIX}x.$t"
done
# ... and it created nothing
[ -z "$(partitions "${PREFIX}x.presence")" ] && ok "a failed request creates nothing" ||
	fail "${PREFIX}x.presence exists after a failed request"

# --- no cluster answering (nothing listens on loopback port 1): exit 1
expect 1 "no topic created (${PREFIX}y.presence and the others)" -- \
	"$PATUH" topics create --prefix "${PREFIX}y." --bootstrap 127.0.0.1:1 --timeout-ms 1000

# --- arguments: exit 2, naming the option, before any server
expect 2 "--partitions: expected an integer from 1 to 10000" -- "$PATUH" topics create --partitions 0
expect 2 "--partitions: expected an integer from 1 to 10000" -- "$PATUH" topics create --partitions four
expect 2 "--replication-factor: expected an integer from 1 to 32" -- "$PATUH" topics create --replication-factor 0
expect 2 "--timeout-ms: expected an integer" -- "$PATUH" topics create --timeout-ms 1s
expect 2 "--bootstrap needs a value" -- "$PATUH" topics create --bootstrap
expect 2 "--kafka: expected NAME=VALUE" -- "$PATUH" topics create --kafka debug
expect 2 "--kafka sasl.pasword: librdkafka refuses" -- "$PATUH" topics create --kafka sasl.pasword=s3cr3t
grep -q s3cr3t "$T/out" "$T/err" && fail "patuh topics printed a --kafka value"
expect 2 "unknown option --partition" -- "$PATUH" topics create --partition 3
expect 2 "unknown action 'delete'" -- "$PATUH" topics delete
expect 2 "usage: patuh topics create" -- "$PATUH" topics
expect 2 "set PATUH_KAFKA_BOOTSTRAP" -- env -u PATUH_KAFKA_BOOTSTRAP "$PATUH" topics create
expect 0 "--replication-factor" -- "$PATUH" topics --help

# --- dry-run: the settings each topic gets
expect 0 "" -- env -u PATUH_KAFKA_BOOTSTRAP "$PATUH" topics create --dry-run --prefix p.
want() { # want TOPIC SETTING
	grep -q "^p\.$1 .* $2\( \|$\)" "$T/out" && ok "p.$1: $2" || fail "p.$1 lacks $2"
}
want violations cleanup.policy=compact
want digests cleanup.policy=delete
want work cleanup.policy=delete
for t in presence calls excuses tpp alerts dlq; do want "$t" cleanup.policy=delete; done
want presence retention.ms=7776000000
want calls retention.ms=7776000000
want excuses retention.ms=34560000000
want alerts retention.ms=1209600000
want dlq retention.ms=2592000000
want presence replication.factor=3
want presence min.insync.replicas=2
expect 0 "" -- env -u PATUH_KAFKA_BOOTSTRAP "$PATUH" topics create --dry-run --replication-factor 1
grep -q min.insync.replicas "$T/out" && fail "min.insync.replicas set with one replica"

echo "topics_test: $fails failed"
[ "$fails" -eq 0 ]
