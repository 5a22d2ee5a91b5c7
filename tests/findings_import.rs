//! `qinglian findings import` (issue 14): findings computed elsewhere — by the rules compiled
//! to SQL, on DuckDB or Spark — come back into the database they were computed from. Each
//! line is confirmed by the engine (re-derived from its key alone) or refused with its line
//! and the reason, and nothing is recorded unless every line holds; confirmed, they become the
//! load's screening in the findings store, which `screen --since` and the server then answer
//! with.
//!
//! The claims here are the engine's own `screen --format jsonl` (the import reads both forms),
//! tampered with line by line; with `QINGLIAN_EXPORT_VENV` set (as `.ci/run` does), also the
//! DuckDB executor's output of every compiled rule.

mod common;

use common::{bin, qinglian, root};
use serde_json::Value;
use std::path::Path;

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// `findings import` of `file`: (success, stdout, stderr).
fn import(db: &Path, file: &Path, extra: &[&str]) -> (bool, String, String) {
    let o = bin()
        .args(["findings", "import", "--db", s(db), s(file)])
        .args(extra)
        .output()
        .expect("runs");
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// `lines` with line `i` (0-based) changed by `f`, written to `dir/name`.
fn tampered(
    dir: &Path,
    name: &str,
    lines: &[Value],
    i: usize,
    f: impl Fn(&mut Value),
) -> std::path::PathBuf {
    let mut out = lines.to_vec();
    f(&mut out[i]);
    let text: String = out.iter().map(|v| format!("{v}\n")).collect();
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p
}

/// A file name, the line changed (0-based), the change, and what the refusal must say.
type Tamper<'a> = (&'a str, usize, &'a dyn Fn(&mut Value), &'a str);

#[test]
fn findings_computed_elsewhere_are_confirmed_one_by_one_then_recorded_and_served() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = tmp.path().join("db");
    let zone = root().join("data-samples/zone");
    let out = qinglian(&["ingest", s(&zone), "--db", s(&db), "--no-screen"]);
    assert!(out.contains("not screened"), "{out}");
    let engine = qinglian(&["screen", "--db", s(&db), "--format", "jsonl"]);
    let lines: Vec<Value> = engine
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    assert!(lines.len() > 20, "the demo zone raises findings");
    let all = tmp.path().join("all.jsonl");
    std::fs::write(&all, format!("{engine}\n")).expect("write");

    // Every line holds.
    let (ok, _, err) = import(&db, &all, &["--check"]);
    assert!(ok, "{err}");
    assert!(
        err.contains(&format!("{} finding(s) confirmed", lines.len())),
        "{err}"
    );

    // Each kind of false claim is refused with its line; nothing is recorded.
    let refusals: [Tamper; 5] = [
        ("score.jsonl", 1, &|v| v["score"] = 3.0.into(), "score 3"),
        (
            "colour.jsonl",
            2,
            &|v| {
                let other = if v["severity"] == "green" {
                    "red"
                } else {
                    "green"
                };
                v["severity"] = other.into();
            },
            "severity",
        ),
        (
            "row.jsonl",
            3,
            &|v| {
                let n = v["evidence"]["edges"][0]["source"]["line"]
                    .as_u64()
                    .expect("line");
                v["evidence"]["edges"][0]["source"]["line"] = (n + 1).into();
            },
            "evidence",
        ),
        (
            "node.jsonl",
            4,
            &|v| v["official"] = "P9999999".into(),
            "the database holds no P9999999",
        ),
        (
            "garbage.jsonl",
            5,
            &|v| *v = Value::from("not a finding"),
            "not a finding",
        ),
    ];
    for (name, i, f, why) in refusals {
        let p = tampered(tmp.path(), name, &lines, i, f);
        let (ok, _, err) = import(&db, &p, &[]);
        assert!(!ok, "{name}: accepted");
        assert!(
            err.contains(&format!("{name}:{}: ", i + 1)) && err.contains(why),
            "{name}: {err}"
        );
        assert!(err.contains("nothing recorded"), "{name}: {err}");
    }

    // One rule's findings, imported for real: the load's screening by that rule.
    let rule = lines[0]["pattern"].as_str().expect("pattern").to_owned();
    let mine: Vec<&Value> = lines
        .iter()
        .filter(|v| v["pattern"] == rule.as_str())
        .collect();
    let one = tmp.path().join("one.jsonl");
    let text: String = mine.iter().map(|v| format!("{v}\n")).collect();
    std::fs::write(&one, text).expect("write");
    let (ok, stdout, err) = import(&db, &one, &["--rule", &rule]);
    assert!(ok, "{err}");
    assert!(
        stdout.contains(&format!("findings after load #1: {} new", mine.len())),
        "{stdout}"
    );
    let (ok, _, err) = import(&db, &one, &["--rule", &rule]);
    assert!(
        ok && err.contains("already has its screening recorded"),
        "{err}"
    );

    // `screen --since 0` reads the store: exactly those, as new.
    let since = qinglian(&[
        "screen",
        "--db",
        s(&db),
        "--since",
        "0",
        "--format",
        "jsonl",
    ]);
    let new: Vec<Value> = since
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .filter(|v: &Value| v["pattern"] == rule.as_str())
        .collect();
    assert_eq!(new.len(), mine.len(), "{since}");
    assert!(new.iter().all(|v| v["change"] == "new"), "{since}");

    // The server answers with the imported screening (that rule's findings), not its own.
    let server = common::serve_on(tempfile::tempdir().expect("tempdir"), db.clone(), "", &[]);
    let t = server.token("analyst");
    let (st, v, _) = common::call(
        &server,
        "GET",
        "/v1/findings?limit=500",
        Some(&t),
        true,
        None,
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["total"].as_u64(), Some(mine.len() as u64), "{v}");
    let served: Vec<&str> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["pattern"].as_str())
        .collect();
    assert!(served.iter().all(|p| *p == rule), "{v}");
}

#[test]
fn the_duckdb_executors_findings_import_as_they_are() {
    let Ok(venv) = std::env::var("QINGLIAN_EXPORT_VENV") else {
        eprintln!("SKIPPED: QINGLIAN_EXPORT_VENV is not set (.ci/run sets it)");
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let (db, pq, sql) = (
        tmp.path().join("db"),
        tmp.path().join("pq"),
        tmp.path().join("sql"),
    );
    let zone = root().join("data-samples/zone");
    qinglian(&["ingest", s(&zone), "--db", s(&db), "--no-screen"]);
    // Partitioned by region: the compiled rules read Hive partitions as one table each.
    qinglian(&[
        "export",
        "--db",
        s(&db),
        "--format",
        "parquet",
        "--by-region",
        "--out",
        s(&pq),
    ]);
    qinglian(&["compile-rules", "--dialect", "duckdb", "--out", s(&sql)]);
    let found = tmp.path().join("duckdb.jsonl");
    let o = std::process::Command::new(Path::new(&venv).join("bin/python"))
        .arg(root().join("spark/qinglian_spark.py"))
        .args(["--engine", "duckdb", "--data", s(&pq), "--sql", s(&sql)])
        .args(["--out", s(&found)])
        .output()
        .expect("run the driver");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let n = std::fs::read_to_string(&found)
        .expect("findings")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count();
    assert!(n > 20, "DuckDB finds something");
    let (ok, stdout, err) = import(&db, &found, &[]);
    assert!(ok, "{err}");
    assert!(err.contains(&format!("{n} finding(s) confirmed")), "{err}");
    // Every rule compiles (tests/sql.rs), so the import is the whole screening: what the
    // engine's own screening would have recorded.
    let engine = qinglian(&["screen", "--db", s(&db), "--format", "jsonl"]);
    assert!(
        stdout.contains(&format!(
            "findings after load #1: {} new",
            engine.lines().count()
        )),
        "{stdout}"
    );
}
