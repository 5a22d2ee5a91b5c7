"""Reads Qinglian's exports back with the tools investigators use, and checks them.

    python readback.py STATS.json FOLDER

FOLDER holds what tests/export.rs wrote from one database: parquet/, neo4j/, csv/, g.graphml,
g.gexf, g.json and g.ftm.jsonl; STATS.json is `qinglian stats --json` of that database. Every
check prints a line; the last line is "ok: every export read back" when all passed. Uses
pyarrow and duckdb (Parquet), networkx (GraphML, GEXF), followthemoney (FtM), and the header
grammar of neo4j-admin's import tool (Neo4j 5 operations manual, "Import: CSV header format").
"""

import csv
import json
import re
import sys
from pathlib import Path

import duckdb
import networkx as nx
import pyarrow.parquet as pq
from followthemoney import model

failures = []


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        failures.append(what)


def parquet(folder, stats):
    manifest = json.loads((folder / "manifest.json").read_text())
    for f in manifest["files"]:
        path = folder / f["path"]
        table = pq.read_table(path)
        check(table.num_rows == f["rows"], f"{f['path']}: pyarrow reads {f['rows']} rows")
        names = [c["name"] for c in f["columns"]]
        check(table.schema.names == names, f"{f['path']}: columns as the manifest says")
        for c in f["columns"]:
            t = str(table.schema.field(c["name"]).type)
            want = {"text": "string", "float": "double", "bool": "bool", "date": "date32[day]",
                    "int": "int64", "list": "list<item: string>"}[c["type"]]
            check(t == want, f"{f['path']}: {c['name']} is {want} (got {t})")
        n = duckdb.sql(f"select count(*) from read_parquet('{path}')").fetchall()[0][0]
        check(n == f["rows"], f"{f['path']}: duckdb counts {f['rows']} rows")
    nodes = {f["kind"]: f["rows"] for f in manifest["files"] if f["path"].startswith("nodes/")}
    edges = {f["kind"]: f["rows"] for f in manifest["files"] if f["path"].startswith("edges/")}
    # Every kind has its table, empty ones too (the compiled rules join every kind).
    check(set(nodes) == set(stats["nodes"]), f"a table per node kind: {sorted(nodes)}")
    check(set(edges) == set(stats["edges"]), f"a table per edge kind: {sorted(edges)}")
    check(nodes == stats["nodes"], f"node counts equal stats: {nodes}")
    check(edges == stats["edges"], f"edge counts equal stats: {edges}")
    owns = folder / "edges/OWNS.parquet"
    if owns.exists():
        r = duckdb.sql(f"select count(*) from read_parquet('{owns}') where share_pct is not null and start is not null").fetchall()[0][0]
        check(r > 0, "OWNS keeps share_pct and validity as typed columns")
    bid = folder / "edges/BID.parquet"
    if bid.exists():
        r = duckdb.sql(f"select count(*) filter (where won), count(amount), count(submitted) from read_parquet('{bid}')").fetchall()[0]
        check(all(x > 0 for x in r), f"BID keeps won, amount and submitted: {r}")


def buckets(folder, stats):
    """`--buckets 4`: Hive partitions DuckDB reads as one dataset per kind, every row in the
    bucket DuckDB's own sha256 gives its id (an edge: its tail's), counts as in stats."""
    manifest = json.loads((folder / "manifest.json").read_text())
    n = manifest["buckets"]
    check(n == 4, f"the manifest says 4 buckets: {n}")
    check(all("/bucket=" in f["path"] for f in manifest["files"]), "every file is in a bucket")
    for side, key in (("nodes", "id"), ("edges", "from")):
        for kind, want in stats[side].items():
            if not want:
                continue
            glob = f"{folder}/{side}/{kind}/*/*.parquet"
            rows, wrong = duckdb.sql(
                f"select count(*), count(*) filter (where bucket <> (('0x' || substr(sha256(\"{key}\"), 1, 8))::BIGINT % {n})) "
                f"from read_parquet('{glob}', hive_partitioning = true)").fetchall()[0]
            check(rows == want, f"{side}/{kind}: {rows} rows in the buckets, stats say {want}")
            check(wrong == 0, f"{side}/{kind}: every row in the bucket of its {key} ({wrong} not)")


def regions(folder, stats):
    """`--by-region`: Hive partitions `part_region=R` DuckDB reads as one dataset per kind,
    counts as in stats; an agency in its own region's partition, a contract in its agency's
    (through AWARDED), an AWARDED edge in its agency's, a person in the null partition."""
    manifest = json.loads((folder / "manifest.json").read_text())
    check(manifest["partition"] == "region", f"the manifest says region: {manifest['partition']}")
    check(all("/part_region=" in f["path"] for f in manifest["files"]), "every file is in a region")
    view = {}
    for side in ("nodes", "edges"):
        for kind, want in stats[side].items():
            if not want:
                continue
            glob = f"{folder}/{side}/{kind}/*/*.parquet"
            view[kind] = f"read_parquet('{glob}', hive_partitioning = true)"
            rows = duckdb.sql(f"select count(*) from {view[kind]}").fetchall()[0][0]
            check(rows == want, f"{side}/{kind}: {rows} rows in the regions, stats say {want}")
    part = "nullif(part_region, '__HIVE_DEFAULT_PARTITION__')"
    q = lambda sql: duckdb.sql(sql).fetchall()[0][0]
    wrong = q(f"select count(*) from {view['Agency']} where {part} is distinct from nullif(region, '')")
    check(wrong == 0, f"every agency in its own region's partition ({wrong} not)")
    placed = q(f"select count(distinct {part}) from {view['Agency']}")
    check(placed > 1, f"agencies in several regions' partitions ({placed})")
    wrong = q(f"select count(*) from {view['Contract']} k join {view['AWARDED']} w on w.\"to\" = k.id "
              f"join {view['Agency']} a on a.id = w.\"from\" "
              f"where nullif(k.part_region, '__HIVE_DEFAULT_PARTITION__') is distinct from nullif(a.region, '')")
    check(wrong == 0, f"every contract in its agency's region ({wrong} not)")
    wrong = q(f"select count(*) from {view['AWARDED']} w join {view['Agency']} a on a.id = w.\"from\" "
              f"where nullif(w.part_region, '__HIVE_DEFAULT_PARTITION__') is distinct from nullif(a.region, '')")
    check(wrong == 0, f"every AWARDED edge in its agency's region ({wrong} not)")
    wrong = q(f"select count(*) from {view['Person']} where {part} is not null")
    check(wrong == 0, f"people are in the null partition ({wrong} not)")


# neo4j-admin header grammar: name:type, name:type[], :ID(group), :START_ID(group), ...
TYPES = "int|long|float|double|boolean|byte|short|char|string|point|date|localtime|time|localdatetime|datetime|duration"
FIELD = re.compile(rf"^(?:[A-Za-z_][A-Za-z0-9_]*)?(?::(?:{TYPES})(?:\[\])?)?$")
SPECIAL = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)?:(ID|START_ID|END_ID)(?:\(([A-Za-z_][A-Za-z0-9_]*)\))?$")


def neo4j(folder, stats):
    ids = {}
    for path in sorted((folder / "nodes").glob("*.csv")):
        with path.open(newline="") as f:
            rows = list(csv.reader(f))
        head = rows[0]
        idcol = [i for i, h in enumerate(head) if SPECIAL.match(h) and SPECIAL.match(h).group(2) == "ID"]
        check(len(idcol) == 1 and ":LABEL" in head, f"{path.name}: one :ID column and a :LABEL column")
        group = SPECIAL.match(head[idcol[0]]).group(3)
        for h in head:
            check(bool(SPECIAL.match(h)) or h == ":LABEL" or bool(FIELD.match(h)), f"{path.name}: header field {h!r} is valid")
        ids.setdefault(group, set()).update(r[idcol[0]] for r in rows[1:])
        check(len(rows) - 1 == stats["nodes"][path.stem], f"{path.name}: {len(rows) - 1} nodes")
    counts = {}
    for path in sorted((folder / "relationships").glob("*.csv")):
        with path.open(newline="") as f:
            rows = list(csv.reader(f))
        head = rows[0]
        s, e = SPECIAL.match(head[0]), SPECIAL.match(head[1])
        check(s and s.group(2) == "START_ID" and e and e.group(2) == "END_ID" and head[2] == ":TYPE",
              f"{path.name}: :START_ID, :END_ID, :TYPE")
        for h in head[3:]:
            check(bool(FIELD.match(h)), f"{path.name}: header field {h!r} is valid")
        dangling = [r for r in rows[1:] if r[0] not in ids.get(s.group(3), ()) or r[1] not in ids.get(e.group(3), ())]
        check(not dangling, f"{path.name}: every end is a node of its id space")
        for r in rows[1:]:
            counts[r[2]] = counts.get(r[2], 0) + 1
    check(counts == {k: v for k, v in stats["edges"].items() if v}, f"relationship counts equal stats")
    script = (folder / "import.sh").read_text()
    check("neo4j-admin database import full" in script and "--array-delimiter=U+001F" in script, "import.sh has the command")


def graphs(folder, stats):
    n = sum(stats["nodes"].values())
    m = sum(stats["edges"].values())
    g = nx.read_graphml(folder / "g.graphml")
    check((g.number_of_nodes(), g.number_of_edges()) == (n, m), f"networkx reads GraphML: {n} nodes, {m} edges")
    keys = set()
    for _, d in g.nodes(data=True):
        keys |= set(d)
    for k in ["kind", "name", "identifier", "address", "phone", "founded", "birth_date", "blacklisted", "source"]:
        check(k in keys, f"GraphML nodes carry {k}")
    ekeys = set()
    for _, _, d in g.edges(data=True):
        ekeys |= set(d)
    for k in ["kind", "label", "start", "end", "share_pct", "amount", "won", "submitted", "source"]:
        check(k in ekeys, f"GraphML edges carry {k}")
    gx = nx.read_gexf(folder / "g.gexf")
    check((gx.number_of_nodes(), gx.number_of_edges()) == (n, m), "networkx reads GEXF with the same counts")
    check(gx.graph.get("mode") == "dynamic", "GEXF is dynamic")
    spells = [d["spells"] for _, _, d in gx.edges(data=True) if "spells" in d]
    check(len(spells) > 0, f"GEXF edges carry spells ({len(spells)})")
    doc = json.loads((folder / "g.json").read_text())
    check(doc["truncated"] is False and len(doc["nodes"]) == n and len(doc["edges"]) == m, "JSON says it is complete")
    with (folder / "csv/nodes.csv").open(newline="") as f:
        nodes = list(csv.DictReader(f))
    with (folder / "csv/edges.csv").open(newline="") as f:
        edges = list(csv.DictReader(f))
    check(list(nodes[0])[:2] == ["Id", "Label"] and len(nodes) == n, "Gephi node table")
    check(list(edges[0])[:5] == ["Source", "Target", "Type", "Id", "Label"] and len(edges) == m, "Gephi edge table")


def ftm(path):
    entities = {}
    phones = [0, 0]
    for i, line in enumerate(path.read_text().splitlines(), 1):
        data = json.loads(line)
        proxy = model.get_proxy(data, cleaned=False)
        check(proxy.id == data["id"] and proxy.schema.name == data["schema"], f"line {i}: FtM {data['schema']}") if i <= 3 else None
        for prop, values in data["properties"].items():
            p = proxy.schema.get(prop)
            if p is None:
                check(False, f"line {i}: {data['schema']} has no property {prop}")
                continue
            for v in values:
                valid = p.type.clean(v, proxy=proxy) is not None
                if p.type.name == "phone":
                    # libphonenumber knows which number ranges are allocated; generated data
                    # uses unallocated ones too. A phone FtM cannot parse is data, not a bug
                    # of the export: counted, and the export must still write it.
                    phones[0 if valid else 1] += 1
                elif not valid:
                    check(False, f"line {i}: {data['schema']}.{prop} value {v!r} is not a valid {p.type.name}")
        entities[data["id"]] = proxy
    check(len(entities) > 0, f"{len(entities)} FtM entities, every property known to its schema and every value valid")
    check(phones[0] > 0, f"phones FtM parses: {phones[0]}; phones in unallocated ranges kept as given: {phones[1]}")
    bad = []
    for proxy in entities.values():
        for prop in proxy.schema.properties.values():
            if prop.range is None or prop.type.name != "entity":
                continue
            for ref in proxy.get(prop):
                target = entities.get(ref)
                if target is None or not target.schema.is_a(prop.range):
                    bad.append((proxy.id, prop.name, ref))
    check(not bad, f"every entity reference resolves to an entity of the right schema {bad[:5]}")
    required = [(p.id, r) for p in entities.values() for r in p.schema.required if not p.get(r)]
    check(not required, f"every required property is present {required[:5]}")


def main():
    stats = json.loads(Path(sys.argv[1]).read_text())
    folder = Path(sys.argv[2])
    parquet(folder / "parquet", stats)
    buckets(folder / "buckets", stats)
    regions(folder / "regions", json.loads((folder / "regions-stats.json").read_text()))
    neo4j(folder / "neo4j", stats)
    graphs(folder, stats)
    ftm(folder / "g.ftm.jsonl")
    if failures:
        print(f"{len(failures)} check(s) failed")
        sys.exit(1)
    print("ok: every export read back")


main()
