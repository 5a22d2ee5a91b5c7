//! Living data (issue 10): the scenarios of a monthly refresh, run through the CLI on copies of
//! the demo bundle — a reload stores no duplicate, a changed supplier is taken and reported, a
//! dangling one is rejected with the database unchanged, a stake absent from a snapshot load is
//! retracted (and kept by a delta load), a position's new end date is in force — and the
//! database after two loads answers as fresh loads of each state do (`--known-at`, `--since`).

mod common;

use common::{bin, qinglian, root};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A copy of the demo bundle under `dir/name`.
fn copy_demo(dir: &Path, name: &str) -> PathBuf {
    let to = dir.join(name);
    std::fs::create_dir_all(&to).expect("mkdir");
    for e in std::fs::read_dir(root().join("data-samples/zone")).expect("demo") {
        let e = e.expect("entry");
        if e.path().extension().is_some_and(|x| x == "csv") {
            std::fs::copy(e.path(), to.join(e.file_name())).expect("copy");
        }
    }
    to
}

/// Replaces the first line of `file` that starts with `prefix` by `f(line)`.
fn edit_line(bundle: &Path, file: &str, prefix: &str, f: impl Fn(&str) -> String) {
    let p = bundle.join(file);
    let text = std::fs::read_to_string(&p).expect("read");
    let mut done = false;
    let out: Vec<String> = text
        .lines()
        .map(|l| {
            if !done && l.starts_with(prefix) {
                done = true;
                f(l)
            } else {
                l.to_owned()
            }
        })
        .collect();
    assert!(done, "{file}: no line starts with {prefix}");
    std::fs::write(&p, out.join("\n") + "\n").expect("write");
}

fn ingest(db: &Path, bundle: &Path, extra: &[&str]) -> String {
    let mut args = vec![
        "ingest",
        bundle.to_str().expect("path"),
        "--db",
        db.to_str().expect("path"),
    ];
    args.extend_from_slice(extra);
    let o = bin().args(&args).output().expect("runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "qinglian {args:?}: {text}");
    text
}

fn stats(db: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["stats", "--json", "--db", db.to_str().expect("path")];
    args.extend_from_slice(extra);
    serde_json::from_str(&qinglian(&args)).expect("json")
}

/// Findings as id -> (rule, severity, score).
fn findings(db: &Path, extra: &[&str]) -> BTreeMap<String, (String, String, String)> {
    let mut args = vec!["screen", "--db", db.to_str().expect("path")];
    args.extend_from_slice(extra);
    qinglian(&args)
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("json line");
            (
                v["id"].as_str().expect("id").to_owned(),
                (
                    v["pattern"].to_string(),
                    v["severity"].to_string(),
                    v["score"].to_string(),
                ),
            )
        })
        .collect()
}

fn show(db: &Path, id: &str) -> Value {
    serde_json::from_str(&qinglian(&[
        "show",
        id,
        "--json",
        "--db",
        db.to_str().expect("path"),
    ]))
    .expect("json")
}

/// The far ends of `id`'s edges of `kind`.
fn neighbours(db: &Path, id: &str, kind: &str) -> Vec<String> {
    let v = show(db, id);
    let mut out = Vec::new();
    for g in v["edges"].as_array().expect("edges") {
        if g["kind"] == kind {
            for e in g["edges"].as_array().expect("edges") {
                let far = if e["from"] == id {
                    &e["to"]
                } else {
                    &e["from"]
                };
                out.push(far.as_str().expect("id").to_owned());
            }
        }
    }
    out
}

#[test]
fn reloading_a_bundle_with_one_change_stores_no_duplicate_and_takes_the_change() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (a, b) = (
        copy_demo(tmp.path(), "zone"),
        copy_demo(tmp.path(), "zone2"),
    );
    edit_line(&b, "contracts.csv", "K000000,", |l| {
        l.replacen(",C000024,", ",C000025,", 1)
    });
    let db = tmp.path().join("db");
    ingest(&db, &a, &[]);
    let before = stats(&db, &[]);
    assert_eq!(neighbours(&db, "K000000", "TO"), ["C000024"]);
    let out = ingest(&db, &b, &["--source", "zone"]);
    assert!(
        out.contains("contracts.csv:2:3") && out.contains("C000024 -> C000025"),
        "the change is reported with file, line, column and both values:\n{out}"
    );
    let after = stats(&db, &[]);
    assert_eq!(before["edges"], after["edges"], "no edge twice");
    assert_eq!(before["blacklist"], after["blacklist"], "no listing twice");
    assert_eq!(
        neighbours(&db, "K000000", "TO"),
        ["C000025"],
        "the new supplier holds"
    );
    // What load 1 knew, and the change as history.
    let then: Value = serde_json::from_str(&qinglian(&[
        "show",
        "K000000",
        "--json",
        "--known-at",
        "1",
        "--db",
        db.to_str().expect("path"),
    ]))
    .expect("json");
    assert!(then.to_string().contains("C000024") && !then.to_string().contains("C000025"));
    let h: Value = serde_json::from_str(&qinglian(&[
        "show",
        "K000000",
        "--json",
        "--history",
        "--db",
        db.to_str().expect("path"),
    ]))
    .expect("json");
    assert_eq!(
        h["history"],
        serde_json::json!([{"kind": "TO", "from": "K000000", "to": "C000024", "label": "",
            "what": "changed", "at": 2, "file": "contracts.csv", "line": 2, "load": 1}]),
        "{h}"
    );
    // What the database knew after the first load is still there.
    assert_eq!(stats(&db, &["--known-at", "1"])["edges"], before["edges"]);
}

#[test]
fn a_supplier_that_exists_nowhere_is_rejected_and_nothing_changes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (a, b) = (
        copy_demo(tmp.path(), "zone"),
        copy_demo(tmp.path(), "zone2"),
    );
    edit_line(&b, "contracts.csv", "K000000,", |l| {
        l.replacen(",C000024,", ",C999,", 1)
    });
    let db = tmp.path().join("db");
    ingest(&db, &a, &[]);
    let before = stats(&db, &[]);
    let o = bin()
        .args(["ingest", b.to_str().expect("path"), "--db"])
        .arg(&db)
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "a dangling supplier is an error");
    assert!(
        err.contains("C999") && err.contains("contracts.csv:2"),
        "{err}"
    );
    assert_eq!(stats(&db, &[]), before, "the database is unchanged");
    assert_eq!(neighbours(&db, "K000000", "TO"), ["C000024"]);
}

#[test]
fn a_stake_absent_from_a_snapshot_load_is_retracted_and_a_delta_keeps_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (a, b) = (
        copy_demo(tmp.path(), "zone"),
        copy_demo(tmp.path(), "zone2"),
    );
    let text = std::fs::read_to_string(b.join("ownership.csv")).expect("read");
    let mut lines: Vec<&str> = text.lines().collect();
    let gone = lines.remove(1).to_owned();
    std::fs::write(b.join("ownership.csv"), lines.join("\n") + "\n").expect("write");
    let owns = |db: &Path| stats(db, &[])["edges"]["OWNS"].as_u64().expect("count");
    // A delta adds and changes only.
    let db = tmp.path().join("delta");
    ingest(&db, &a, &[]);
    let n = owns(&db);
    ingest(&db, &b, &["--source", "zone", "--mode", "delta"]);
    assert_eq!(owns(&db), n, "a delta load retracts nothing");
    // A snapshot of the same source retracts the stake it no longer states.
    let db = tmp.path().join("snapshot");
    ingest(&db, &a, &[]);
    let out = ingest(&db, &b, &["--source", "zone"]);
    assert_eq!(owns(&db), n - 1, "the absent stake is retracted");
    assert!(out.contains("retracted 1 fact"), "{out}");
    let owner = gone.split(',').next().expect("owner");
    assert!(out.contains(owner), "the retracted stake is named: {out}");
    let company = gone.split(',').nth(1).expect("company");
    let h: Value = serde_json::from_str(&qinglian(&[
        "show",
        company,
        "--json",
        "--history",
        "--db",
        db.to_str().expect("path"),
    ]))
    .expect("json");
    assert!(
        h["history"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x["what"] == "retracted"
                && x["kind"] == "OWNS"
                && x["from"] == owner
                && x["at"] == 2)),
        "{h}"
    );
    // A snapshot of another source leaves this source's facts alone.
    let db = tmp.path().join("other");
    ingest(&db, &a, &[]);
    ingest(&db, &b, &["--source", "registry"]);
    assert_eq!(owns(&db), n, "another source retracts nothing of this one");
}

/// The first relative_wins finding of the demo, its official and agency, and the day the
/// contract was signed.
fn a_relative_wins_finding(db: &Path) -> (String, String, String) {
    let out = qinglian(&[
        "screen",
        "--db",
        db.to_str().expect("path"),
        "--rule",
        "relative_wins",
    ]);
    let v: Value = serde_json::from_str(out.lines().next().expect("a finding")).expect("json");
    (
        v["id"].as_str().expect("id").to_owned(),
        v["official"].as_str().expect("official").to_owned(),
        v["agency"].as_str().expect("agency").to_owned(),
    )
}

#[test]
fn a_new_end_date_is_in_force_and_since_lists_what_appeared_and_disappeared() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (a, b) = (
        copy_demo(tmp.path(), "zone"),
        copy_demo(tmp.path(), "zone2"),
    );
    let db = tmp.path().join("db");
    ingest(&db, &a, &[]);
    let (finding, official, agency) = a_relative_wins_finding(&db);
    // Every position of the official at that agency ends the day it starts: the office no
    // longer covers the contract.
    let text = std::fs::read_to_string(b.join("positions.csv")).expect("read");
    let prefix = format!("{official},{agency},");
    let out: Vec<String> = text
        .lines()
        .map(|l| {
            if !l.starts_with(&prefix) {
                return l.to_owned();
            }
            let f: Vec<&str> = l.split(',').collect();
            format!("{},{},{},{},{}", f[0], f[1], f[2], f[3], f[3])
        })
        .collect();
    std::fs::write(b.join("positions.csv"), out.join("\n") + "\n").expect("write");
    // Also a supplier change, for a finding to appear or change elsewhere.
    edit_line(&b, "contracts.csv", "K000000,", |l| {
        l.replacen(",C000024,", ",C000025,", 1)
    });
    let load = ingest(&db, &b, &["--source", "zone"]);
    assert!(
        load.contains("positions.csv:") && load.contains("end"),
        "{load}"
    );
    let now = findings(&db, &[]);
    assert!(
        !now.contains_key(&finding),
        "the ended position raises nothing"
    );

    // The same states loaded fresh, one each.
    let fresh = |bundle: &Path, name: &str| {
        let d = tmp.path().join(name);
        ingest(&d, bundle, &[]);
        findings(&d, &[])
    };
    let (first, second) = (fresh(&a, "fresh1"), fresh(&b, "fresh2"));
    assert_eq!(
        now, second,
        "two loads answer as one fresh load of the final data"
    );
    assert_eq!(
        findings(&db, &["--known-at", "1"]),
        first,
        "--known-at 1 answers as load 1 did"
    );

    // --since 1 lists exactly the difference.
    let mut want: BTreeSet<(String, String)> = BTreeSet::new();
    for (id, f) in &second {
        match first.get(id) {
            None => {
                want.insert((id.clone(), "new".into()));
            }
            Some(g) if g != f => {
                want.insert((id.clone(), "changed".into()));
            }
            Some(_) => {}
        }
    }
    for id in first.keys().filter(|id| !second.contains_key(*id)) {
        want.insert((id.clone(), "resolved".into()));
    }
    assert!(want.contains(&(finding.clone(), "resolved".into())));
    let since: BTreeSet<(String, String)> =
        qinglian(&["screen", "--db", db.to_str().expect("path"), "--since", "1"])
            .lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).expect("json");
                (
                    v["id"].as_str().expect("id").to_owned(),
                    v["change"].as_str().expect("change").to_owned(),
                )
            })
            .collect();
    let only_keys = |s: &BTreeSet<(String, String)>| -> BTreeSet<(String, String)> {
        s.iter().filter(|(_, c)| c != "changed").cloned().collect()
    };
    assert_eq!(only_keys(&since), only_keys(&want));
    // A changed finding is one whose colour or score moved, or whose evidence did.
    for (id, c) in &want {
        if c == "changed" {
            assert!(since.contains(&(id.clone(), "changed".into())), "{id}");
        }
    }
}

#[test]
fn a_delta_retracts_what_its_op_column_says_and_nothing_else() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let a = copy_demo(tmp.path(), "zone");
    let db = tmp.path().join("db");
    ingest(&db, &a, &[]);
    let owns = |db: &Path| stats(db, &[])["edges"]["OWNS"].as_u64().expect("count");
    let n = owns(&db);
    let text = std::fs::read_to_string(a.join("ownership.csv")).expect("read");
    let row = text.lines().nth(1).expect("a stake").to_owned();
    // A delta of the same source holding one row, with `op` = retract.
    let d = tmp.path().join("delta");
    std::fs::create_dir_all(&d).expect("mkdir");
    let header = "owner_id,company_id,share_pct,start,end,op";
    std::fs::write(
        d.join("ownership.csv"),
        format!("{header}\n{row},retract\n"),
    )
    .expect("write");
    let out = ingest(&db, &d, &["--source", "zone", "--mode", "delta"]);
    assert!(out.contains("1 row with op=retract"), "{out}");
    assert_eq!(owns(&db), n - 1, "the stake is retracted, nothing else");
    let company = row.split(',').nth(1).expect("company");
    let hist: Value = serde_json::from_str(&qinglian(&[
        "show",
        company,
        "--json",
        "--history",
        "--db",
        db.to_str().expect("path"),
    ]))
    .expect("json");
    assert!(
        hist["history"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x["what"] == "retracted" && x["at"] == 2)),
        "{hist}"
    );
    // An unknown op is an error naming the column; nothing changes.
    std::fs::write(d.join("ownership.csv"), format!("{header}\n{row},delete\n")).expect("write");
    let o = bin()
        .args([
            "ingest",
            d.to_str().expect("path"),
            "--mode",
            "delta",
            "--db",
        ])
        .arg(&db)
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("ownership.csv:2:6"),
        "{err}"
    );
    assert_eq!(owns(&db), n - 1);
}
