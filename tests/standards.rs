//! The field's standards in: the real FtM, OCDS and BODS files of `../shared/data/real` load
//! directly (`qinglian ingest FILE`, format detected from the content), their stats equal the
//! hand-converted bundles' where both cover the same rows, the BODS fixtures' expectations hold,
//! every row cites its source file and line, and FtM in → FtM out → FtM in gives the same graph.
//! The real files stay beside the checkout (never copied here); without them a test says
//! SKIPPED.

mod common;

use common::{bin, qinglian, root};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn real() -> Option<PathBuf> {
    let p = root().join("../shared/data/real");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("SKIPPED: {} is not there", p.display());
        None
    }
}

fn load(file: &Path, dir: &Path, name: &str) -> String {
    let db = dir.join(name);
    let dbs = db.to_str().expect("utf-8").to_owned();
    qinglian(&["ingest", file.to_str().expect("utf-8"), "--db", &dbs]);
    dbs
}

fn stats(db: &str) -> Value {
    serde_json::from_str(&qinglian(&["stats", "--db", db, "--json"])).expect("json")
}

/// (kind, id) of every node and (kind, from, to, label, validity, share) of every edge.
fn graph(db: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let g: Value =
        serde_json::from_str(&qinglian(&["export", "--db", db, "--format", "json"])).expect("json");
    let nodes = g["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| {
            format!(
                "{} {} {} {}",
                n["kind"], n["id"], n["name"], n["identifier"]
            )
        })
        .collect();
    let edges = g["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| {
            format!(
                "{} {} {} {} {} {}",
                e["kind"], e["from"], e["to"], e["label"], e["valid"], e["share_pct"]
            )
        })
        .collect();
    (nodes, edges)
}

#[test]
fn raw_ftm_loads_like_the_hand_converted_bundle_and_cites_its_lines() {
    let Some(real) = real() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let raw = load(
        &real.join("ftm/yente-zala/entities.ftm.json"),
        dir.path(),
        "raw",
    );
    let hand = load(&real.join("bundles/ftm-zala"), dir.path(), "hand");
    let (mut a, mut b) = (stats(&raw), stats(&hand));
    for s in [&mut a, &mut b] {
        s.as_object_mut().expect("object").remove("generation");
    }
    assert_eq!(a, b, "FtM file and hand-converted bundle: same counts");
    assert_eq!(graph(&raw), graph(&hand), "and the same nodes and edges");
    let show = qinglian(&["show", "NK-2Tbri3s6GgNtAwsSXh4qpL", "--db", &raw, "--json"]);
    assert!(
        show.contains("entities.ftm.json"),
        "a node cites the FtM file: {show}"
    );
}

#[test]
fn ftm_in_out_in_gives_the_same_graph() {
    let Some(real) = real() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let a = load(
        &real.join("ftm/yente-zala/entities.ftm.json"),
        dir.path(),
        "a",
    );
    let out = dir.path().join("a.ftm.jsonl");
    qinglian(&[
        "export",
        "--db",
        &a,
        "--format",
        "ftm",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    let b = load(&out, dir.path(), "b");
    assert_eq!(graph(&a), graph(&b));
    assert_eq!(stats(&a)["blacklist"], stats(&b)["blacklist"]);
}

#[test]
fn raw_ocds_covers_the_hand_converted_bundle_and_more() {
    let Some(real) = real() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let raw = load(
        &real.join("ocds-real/compiled-releases.jsonl"),
        dir.path(),
        "raw",
    );
    let hand = load(&real.join("bundles/ocds-real"), dir.path(), "hand");
    let ids = |db: &str| -> BTreeSet<String> {
        let g: Value = serde_json::from_str(&qinglian(&["export", "--db", db, "--format", "json"]))
            .expect("json");
        g["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .map(|n| {
                format!(
                    "{} {}",
                    n["kind"].as_str().unwrap_or(""),
                    n["id"].as_str().unwrap_or("")
                )
            })
            .collect()
    };
    let (r, h) = (ids(&raw), ids(&hand));
    // The hand conversion wrote a contract without an id as `…/None` (Python's None).
    let missing: Vec<&String> = h
        .iter()
        .filter(|n| !r.contains(*n) && !n.ends_with("/None"))
        .collect();
    assert!(
        missing.is_empty(),
        "every hand-converted node is loaded: {missing:?}"
    );
    // What the raw file adds: the ten Paraguayan compiled releases whose buyer has only a name
    // (the hand conversion skipped them) — their tenders, contracts, suppliers and buyers.
    let extra: Vec<&String> = r.iter().filter(|n| !h.contains(*n)).collect();
    for n in &extra {
        let paraguay = n.contains("ocds-03ad3f-")
            || n.starts_with("Company Registro Único de Contribuyente")
            || n.starts_with("Agency ")
            || n.ends_with("PC-0001/");
        assert!(paraguay, "an unexplained extra node: {n}");
    }
    let s = stats(&raw);
    assert_eq!(
        s["nodes"]["Tender"], 141,
        "131 + the 10 Paraguayan releases"
    );
    assert_eq!(s["edges"]["BID"], stats(&hand)["edges"]["BID"]);
}

#[test]
fn every_real_file_loads_or_says_why_it_holds_nothing() {
    let Some(real) = real() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let mut files = Vec::new();
    for sub in ["ocds-real", "ocds-fictional", "ftm", "bods"] {
        collect(&real.join(sub), &mut files);
    }
    assert!(files.len() > 40, "{} files", files.len());
    let mut nothing = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let db = dir.path().join(format!("db{i}"));
        let o = bin()
            .arg("ingest")
            .arg(f)
            .arg("--db")
            .arg(&db)
            .output()
            .expect("runs");
        let err = String::from_utf8_lossy(&o.stderr);
        if !o.status.success() {
            assert!(
                err.contains("the file is empty")
                    || err.contains("hold nothing the model can load"),
                "{} failed: {err}",
                f.display()
            );
            nothing.push(f.file_name().map(|n| n.to_string_lossy().into_owned()));
        }
    }
    // Three Paraguayan files are empty upstream; two hold records that only link to releases.
    assert_eq!(nothing.len(), 5, "{nothing:?}");
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out);
        } else if p
            .extension()
            .is_some_and(|x| x == "json" || x == "jsonl" || x == "ijson")
        {
            out.push(p);
        }
    }
}

#[test]
fn bods_fixtures_hold_what_their_expectations_say() {
    let Some(real) = real() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let circular = load(
        &real.join("bods/bods-v04-fixtures/edge-cases/10-circular-ownership.json"),
        dir.path(),
        "circular",
    );
    let s = stats(&circular);
    assert_eq!(
        (
            s["nodes"]["Company"].as_u64(),
            s["edges"]["OWNS"].as_u64(),
            s["nodes"]["Person"].as_u64()
        ),
        (Some(2), Some(2), Some(0)),
        "both sides of the cycle kept, no person invented"
    );
    let anonymous = load(
        &real.join("bods/bods-v04-fixtures/edge-cases/11-anonymous-person.json"),
        dir.path(),
        "anonymous",
    );
    let s = stats(&anonymous);
    assert_eq!(s["nodes"]["Person"], 0, "no placeholder person");
    let g: Value = serde_json::from_str(&qinglian(&[
        "export", "--db", &anonymous, "--format", "json",
    ]))
    .expect("json");
    let entity = &g["nodes"][0];
    assert_eq!(
        entity["bo_unspecified_reason"], "subjectUnableToConfirmOrIdentifyBeneficialOwner",
        "the reason code kept verbatim: {entity}"
    );
    assert!(entity["bo_unspecified_description"]
        .as_str()
        .is_some_and(|d| !d.is_empty()));
    let pep = load(
        &real.join("bods/openownership-data-standard/full-pep-declaration.json"),
        dir.path(),
        "pep",
    );
    let g: Value = serde_json::from_str(&qinglian(&["export", "--db", &pep, "--format", "json"]))
        .expect("json");
    let person = g["nodes"]
        .as_array()
        .and_then(|n| n.iter().find(|n| n["kind"] == "Person"))
        .expect("a person");
    assert_eq!(person["pep"], "true", "{person}");
    let owns = &g["edges"].as_array().expect("edges")[0];
    assert_eq!(
        owns["share_pct"], 25.0,
        "a 25–50 % range keeps its lower bound: {owns}"
    );
}

#[test]
fn a_bad_line_of_json_lines_is_named_and_nothing_is_loaded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("x.ftm.jsonl");
    std::fs::write(
        &f,
        "{\"id\":\"p1\",\"schema\":\"Person\",\"properties\":{\"name\":[\"王伟\"]}}\n{oops\n",
    )
    .expect("write");
    let db = dir.path().join("db");
    let o = bin()
        .arg("ingest")
        .arg(&f)
        .arg("--db")
        .arg(&db)
        .output()
        .expect("runs");
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("line 2"), "{err}");
    assert!(!db.join("store").exists(), "nothing written");
}
