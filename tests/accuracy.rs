//! End-to-end accuracy: generate bundles with planted conflicts and exact truth, screen them
//! with the built-in rules, and require the findings to equal the truth exactly — every planted
//! and incidental conflict found, nothing else flagged, no decoy flagged.
//!
//! The truth comes from the generator's own exhaustive oracle (`crates/synth`), written
//! independently of the engine. When `../shared/bench/gen.py` (the benchmark's generator) and
//! numpy are present, a bundle from it is checked the same way.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

type Key = (String, String, String, String);

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_qinglian"))
}

/// The key a finding is judged by, as `../shared/bench/score.py` defines it.
fn key(v: &serde_json::Value) -> (String, Key) {
    let s = |f: &str| v[f].as_str().unwrap_or("").to_owned();
    let p = s("pattern");
    let k = match p.as_str() {
        "bid_rigging" | "split_application" => {
            let (mut x, mut y) = (s("target"), s("target2"));
            if y < x {
                std::mem::swap(&mut x, &mut y);
            }
            (x, y, s("ref"), String::new())
        }
        "undeclared_interest" => (s("official"), s("target"), String::new(), String::new()),
        "blacklisted_bidder" | "deceased_recipient" | "double_dipping" | "shell_recipient" => {
            (s("target"), s("ref"), String::new(), String::new())
        }
        _ => (s("official"), s("target"), s("ref"), String::new()),
    };
    (p, k)
}

fn jsonl(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// Screens `bundle` and compares with its `truth.jsonl`; returns per-pattern counts.
fn check(bundle: &Path) -> BTreeMap<String, usize> {
    let out = bin()
        .args(["screen", "--format", "jsonl", "--bundle"])
        .arg(bundle)
        .output()
        .expect("run qinglian screen");
    assert!(
        out.status.success(),
        "screen failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let findings = jsonl(&String::from_utf8_lossy(&out.stdout));
    let truth = jsonl(&std::fs::read_to_string(bundle.join("truth.jsonl")).expect("truth.jsonl"));

    let patterns: BTreeSet<String> = truth
        .iter()
        .filter_map(|t| t["pattern"].as_str().map(str::to_owned))
        .collect();
    let mut expected: BTreeSet<(String, Key)> = BTreeSet::new();
    let mut decoys: BTreeSet<(String, Key)> = BTreeSet::new();
    for t in &truth {
        match t["kind"].as_str() {
            Some("planted" | "incidental") => expected.insert(key(t)),
            Some("decoy") => decoys.insert(key(t)),
            other => panic!("truth record of unknown kind {other:?}: {t}"),
        };
    }
    // Rules the generator has no truth for (split_contracts) are not judged here.
    let found: BTreeSet<(String, Key)> = findings
        .iter()
        .map(key)
        .filter(|(p, _)| patterns.contains(p))
        .collect();
    assert_eq!(
        found.len(),
        findings
            .iter()
            .filter(|f| patterns.contains(f["pattern"].as_str().unwrap_or("")))
            .count(),
        "two findings share a key: the output is not one finding per key"
    );

    let missed: Vec<_> = expected.difference(&found).take(10).collect();
    let extra: Vec<_> = found.difference(&expected).take(10).collect();
    let flagged_decoys: Vec<_> = decoys.intersection(&found).take(10).collect();
    assert!(
        missed.is_empty() && extra.is_empty() && flagged_decoys.is_empty(),
        "{}: missed {missed:?}\nextra {extra:?}\ndecoys flagged {flagged_decoys:?}",
        bundle.display()
    );
    // Every finding carries evidence citing its rows.
    for f in &findings {
        let edges = f["evidence"]["edges"].as_array().expect("evidence edges");
        for e in edges {
            assert!(
                e["source"]["file"]
                    .as_str()
                    .is_some_and(|s| s.ends_with(".csv"))
                    && e["source"]["line"].as_u64().is_some_and(|l| l >= 2),
                "edge without a source row in {f}"
            );
        }
    }
    let mut per = BTreeMap::new();
    for (p, _) in &found {
        *per.entry(p.clone()).or_insert(0) += 1;
    }
    per
}

fn generate(people: u32, seed: u32, profile: &str, out: &Path) {
    let st = bin()
        .args(["generate", "--people", &people.to_string()])
        .args(["--seed", &seed.to_string(), "--profile", profile, "--out"])
        .arg(out)
        .output()
        .expect("run qinglian generate");
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
}

#[test]
fn generated_development_zones_are_screened_exactly() {
    for seed in 1..=4 {
        let d = tempfile::tempdir().expect("tempdir");
        generate(400, seed, "zone", d.path());
        let per = check(d.path());
        // Every rule with truth has findings in a zone: the generator plants each kind.
        assert_eq!(per.len(), 13, "seed {seed}: patterns found {per:?}");
    }
}

#[test]
fn a_generated_province_is_screened_exactly() {
    let d = tempfile::tempdir().expect("tempdir");
    generate(30_000, 11, "province", d.path());
    let per = check(d.path());
    assert_eq!(per.len(), 13, "patterns found {per:?}");
}

#[test]
fn the_bundled_demo_zone_is_screened_exactly() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("data-samples/zone");
    let per = check(&demo);
    assert!(per.values().all(|&n| n >= 4), "{per:?}");
}

/// The benchmark's own generator, when it and numpy are available beside the checkout.
#[test]
fn a_gen_py_bundle_is_screened_exactly() {
    let gen = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/bench/gen.py");
    let python = std::env::var("QINGLIAN_PYTHON").unwrap_or_else(|_| "python3".into());
    let has_numpy = Command::new(&python)
        .args(["-c", "import numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !gen.exists() || !has_numpy {
        eprintln!("SKIPPED: ../shared/bench/gen.py or numpy for {python} is not available");
        return;
    }
    let d = tempfile::tempdir().expect("tempdir");
    let st = Command::new(&python)
        .arg(&gen)
        .args(["--people", "20000", "--seed", "3", "--out"])
        .arg(d.path())
        .output()
        .expect("run gen.py");
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let per = check(d.path());
    assert_eq!(per.len(), 9, "patterns found {per:?}");
}

/// Pruning (and the locality layout of the snapshot) only skips work: the findings, their
/// witnesses and their order must be byte-identical with it always on and always off.
#[test]
fn pruning_never_changes_the_findings() {
    let run = |bundle: &Path, pruning: &str, as_of: Option<&str>| {
        let mut c = bin();
        c.args([
            "screen",
            "--format",
            "jsonl",
            "--pruning",
            pruning,
            "--bundle",
        ])
        .arg(bundle);
        if let Some(d) = as_of {
            c.args(["--as-of", d]);
        }
        let out = c.output().expect("run qinglian screen");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    for (people, seed, profile) in [(400, 5, "zone"), (400, 6, "zone"), (20_000, 7, "province")] {
        let d = tempfile::tempdir().expect("tempdir");
        generate(people, seed, profile, d.path());
        for as_of in [None, Some("2019-06-30")] {
            let never = run(d.path(), "never", as_of);
            assert!(!never.is_empty(), "no findings at all: nothing compared");
            assert!(
                run(d.path(), "always", as_of) == never,
                "seed {seed}, as of {as_of:?}: pruning changed the findings"
            );
            assert!(run(d.path(), "auto", as_of) == never);
        }
    }
}
