#!/usr/bin/env python3
"""compare_pubs REPLAY_DIR LIVE_DIR [NOT_SENT]: live = replay, publication
by publication (tests/live_test.sh, part scenarios).

REPLAY_DIR is `patuh replay --out`; LIVE_DIR holds what patuhd published
for the same events, read back by the test:
  pg_revisions.jsonl   violation_revisions.doc (PostgreSQL)
  k_violations.jsonl   topic patuh.violations
  pg_tpp.jsonl         tpp_deductions rows as JSON (PostgreSQL)
  k_tpp.jsonl          topic patuh.tpp
  k_alerts.jsonl       topic patuh.alerts
  pg_dlq.jsonl         dead_letters.doc (PostgreSQL)
  k_dlq.jsonl          topic patuh.dlq
  k_digests.jsonl      topic patuh.digests
With --kafka-at-least-once (the fault tests: a batch whose outputs were
produced but whose offsets were not committed before a crash is produced
again) the Kafka streams may repeat a publication: they are compared as
sets, and the digest rows of each (date, unit) by their last row and by
holding only rows replay published for it; PostgreSQL stays exact.
With --except-quarantined the dead letters patuhd wrote with reason
"quarantined" (a record that killed it, engine/quarantine.h; replay has
none: the caller compares with replay of the events without that record)
are left out of the live side.
NOT_SENT lists the events lines `patuh produce` could not send (a bad
envelope has no topic), one number a line: their dead letters exist only
in replay.

Every stream must hold the same publications: revisions with every field
(revision numbers, status, reason, decided_at, evidence), TPP events,
alerts (not_clocked_in, violation, no_presence_data with their times and
ids), digest rows in the order each (date, unit) was published, and dead
letters.  The order across keys is not compared: Kafka keeps order only
within a partition and PostgreSQL none, and both drivers publish each
key's revisions in order.  Dead letters are compared without where they
came from (file and line in replay, partition and offset in Kafka) and by
the value's bytes (replay keeps the whole envelope line).  Prints each
difference; exits 0 when there is none, 1 otherwise.
"""
import base64
import collections
import json
import sys


def lines(path):
    try:
        with open(path, encoding="utf-8") as f:
            return [json.loads(l) for l in f if l.strip()]
    except FileNotFoundError:
        return []


def canon(o):
    return json.dumps(o, sort_keys=True, ensure_ascii=False)


def raw_bytes(d):
    if "raw_base64" in d:
        return base64.b64decode(d["raw_base64"])
    return d.get("raw", "").encode("utf-8")


def replay_value(d):
    """The bytes patuh produce sends for a replay dead letter's line: the
    value's (a string value: its decoded text), as canonical JSON when it is
    an object."""
    line = raw_bytes(d).decode("utf-8", "replace").lstrip("\ufeff")
    try:
        env = json.loads(line)
        v = env["value"]
    except (ValueError, KeyError, TypeError):
        return ("line", line)
    if isinstance(v, str):
        return value_of(v.encode("utf-8"))
    return ("json", canon(v))


def value_of(b):
    try:
        return ("json", canon(json.loads(b.decode("utf-8"))))
    except (ValueError, UnicodeDecodeError):
        return ("bytes", b.decode("utf-8", "replace"))


def dlq_key(d, value):
    return canon({k: d.get(k) for k in ("topic", "reason", "detail",
                                        "event_id", "ts")} | {"value": value})


def multiset_diff(what, want, got, show=6):
    """want, got: lists of canonical strings."""
    a, b = collections.Counter(want), collections.Counter(got)
    miss, extra = a - b, b - a
    bad = 0
    for s in list(miss.elements())[:show]:
        print(f"{what}: only in replay: {s}")
    for s in list(extra.elements())[:show]:
        print(f"{what}: only in live:   {s}")
    n = sum(miss.values()) + sum(extra.values())
    if n:
        print(f"{what}: {sum(miss.values())} only in replay, "
              f"{sum(extra.values())} only in live "
              f"(of {len(want)} / {len(got)})")
        bad = 1
    return bad


def main():
    flags = {"--kafka-at-least-once", "--except-quarantined"}
    args = [a for a in sys.argv[1:] if a not in flags]
    alo = "--kafka-at-least-once" in sys.argv[1:]
    exq = "--except-quarantined" in sys.argv[1:]

    def live_dl(rows):
        return [d for d in rows
                if not (exq and d.get("reason") == "quarantined")]
    rdir, ldir = args[0], args[1]
    not_sent = set()
    if len(args) > 2:
        with open(args[2]) as f:
            not_sent = {int(l) for l in f if l.strip()}

    def kafka_diff(what, want, got, show=6):
        if not alo:
            return multiset_diff(what, want, got, show)
        # each of replay's publications at least as often as replay has
        # it (repeats allowed), and none replay does not have
        a, b = collections.Counter(want), collections.Counter(got)
        miss = a - b
        extra = [s for s in b if s not in a]
        for s in list(miss.elements())[:show]:
            print(f"{what}: only in replay: {s}")
        for s in extra[:show]:
            print(f"{what}: only in live:   {s}")
        if miss or extra:
            print(f"{what}: {sum(miss.values())} missing, {len(extra)} "
                  f"never in replay (of {len(want)} / {len(got)})")
            return 1
        return 0
    R = lambda n: lines(f"{rdir}/{n}")
    L = lambda n: lines(f"{ldir}/{n}")
    bad = 0
    revs = [canon(r) for r in R("revisions.jsonl")]
    bad |= multiset_diff("revisions (PostgreSQL)", revs,
                         [canon(r) for r in L("pg_revisions.jsonl")])
    bad |= kafka_diff("revisions (Kafka)", revs,
                         [canon(r) for r in L("k_violations.jsonl")])
    tpp = R("tpp.jsonl")
    bad |= kafka_diff("tpp (Kafka)", [canon(t) for t in tpp],
                         [canon(t) for t in L("k_tpp.jsonl")])
    # the PostgreSQL row is the event with the revision behind it (the
    # event itself carries none)
    def tpp_row(t):
        return canon({k: t.get(k) for k in ("violation_id", "employee_id",
                                            "period", "status")} |
                     {"percent": round(float(t["percent"]), 6),
                      "amount": int(t["amount"])})
    bad |= multiset_diff("tpp (PostgreSQL)", [tpp_row(t) for t in tpp],
                         [tpp_row(t) for t in L("pg_tpp.jsonl")])
    bad |= kafka_diff("alerts (Kafka)",
                         [canon(a) for a in R("alerts.jsonl")],
                         [canon(a) for a in L("k_alerts.jsonl")])
    # digest rows: each (date, unit) as the sequence it was published in
    def seqs(rows):
        s = collections.defaultdict(list)
        for r in rows:
            s[(r.get("date"), r.get("unit_id"))].append(canon(r))
        return [canon([list(k), v]) for k, v in s.items()]
    if alo:
        # the last row of each (date, unit), and no row replay never had
        def lasts(rows):
            s = {}
            for r in rows:
                s[(r.get("date"), r.get("unit_id"))] = canon(r)
            return [canon([list(k), v]) for k, v in s.items()]
        rrows = R("digest_revisions.jsonl")
        bad |= multiset_diff("digest rows, last per (date, unit) (Kafka)",
                             lasts(rrows), lasts(L("k_digests.jsonl")),
                             show=3)
        known = {canon(r) for r in rrows}
        stray = [canon(r) for r in L("k_digests.jsonl")
                 if canon(r) not in known]
        bad |= multiset_diff("digest rows replay never published (Kafka)",
                             [], stray, show=3)
    else:
        bad |= multiset_diff("digest revisions (Kafka)",
                             seqs(R("digest_revisions.jsonl")),
                             seqs(L("k_digests.jsonl")), show=3)
    dl = [dlq_key(d, replay_value(d)) for d in R("dlq.jsonl")
          if d.get("line") not in not_sent]
    bad |= multiset_diff("dead letters (PostgreSQL)", dl,
                         [dlq_key(d, value_of(raw_bytes(d)))
                          for d in live_dl(L("pg_dlq.jsonl"))])
    bad |= kafka_diff("dead letters (Kafka)", dl,
                         [dlq_key(d, value_of(raw_bytes(d)))
                          for d in live_dl(L("k_dlq.jsonl"))])
    return bad


if __name__ == "__main__":
    sys.exit(main())
