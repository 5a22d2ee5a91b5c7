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
