//! Property (issue 10): any sequence of snapshot loads of one source — each a random refresh of
//! the demo bundle, with relationship rows dropped, re-added and changed — ends in the same
//! current graph and the same findings as one fresh load of the final bundle, and `--known-at`
//! each intermediate load reproduces what a fresh load of that bundle gave. This exercises the
//! fold's repeats, changes, retractions and re-assertions of a fact retracted earlier.

mod common;

use proptest::prelude::*;
use qinglian_engine::exec::ExecOptions;
use qinglian_engine::snapshot::{self, Snapshot};
use qinglian_ingest::{ingest, IngestOptions};
use qinglian_store::{GraphDb, MemStore};
use std::collections::BTreeSet;
use std::path::Path;

/// Relationship files a refresh varies (entity files stay: entities are not retracted).
const VARIED: [&str; 7] = [
    "ownership.csv",
    "positions.csv",
    "roles.csv",
    "relations.csv",
    "bids.csv",
    "tender_officials.csv",
    "declarations.csv",
];

/// A small deterministic generator, so that a proptest case is a handful of seeds.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// Writes a refresh of the demo into `dir`: each varied row is dropped with probability 15 %;
/// a kept row with an open end is ended on its start day with probability 10 %; a kept
/// ownership row gets another share with probability 10 %.
fn refresh(dir: &Path, seed: u64) {
    let demo = common::root().join("data-samples/zone");
    std::fs::create_dir_all(dir).expect("mkdir");
    let mut r = Lcg(seed);
    for e in std::fs::read_dir(&demo).expect("demo") {
        let e = e.expect("entry");
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".csv") {
            continue;
        }
        let text = std::fs::read_to_string(e.path()).expect("read");
        if !VARIED.contains(&name.as_str()) {
            std::fs::write(dir.join(&name), text).expect("write");
            continue;
        }
        let mut lines = text.lines();
        let header = lines.next().expect("header");
        let cols: Vec<&str> = header.split(',').collect();
        let (start, end, share) = (
            cols.iter().position(|c| *c == "start"),
            cols.iter().position(|c| *c == "end"),
            cols.iter().position(|c| *c == "share_pct"),
        );
        let mut out = vec![header.to_owned()];
        for l in lines {
            if r.chance(15) {
                continue;
            }
            let mut f: Vec<String> = l.split(',').map(str::to_owned).collect();
            if let (Some(s), Some(e)) = (start, end) {
                if f[e].is_empty() && !f[s].is_empty() && r.chance(10) {
                    f[e] = f[s].clone();
                }
            }
            if let Some(p) = share {
                if r.chance(10) {
                    f[p] = format!("{}.5", r.next() % 100);
                }
            }
            out.push(f.join(","));
        }
        std::fs::write(dir.join(&name), out.join("\n") + "\n").expect("write");
    }
}

/// What a database answers: edge counts per kind, blacklist entries, and every finding's id,
/// colour, score and explanation.
fn answer(snap: &Snapshot) -> (Vec<u64>, u64, BTreeSet<String>) {
    let rules = qinglian_rules::builtins().expect("rules");
    let found = qinglian_engine::screen(snap, &rules, &ExecOptions::default())
        .expect("screens")
        .findings;
    (
        snap.stats().edges.to_vec(),
        snap.stats().blacklist,
        found
            .iter()
            .map(|f| format!("{} {:?} {} {}", f.id, f.severity, f.score, f.explanation))
            .collect(),
    )
}

fn load(db: &mut GraphDb<MemStore>, dir: &Path) {
    let opts = IngestOptions {
        source: Some("register".into()),
        ..IngestOptions::default()
    };
    ingest(db, dir, &opts, &|_| {}).expect("the refresh loads");
}

fn fresh(dir: &Path) -> (Vec<u64>, u64, BTreeSet<String>) {
    let mut db = GraphDb::open(MemStore::new()).expect("db");
    load(&mut db, dir);
    answer(&snapshot::build(&db).expect("snapshot"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn snapshot_loads_end_where_a_fresh_load_of_the_last_bundle_starts(
        seeds in proptest::collection::vec(any::<u64>(), 2..5)
    ) {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut db = GraphDb::open(MemStore::new()).expect("db");
        let mut expected = Vec::new();
        for (i, s) in seeds.iter().enumerate() {
            let dir = tmp.path().join(format!("b{i}"));
            refresh(&dir, *s);
            load(&mut db, &dir);
            expected.push(fresh(&dir));
        }
        let now = answer(&snapshot::build(&db).expect("snapshot"));
        prop_assert_eq!(&now, expected.last().expect("a load"));
        for (i, want) in expected.iter().enumerate() {
            let then = snapshot::build_at(&db, Some(i as u32 + 1)).expect("snapshot");
            prop_assert_eq!(&answer(&then), want, "--known-at {}", i + 1);
        }
    }
}
