#!/usr/bin/env python3
"""Precision and recall of `qinglian links` against the generator's truth.

Generates a province with a share of people and companies given a second record without
identifiers (`qinglian generate --duplicates`), ingests it, lists every candidate link with
its probability, and prints precision and recall at each threshold, for people, companies
and both. Not run in CI; docs/linkage.md reports its output.

    python3 benches/linkage_accuracy.py --people 100000 --seed 1 --duplicates 0.05
"""
import argparse
import json
import os
import subprocess
import tempfile

THRESHOLDS = [0.5, 0.8, 0.9, 0.95, 0.99]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--duplicates", type=float, default=0.05)
    ap.add_argument("--qinglian", default="target/release/qinglian")
    ap.add_argument("--work", default=None, help="folder for the bundle and database")
    a = ap.parse_args()
    work = a.work or tempfile.mkdtemp(prefix="linkage-")
    bundle, db = os.path.join(work, "bundle"), os.path.join(work, "db")
    q = a.qinglian
    subprocess.run([q, "generate", "--people", str(a.people), "--seed", str(a.seed),
                    "--duplicates", str(a.duplicates), "--out", bundle],
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run([q, "ingest", bundle, "--db", db], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out = subprocess.run([q, "links", "list", "--db", db, "--min", "0", "--json"],
                         check=True, capture_output=True, text=True).stdout
    links = json.loads(out)["links"]
    truth = set()
    with open(os.path.join(bundle, "links.jsonl")) as f:
        for line in f:
            t = json.loads(line)
            truth.add(tuple(sorted((t["a"], t["b"]))))
    print(f"people {a.people}, seed {a.seed}, duplicates {a.duplicates}: "
          f"{len(truth)} true pairs, {len(links)} candidates")
    print("| kind | p >= | links | true | precision | recall |")
    print("|---|---|---|---|---|---|")
    for kind, prefix in [("both", ""), ("Person", "P"), ("Company", "C")]:
        want = {t for t in truth if t[0].startswith(prefix)}
        for th in THRESHOLDS:
            got = {(l["a"], l["b"]) for l in links
                   if l["probability"] >= th and (kind == "both" or l["kind"] == kind)}
            tp = len(got & want)
            prec = tp / len(got) if got else 1.0
            rec = tp / len(want) if want else 1.0
            print(f"| {kind} | {th} | {len(got)} | {tp} | {prec:.3f} | {rec:.3f} |")


if __name__ == "__main__":
    main()
