#!/usr/bin/env bash
# The HTML reports in a real browser, server-free: a replay of the month
# scenario, then `patuh digest` and `patuh payroll --format html` over its
# output, each page loaded in headless Chromium.  Fails when the page logs
# anything to the console (it has no script: any message is an error, e.g.
# a resource it tried to load), and when the DOM Chromium built does not
# say what the jsonl rows say: one bar per unit row of the date, totals
# equal to the sums of the rows, nothing referenced outside the page.
# Also takes a phone and a desktop screenshot of each page
# (PATUH_HTML_SHOTS=DIR keeps them there to look at).
#
# usage: html_test.sh PATUH SOURCE_DIR
set -euo pipefail
PATUH=$1
SRC=$2
SCEN=$SRC/tests/scenarios/28-reports-month
DATE=2026-04-17
MONTH=2026-04

CHROMIUM=${PATUH_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
	# the same installer as the build dependencies (root or sudo)
	"$SRC/deploy/install-deps" --html >&2 || true
fi
if [ ! -x "$CHROMIUM" ]; then
	echo "html_test: no $CHROMIUM and it cannot be installed: skipped"
	exit 77
fi

T=$(mktemp -d /tmp/patuh-html-XXXXXX)
trap 'rm -rf "$T"' EXIT

"$PATUH" replay --policy "$SCEN/policy.json" --roster "$SCEN/roster.jsonl" \
	--calendar "$SCEN/calendar.json" --events "$SCEN/events.jsonl" \
	--out "$T/out" >/dev/null 2>"$T/replay.err" || {
	cat "$T/replay.err"
	exit 1
}
grep -q "\"date\": *\"$DATE\"" "$T/out/digests.jsonl" || {
	echo "FAIL: $DATE is not in the replay's digests.jsonl"
	exit 1
}

digest() { "$PATUH" digest --digests "$T/out/digests.jsonl" \
	--roster "$SCEN/roster.jsonl" --date "$DATE" --format "$1"; }
payroll() { "$PATUH" payroll --month "$MONTH" --violations \
	"$T/out/violations.jsonl" --roster "$SCEN/roster.jsonl" \
	--policy "$SCEN/policy.json" --format "$1"; }
digest html >"$T/digest.html"
digest jsonl >"$T/digest.jsonl"
payroll html >"$T/payroll.html"
payroll jsonl >"$T/payroll.jsonl"

# chromium ARGS... URL: one headless run with a fresh profile, stderr kept
# in $T/chromium.err.  Only the flags that stop it from calling home.
chromium() {
	local profile
	profile=$(mktemp -d "$T/profile-XXXXXX")
	timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu \
		--disable-quic --no-first-run --disable-background-networking \
		--disable-component-update --disable-sync \
		--user-data-dir="$profile" --enable-logging=stderr --v=0 \
		"$@" 2>"$T/chromium.err"
}

fails=0
for page in digest payroll; do
	url=file://$T/$page.html
	if ! chromium --dump-dom "$url" >"$T/$page.dom"; then
		echo "FAIL: chromium could not load $page.html"
		cat "$T/chromium.err"
		fails=$((fails + 1))
		continue
	fi
	# Chromium's own noise (dbus, gpu, sandbox) is not the page's: only
	# console messages and uncaught errors are
	if grep -E "CONSOLE|Uncaught" "$T/chromium.err" >"$T/console"; then
		echo "FAIL: $page.html logged to the console:"
		cat "$T/console"
		fails=$((fails + 1))
	else
		echo "ok: $page.html loads without a console message"
	fi
	for shot in phone:412,915 desktop:1280,900; do
		png=$T/$page-${shot%%:*}.png
		chromium --hide-scrollbars --window-size="${shot#*:}" \
			--screenshot="$png" "$url" >/dev/null || true
		if [ "$(head -c 4 "$png" 2>/dev/null | od -An -tx1 | tr -d ' ')" \
			!= 89504e47 ]; then
			echo "FAIL: no ${shot%%:*} screenshot of $page.html"
			fails=$((fails + 1))
		fi
	done
done
if [ -n "${PATUH_HTML_SHOTS:-}" ]; then
	mkdir -p "$PATUH_HTML_SHOTS"
	cp "$T"/*.png "$T"/*.html "$PATUH_HTML_SHOTS"/
fi

python3 - "$T" "$DATE" <<'EOF' || fails=$((fails + 1))
import json, sys
from html.parser import HTMLParser

T, DATE = sys.argv[1], sys.argv[2]
KINDS = ["late_clock_in", "early_clock_out", "missing_clock_in",
         "missing_clock_out", "absent", "wfh_not_permitted",
         "unanswered_call"]
fails = 0

def check(ok, what):
    global fails
    print(("ok: " if ok else "FAIL: ") + what)
    fails += not ok

class Dom(HTMLParser):
    """The elements of the DOM Chromium built, with their attributes."""
    def __init__(self, text):
        super().__init__()
        self.elems = []
        self.feed(text)
    def handle_starttag(self, tag, attrs):
        self.elems.append((tag, dict(attrs)))
    def handle_startendtag(self, tag, attrs):
        self.elems.append((tag, dict(attrs)))
    def having(self, tag, cls):
        return [a for t, a in self.elems
                if t == tag and cls in (a.get("class") or "").split()]

def rows(name):
    with open(f"{T}/{name}.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]

def self_contained(dom, page):
    refs = [(t, a) for t, a in dom.elems
            if t in ("script", "link", "iframe", "img", "object", "embed")
            or "src" in a or "href" in a]
    check(not refs, f"{page}: no script and nothing loaded from outside {refs[:3]}")
    html = [a for t, a in dom.elems if t == "html"]
    check(bool(html) and html[0].get("lang") == "id", f"{page}: <html lang=id>")

def num(a, k):
    return int(a[k])

# ---- digest: one bar per unit row of the date, totals = sums
with open(f"{T}/digest.dom", encoding="utf-8") as f:
    dom = Dom(f.read())
dg = [r for r in rows("digest") if r["date"] == DATE]
self_contained(dom, "digest")
bars = dom.having("rect", "bar")
check(len(dg) > 0, f"digest: {len(dg)} rows for {DATE}")
check(len(bars) == len(dg), f"digest: {len(bars)} bars for {len(dg)} unit rows")
check(sorted(b["data-unit"] for b in bars) == sorted(r["unit_id"] for r in dg),
      "digest: a bar for every unit of the rows")
rate = {r["unit_id"]: r["compliance_rate"] for r in dg}
check(all(abs(float(b["data-rate"]) - rate[b["data-unit"]]) < 1e-9
          for b in bars if b["data-unit"] in rate),
      "digest: every bar's data-rate is its row's compliance_rate")
totals = [a for a in dom.having("tr", "total") if a.get("data-date") == DATE]
check(len(totals) == 1, f"digest: one total row for {DATE}")
if totals:
    t = totals[0]
    for attr, field in (("data-expected", "expected"),
                        ("data-present", "present"),
                        ("data-compliant", "compliant"),
                        ("data-units", None)):
        want = len(dg) if field is None else sum(r[field] for r in dg)
        check(num(t, attr) == want, f"digest: {attr} {t[attr]} = {want}")
    want = sum(r["violations"][k] for r in dg for k in KINDS)
    check(num(t, "data-violations") == want,
          f"digest: data-violations {t['data-violations']} = {want}")
    want = sum(len(r["violators"]) for r in dg)
    check(num(t, "data-violators") == want,
          f"digest: data-violators {t['data-violators']} = {want}")

# ---- payroll: per-unit and city totals = sums of the rows
with open(f"{T}/payroll.dom", encoding="utf-8") as f:
    dom = Dom(f.read())
pr = rows("payroll")
self_contained(dom, "payroll")
city = dom.having("tr", "city-total")
check(len(city) == 1, "payroll: one city total")
if city:
    c = city[0]
    for attr, want in (("data-deduction", sum(r["deduction"] for r in pr)),
                       ("data-tpp", sum(r["tpp_after"] for r in pr)),
                       ("data-employees", len(pr))):
        check(num(c, attr) == want, f"payroll: city {attr} {c[attr]} = {want}")
units = {}
for r in pr:
    units.setdefault(r["unit_id"], []).append(r)
ut = {a["data-unit"]: a for a in dom.having("tr", "unit-total")}
check(sorted(ut) == sorted(units), f"payroll: a unit total for each of {len(units)} units")
for u, rs in sorted(units.items()):
    if u in ut:
        want = sum(r["deduction"] for r in rs)
        check(num(ut[u], "data-deduction") == want,
              f"payroll: {u} data-deduction {ut[u]['data-deduction']} = {want}")
sheets = dom.having("section", "sheet")
check(len(sheets) == len(units) + 1, "payroll: a sheet per unit and the summary")
sys.exit(1 if fails else 0)
EOF

if [ "$fails" -ne 0 ]; then
	echo "html_test: $fails failure(s)"
	exit 1
fi
echo "html_test: all checks passed"
