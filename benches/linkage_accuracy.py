#!/usr/bin/env python3
"""Precision and recall of `qinglian links`, and of the findings through them, against the
generator's truth.

Generates a province with a share of people and companies given a second record without
identifiers (`qinglian generate --duplicates`; half of those records carry the first's
shareholdings and roles), ingests it, lists every candidate link with its probability, and
prints precision and recall at each threshold, for people, companies and both. Then screens
without links and with `--links P` at each threshold and prints the findings' precision and
recall against `truth.jsonl` (planted and incidental findings of the people and companies,
not of the records: a finding naming a second record counts as naming the first), per rule
and in all. Not run in CI; docs/linkage.md reports its output.

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
    findings(q, bundle, db)


def key(v, same=None):
    """The key a finding is judged by (as tests/accuracy.rs and score.py define it), each
    record named by its person or company: a second record by the first (`same`)."""
    p = v["pattern"]
    same = same or {}
    g = lambda f: same.get(v.get(f) or "", v.get(f) or "")
    if p in ("bid_rigging", "split_application"):
        return (p,) + tuple(sorted((g("target"), g("target2")))) + (g("ref"),)
    if p == "undeclared_interest":
        return (p, g("official"), g("target"))
    if p in ("blacklisted_bidder", "deceased_recipient", "double_dipping", "shell_recipient"):
        return (p, g("target"), g("ref"))
    return (p, g("official"), g("target"), g("ref"))


def findings(q, bundle, db):
    # The generator writes a second record after every first one: the smaller id is the first.
    same = {}
    with open(os.path.join(bundle, "links.jsonl")) as f:
        for line in f:
            t = json.loads(line)
            a, b = sorted((t["a"], t["b"]))
            same[b] = a
    truth, decoys = set(), set()
    with open(os.path.join(bundle, "truth.jsonl")) as f:
        for line in f:
            t = json.loads(line)
            (decoys if t["kind"] == "decoy" else truth).add(key(t))
    patterns = sorted({k[0] for k in truth})
    runs = [("none", [])] + [(str(th), ["--links", str(th)]) for th in THRESHOLDS]
    table = {}
    for name, extra in runs:
        out = subprocess.run([q, "screen", "--db", db, "--format", "jsonl"] + extra,
                             check=True, capture_output=True, text=True).stdout
        got = [json.loads(l) for l in out.splitlines() if l.strip()]
        table[name] = ({key(v, same) for v in got if v["pattern"] in patterns},
                       sum(1 for v in got if "weakest_link" in v))
    print()
    print(f"findings: {len(truth)} true (planted and incidental), {len(decoys)} decoys")
    print("| links p >= | findings | through a link | true | precision | recall | decoys flagged |")
    print("|---|---|---|---|---|---|---|")
    for name, _ in runs:
        got, linked = table[name]
        tp = len(got & truth)
        print(f"| {name} | {len(got)} | {linked} | {tp} | {tp / max(len(got), 1):.3f} | "
              f"{tp / max(len(truth), 1):.3f} | {len(got & decoys)} |")
    print()
    print("per rule, recall without links / with p >= 0.9 (precision with p >= 0.9):")
    for p in patterns:
        want = {k for k in truth if k[0] == p}
        plain = {k for k in table["none"][0] if k[0] == p}
        linked = {k for k in table["0.9"][0] if k[0] == p}
        print(f"  {p}: {len(want)} true; recall {len(plain & want) / max(len(want), 1):.3f} / "
              f"{len(linked & want) / max(len(want), 1):.3f} "
              f"(precision {len(linked & want) / max(len(linked), 1):.3f})")


if __name__ == "__main__":
    main()
