#!/usr/bin/env python3
"""Runs the rules compiled by `qinglian compile-rules` over `qinglian export --format parquet`.

    qinglian export --db DB --format parquet --out PARQUET
    qinglian compile-rules --dialect spark --out SQL
    spark-submit --driver-memory 3g spark/qinglian_spark.py --data PARQUET --sql SQL --out FINDINGS.jsonl

    qinglian compile-rules --dialect duckdb --out SQL
    python3 spark/qinglian_spark.py --engine duckdb --data PARQUET --sql SQL --out FINDINGS.jsonl

Each kind's Parquet (a file, or a folder of Hive partitions from `export --buckets N`) becomes a
view `n_<Kind>` / `e_<KIND>`; a column a compiled rule reads (`-- needs: table.column type`) that
the data lacks is added as a typed null, as the engine reads a missing column. Writes one JSON
line per finding — pattern, official, target, target2, ref, severity, score and evidence (the
nodes' ids and the edges' kind, ends and source row, in chain order) — sorted, the fields of
`qinglian screen --format jsonl` that name the finding and its evidence. Nothing here names a
rule: a new rule file compiles and runs.
"""
import argparse
import glob
import json
import math
import os
import re
import sys
import time

SOURCE = re.compile(r"^(.*):(\d+) \(load (\d+)\)$")

SQL_TYPES = {
    "duckdb": {"text": "VARCHAR", "double": "DOUBLE", "date": "DATE", "boolean": "BOOLEAN"},
    "spark": {"text": "STRING", "double": "DOUBLE", "date": "DATE", "boolean": "BOOLEAN"},
}


def read_rules(sql_dir, only):
    rules = []
    for path in sorted(glob.glob(os.path.join(sql_dir, "*.sql"))):
        rule = os.path.basename(path)[:-4]
        if only and rule not in only:
            continue
        text = open(path, encoding="utf-8").read()
        needs = []
        for line in text.splitlines():
            if line.startswith("-- needs: "):
                col, ty = line[len("-- needs: "):].rsplit(" ", 1)
                table, column = col.split(".", 1)
                needs.append((table, column, ty))
        rules.append((rule, text, needs))
    return rules


def source(text):
    """`file:line (load N)` as the engine's evidence writes a source row."""
    m = SOURCE.match(text or "")
    if not m:
        return {"file": text or "", "line": 0, "load": 0}
    return {"file": m.group(1), "line": int(m.group(2)), "load": int(m.group(3))}


def score(x):
    """Rounded to one decimal half away from zero, as the engine rounds (scores are 0-100)."""
    return math.floor(float(x) * 10 + 0.5) / 10


def finding(row):
    """One result row as a finding: the key, colour, score and the evidence chain, each node
    and edge once, in order of first appearance (as the engine lists them)."""
    (pattern, official, target, target2, ref, severity, sc,
     nodes, ids, kinds, froms, tos, sources) = row
    seen, ev_nodes = set(), []
    for n in nodes:
        if n not in seen:
            seen.add(n)
            ev_nodes.append(n)
    seen, ev_edges = set(), []
    for i, k, f, t, src in zip(ids, kinds, froms, tos, sources):
        if i not in seen:
            seen.add(i)
            ev_edges.append({"kind": k, "from": f, "to": t, "source": source(src)})
    return {"pattern": pattern, "official": official, "target": target, "target2": target2,
            "ref": ref, "severity": severity, "score": score(sc),
            "evidence": {"nodes": ev_nodes, "edges": ev_edges}}


def tables(data):
    """(view name, parquet path, is a partitioned folder) for every kind exported."""
    out = []
    for sub, prefix in (("nodes", "n_"), ("edges", "e_")):
        for p in sorted(glob.glob(os.path.join(data, sub, "*"))):
            name = os.path.basename(p)
            if name.endswith(".parquet"):
                out.append((prefix + name[:-8], p, False))
            elif os.path.isdir(p):
                out.append((prefix + name, p, True))
    return out


class DuckDb:
    name = "duckdb"
    q = '"'

    def __init__(self):
        import duckdb
        self.con = duckdb.connect()

    def register(self, view, path, folder):
        src = (f"read_parquet('{path}/*/*.parquet', hive_partitioning = true)"
               if folder else f"read_parquet('{path}')")
        self.con.execute(f'CREATE OR REPLACE VIEW "{view}_raw" AS SELECT * FROM {src}')

    def columns(self, view):
        return [r[0] for r in self.con.execute(f'DESCRIBE "{view}_raw"').fetchall()]

    def define(self, view, select):
        self.con.execute(f'CREATE OR REPLACE VIEW "{view}" AS SELECT {select} FROM "{view}_raw"')

    def run(self, sql):
        return self.con.execute(sql).fetchall()


def warn_small_heap(spark):
    """Under spark-submit the driver's JVM is started before this script sets
    `spark.driver.memory`, so the setting cannot take effect: says so when the heap is small
    (a 20,000-person province ran out of a 1 GB heap planning `linked_subsidy`)."""
    try:
        heap = spark.sparkContext._jvm.java.lang.Runtime.getRuntime().maxMemory()
    except Exception:  # Spark Connect: no JVM on this side
        return
    if heap < 2.5 * 2**30:
        print(f"warning: the Spark driver's heap is {heap / 2**30:.1f} GB; rules of many joins "
              "need about 3 GB to plan: spark-submit --driver-memory 3g", file=sys.stderr)


class Spark:
    name = "spark"
    q = "`"

    def __init__(self, master):
        from pyspark.sql import SparkSession
        b = (SparkSession.builder.appName("qinglian")
             .config("spark.ui.showConsoleProgress", "false")
             .config("spark.sql.adaptive.enabled", "true")
             # A rule is one statement of many unrolled joins: its plan needs more than the
             # default 1 GB driver heap (`spark-submit --driver-memory` overrides this).
             .config("spark.driver.memory", "3g")
             .config("spark.sql.shuffle.partitions", "8"))
        if master:
            b = b.master(master)
        self.spark = b.getOrCreate()
        self.spark.sparkContext.setLogLevel("ERROR")
        warn_small_heap(self.spark)

    def register(self, view, path, folder):
        self.spark.read.parquet(path).createOrReplaceTempView(view + "_raw")

    def columns(self, view):
        return self.spark.table(view + "_raw").columns

    def define(self, view, select):
        self.spark.sql(f"CREATE OR REPLACE TEMP VIEW `{view}` AS SELECT {select} FROM `{view}_raw`")

    def run(self, sql):
        return [tuple(list(x) if isinstance(x, (list, tuple)) else x for x in r)
                for r in self.spark.sql(sql).collect()]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="folder written by export --format parquet")
    ap.add_argument("--sql", required=True, help="folder written by compile-rules")
    ap.add_argument("--out", required=True, help="findings, JSON lines ('-': standard output)")
    ap.add_argument("--engine", choices=["spark", "duckdb"], default="spark")
    ap.add_argument("--master", default=None, help="Spark master (default: spark-submit's)")
    ap.add_argument("--rule", action="append", default=[], help="only these rules")
    a = ap.parse_args()
    eng = DuckDb() if a.engine == "duckdb" else Spark(a.master)
    rules = read_rules(a.sql, set(a.rule))
    views = {}
    for view, path, folder in tables(a.data):
        eng.register(view, path, folder)
        views[view] = eng.columns(view)
    types = SQL_TYPES[eng.name]
    want = {v: {} for v in views}
    for _, _, needs in rules:
        for table, column, ty in needs:
            if table in want:
                want[table][column] = types[ty]
    for v, cols in views.items():
        # Extra columns are exported as text: each is read as the type the rules read it as
        # (a date, a number), and one the data lacks is a typed null.
        q = eng.q
        sel = [f"CAST({q}{c}{q} AS {want[v][c]}) AS {q}{c}{q}" if c in want[v] else f"{q}{c}{q}"
               for c in cols]
        sel += [f"CAST(NULL AS {t}) AS {q}{c}{q}" for c, t in want[v].items() if c not in cols]
        eng.define(v, ", ".join(sel))
    found = []
    for rule, text, _ in rules:
        t0 = time.monotonic()
        rows = eng.run(text)
        found.extend(finding(row) for row in rows)
        print(f"{rule}: done, {len(rows)} findings in {time.monotonic() - t0:.1f} s", file=sys.stderr)
    found.sort(key=lambda f: (f["pattern"], f["official"], f["target"], f["target2"], f["ref"]))
    out = sys.stdout if a.out == "-" else open(a.out, "w", encoding="utf-8")
    for f in found:
        out.write(json.dumps(f, ensure_ascii=False) + "\n")
    if out is not sys.stdout:
        out.close()


if __name__ == "__main__":
    main()
