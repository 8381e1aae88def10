#!/usr/bin/env python3
"""patuhd's /metrics as Prometheus reads it (tests/live_test.sh, part
metrics).

  metrics_check.py parse FILE
      exit 0 when FILE is well-formed exposition text (below); prints
      every sample as "series value"
  metrics_check.py get FILE NAME [LABEL=VALUE ...]
      prints the sum of NAME's samples whose labels match (0 if none)
  metrics_check.py compare FILE WANT.json
      compares the counters with WANT: {"records": {topic: n},
      "dead": {reason: n}, "decisions": {"kind/status": n}}: every series
      of those families equals WANT's (absent in WANT: 0)

Well-formed: every sample line is `name{labels} value` with escaped label
values, after the "# HELP" and "# TYPE" of its family; no series twice;
each histogram has ascending le bounds ending in +Inf, cumulative
non-decreasing buckets, +Inf = _count, and a _sum; counters are >= 0.
"""
import json
import math
import re
import sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"'
SAMPLE = re.compile(r"^(%s)(?:\{(.*)\})? (\S+)$" % NAME)


class Bad(Exception):
    pass


def labels_of(s, line):
    out = {}
    pos = 0
    while pos < len(s):
        m = re.compile(LABEL).match(s, pos)
        if not m:
            raise Bad("bad labels in %r" % line)
        v = m.group(2).replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\")
        if m.group(1) in out:
            raise Bad("label %s twice in %r" % (m.group(1), line))
        out[m.group(1)] = v
        pos = m.end()
        if pos < len(s):
            if s[pos] != ",":
                raise Bad("bad labels in %r" % line)
            pos += 1
    return out


def parse(text):
    """{family: {"type", "help", "samples": [(name, labels, value)]}}"""
    fams = {}
    current = None
    seen = set()
    for line in text.split("\n"):
        if not line:
            continue
        if line.startswith("# HELP "):
            name, _, help_ = line[7:].partition(" ")
            if name in fams:
                raise Bad("family %s twice" % name)
            fams[name] = {"help": help_, "type": None, "samples": []}
            current = name
            continue
        if line.startswith("# TYPE "):
            name, _, typ = line[7:].partition(" ")
            if name != current or fams[name]["type"]:
                raise Bad("TYPE %s not right after its HELP" % name)
            if typ not in ("counter", "gauge", "histogram", "summary", "untyped"):
                raise Bad("type %r" % typ)
            fams[name]["type"] = typ
            continue
        if line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if not m:
            raise Bad("not a sample: %r" % line)
        name, lab, val = m.group(1), m.group(2) or "", m.group(3)
        if current is None or not fams[current]["type"]:
            raise Bad("%r before any HELP/TYPE" % line)
        base = current
        suffixes = ("_bucket", "_sum", "_count") if fams[current]["type"] == "histogram" else ("",)
        if not any(name == base + s for s in suffixes):
            raise Bad("%r is not of family %s" % (line, base))
        labels = labels_of(lab, line)
        key = (name, tuple(sorted(labels.items())))
        if key in seen:
            raise Bad("series twice: %r" % line)
        seen.add(key)
        try:
            v = float(val)
        except ValueError:
            raise Bad("bad value in %r" % line)
        if fams[current]["type"] == "counter" and not v >= 0:
            raise Bad("negative counter %r" % line)
        fams[current]["samples"].append((name, labels, v))
    for name, f in fams.items():
        if f["type"] == "histogram":
            check_histogram(name, f["samples"])
    return fams


def check_histogram(name, samples):
    groups = {}
    for n, labels, v in samples:
        rest = tuple(sorted((k, x) for k, x in labels.items() if k != "le"))
        g = groups.setdefault(rest, {"buckets": [], "sum": None, "count": None})
        if n == name + "_bucket":
            if "le" not in labels:
                raise Bad("%s bucket without le" % name)
            g["buckets"].append((labels["le"], v))
        elif n == name + "_sum":
            g["sum"] = v
        else:
            g["count"] = v
    if not groups:
        raise Bad("histogram %s has no samples" % name)
    for rest, g in groups.items():
        b = g["buckets"]
        if not b or b[-1][0] != "+Inf":
            raise Bad("%s%s: the last bucket is not +Inf" % (name, rest))
        bounds = [float(le) for le, _ in b]
        if bounds != sorted(bounds) or len(set(bounds)) != len(bounds):
            raise Bad("%s: le bounds not ascending: %s" % (name, bounds))
        counts = [v for _, v in b]
        if any(a > c for a, c in zip(counts, counts[1:])):
            raise Bad("%s: buckets not cumulative: %s" % (name, counts))
        if g["count"] is None or g["sum"] is None:
            raise Bad("%s: _sum or _count missing" % name)
        if counts[-1] != g["count"]:
            raise Bad("%s: +Inf %g != _count %g" % (name, counts[-1], g["count"]))
        if g["count"] == 0 and g["sum"] != 0:
            raise Bad("%s: a sum without observations" % name)


def load(path):
    with open(path, encoding="utf-8") as f:
        return parse(f.read())


def get(fams, name, want):
    total = 0.0
    fam = fams.get(name)
    if fam is None:
        for base, f in fams.items():
            if f["type"] == "histogram" and name.startswith(base + "_"):
                fam = f
    if fam is None:
        raise Bad("no family %s" % name)
    for n, labels, v in fam["samples"]:
        if n == name and all(labels.get(k) == x for k, x in want.items()):
            total += v
    return total


def compare(fams, want):
    errs = []
    plan = (("patuh_records_total", "records", lambda l: l["topic"]),
            ("patuh_dead_letters_total", "dead", lambda l: l["reason"]),
            ("patuh_decisions_total", "decisions", lambda l: l["kind"] + "/" + l["status"]))
    for fam, key, label in plan:
        got = {}
        for _, labels, v in fams[fam]["samples"]:
            got[label(labels)] = v
        exp = want.get(key, {})
        for k in sorted(set(got) | set(exp)):
            if k not in got:
                errs.append("%s: no series for %s (want %s)" % (fam, k, exp[k]))
            elif got[k] != exp.get(k, 0):
                errs.append("%s{%s} = %g, want %g" % (fam, k, got[k], exp.get(k, 0)))
    return errs


def main(argv):
    try:
        if argv[1] == "parse":
            fams = load(argv[2])
            for f in fams.values():
                for n, labels, v in f["samples"]:
                    lab = ",".join('%s="%s"' % kv for kv in sorted(labels.items()))
                    print("%s{%s} %s" % (n, lab, repr(v) if not math.isinf(v) else v))
        elif argv[1] == "get":
            fams = load(argv[2])
            want = dict(a.split("=", 1) for a in argv[4:])
            v = get(fams, argv[3], want)
            print(int(v) if v == int(v) else v)
        elif argv[1] == "compare":
            fams = load(argv[2])
            with open(argv[3], encoding="utf-8") as f:
                errs = compare(fams, json.load(f))
            for e in errs:
                print(e)
            return 1 if errs else 0
        else:
            print(__doc__)
            return 2
    except Bad as e:
        print("malformed exposition: %s" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
