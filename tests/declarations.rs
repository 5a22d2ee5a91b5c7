//! Declaration spot-checks (个人有关事项报告 抽样、比对): the sample is reproducible and an auditor
//! re-draws it from the documented method alone; each comparison sheet agrees with the
//! `undeclared_interest` rule and with `declarations.csv`; the HTML page escapes the data; the
//! API gives the same to investigators only.

mod common;
use common::*;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn demo_db(dir: &Path) -> String {
    let db = dir.join("db");
    qinglian(&[
        "ingest",
        root().join("data-samples/zone").to_str().expect("path"),
        "--db",
        db.to_str().expect("path"),
    ]);
    db.to_str().expect("path").to_owned()
}

fn json(args: &[&str]) -> Value {
    serde_json::from_str(&qinglian(args)).expect("JSON")
}

fn rows(file: &str) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(root().join("data-samples/zone").join(file)).expect("csv");
    let head = r.headers().expect("header").clone();
    r.records()
        .map(|x| {
            let x = x.expect("row");
            head.iter()
                .zip(x.iter())
                .map(|(h, v)| (h.to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}

/// The sample drawn again from the bundle's files by the method `docs/declarations.md` states,
/// written here independently of the engine: (stratum → drawn officials).
fn redraw(seed: &str, count: usize, day: &str) -> BTreeMap<(String, String), Vec<String>> {
    // Offices held on the day; the latest-starting one per official (ties: smaller agency id).
    let mut office: BTreeMap<String, (String, String, String)> = BTreeMap::new();
    for p in rows("positions.csv") {
        let (start, end) = (p["start"].as_str(), p["end"].as_str());
        if !(start.is_empty() || start <= day) || !(end.is_empty() || day <= end) {
            continue;
        }
        let cand = (start.to_owned(), p["agency_id"].clone(), p["title"].clone());
        let better = office
            .get(&p["person_id"])
            .is_none_or(|cur| cand.0 > cur.0 || (cand.0 == cur.0 && cand.1 < cur.1));
        if better {
            office.insert(p["person_id"].clone(), cand);
        }
    }
    let key = |id: &str| -> String {
        Sha256::digest(format!("{seed}\n{id}").as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    let mut strata: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for (id, (_, agency, title)) in &office {
        strata
            .entry((agency.clone(), title.clone()))
            .or_default()
            .push(id.clone());
    }
    let total: usize = strata.values().map(Vec::len).sum();
    let mut quota: Vec<usize> = strata.values().map(|v| count * v.len() / total).collect();
    let mut rest: Vec<(usize, usize)> = strata
        .values()
        .enumerate()
        .map(|(i, v)| (count * v.len() % total, i))
        .collect();
    rest.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut left = count - quota.iter().sum::<usize>();
    for (_, i) in rest {
        if left > 0 {
            quota[i] += 1;
            left -= 1;
        }
    }
    strata
        .into_iter()
        .zip(quota)
        .map(|(((a, t), mut ids), q)| {
            ids.sort_by_key(|id| key(id));
            ids.truncate(q);
            ((a, t), ids)
        })
        .collect()
}

#[test]
fn the_sample_is_reproducible_and_an_auditor_redraws_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = demo_db(dir.path());
    let draw = |seed: &str| {
        json(&[
            "declarations",
            "sample",
            "--db",
            &db,
            "--seed",
            seed,
            "--count",
            "9",
            "--as-of",
            "2020-06-01",
        ])
    };
    let a = draw("2026 第1批");
    assert_eq!(
        a,
        draw("2026 第1批"),
        "same seed, same data: same sample and sheets"
    );
    let drawn = |v: &Value| -> Vec<String> {
        v["sample"]["officials"]
            .as_array()
            .expect("officials")
            .iter()
            .map(|d| d["official"].as_str().expect("id").to_owned())
            .collect()
    };
    assert_eq!(drawn(&a).len(), 9);
    assert_ne!(
        drawn(&a),
        drawn(&draw("2026 第2批")),
        "another seed, another sample"
    );
    // The auditor's re-draw from the files and the stated method gives the same officials,
    // stratum by stratum.
    let mut want: BTreeMap<(String, String), Vec<String>> = redraw("2026 第1批", 9, "2020-06-01");
    want.retain(|_, v| !v.is_empty());
    let mut got: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for d in a["sample"]["officials"].as_array().expect("officials") {
        let s = |k: &str| d[k].as_str().expect("field").to_owned();
        got.entry((s("agency"), s("rank")))
            .or_default()
            .push(s("official"));
    }
    assert_eq!(got, want);
    assert_eq!(
        a["sheets"].as_array().map(Vec::len),
        Some(9),
        "a sheet per drawn official"
    );
    // Filters: one agency with its sub-agencies, one rank.
    let one = json(&[
        "declarations",
        "sample",
        "--db",
        &db,
        "--seed",
        "x",
        "--rate",
        "1",
        "--as-of",
        "2020-06-01",
        "--rank",
        "科员",
    ]);
    assert!(one["sample"]["officials"]
        .as_array()
        .expect("officials")
        .iter()
        .all(|d| d["rank"] == "科员"));
}

#[test]
fn every_sheet_agrees_with_the_rule_and_the_declarations() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = demo_db(dir.path());
    let officials: BTreeSet<String> = rows("positions.csv")
        .into_iter()
        .map(|p| p["person_id"].clone())
        .collect();
    // What undeclared_interest finds, per official.
    let mut undeclared: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in qinglian(&[
        "screen",
        "--db",
        &db,
        "--rule",
        "undeclared_interest",
        "--format",
        "jsonl",
    ])
    .lines()
    {
        let f: Value = serde_json::from_str(line).expect("finding");
        undeclared
            .entry(f["official"].as_str().expect("official").to_owned())
            .or_default()
            .insert(f["target"].as_str().expect("target").to_owned());
    }
    let mut declared: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for d in rows("declarations.csv") {
        declared
            .entry(d["person_id"].clone())
            .or_default()
            .insert(d["subject_id"].clone(), d["relation"].clone());
    }
    let mut args = vec!["declarations", "sheet", "--db", db.as_str()];
    args.extend(officials.iter().map(String::as_str));
    let v = json(&args);
    let (mut interests, mut not_declared) = (0, 0);
    for s in v["sheets"].as_array().expect("sheets") {
        let o = s["official"].as_str().expect("official");
        let mine = declared.get(o).cloned().unwrap_or_default();
        let mut missing = BTreeSet::new();
        for i in s["discovered"].as_array().expect("discovered") {
            let (subject, status) = (
                i["subject"].as_str().expect("subject"),
                i["status"].as_str().expect("status"),
            );
            assert!(
                i["evidence"]["edges"]
                    .as_array()
                    .is_some_and(|e| !e.is_empty()),
                "{o}: an item without evidence: {i}"
            );
            let relation = i["relation"].as_str().expect("relation");
            let want = match (i["kind"].as_str(), mine.get(subject)) {
                (Some("interest"), Some(_)) => "declared",
                (Some("interest"), None) => "not declared",
                (_, Some(d)) if d == relation => "declared",
                (_, Some(_)) => "under-declared",
                (_, None) if ["spouse", "child"].contains(&relation) => "not declared",
                (_, None) => "not required",
            };
            assert_eq!(status, want, "{o}: {i}");
            if i["kind"] == "interest" {
                interests += 1;
                if status == "not declared" {
                    missing.insert(subject.to_owned());
                    not_declared += 1;
                }
            }
        }
        assert_eq!(
            missing,
            undeclared.remove(o).unwrap_or_default(),
            "{o}: the sheet's undeclared interests are the rule's findings"
        );
        let listed: BTreeSet<&str> = s["declared"]
            .as_array()
            .expect("declared")
            .iter()
            .filter_map(|d| d["subject"].as_str())
            .collect();
        assert_eq!(listed, mine.keys().map(String::as_str).collect(), "{o}");
    }
    assert!(
        undeclared.is_empty(),
        "findings for officials without a sheet: {undeclared:?}"
    );
    assert!(
        interests > not_declared && not_declared > 0,
        "{interests} {not_declared}"
    );
}

#[test]
fn the_printable_page_escapes_the_data_and_the_api_serves_investigators_only() {
    // A company name with markup in it, held by an official's spouse.
    let dir = tempfile::tempdir().expect("tmp");
    let bundle = dir.path().join("zone");
    copy_dir(&root().join("data-samples/zone"), &bundle);
    let companies = std::fs::read_to_string(bundle.join("companies.csv")).expect("companies");
    let marked = companies.replacen("C000112,", "C000112,<b>x</b>", 1);
    assert_ne!(marked, companies);
    std::fs::write(bundle.join("companies.csv"), marked).expect("write");
    let s = start(&bundle, "");
    let db = s.db.to_str().expect("path").to_owned();
    let page = qinglian(&[
        "declarations",
        "sheet",
        "--db",
        &db,
        "P0000055",
        "--format",
        "html",
    ]);
    assert!(
        page.contains("&lt;b&gt;x&lt;") && !page.contains("<b>x</b>"),
        "escaped"
    );
    assert!(page.contains("P0000055") && page.contains("C000112"));
    let csv = qinglian(&[
        "declarations",
        "sheet",
        "--db",
        &db,
        "P0000055",
        "--format",
        "csv",
    ]);
    assert!(csv.starts_with("official,name,row,kind,subject"), "{csv}");

    let inv = s.token("investigator");
    let (st, v, _) = call(
        &s,
        "GET",
        "/v1/officials/P0000055/declarations",
        Some(&inv),
        true,
        None,
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["sheet"]["official"], "P0000055");
    let (st, html, ct) = call(
        &s,
        "GET",
        "/v1/officials/P0000055/declarations?format=html",
        Some(&inv),
        true,
        None,
    );
    assert_eq!((st, ct.as_str()), (200, "text/html"));
    assert!(html.as_str().is_some_and(|h| h.contains("&lt;b&gt;")));
    let (st, v, _) = call(
        &s,
        "GET",
        "/v1/declarations/sample?seed=2026&count=3&as_of=2020-06-01",
        Some(&inv),
        true,
        None,
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["sample"]["officials"].as_array().map(Vec::len), Some(3));
    let cli = json(&[
        "declarations",
        "sample",
        "--db",
        &db,
        "--seed",
        "2026",
        "--count",
        "3",
        "--as-of",
        "2020-06-01",
    ]);
    assert_eq!(
        v["sample"], cli["sample"],
        "the API draws what the CLI draws"
    );
    let ana = s.token("analyst");
    let (st, _, _) = call(
        &s,
        "GET",
        "/v1/declarations/sample?seed=1&count=1",
        Some(&ana),
        true,
        None,
    );
    assert_eq!(st, 403, "declarations are for investigators");
    let (st, v, _) = call(
        &s,
        "GET",
        "/v1/declarations/sample?seed=1&rate=2",
        Some(&inv),
        true,
        None,
    );
    assert_eq!(st, 400, "{v}");
}
