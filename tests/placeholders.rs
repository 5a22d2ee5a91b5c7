//! Real-data hygiene (issue 13): a bundle extends the built-in placeholder list with
//! `placeholders.csv`, and a listed value ties nothing — on the current data, not on what the
//! database knew before the list was loaded; a snapshot load of the list's source replaces it;
//! a bad row rejects the load with its line and column and leaves the database unchanged.

mod common;

use common::{bin, root};
use std::collections::BTreeSet;
use std::path::Path;

type Pairs = BTreeSet<(String, String)>;

fn run(args: &[&str]) -> (bool, String) {
    let o = bin().args(args).output().expect("runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.success(), text)
}

fn ingest(db: &Path, bundle: &Path, extra: &[&str]) -> (bool, String) {
    let mut args = vec!["ingest", bundle.to_str().expect("path")];
    args.extend_from_slice(&["--db", db.to_str().expect("path")]);
    args.extend_from_slice(extra);
    run(&args)
}

/// The pairs `bid_rigging` flags, as of `known_at` when given.
fn rigged(db: &Path, known_at: Option<&str>) -> Pairs {
    let mut args = vec!["screen", "--rule", "bid_rigging", "--format", "jsonl"];
    args.extend_from_slice(&["--db", db.to_str().expect("path")]);
    if let Some(k) = known_at {
        args.extend_from_slice(&["--known-at", k]);
    }
    let (ok, text) = run(&args);
    assert!(ok, "{text}");
    text.lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("JSON line");
            let s = |k: &str| v[k].as_str().unwrap_or("").to_owned();
            (s("target"), s("target2"))
        })
        .collect()
}

fn pair(a: &str, b: &str) -> (String, String) {
    (a.to_owned(), b.to_owned())
}

fn list(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let d = dir.join(name);
    std::fs::create_dir_all(&d).expect("mkdir");
    std::fs::write(d.join("placeholders.csv"), text).expect("write");
    d
}

#[test]
fn listed_values_tie_nothing_from_the_load_that_lists_them() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = tmp.path().join("db");
    let fixture = root().join("tests/fixtures/rules/bid_rigging");
    let (ok, text) = ingest(&db, &fixture, &[]);
    assert!(ok, "{text}");
    let before = rigged(&db, None);
    // C20 and C21 give one switchboard, C7 and C8 one address: both pairs are flagged.
    let switchboard = pair("C20", "C21");
    let building = pair("C7", "C8");
    assert!(
        before.contains(&switchboard) && before.contains(&building),
        "{before:?}"
    );

    let lists = list(
        tmp.path(),
        "lists",
        "value,field\n0571-88001234,phone\n某市高新区 创业大道88号A座,address\nN/A,\n",
    );
    let (ok, text) = ingest(&db, &lists, &["--source", "lists", "--mode", "delta"]);
    assert!(ok, "{text}");
    assert!(
        text.contains("placeholders.csv:4:1") && text.contains("already compares as no value"),
        "a listed built-in placeholder is a warning at its line: {text}"
    );
    let after = rigged(&db, None);
    let gone: Pairs = before.difference(&after).cloned().collect();
    assert_eq!(gone, [switchboard.clone(), building.clone()].into());
    assert!(after.is_subset(&before), "the list only unties");
    // What the database knew before the list: the pairs as they were.
    assert_eq!(rigged(&db, Some("1")), before);

    let (ok, text) = run(&["placeholders", "--json", "--db", db.to_str().expect("path")]);
    assert!(ok, "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let loaded = v["loaded"].as_array().expect("loaded");
    assert_eq!(loaded.len(), 3, "{v}");
    assert_eq!(loaded[0]["value"], "0571-88001234");
    assert_eq!(loaded[0]["field"], "phone");
    assert_eq!(loaded[0]["file"], "placeholders.csv");
    assert_eq!(loaded[0]["line"], 2);
    assert_eq!(loaded[0]["load"], 2);

    // A bad row: rejected at its line and column, the database unchanged.
    let bad = list(
        tmp.path(),
        "bad",
        "value,field\n4008001234,phone\n4008001235,fax\n,address\n",
    );
    let (ok, text) = ingest(&db, &bad, &["--source", "lists"]);
    assert!(!ok, "a bad placeholder row must reject the load: {text}");
    assert!(text.contains("placeholders.csv:3:2"), "{text}");
    assert!(text.contains("placeholders.csv:4:1"), "{text}");
    assert_eq!(
        rigged(&db, None),
        after,
        "the rejected load changed nothing"
    );

    // A snapshot load of the list's source without those values: they tie again.
    let none = list(tmp.path(), "none", "value,field\n");
    let (ok, text) = ingest(&db, &none, &["--source", "lists"]);
    assert!(ok, "{text}");
    assert_eq!(rigged(&db, None), before);
    assert_eq!(
        rigged(&db, Some("2")),
        after,
        "load 2's list still answers for load 2"
    );
}
