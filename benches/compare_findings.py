#!/usr/bin/env python3
"""Compares the findings of `qinglian screen --format jsonl` with those of
`spark/qinglian_spark.py` (Spark or DuckDB): per rule the driver ran, the keys, colours, scores
and evidence (nodes, and edges with their ends and source rows, in order) must be identical.

    python3 benches/compare_findings.py ENGINE.jsonl SQL.jsonl SQL_DIR

SQL_DIR is the folder `qinglian compile-rules` wrote: its rules are the ones compared (a rule
that found nothing on one side still counts).

Prints one JSON line per rule and a total; exits 1 when anything differs.
"""
import glob
import json
import os
import sys


def norm(f):
    ev = f.get("evidence", {})
    nodes = [n if isinstance(n, str) else n.get("id") for n in ev.get("nodes", [])]
    edges = [(e["kind"], e["from"], e["to"], e["source"]["file"], e["source"]["line"],
              e["source"]["load"]) for e in ev.get("edges", [])]
    key = (f["pattern"], f["official"], f["target"], f["target2"], f["ref"])
    return key, (f["severity"], round(float(f["score"]), 1), nodes, edges)


def read(path):
    with open(path, encoding="utf-8") as fh:
        return dict(norm(json.loads(line)) for line in fh if line.strip())


def main():
    engine, sql = read(sys.argv[1]), read(sys.argv[2])
    rules = sorted(os.path.basename(p)[:-4] for p in glob.glob(os.path.join(sys.argv[3], "*.sql")))
    bad = 0
    for rule in rules:
        e = {k: v for k, v in engine.items() if k[0] == rule}
        s = {k: v for k, v in sql.items() if k[0] == rule}
        missing, extra = len(e.keys() - s.keys()), len(s.keys() - e.keys())
        differ = sum(1 for k in e.keys() & s.keys() if e[k] != s[k])
        bad += missing + extra + differ
        print(json.dumps({"rule": rule, "engine": len(e), "sql": len(s), "missing": missing,
                          "extra": extra, "differ": differ}))
    print(json.dumps({"total_engine": sum(1 for k in engine if k[0] in rules),
                      "total_sql": len(sql), "identical": bad == 0}))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
