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

/// A generated 20K province (`qinglian generate --people 20000 --seed 1`), in a folder that
/// lives as long as the returned guard.
fn province() -> (tempfile::TempDir, std::path::PathBuf) {
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
    (dir, out)
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
    let (_dir, out) = province();
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
    // The same tender asked as a proposal: its agency and bidders, on its publication day.
    let snap = load(&demo);
    let tn = snap.lookup(&t).expect("tender");
    let (ran, bid) = (
        snap.edges(qinglian_model::EdgeKind::Ran),
        snap.edges(qinglian_model::EdgeKind::Bid),
    );
    let agency = snap.ext(ran.src[ran.inc(tn)[0] as usize]).to_owned();
    let bidders: Vec<String> = bid
        .inc(tn)
        .iter()
        .map(|&e| snap.ext(bid.src[e as usize]).to_owned())
        .collect();
    let day = qinglian_model::Date(snap.dates()[tn as usize]).to_string();
    let proposal = |s: &common::Server| -> BTreeSet<String> {
        let tok = s.token("investigator");
        let body = json!({"agency": agency, "bidders": bidders, "as_of": day});
        let (st, v, _) = common::call(
            s,
            "POST",
            "/v1/screen",
            Some(&tok),
            true,
            Some(body.to_string()),
        );
        assert_eq!(st, 200, "{v}");
        assert!(
            v["checked"]["method"]
                .as_str()
                .unwrap_or("")
                .starts_with("the rule files"),
            "{v}"
        );
        // Only rules that judge the bids themselves are not asked of a proposal (no bids yet).
        assert!(
            v["checked"]["not_asked"]
                .as_array()
                .is_some_and(|n| n.iter().all(|x| x["why"]
                    .as_str()
                    .is_some_and(|w| w.starts_with("uses the edge")))),
            "{v}"
        );
        v["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| f["pattern"] == "relative_wins")
            .map(|f| format!("{} {}", f["official"], f["target"]))
            .collect()
    };
    let gists = |ids: &BTreeSet<String>, rules: &[Rule]| -> BTreeSet<String> {
        screen(&snap, &asked(rules))
            .iter()
            .filter(|f| ids.contains(&f.id))
            .map(|f| format!("\"{}\" \"{}\"", f.official, f.target))
            .collect()
    };
    let s = common::start(&demo, "");
    assert_eq!(relative(&s), before, "built-in rule");
    assert_eq!(
        proposal(&s),
        gists(&before, &builtin),
        "built-in rule, as a proposal"
    );
    let dir = tmp.path().to_str().expect("path");
    let s = common::start_with(&demo, "", &["--rules", dir]);
    assert_eq!(relative(&s), after, "edited rule");
    assert_eq!(
        proposal(&s),
        gists(&after, &overridden),
        "edited rule, as a proposal"
    );
}

/// What a finding says, without the tender it was raised on (a proposal has none).
fn gist(f: &Finding) -> String {
    format!(
        "{} {} {} {} {:?} {}",
        f.pattern, f.official, f.target, f.target2, f.severity, f.score
    )
}

/// Each tender asked as a proposal (its agency, bidders, evaluators and approvers, its
/// publication day, but no tender) raises what the tender form raises on it: taking the tender
/// out of the rules loses and adds nothing. Returns the findings compared.
fn proposals_agree_with_tenders(bundle: &Path) -> usize {
    use qinglian_engine::proposal::{ask, Proposal};
    use qinglian_model::NodeKind;
    let snap = load(bundle);
    let rules = qinglian_rules::builtins().expect("rules");
    let pre = qinglian_engine::hypothesis::pre_award_rules(&rules);
    let mut tender_form: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in screen(&snap, &asked(&rules)) {
        if f.ref_type == "tender" {
            tender_form
                .entry(f.ref_id.clone())
                .or_default()
                .insert(gist(&f));
        }
    }
    let mut compared = 0;
    for t in snap.kind_range(NodeKind::Tender) {
        if snap.dates()[t as usize] == qinglian_engine::snapshot::NO_DATE {
            continue;
        }
        let p = Proposal::of_tender(&snap, t, 0);
        let out = ask(&snap, &pre, &p).expect("asks");
        // A proposal has no bids yet: a rule that judges the bids themselves (the procedural
        // ones: identical prices, disqualifications, a late winner) is not asked, and says so.
        let skipped: BTreeSet<&str> = out
            .skipped
            .iter()
            .map(|(rule, why)| {
                assert!(why.starts_with("uses the edge"), "{rule}: {why}");
                assert!(
                    rules
                        .iter()
                        .any(|r| &r.id == rule && r.text.contains(":BID]")),
                    "{rule} is not asked but reads no bid"
                );
                rule.as_str()
            })
            .collect();
        let got: BTreeSet<String> = out.findings.iter().map(gist).collect();
        let want: BTreeSet<String> = tender_form
            .remove(snap.ext(t))
            .unwrap_or_default()
            .into_iter()
            .filter(|g| !skipped.iter().any(|r| g.starts_with(&format!("{r} "))))
            .collect();
        assert_eq!(got, want, "{}: tender {}", bundle.display(), snap.ext(t));
        compared += want.len();
    }
    compared
}

#[test]
fn on_the_demo_a_tender_asked_as_a_proposal_raises_what_the_tender_raises() {
    let n = proposals_agree_with_tenders(&common::root().join("data-samples/zone"));
    assert!(n > 20, "{n} findings compared");
}

#[test]
fn on_a_20k_province_a_tender_asked_as_a_proposal_raises_what_the_tender_raises() {
    let (_dir, out) = province();
    let n = proposals_agree_with_tenders(&out);
    assert!(n > 50, "{n} findings compared");
}
