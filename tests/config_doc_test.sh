#!/bin/sh
# docs/configuration.md is generated from the configuration table
# (engine/config.c): regenerate it and fail, with the command that fixes
# it, when the committed file differs.
set -u
PATUHD=$1
SRC=$2
T=$(mktemp /tmp/patuh-config-doc-XXXXXX)
trap 'rm -f "$T"' EXIT
if ! "$PATUHD" --print-config-doc >"$T"; then
	echo "FAIL: patuhd --print-config-doc exited $?"
	exit 1
fi
if ! diff -u "$SRC/docs/configuration.md" "$T"; then
	echo "FAIL: docs/configuration.md differs from the table in engine/config.c;"
	echo "      regenerate it: build/patuhd --print-config-doc > docs/configuration.md"
	exit 1
fi
echo "ok: docs/configuration.md matches the table"
