#!/usr/bin/env python3
"""Writes the refresh bundles `benches/refresh.sh` times, from a bundle folder BASE:

  OUT/delta     a delta: PCT % of the rows of every relationship file, half of them
                retracted (op=retract), half stated again with a changed value (an end date
                set on an open row, or the row stated again as it is where there is none)
  OUT/snapshot  the whole bundle again with the same rows dropped and changed: a snapshot
                refresh of the same source

Rows are drawn with a fixed seed, so two runs write the same bundles.
usage: refresh_bundles.py BASE OUT [PCT]
"""
import csv
import os
import random
import shutil
import sys

RELATIONSHIPS = ["positions.csv", "relations.csv", "ownership.csv", "roles.csv", "bids.csv",
                 "tender_officials.csv", "declarations.csv"]


def main():
    base, out = sys.argv[1], sys.argv[2]
    pct = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
    rnd = random.Random(1)
    delta, snap = os.path.join(out, "delta"), os.path.join(out, "snapshot")
    for d in (delta, snap):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
    changed = 0
    for name in sorted(os.listdir(base)):
        if not name.endswith(".csv"):
            continue
        src = os.path.join(base, name)
        if name not in RELATIONSHIPS:
            shutil.copy(src, os.path.join(snap, name))
            continue
        with open(src, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        header, body = rows[0], rows[1:]
        end = header.index("end") if "end" in header else None
        start = header.index("start") if "start" in header else None
        with open(os.path.join(delta, name), "w", newline="", encoding="utf-8") as d, \
                open(os.path.join(snap, name), "w", newline="", encoding="utf-8") as s:
            dw, sw = csv.writer(d, lineterminator="\n"), csv.writer(s, lineterminator="\n")
            dw.writerow(header + ["op"])
            sw.writerow(header)
            for row in body:
                if rnd.random() * 100 >= pct:
                    sw.writerow(row)
                    continue
                changed += 1
                if rnd.random() < 0.5:
                    dw.writerow(row + ["retract"])  # gone from the snapshot too
                    continue
                new = list(row)
                if end is not None and start is not None and not new[end] and new[start]:
                    new[end] = new[start]
                dw.writerow(new + [""])
                sw.writerow(new)
    print(f"{changed} rows changed or retracted ({pct} % of the relationship rows)")


if __name__ == "__main__":
    main()
