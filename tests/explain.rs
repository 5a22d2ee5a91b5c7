//! Golden plans: `qinglian rules explain <rule> --db DB` of every built-in rule on the demo
//! bundle (`data-samples/zone`) equals `tests/golden/explain/<rule>.txt`, so that a change to
//! the planner, the cost model or a rule shows up in review as a changed plan.
//!
//! After an intended change, rewrite the files and review the diff:
//! `QINGLIAN_BLESS=1 cargo test --release --test explain`. Rules are discovered from `queries/`
//! (each file's `id`); a golden file without a rule is an error too (blessing removes it).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn golden_dir() -> PathBuf {
    root().join("tests/golden/explain")
}

fn bless() -> bool {
    std::env::var("QINGLIAN_BLESS").is_ok_and(|v| v == "1")
}

/// The ids of the built-in rules: the `id` of every `.toml` file in `queries/`.
fn rule_ids() -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for e in std::fs::read_dir(root().join("queries")).expect("queries/") {
        let p = e.expect("entry").path();
        if p.extension().is_none_or(|x| x != "toml") {
            continue;
        }
        let text = std::fs::read_to_string(&p).expect("readable rule file");
        let v: toml::Table = toml::from_str(&text).expect("valid TOML");
        let id = v["id"].as_str().expect("a rule id").to_owned();
        ids.insert(id);
    }
    assert!(!ids.is_empty(), "no rule files in queries/");
    ids
}

/// Runs the CLI; panics with its error output unless it succeeds.
fn qinglian(args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_qinglian"))
        .args(args)
        .output()
        .expect("runs");
    assert!(
        o.status.success(),
        "qinglian {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).expect("UTF-8 output")
}

fn ingest_demo(dir: &Path) -> PathBuf {
    let db = dir.join("db");
    let bundle = root().join("data-samples/zone");
    qinglian(&[
        "ingest",
        bundle.to_str().expect("UTF-8 path"),
        "--db",
        db.to_str().expect("UTF-8 path"),
    ]);
    db
}

#[test]
fn every_rule_explains_as_its_golden_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = ingest_demo(tmp.path());
    let db = db.to_str().expect("UTF-8 path");
    let ids = rule_ids();
    let dir = golden_dir();
    let mut problems = Vec::new();
    for id in &ids {
        let got = qinglian(&["rules", "explain", id, "--db", db]);
        let path = dir.join(format!("{id}.txt"));
        if bless() {
            std::fs::create_dir_all(&dir).expect("create tests/golden/explain");
            std::fs::write(&path, &got).expect("write golden file");
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(want) if want == got => {}
            Ok(want) => problems.push(format!(
                "{id}: the plan changed\n--- {}\n{want}+++ now\n{got}",
                path.display()
            )),
            Err(_) => problems.push(format!("{id}: no golden file {}", path.display())),
        }
    }
    // A golden file whose rule is gone.
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for e in entries {
            let p = e.expect("entry").path();
            let Some(stem) = p.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            if p.extension().is_some_and(|x| x == "txt") && !ids.contains(stem) {
                if bless() {
                    std::fs::remove_file(&p).expect("remove stale golden file");
                } else {
                    problems.push(format!("{}: no rule `{stem}` in queries/", p.display()));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{}\n\nIf the change is intended: QINGLIAN_BLESS=1 cargo test --release --test explain, \
         then review the diff of tests/golden/explain/.",
        problems.join("\n")
    );
}
