//! Rules compiled to SQL (issue 14): `qinglian compile-rules` writes each rule as SQL,
//! `spark/qinglian_spark.py` runs it over `export --format parquet` — on DuckDB (the
//! `duckdb` package of `QINGLIAN_EXPORT_VENV`) and, when `QINGLIAN_SPARK_VENV` names an
//! environment with pyspark, on Spark `local[2]` — and every compiled rule's findings must
//! equal the engine's, on both executors, for the demo zone and a generated 20,000-person
//! province: key, colour, score, and the evidence chain (its nodes, and its edges with their
//! ends and source rows, in order).
//! A rule file a user adds compiles and runs with no other edit. `findings import --check`
//! confirms every executor's output line by line (tests/findings_import.rs for refusals).

mod common;

use common::{qinglian, root};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// pattern, official, target, target2, ref, severity, score, evidence.
type Key = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
);

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

fn key(v: &Value) -> Key {
    let g = |k: &str| v[k].as_str().unwrap_or("").to_owned();
    (
        g("pattern"),
        g("official"),
        g("target"),
        g("target2"),
        g("ref"),
        g("severity"),
        format!("{:.1}", v["score"].as_f64().unwrap_or(f64::NAN)),
        evidence(&v["evidence"]),
    )
}

/// The evidence in a form both outputs share: node ids, and each edge's kind, ends and source
/// row (the engine's nodes are objects with an id; the driver's are ids).
fn evidence(ev: &Value) -> String {
    let list = |k: &str| ev[k].as_array().cloned().unwrap_or_default();
    let nodes: Vec<Value> = list("nodes")
        .iter()
        .map(|n| n.as_str().map_or_else(|| n["id"].clone(), Value::from))
        .collect();
    let edges: Vec<Value> = list("edges")
        .iter()
        .map(|e| {
            serde_json::json!([
                e["kind"],
                e["from"],
                e["to"],
                e["source"]["file"],
                e["source"]["line"],
                e["source"]["load"]
            ])
        })
        .collect();
    serde_json::json!({"nodes": nodes, "edges": edges}).to_string()
}

fn keys(text: &str) -> Vec<Key> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| key(&serde_json::from_str(l).expect("a JSON line")))
        .collect()
}

/// The rules compiled into `dir`.
fn compiled(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .expect("SQL folder")
        .filter_map(|e| {
            let n = e.expect("entry").file_name().to_string_lossy().into_owned();
            n.strip_suffix(".sql").map(str::to_owned)
        })
        .collect()
}

/// Runs the driver on `engine`; returns its findings.
fn drive(python: &Path, engine: &str, parquet: &Path, sql: &Path, out: &Path) -> Vec<Key> {
    let mut c = Command::new(python);
    c.arg(root().join("spark/qinglian_spark.py"))
        .args(["--engine", engine, "--data", s(parquet), "--sql", s(sql)])
        .args(["--out", s(out)]);
    if engine == "spark" {
        c.args(["--master", "local[2]"]);
    }
    let o = c.output().expect("run the driver");
    assert!(
        o.status.success(),
        "{engine}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let mut k = keys(&std::fs::read_to_string(out).expect("findings"));
    k.sort();
    k
}

/// Screens `bundle` with the engine and with the compiled SQL on each available executor.
/// Returns the rules that found something.
fn same_findings(
    bundle: &Path,
    rules: Option<&Path>,
    only: Option<&str>,
    tmp: &Path,
) -> BTreeSet<String> {
    let (db, pq) = (tmp.join("db"), tmp.join("pq"));
    qinglian(&["ingest", s(bundle), "--db", s(&db)]);
    qinglian(&[
        "export",
        "--db",
        s(&db),
        "--format",
        "parquet",
        "--out",
        s(&pq),
    ]);
    let mut args = vec!["screen", "--db", s(&db), "--format", "jsonl"];
    if let Some(r) = rules {
        args.extend(["--rules", s(r)]);
    }
    let engine = qinglian(&args);
    let mut found = BTreeSet::new();
    for (dialect, var, name) in [
        ("duckdb", "QINGLIAN_EXPORT_VENV", "duckdb"),
        ("spark", "QINGLIAN_SPARK_VENV", "spark"),
    ] {
        let Ok(venv) = std::env::var(var) else {
            eprintln!("SKIPPED {name}: {var} is not set (.ci/run sets it)");
            continue;
        };
        let sql = tmp.join(format!("sql-{dialect}"));
        let mut compile = vec!["compile-rules", "--dialect", dialect, "--out", s(&sql)];
        if let Some(r) = rules {
            compile.extend(["--rules", s(r)]);
        }
        if let Some(o) = only {
            compile.extend(["--rule", o]);
        }
        // Spark's tables in the order the engine plans this database (as the cluster bench
        // compiles them), DuckDB's in the order the rules are written: both orders proven.
        if dialect == "spark" {
            compile.extend(["--db", s(&db)]);
        }
        qinglian(&compile);
        let ids = compiled(&sql);
        let mut want: Vec<Key> = keys(&engine)
            .into_iter()
            .filter(|k| ids.contains(&k.0))
            .collect();
        want.sort();
        let python = Path::new(&venv).join("bin/python");
        let got = drive(&python, name, &pq, &sql, &tmp.join(format!("{name}.jsonl")));
        assert!(!want.is_empty(), "the compiled rules find something");
        if got != want {
            let first = got.iter().zip(&want).find(|(a, b)| a != b);
            panic!(
                "{name} on {}: {} findings, the engine {}; first difference (SQL, engine): {first:#?}",
                bundle.display(),
                got.len(),
                want.len()
            );
        }
        // And the engine confirms each of them, line by line, as `findings import` does.
        let out = tmp.join(format!("{name}.jsonl"));
        let mut check = vec!["findings", "import", "--db", s(&db), s(&out), "--check"];
        if let Some(r) = rules {
            check.extend(["--rules", s(r)]);
        }
        for id in &ids {
            check.extend(["--rule", id.as_str()]);
        }
        qinglian(&check);
        found.extend(want.into_iter().map(|k| k.0));
    }
    found
}

#[test]
fn compiled_rules_find_what_the_engine_finds() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let zone = tmp.path().join("zone");
    std::fs::create_dir_all(&zone).expect("mkdir");
    same_findings(&root().join("data-samples/zone"), None, None, &zone);
    let province = tmp.path().join("province");
    let bundle = tmp.path().join("bundle");
    qinglian(&[
        "generate",
        "--people",
        "20000",
        "--seed",
        "7",
        "--out",
        s(&bundle),
    ]);
    std::fs::create_dir_all(&province).expect("mkdir");
    same_findings(&bundle, None, None, &province);
}

#[test]
fn the_compiler_says_which_rules_it_leaves_out_and_why() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("sql");
    qinglian(&["compile-rules", "--dialect", "spark", "--out", s(&out)]);
    let ids = compiled(&out);
    // All twenty built-in rules compile, the native one as its SQL twin; a rule that does not
    // would be listed with the reason.
    let left = std::fs::read_to_string(out.join("not-compiled.txt")).expect("list");
    let left: Vec<&str> = left
        .lines()
        .map(|l| l.split(':').next().unwrap_or(""))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    assert_eq!(ids.len(), 20, "{ids:?}");
    let text = std::fs::read_to_string(out.join("relative_wins.sql")).expect("sql");
    assert!(text.starts_with("-- qinglian rule relative_wins\n"));
    assert!(
        text.contains("`from`"),
        "Spark quotes reserved words with backticks"
    );
    // A valid rule the compiler refuses: reading a bid's `won` on a path of four types either
    // way unrolls every type and direction of every hop (8^5 variants at five hops).
    let dir = tmp.path().join("rules");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let wide = r#"id = "wide"
title = "A won bid up to five links away"
severity = "green"
explain = "{o.id} {e.id}"
query = '''
MATCH (o:Person)-[w:BID|OWNS|ROLE|TO*1..5]-(e)
WHERE last(w).won
RETURN official = o, target = e
'''
"#;
    std::fs::write(dir.join("wide.toml"), wide).expect("rule file");
    let check = qinglian(&["rules", "check", s(&dir)]);
    assert!(
        check.contains("ok  wide")
            && check.contains("not compiled to SQL (compile-rules leaves it out): more than 4096"),
        "{check}"
    );
    let out = tmp.path().join("sql-wide");
    qinglian(&[
        "compile-rules",
        "--dialect",
        "duckdb",
        "--rules",
        s(&dir),
        "--rule",
        "wide",
        "--out",
        s(&out),
    ]);
    let left = std::fs::read_to_string(out.join("not-compiled.txt")).expect("list");
    assert!(left.starts_with("wide: more than 4096"), "{left}");
    assert!(!out.join("wide.sql").exists());
}

#[test]
fn a_rule_file_a_user_adds_compiles_and_runs() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let rules = tmp.path().join("rules");
    std::fs::create_dir_all(&rules).expect("mkdir");
    std::fs::write(
        rules.join("spouse_paid.toml"),
        r#"id = "spouse_paid"
title = "A subsidy to an official's spouse, paid by the official's agency"
severity = "yellow"
explain = "{s.id} paid to {x.name}, spouse of {o.name}."
query = '''
MATCH (a:Agency)-[:PAID]->(s:Subsidy)-[:TO]->(x:Person)-[r:RELATION{spouse}]-(o:Person)-[p:POSITION]->(a)
WHERE s.paid WITHIN 3650 DAYS AFTER p.start OR p.start IS NULL
RETURN official = o, target = x, ref = s
'''

[[grade]]
level = "red"
when = "s.paid DURING p"
"#,
    )
    .expect("write rule");
    let out = tmp.path().join("sql");
    qinglian(&[
        "compile-rules",
        "--dialect",
        "duckdb",
        "--rules",
        s(&rules),
        "--rule",
        "spouse_paid",
        "--out",
        s(&out),
    ]);
    assert!(compiled(&out).contains("spouse_paid"));
    let bundle = tmp.path().join("bundle");
    qinglian(&[
        "generate",
        "--people",
        "5000",
        "--seed",
        "2",
        "--out",
        s(&bundle),
    ]);
    let run = tmp.path().join("run");
    std::fs::create_dir_all(&run).expect("mkdir");
    let found = same_findings(&bundle, Some(&rules), Some("spouse_paid"), &run);
    if std::env::var("QINGLIAN_EXPORT_VENV").is_ok() {
        assert!(found.contains("spouse_paid"), "{found:?}");
    }
}

/// A bundle of `n` contracts between two agencies and five companies, amounts and dates drawn
/// from a fixed linear congruential sequence: runs that qualify, overlap, tie on a date, sit
/// exactly on the window's edge, lack an amount or a date.
fn contracts_bundle(dir: &Path, n: u64) {
    std::fs::create_dir_all(dir).expect("mkdir");
    std::fs::write(
        dir.join("agencies.csv"),
        "id,name,parent_id,region\nA1,甲局,,某区\nA2,乙局,,某区\n",
    )
    .expect("agencies");
    let mut companies = String::from("id,name,credit_code,address,phone,founded,status\n");
    for c in 1..=5 {
        companies.push_str(&format!("C{c},公司{c},,,,2010-01-01,存续\n"));
    }
    std::fs::write(dir.join("companies.csv"), companies).expect("companies");
    let mut rows = String::from("id,agency_id,company_id,tender_id,amount,signed,approver_id\n");
    let mut x: u64 = 12345;
    let mut next = |m: u64| {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (x >> 33) % m
    };
    for k in 0..n {
        let (a, c) = (1 + next(2), 1 + next(5));
        let amount = match next(10) {
            0 => String::new(),
            1 => "1500000".into(),
            _ => format!("{}", 100_000 + next(9) * 100_000),
        };
        let signed = match next(25) {
            0 => String::new(),
            _ => format!("2020-{:02}-{:02}", 1 + next(12), 1 + next(28)),
        };
        rows.push_str(&format!("K{k:04},A{a},C{c},,{amount},{signed},\n"));
    }
    std::fs::write(dir.join("contracts.csv"), rows).expect("contracts");
}

/// The native rule's SQL twin finds what the engine's Rust finds, with the built-in
/// parameters and with a rule file that changes them (the twin reads them from the file); and
/// every compiled rule runs on a bundle that lacks most kinds.
#[test]
fn the_native_rule_twin_finds_what_the_engine_finds() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let bundle = tmp.path().join("bundle");
    contracts_bundle(&bundle, 400);
    let run = tmp.path().join("builtin");
    std::fs::create_dir_all(&run).expect("mkdir");
    // Every rule, not only the native one: a bundle of contracts alone has no people, bids or
    // subsidies, and each rule that joins those must answer "nothing" (the export writes every
    // kind's table, empty ones too), not fail.
    let found = same_findings(&bundle, None, None, &run);
    let rules = tmp.path().join("rules");
    std::fs::create_dir_all(&rules).expect("mkdir");
    let builtin =
        std::fs::read_to_string(root().join("queries/split_contracts.toml")).expect("rule file");
    let changed = builtin
        .replace("window_days = 90", "window_days = 30")
        .replace("min_contracts = 3", "min_contracts = 2")
        .replace("threshold = 1000000.0", "threshold = 800000.0");
    assert_ne!(builtin, changed, "the parameters are in the rule file");
    std::fs::write(rules.join("split_contracts.toml"), changed).expect("write rule");
    let run = tmp.path().join("changed");
    std::fs::create_dir_all(&run).expect("mkdir");
    let again = same_findings(&bundle, Some(&rules), Some("split_contracts"), &run);
    if std::env::var("QINGLIAN_EXPORT_VENV").is_ok() {
        assert!(found.contains("split_contracts") && again.contains("split_contracts"));
    }
}
