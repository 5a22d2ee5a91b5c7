//! Exports keep every attribute, say when they are cut short, and are read back by the tools
//! that read them: Parquet by pyarrow and DuckDB, GraphML and GEXF by networkx, FtM by the
//! `followthemoney` package, Neo4j's files by the header grammar of `neo4j-admin` import
//! (tests/export/readback.py). The read-back runs when `QINGLIAN_EXPORT_VENV` names a virtual
//! environment with those packages (.ci/run installs them); the attribute checks always run.

mod common;

use common::{qinglian, root, tiny};
use std::path::Path;

fn db_of(bundle: &Path, dir: &Path) -> String {
    let db = dir.join("db");
    let dbs = db.to_str().expect("utf-8 path").to_owned();
    qinglian(&["ingest", bundle.to_str().expect("utf-8"), "--db", &dbs]);
    dbs
}

#[test]
fn every_format_keeps_every_attribute() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = db_of(&tiny(), dir.path());
    let gml = qinglian(&[
        "subgraph", "C1", "--db", &db, "--format", "graphml", "--hops", "2",
    ]);
    for key in [
        "attr.name=\"identifier\"",
        "attr.name=\"address\"",
        "attr.name=\"phone\"",
        "attr.name=\"founded\"",
        "attr.name=\"blacklisted\" attr.type=\"boolean\"",
        "attr.name=\"share_pct\" attr.type=\"double\"",
        "attr.name=\"amount\" attr.type=\"double\"",
        "attr.name=\"won\" attr.type=\"boolean\"",
        "attr.name=\"submitted\"",
    ] {
        assert!(gml.contains(key), "GraphML declares {key}: {gml}");
    }
    for value in [
        "91350100M000100Y43",
        "浙江省杭州市西湖区文三路1号",
        "0571-88880001",
        "880000",
        ">60<",
    ] {
        assert!(gml.contains(value), "GraphML holds {value}");
    }
    let gexf = qinglian(&[
        "subgraph", "C1", "--db", &db, "--format", "gexf", "--hops", "2",
    ]);
    assert!(
        gexf.contains("mode=\"dynamic\" timeformat=\"date\""),
        "{gexf}"
    );
    assert!(
        gexf.contains("<spells><spell start=\"2016-01-01\"/></spells>"),
        "the stake from 2016 is a spell: {gexf}"
    );
    let nodes = qinglian(&[
        "subgraph", "C1", "--db", &db, "--format", "csv", "--table", "nodes",
    ]);
    assert!(nodes.starts_with("Id,Label,kind,identifier"), "{nodes}");
    let edges = qinglian(&["subgraph", "C1", "--db", &db, "--format", "csv"]);
    assert!(
        edges.starts_with("Source,Target,Type,Id,Label,kind"),
        "{edges}"
    );
    assert!(edges.contains(",Directed,"), "{edges}");
    let json: serde_json::Value = serde_json::from_str(&qinglian(&[
        "subgraph", "C1", "--db", &db, "--format", "json",
    ]))
    .expect("json");
    assert_eq!(json["truncated"], false);
    let c1 = json["nodes"]
        .as_array()
        .and_then(|n| n.iter().find(|n| n["id"] == "C1"))
        .expect("C1");
    assert_eq!(
        (c1["phone"].as_str(), c1["identifier"].as_str()),
        (Some("0571-88880001"), Some("91350100M000100Y43"))
    );
}

#[test]
fn a_cut_selection_says_so_in_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = db_of(&tiny(), dir.path());
    let cut = |format: &str| {
        qinglian(&[
            "subgraph",
            "P1",
            "--db",
            &db,
            "--format",
            format,
            "--max-nodes",
            "2",
        ])
    };
    let json: serde_json::Value = serde_json::from_str(&cut("json")).expect("json");
    assert_eq!(json["truncated"], true);
    assert_eq!(json["truncation"], "cut at --max-nodes 2");
    assert!(cut("graphml").contains("<desc>truncated: cut at --max-nodes 2</desc>"));
    assert!(cut("gexf").contains("<description>truncated: cut at --max-nodes 2</description>"));
    assert!(cut("dot").starts_with("// truncated: cut at --max-nodes 2"));
    let out = dir.path().join("pq");
    qinglian(&[
        "subgraph",
        "P1",
        "--db",
        &db,
        "--format",
        "parquet",
        "--max-nodes",
        "2",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).expect("read"))
            .expect("json");
    assert_eq!(manifest["truncated"], true);
}

#[test]
fn folder_formats_need_a_folder_and_a_finding_exports_its_evidence() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = db_of(&tiny(), dir.path());
    let o = common::bin()
        .args(["export", "--db", &db, "--format", "parquet"])
        .output()
        .expect("runs");
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("give --out FOLDER"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let screen = qinglian(&["screen", "--db", &db, "--format", "jsonl"]);
    let first: serde_json::Value =
        serde_json::from_str(screen.lines().next().expect("a finding")).expect("json");
    let id = first["id"].as_str().expect("id");
    let ev: serde_json::Value = serde_json::from_str(&qinglian(&[
        "export",
        "--db",
        &db,
        "--format",
        "json",
        "--finding",
        id,
    ]))
    .expect("json");
    let ids = |v: &serde_json::Value| {
        let mut ids: Vec<String> = v
            .as_array()
            .expect("array")
            .iter()
            .map(|n| n["id"].as_str().unwrap_or_default().to_owned())
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(&ev["nodes"]), ids(&first["evidence"]["nodes"]));
    assert_eq!(
        ev["edges"].as_array().map(Vec::len),
        first["evidence"]["edges"].as_array().map(Vec::len),
        "every evidence edge found again"
    );
}

#[test]
fn every_export_reads_back_in_the_tools_that_read_it() {
    let Ok(venv) = std::env::var("QINGLIAN_EXPORT_VENV") else {
        eprintln!("SKIPPED: QINGLIAN_EXPORT_VENV is not set (.ci/run sets it)");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let db = db_of(&root().join("data-samples/zone"), dir.path());
    let out = dir.path().join("out");
    let at = |name: &str| out.join(name).to_str().expect("utf-8").to_owned();
    for (format, target) in [
        ("parquet", "parquet"),
        ("neo4j", "neo4j"),
        ("csv", "csv"),
        ("graphml", "g.graphml"),
        ("gexf", "g.gexf"),
        ("json", "g.json"),
        ("ftm", "g.ftm.jsonl"),
    ] {
        std::fs::create_dir_all(&out).expect("mkdir");
        qinglian(&[
            "export",
            "--db",
            &db,
            "--format",
            format,
            "--out",
            &at(target),
        ]);
    }
    qinglian(&[
        "export",
        "--db",
        &db,
        "--format",
        "parquet",
        "--buckets",
        "4",
        "--out",
        &at("buckets"),
    ]);
    // By region: a generated province has agencies in several districts (the demo zone, one).
    let province = dir.path().join("province");
    let bundle = province.join("bundle");
    qinglian(&[
        "generate",
        "--people",
        "3000",
        "--seed",
        "5",
        "--out",
        bundle.to_str().expect("utf-8"),
    ]);
    let pdb = db_of(&bundle, &province);
    qinglian(&[
        "export",
        "--db",
        &pdb,
        "--format",
        "parquet",
        "--by-region",
        "--out",
        &at("regions"),
    ]);
    std::fs::write(
        out.join("regions-stats.json"),
        qinglian(&["stats", "--db", &pdb, "--json"]),
    )
    .expect("write");
    let stats = dir.path().join("stats.json");
    std::fs::write(&stats, qinglian(&["stats", "--db", &db, "--json"])).expect("write");
    let o = std::process::Command::new(Path::new(&venv).join("bin/python"))
        .arg(root().join("tests/export/readback.py"))
        .arg(&stats)
        .arg(&out)
        .output()
        .expect("the venv's python runs");
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success() && text.contains("ok: every export read back"),
        "{text}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// `export --format parquet --history`: a refresh that drops an ownership row and changes a
/// position's end date shows as transaction time — every current edge with the loads that
/// asserted and last changed it, the dropped and the superseded fact in `history/`, each with
/// the load that ended it — and `--known-at 1` has no history yet.
#[test]
fn the_parquet_history_says_when_the_database_learned_and_unlearned_each_fact() {
    let Ok(venv) = std::env::var("QINGLIAN_EXPORT_VENV") else {
        eprintln!("SKIPPED: QINGLIAN_EXPORT_VENV is not set (.ci/run sets it)");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let zone = root().join("data-samples/zone");
    let refreshed = dir.path().join("zone");
    common::copy_dir(&zone, &refreshed);
    let owns = std::fs::read_to_string(zone.join("ownership.csv")).expect("ownership.csv");
    let mut lines: Vec<&str> = owns.lines().collect();
    let dropped = lines.remove(1).to_owned();
    std::fs::write(refreshed.join("ownership.csv"), lines.join("\n") + "\n").expect("write");
    let pos = std::fs::read_to_string(zone.join("positions.csv")).expect("positions.csv");
    let mut plines: Vec<String> = pos.lines().map(str::to_owned).collect();
    let mut first: Vec<&str> = plines[1].split(',').collect();
    first[4] = "2022-06-30";
    let changed = first.join(",");
    plines[1] = changed.clone();
    std::fs::write(refreshed.join("positions.csv"), plines.join("\n") + "\n").expect("write");

    let db = dir.path().join("db");
    let dbs = db.to_str().expect("utf-8");
    for b in [&zone, &refreshed] {
        qinglian(&[
            "ingest",
            b.to_str().expect("utf-8"),
            "--db",
            dbs,
            "--source",
            "zone",
        ]);
    }
    let now = dir.path().join("now");
    let then = dir.path().join("then");
    for (out, extra) in [(&now, vec![]), (&then, vec!["--known-at", "1"])] {
        let mut args = vec!["export", "--db", dbs, "--format", "parquet", "--history"];
        args.extend(extra);
        args.extend(["--out", out.to_str().expect("utf-8")]);
        qinglian(&args);
    }
    let script = r#"
import duckdb, sys, json
now, then, dropped, changed = sys.argv[1:5]
q = lambda sql: duckdb.sql(sql).fetchall()
owner, company = dropped.split(",")[:2]
person, agency = changed.split(",")[:2]
out = {
  "owns_history": q(f"select \"from\", \"to\", asserted_at, until_load, what from '{now}/history/OWNS.parquet'"),
  "position_history": q(f"select \"from\", \"to\", \"end\"::text, asserted_at, until_load, what from '{now}/history/POSITION.parquet'"),
  "untimed": q(f"select count(*) from read_parquet('{now}/edges/*.parquet', union_by_name = true) where asserted_at is null")[0][0],
  "edges": q(f"select count(*) from read_parquet('{now}/edges/*.parquet', union_by_name = true)")[0][0],
  "position_now": q(f"select \"end\"::text, asserted_at, changed_at from '{now}/edges/POSITION.parquet' where \"from\" = '{person}' and \"to\" = '{agency}' and changed_at = 2"),
  "then_history": q(f"select count(*) from read_parquet('{then}/history/*.parquet')")[0][0],
  "then_changed": q(f"select count(*) from read_parquet('{then}/edges/*.parquet', union_by_name = true) where changed_at <> 1 or asserted_at <> 1")[0][0],
  "owner": owner, "company": company,
}
print(json.dumps(out))
"#;
    let o = std::process::Command::new(Path::new(&venv).join("bin/python"))
        .args(["-c", script])
        .args([now.to_str().expect("utf-8"), then.to_str().expect("utf-8")])
        .args([&dropped, &changed])
        .output()
        .expect("python runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    let (owner, company) = (v["owner"].clone(), v["company"].clone());
    assert_eq!(
        v["owns_history"],
        serde_json::json!([[owner, company, 1, 2, "retracted"]]),
        "{v}"
    );
    let p: Vec<&str> = pos.lines().nth(1).expect("a position").split(',').collect();
    assert_eq!(
        v["position_history"],
        serde_json::json!([[p[0], p[1], plines_end(&pos), 1, 2, "changed"]]),
        "{v}"
    );
    assert_eq!(
        v["untimed"], 0,
        "every current edge has its transaction time: {v}"
    );
    assert!(v["edges"].as_u64().is_some_and(|n| n > 1000), "{v}");
    assert_eq!(
        v["position_now"],
        serde_json::json!([["2022-06-30", 1, 2]]),
        "{v}"
    );
    assert_eq!(v["then_history"], 0, "{v}");
    assert_eq!(v["then_changed"], 0, "{v}");
}

/// The end date of the first position row of `positions.csv`.
fn plines_end(text: &str) -> serde_json::Value {
    let row = text.lines().nth(1).expect("a position");
    match row.split(',').nth(4) {
        Some(e) if !e.is_empty() => e.into(),
        _ => serde_json::Value::Null,
    }
}
