//! Candidate identity links (issue 13): records that probably denote one person or company,
//! scored and never merged. Measured against the generator's `links.jsonl` (people and
//! companies given a second record without identifiers); two records with different valid
//! identifiers never link; investigators' judgements override the model, with who and when.

mod common;

use common::bin;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

fn run(args: &[&str]) -> String {
    let o = bin().args(args).output().expect("runs");
    assert!(
        o.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn p(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

fn links(db: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["links", "list", "--db", p(db), "--min", "0", "--json"];
    args.extend_from_slice(extra);
    serde_json::from_str(&run(&args)).expect("JSON")
}

fn pairs(v: &Value, min: f64) -> BTreeSet<(String, String)> {
    v["links"]
        .as_array()
        .expect("links")
        .iter()
        .filter(|l| l["probability"].as_f64().unwrap_or(0.0) >= min)
        .map(|l| {
            let s = |k: &str| l[k].as_str().unwrap_or("").to_owned();
            (s("a"), s("b"))
        })
        .collect()
}

/// Every id with an identifier (resident ID or credit code) in `file`, and that identifier.
fn identifiers(
    bundle: &Path,
    file: &str,
    column: &str,
) -> std::collections::HashMap<String, String> {
    let mut r = csv::Reader::from_path(bundle.join(file)).expect("csv");
    let h = r.headers().expect("header").clone();
    let col = h.iter().position(|c| c == column).expect("column");
    r.records()
        .map(|x| x.expect("row"))
        .filter(|x| !x[col].is_empty())
        .map(|x| (x[0].to_owned(), x[col].to_owned()))
        .collect()
}

/// A generated 20,000-person province where 5 % of people and companies have a second record
/// without identifiers, ingested: (bundle, database).
fn province_with_second_records(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (bundle, db) = (dir.join("b"), dir.join("db"));
    run(&[
        "generate",
        "--people",
        "20000",
        "--seed",
        "5",
        "--duplicates",
        "0.05",
        "--out",
        p(&bundle),
    ]);
    run(&["ingest", p(&bundle), "--db", p(&db)]);
    (bundle, db)
}

/// The generator's true pairs (`links.jsonl`), each as (smaller id, larger id): the smaller is
/// the first record, written before its second.
fn true_pairs(bundle: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(bundle.join("links.jsonl"))
        .expect("links.jsonl")
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("JSON line");
            let (a, b) = (v["a"].as_str().expect("a"), v["b"].as_str().expect("b"));
            (a.min(b).to_owned(), a.max(b).to_owned())
        })
        .collect()
}

#[test]
fn generated_second_records_are_found_and_different_identifiers_never_link() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (bundle, db) = province_with_second_records(tmp.path());
    let truth: BTreeSet<(String, String)> = true_pairs(&bundle).into_iter().collect();
    assert!(
        truth.iter().any(|(a, _)| a.starts_with('C')),
        "companies have second records too"
    );
    let mut company_names = std::collections::HashMap::<String, u32>::new();
    let mut r = csv::Reader::from_path(bundle.join("companies.csv")).expect("csv");
    for row in r.records() {
        *company_names
            .entry(row.expect("row")[1].to_owned())
            .or_default() += 1;
    }
    let company_truth = truth.iter().filter(|(a, _)| a.starts_with('C')).count();
    let shared: u32 = company_names
        .values()
        .filter(|&&n| n > 1)
        .map(|n| n * (n - 1) / 2)
        .sum();
    assert!(
        shared as usize > company_truth,
        "namesakes (other companies of one name) make company pairs that are not one"
    );
    let v = links(&db, &[]);
    let at = |min: f64| {
        let got = pairs(&v, min);
        let tp = got.intersection(&truth).count() as f64;
        (tp / got.len().max(1) as f64, tp / truth.len() as f64)
    };
    // Measured at p >= 0.9: precision 0.990, recall 0.979 (docs/linkage.md).
    let (precision, recall) = at(0.9);
    assert!(
        precision >= 0.97 && recall >= 0.95,
        "p>=0.9: precision {precision}, recall {recall}"
    );
    let (precision, _) = at(0.99);
    assert!(precision >= 0.99, "p>=0.99: precision {precision}");
    // Different valid identifiers: never a candidate, at any probability.
    let mut ids = identifiers(&bundle, "people.csv", "id_number");
    ids.extend(identifiers(&bundle, "companies.csv", "credit_code"));
    for (a, b) in pairs(&v, 0.0) {
        if let (Some(x), Some(y)) = (ids.get(&a), ids.get(&b)) {
            assert_eq!(
                x, y,
                "{a} and {b} carry different identifiers and were linked"
            );
        }
    }
    // The same data gives the same links.
    assert_eq!(links(&db, &[]), v);
}

/// A valid 18-character resident ID for `body` (17 digits), with its GB 11643 check character.
fn resident_id(body: &str) -> String {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .chars()
        .zip(W)
        .map(|(c, w)| c.to_digit(10).expect("digit") * w)
        .sum();
    let check = "10X98765432".as_bytes()[(sum % 11) as usize] as char;
    format!("{body}{check}")
}

#[test]
fn two_zhang_weis_with_different_ids_never_link_and_judgements_decide() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (bundle, db) = (tmp.path().join("b"), tmp.path().join("db"));
    std::fs::create_dir_all(&bundle).expect("mkdir");
    let (id1, id2) = (
        resident_id("33010619800101001"),
        resident_id("33010619800101003"),
    );
    let people = format!(
        "id,name,id_number,birth_date,death_date\n\
         P1,张伟,{id1},1980-01-01,\nP2,张伟,{id2},1980-01-01,\nP3,张伟,,1980-01-01,\n\
         P4,欧阳靖雯,,1975-05-05,\nP5,欧阳靖雯,,1975-05-05,\n"
    );
    std::fs::write(bundle.join("people.csv"), people).expect("write");
    run(&["ingest", p(&bundle), "--db", p(&db)]);

    let all = pairs(&links(&db, &[]), 0.0);
    assert!(
        !all.contains(&("P1".into(), "P2".into())),
        "different resident IDs linked: {all:?}"
    );
    for pair in [("P1", "P3"), ("P2", "P3"), ("P4", "P5")] {
        assert!(
            all.contains(&(pair.0.into(), pair.1.into())),
            "{pair:?} not a candidate: {all:?}"
        );
    }

    run(&[
        "links",
        "reject",
        "P3",
        "P1",
        "--by",
        "王审计",
        "--note",
        "不同住址",
        "--db",
        p(&db),
    ]);
    run(&[
        "links",
        "confirm",
        "P2",
        "P3",
        "--by",
        "王审计",
        "--db",
        p(&db),
    ]);
    let v = links(&db, &[]);
    let now = pairs(&v, 0.0);
    assert!(
        !now.contains(&("P1".into(), "P3".into())),
        "a rejected pair is no candidate"
    );
    let confirmed = v["links"]
        .as_array()
        .expect("links")
        .iter()
        .find(|l| l["a"] == "P2" && l["b"] == "P3")
        .expect("the confirmed pair");
    assert_eq!(confirmed["probability"], 1.0);
    assert_eq!(confirmed["status"], "confirmed");
    assert_eq!(confirmed["judgement"]["by"], "王审计");
    assert!(confirmed["judgement"]["at_ms"]
        .as_u64()
        .is_some_and(|t| t > 0));
    let with_rejected = links(&db, &["--all"]);
    let rejected = with_rejected["links"]
        .as_array()
        .expect("links")
        .iter()
        .find(|l| l["a"] == "P1" && l["b"] == "P3")
        .expect("--all lists the rejected pair");
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(rejected["judgement"]["note"], "不同住址");

    // A later judgement supersedes; the history keeps both.
    run(&[
        "links",
        "confirm",
        "P1",
        "P3",
        "--by",
        "李组长",
        "--db",
        p(&db),
    ]);
    assert!(pairs(&links(&db, &[]), 1.0).contains(&("P1".into(), "P3".into())));
    let h: Value =
        serde_json::from_str(&run(&["links", "history", "--json", "--db", p(&db)])).expect("JSON");
    let h = h.as_array().expect("history");
    assert_eq!(h.len(), 3, "{h:?}");
    // Judging a record that does not exist, or records of two kinds, is refused.
    let o = bin()
        .args(["links", "confirm", "P1", "P9", "--by", "x", "--db", p(&db)])
        .output()
        .expect("runs");
    assert!(!o.status.success());
}

/// Findings keyed as `tests/accuracy.rs` keys them, each record named by its person or company
/// (a second record by the first: the generator writes it after, so its id is larger).
fn finding_keys(
    findings: &[Value],
    same: &std::collections::HashMap<String, String>,
) -> BTreeSet<Vec<String>> {
    findings
        .iter()
        .map(|f| {
            let g = |k: &str| {
                let v = f[k].as_str().unwrap_or("").to_owned();
                same.get(&v).cloned().unwrap_or(v)
            };
            let p = g("pattern");
            match p.as_str() {
                "bid_rigging" | "split_application" => {
                    let (x, y) = (g("target"), g("target2"));
                    vec![p, x.clone().min(y.clone()), x.max(y), g("ref")]
                }
                "undeclared_interest" => vec![p, g("official"), g("target")],
                "blacklisted_bidder" | "deceased_recipient" | "double_dipping"
                | "shell_recipient" => vec![p, g("target"), g("ref")],
                _ => vec![p, g("official"), g("target"), g("ref")],
            }
        })
        .collect()
}

fn screen(db: &Path, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["screen", "--db", p(db), "--format", "jsonl"];
    args.extend_from_slice(extra);
    run(&args)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

#[test]
fn rules_cross_links_when_asked_and_judgements_change_the_findings() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (bundle, db) = province_with_second_records(tmp.path());
    let same: std::collections::HashMap<String, String> = true_pairs(&bundle)
        .into_iter()
        .map(|(a, b)| (b, a))
        .collect();
    let truth: Vec<Value> = std::fs::read_to_string(bundle.join("truth.jsonl"))
        .expect("truth.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .filter(|t: &Value| t["kind"] != "decoy")
        .collect();
    let truth = finding_keys(&truth, &same);
    let measure = |found: &[Value]| {
        let keys = finding_keys(found, &same);
        let judged: BTreeSet<Vec<String>> = keys
            .iter()
            .filter(|k| truth.iter().any(|t| t[0] == k[0]))
            .cloned()
            .collect();
        let tp = judged.intersection(&truth).count() as f64;
        (tp / judged.len() as f64, tp / truth.len() as f64)
    };
    let plain = screen(&db, &[]);
    let linked = screen(&db, &["--links", "0.9"]);
    let (p0, r0) = measure(&plain);
    let (p1, r1) = measure(&linked);
    // Measured (docs/linkage.md): without links 0.925 / 0.985, with links at 0.9 1.000 / 0.997.
    assert!(r1 > r0 && p1 > p0, "links: {p0}/{r0} -> {p1}/{r1}");
    assert!(p1 >= 0.99 && r1 >= 0.99, "with links at 0.9: {p1}/{r1}");
    let ids = |v: &[Value]| -> BTreeSet<String> {
        v.iter()
            .map(|f| f["id"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    let through: Vec<&Value> = linked
        .iter()
        .filter(|f| f.get("weakest_link").is_some())
        .collect();
    assert!(!through.is_empty(), "some findings cross a link");
    for f in &through {
        let w = &f["weakest_link"];
        let prob = w["probability"].as_f64().expect("probability");
        assert!(prob >= 0.9, "{f}");
        let edges = f["evidence"]["edges"].as_array().expect("edges");
        assert!(
            edges.iter().any(|e| e["kind"] == "SAME_AS"
                && e["probability"].as_f64() == Some(prob)
                && e["source"]["file"] == "people.csv"
                || e["kind"] == "SAME_AS" && e["source"]["file"] == "companies.csv"),
            "the link is in the evidence, citing a record's row: {f}"
        );
        assert!(f["explanation"]
            .as_str()
            .expect("text")
            .contains("identity link"));
    }
    // Reject the weakest link of one finding: screening again drops it or takes another path.
    let f = through[0];
    let (a, b) = (
        f["weakest_link"]["a"].as_str().expect("a"),
        f["weakest_link"]["b"].as_str().expect("b"),
    );
    run(&[
        "links",
        "reject",
        "--db",
        p(&db),
        a,
        b,
        "--by",
        "investigator 7",
    ]);
    let after = screen(&db, &["--links", "0.9"]);
    let id = f["id"].as_str().expect("id");
    let again = after.iter().find(|g| g["id"] == id);
    assert!(
        again.is_none_or(|g| g["weakest_link"]["a"] != a || g["weakest_link"]["b"] != b),
        "a rejected link is crossed no more"
    );
    // Confirm it: the link is certain, the finding is back at its full score.
    run(&[
        "links",
        "confirm",
        "--db",
        p(&db),
        a,
        b,
        "--by",
        "investigator 7",
    ]);
    let after = screen(&db, &["--links", "0.9"]);
    let g = after
        .iter()
        .find(|g| g["id"] == id)
        .expect("the finding is back");
    if g["weakest_link"]["a"] == a && g["weakest_link"]["b"] == b {
        assert_eq!(g["weakest_link"]["status"], "confirmed");
        assert_eq!(g["weakest_link"]["probability"], 1.0);
    }
    assert!(g["score"].as_f64() >= f["score"].as_f64(), "{g}");
    // A finding without links is found with them, unless a declaration it missed names
    // another record of the company (NOT EXISTS crosses links too): then it was false.
    let kept = ids(&after);
    for f in plain
        .iter()
        .filter(|f| !kept.contains(f["id"].as_str().unwrap_or("")))
    {
        assert_eq!(f["pattern"], "undeclared_interest", "{f}");
        let k = finding_keys(std::slice::from_ref(f), &same);
        assert!(k.is_disjoint(&truth), "a true finding was lost: {f}");
    }
}

#[test]
fn a_rule_file_may_cross_links_itself() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (bundle, db, rules) = (
        tmp.path().join("b"),
        tmp.path().join("db"),
        tmp.path().join("rules"),
    );
    run(&[
        "generate",
        "--people",
        "5000",
        "--seed",
        "3",
        "--duplicates",
        "0.2",
        "--out",
        p(&bundle),
    ]);
    run(&["ingest", p(&bundle), "--db", p(&db)]);
    std::fs::create_dir_all(&rules).expect("mkdir");
    std::fs::write(
        rules.join("second_record_owns.toml"),
        r#"id = "second_record_owns"
title = "A person's second record holds shares"
explain = "{x.name} ({x.id}) and {y.id} are probably one person, who owns {c.name}."
query = '''
MATCH (x:Person)-[l:SAME_AS{min 0.95}]-(y:Person)-[:OWNS]->(c:Company)
WHERE x.id_number IS NOT NULL
RETURN target = c, official = x
'''
"#,
    )
    .expect("write rule");
    let found = screen(&db, &["--rules", p(&rules), "--rule", "second_record_owns"]);
    assert!(
        !found.is_empty(),
        "second records own shares (the generator moved rows)"
    );
    for f in &found {
        let w = f["weakest_link"]["probability"]
            .as_f64()
            .expect("weakest link");
        assert!(w >= 0.95, "{f}");
        let base = 50.0; // yellow, no score expression
        let score = f["score"].as_f64().expect("score");
        assert!(
            (score - (base * w * 10.0).round() / 10.0).abs() < 1e-9,
            "{f}"
        );
    }
    // A bundle screened in memory crosses the same links (no judgements to apply).
    let mem = screen(&db, &["--rules", p(&rules), "--rule", "second_record_owns"]);
    let o = bin()
        .args(["screen", "--bundle", p(&bundle), "--rules", p(&rules)])
        .args(["--rule", "second_record_owns", "--format", "jsonl"])
        .output()
        .expect("runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).lines().count(),
        mem.len()
    );
}
