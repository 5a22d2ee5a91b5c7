//! The pre-award check runs the rule files: every finding batch screening raises on a tender is
//! raised by the pre-award screening of that tender (demo zone and a generated 20K province),
//! and an edit of a rule file reaches `POST /v1/screen` as it reaches `qinglian screen`.

mod common;

use qinglian_engine::exec::ExecOptions;
use qinglian_engine::findings::Finding;
use qinglian_engine::snapshot::{self, Snapshot};
use qinglian_rules::Rule;
use qinglian_store::{GraphDb, MemStore};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn load(dir: &Path) -> Snapshot {
    let mut db = GraphDb::open(MemStore::new()).expect("db");
    qinglian_ingest::ingest(
        &mut db,
        dir,
        &qinglian_ingest::IngestOptions::default(),
        &|_| {},
    )
    .expect("the bundle loads");
    snapshot::build(&db).expect("snapshot")
}

fn screen(snap: &Snapshot, rules: &[Rule]) -> Vec<Finding> {
    qinglian_engine::screen(snap, rules, &ExecOptions::default())
        .expect("screens")
        .findings
}

fn asked(rules: &[Rule]) -> Vec<Rule> {
    qinglian_engine::hypothesis::pre_award_rules(rules)
        .into_iter()
        .map(|p| p.rule().clone())
        .collect()
}

/// Pre-award findings by tender.
fn by_tender(f: &[Finding]) -> BTreeMap<String, BTreeSet<String>> {
    let mut m: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for x in f.iter().filter(|x| x.ref_type == "tender") {
        m.entry(x.ref_id.clone()).or_default().insert(x.id.clone());
    }
    m
}

fn batch_findings_on_tenders_are_raised_before_the_award(bundle: &Path) -> usize {
    let snap = load(bundle);
    let rules = qinglian_rules::builtins().expect("rules");
    let batch = by_tender(&screen(&snap, &rules));
    let pre = by_tender(&screen(&snap, &asked(&rules)));
    let mut n = 0;
    for (t, ids) in &batch {
        let got = pre.get(t).cloned().unwrap_or_default();
        let missing: Vec<&String> = ids.difference(&got).collect();
        assert!(
            missing.is_empty(),
            "{}: tender {t}: batch findings {missing:?} not raised before the award",
            bundle.display()
        );
        n += ids.len();
    }
    n
}

#[test]
fn on_the_demo_every_batch_finding_on_a_tender_is_raised_before_the_award() {
    let n = batch_findings_on_tenders_are_raised_before_the_award(
        &common::root().join("data-samples/zone"),
    );
    assert!(n > 20, "{n} findings on tenders");
}

#[test]
fn on_a_20k_province_every_batch_finding_on_a_tender_is_raised_before_the_award() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("p");
    common::qinglian(&[
        "generate",
        "--people",
        "20000",
        "--seed",
        "1",
        "--out",
        out.to_str().expect("path"),
    ]);
    let n = batch_findings_on_tenders_are_raised_before_the_award(&out);
    assert!(n > 50, "{n} findings on tenders");
}

/// A tender whose pre-award findings of `relative_wins` differ between two rule sets.
fn tender_that_differs(
    snap: &Snapshot,
    a: &[Rule],
    b: &[Rule],
) -> (String, BTreeSet<String>, BTreeSet<String>) {
    let only = |rs: &[Rule]| -> Vec<Rule> {
        asked(rs)
            .into_iter()
            .filter(|r| r.id == "relative_wins")
            .collect()
    };
    let (fa, fb) = (
        by_tender(&screen(snap, &only(a))),
        by_tender(&screen(snap, &only(b))),
    );
    let tenders: BTreeSet<&String> = fa.keys().chain(fb.keys()).collect();
    for t in tenders {
        let (x, y) = (
            fa.get(t).cloned().unwrap_or_default(),
            fb.get(t).cloned().unwrap_or_default(),
        );
        if x != y {
            return (t.clone(), x, y);
        }
    }
    panic!("no tender's pre-award findings change with the edit");
}

#[test]
fn a_rule_edit_reaches_the_pre_award_check() {
    let demo = common::root().join("data-samples/zone");
    let tmp = tempfile::tempdir().expect("tempdir");
    let text =
        std::fs::read_to_string(common::root().join("queries/relative_wins.toml")).expect("rule");
    let edited = text.replace("{spouse|parent|child|sibling|in_law}*1..2", "{spouse}*1..1");
    assert_ne!(edited, text);
    std::fs::write(tmp.path().join("relative_wins.toml"), &edited).expect("write");
    let builtin = qinglian_rules::builtins().expect("rules");
    let overridden = qinglian_rules::with_overrides(
        builtin.clone(),
        qinglian_rules::load_dir(tmp.path()).expect("the edited rule checks"),
    );
    let (t, before, after) = tender_that_differs(&load(&demo), &builtin, &overridden);
    let relative = |s: &common::Server| -> BTreeSet<String> {
        let tok = s.token("investigator");
        let (st, v, _) = common::call(
            s,
            "POST",
            "/v1/screen",
            Some(&tok),
            true,
            Some(json!({"tender": t}).to_string()),
        );
        assert_eq!(st, 200, "{v}");
        assert!(
            v["checked"]["method"]
                .as_str()
                .unwrap_or("")
                .starts_with("the rule files"),
            "{v}"
        );
        v["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| f["pattern"] == "relative_wins")
            .filter_map(|f| f["id"].as_str().map(str::to_owned))
            .collect::<BTreeSet<String>>()
    };
    assert_eq!(relative(&common::start(&demo, "")), before, "built-in rule");
    let dir = tmp.path().to_str().expect("path");
    assert_eq!(
        relative(&common::start_with(&demo, "", &["--rules", dir])),
        after,
        "edited rule"
    );
}
