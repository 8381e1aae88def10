#!/usr/bin/env bash
# The deployment files of deploy/, checked with the tools that read them:
#   systemd     deploy/systemd/*.service through `systemd-analyze verify`
#               (every directive parsed, nothing ignored, the binaries
#               found: the units are copied with /usr/local/bin/ pointing at
#               this build), their exposure score (`systemd-analyze security
#               --offline`, at most 2.0 of 10), the hardening the operations
#               guide promises, and the sysusers file (`systemd-sysusers
#               --dry-run`)
#   prometheus  deploy/prometheus/patuh.rules.yml through `promtool check
#               rules`, and its unit tests (`promtool test rules`: each
#               alert fires on a series that must fire it, and not on one
#               that must not); every patuh_* series the rules read is
#               one engine/metrics.c exports
# Exits 77 (skipped) with a message only when the tool is missing and
# cannot be installed (deploy/install-deps --ops).
#
# usage: deploy_test.sh BUILD_DIR SOURCE_DIR systemd|prometheus
set -uo pipefail
BIN=$(cd "$1" && pwd)
SRC=$(cd "$2" && pwd)
PART=$3
T=$(mktemp -d /tmp/patuh-deploy-XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
ok() { echo "ok   $*"; }
fail() {
	echo "FAIL $*"
	fails=$((fails + 1))
}

# run NAME COMMAND...: passes when COMMAND exits 0 and prints nothing on
# stderr (systemd-analyze verify only warns about an unknown directive).
run() {
	local name=$1
	shift
	if "$@" >"$T/out" 2>"$T/err" && [ ! -s "$T/err" ]; then
		ok "$name"
	else
		fail "$name: $*"
		cat "$T/out" "$T/err"
	fi
}

# has UNIT LINE: the unit file holds exactly this line.
has() {
	grep -qxF -- "$2" "$SRC/deploy/systemd/$1" && ok "$1: $2" || fail "$1 lacks '$2'"
}

systemd_part() {
	if ! command -v systemd-analyze >/dev/null; then
		"$SRC/deploy/install-deps" --ops >&2 || true
	fi
	if ! command -v systemd-analyze >/dev/null; then
		echo "deploy_test: no systemd-analyze (Debian package systemd): skipped"
		exit 77
	fi
	local units=(patuhd.service patuh-alerts.service)
	for u in "${units[@]}"; do
		sed "s#/usr/local/bin/#$BIN/#g" "$SRC/deploy/systemd/$u" >"$T/$u"
	done
	run "systemd-analyze verify ${units[*]}" \
		systemd-analyze verify "$T/patuhd.service" "$T/patuh-alerts.service"
	for u in "${units[@]}"; do
		# --offline (systemd 250+) scores the file without a running
		# manager; --threshold is in tenths (0-100): 20 is the 2.0 shown
		if systemd-analyze security --help 2>/dev/null | grep -q -- --offline; then
			run "$u: exposure at most 2.0" \
				systemd-analyze security --offline=true --threshold=20 "$T/$u"
		else
			echo "skip $u: exposure (systemd-analyze security has no --offline)"
		fi
		for line in User=patuh Group=patuh Restart=on-failure \
			RestartPreventExitStatus=2 NoNewPrivileges=yes \
			ProtectSystem=strict ProtectHome=yes PrivateTmp=yes \
			PrivateDevices=yes CapabilityBoundingSet= UMask=0077; do
			has "$u" "$line"
		done
	done
	has patuhd.service "ExecStart=/usr/local/bin/patuhd --config /etc/patuh/patuhd.conf"
	has patuh-alerts.service 'ExecStart=/usr/local/bin/patuh alerts --follow $PATUH_ALERTS_ARGS'
	has patuh-alerts.service "EnvironmentFile=/etc/patuh/patuh-alerts.env"
	# patuhd keeps no local state: nothing of the file system is writable
	if grep -q '^ReadWritePaths=' "$SRC/deploy/systemd/patuhd.service"; then
		fail "patuhd.service: ReadWritePaths= (patuhd writes no local file)"
	else
		ok "patuhd.service: no ReadWritePaths="
	fi
	# a drain takes up to 30 s: systemd must not kill it sooner
	has patuhd.service "TimeoutStopSec=45s"
	if command -v systemd-sysusers >/dev/null; then
		# --dry-run writes nothing; stderr holds what it would do
		if systemd-sysusers --dry-run "$SRC/deploy/systemd/patuh.sysusers.conf" \
			>"$T/out" 2>&1 && ! grep -qi "fail\|invalid\|ignoring" "$T/out"; then
			ok "systemd-sysusers --dry-run patuh.sysusers.conf"
		else
			fail "systemd-sysusers refuses patuh.sysusers.conf"
			cat "$T/out"
		fi
	fi
	# the commands the units run accept their options
	"$BIN/patuhd" --help >/dev/null 2>&1 && ok "patuhd --help" || fail "patuhd --help"
	if "$BIN/patuh" alerts --help 2>&1 | grep -q -- "--follow"; then
		ok "patuh alerts --help names --follow"
	else
		fail "patuh alerts --help"
	fi
}

prometheus_part() {
	local promtool
	promtool=$(command -v promtool || true)
	[ -n "$promtool" ] || promtool=${PATUH_TOOLS_DIR:-$SRC/.tools}/promtool
	if [ ! -x "$promtool" ]; then
		"$SRC/deploy/install-deps" --ops >&2 || true
	fi
	if [ ! -x "$promtool" ]; then
		echo "deploy_test: no promtool (Debian package prometheus) and it cannot be installed: skipped"
		exit 77
	fi
	local rules=$SRC/deploy/prometheus/patuh.rules.yml
	if "$promtool" check rules "$rules" >"$T/out" 2>&1; then
		ok "promtool check rules: $(grep -o '[0-9]* rules found' "$T/out")"
	else
		fail "promtool check rules"
		cat "$T/out"
	fi
	# the alerts the issue asks for (lag, watermark, dead letters, not
	# ready, reconnects), each explained in the operations guide
	for a in PatuhDown PatuhConsumerLagGrowing PatuhWatermarkDelay \
		PatuhDeadLetterRate PatuhReconnectStorm; do
		grep -q "^      - alert: $a$" "$rules" && ok "rule $a" || fail "no rule $a"
	done
	# every patuh_* series a rule reads is one patuhd exports (the family
	# names engine/metrics.c renders; a histogram's _bucket is its family)
	local m
	for m in $(grep -o 'patuh_[a-z][a-z_]*' "$rules" | sed 's/_bucket$//' | sort -u); do
		grep -q "\"$m\"" "$SRC/engine/metrics.c" && ok "exported: $m" ||
			fail "$m is read by a rule but not exported by engine/metrics.c"
	done
	for a in $(sed -n 's/^      - alert: //p' "$rules"); do
		grep -q "^### $a" "$SRC/docs/operations.md" && ok "docs/operations.md: $a" ||
			fail "docs/operations.md has no section '### $a'"
	done
	local n_alerts n_summary n_desc
	n_alerts=$(grep -c '^      - alert:' "$rules")
	n_summary=$(grep -c '^          summary:' "$rules")
	n_desc=$(grep -c '^          description:' "$rules")
	if [ "$n_alerts" -eq "$n_summary" ] && [ "$n_alerts" -eq "$n_desc" ]; then
		ok "$n_alerts alerts, each with a summary and a description"
	else
		fail "$n_alerts alerts, $n_summary summaries, $n_desc descriptions"
	fi
	# promtool resolves rule_files relative to the test file
	if "$promtool" test rules "$SRC/deploy/prometheus/patuh.rules.test.yml" >"$T/out" 2>&1; then
		ok "promtool test rules"
	else
		fail "promtool test rules"
		cat "$T/out"
	fi
}

case $PART in
systemd) systemd_part ;;
prometheus) prometheus_part ;;
*)
	echo "usage: deploy_test.sh BUILD_DIR SOURCE_DIR systemd|prometheus" >&2
	exit 2
	;;
esac
echo "deploy_test $PART: $fails failed"
[ "$fails" -eq 0 ]
