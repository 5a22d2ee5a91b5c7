//! Criterion micro-benchmarks of the engine's inner loops, on a 20,000-person generated province.
//!
//! `benches/queries.rs` times whole queries on a large database once per run, for the table
//! against the peers; these isolate the loops that table is made of, with criterion's
//! statistics, so that a change to one of them shows up as a regression here before it is lost
//! in the noise of a large run:
//!
//! - `lookup`: bundle id → dense node id (binary search in the snapshot's sorted id index),
//!   which every API request and every Q2/Q3 start pays;
//! - `rule/*`: compile + run of the two rules Q1 and Q4 time, with the pruning sets on and off,
//!   so the cost and the gain of the semi-join pruning are both visible;
//! - `path/distance`: bidirectional bounded search for the generated Q2 pairs (one thread);
//! - `neighbourhood/2hop`: the Q3 export for the generated Q3 officials (one thread).
//!
//! Run: `cargo bench --bench inner` (add `-- --quick` for a fast pass). The bundle is generated
//! and ingested into memory once, before any timing.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use qinglian_engine::exec::{self, ExecOptions, Pruning};
use qinglian_engine::paths::{neighbourhood, PathOptions, Searcher};
use qinglian_engine::snapshot::{self, Snapshot};
use qinglian_ingest::{ingest, IngestOptions};
use qinglian_model::EdgeKind;
use qinglian_store::{GraphDb, MemStore};
use qinglian_synth::{generate, Options, Profile};
use std::hint::black_box;
use std::path::Path;

/// People in the benchmark bundle: large enough that the loops leave the caches, small enough
/// to generate and ingest in a few seconds.
const PEOPLE: usize = 20_000;

struct Fixture {
    snap: Snapshot,
    rules: Vec<qinglian_rules::Rule>,
    /// (from, to) dense ids of the generated Q2 pairs.
    pairs: Vec<(u32, u32)>,
    /// Dense ids of the generated Q3 officials.
    centers: Vec<u32>,
    /// Bundle ids of every person, for the lookup bench.
    ids: Vec<String>,
}

fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    let mut r = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    r.records()
        .map(|x| {
            x.unwrap_or_else(|e| panic!("{}: {e}", path.display()))
                .iter()
                .map(str::to_owned)
                .collect()
        })
        .collect()
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let opts = Options {
        people: PEOPLE,
        seed: 7,
        profile: Profile::Province,
        duplicates: 0.0,
    };
    generate(&opts, dir.path()).expect("the generator writes the bundle");
    let mut db = GraphDb::open(MemStore::new()).expect("an in-memory database");
    ingest(&mut db, dir.path(), &IngestOptions::default(), &|_| {})
        .expect("the generated bundle loads");
    let snap = snapshot::build(&db).expect("the snapshot builds");
    let look = |id: &str| {
        snap.lookup(id)
            .unwrap_or_else(|| panic!("{id} is in the bundle"))
    };
    let pairs = csv_rows(&dir.path().join("bench/q2_pairs.csv"))
        .iter()
        .map(|r| (look(&r[1]), look(&r[2])))
        .collect();
    let centers = csv_rows(&dir.path().join("bench/q3_officials.csv"))
        .iter()
        .map(|r| look(&r[0]))
        .collect();
    let ids = csv_rows(&dir.path().join("people.csv"))
        .into_iter()
        .map(|mut r| r.swap_remove(0))
        .collect();
    Fixture {
        snap,
        rules: qinglian_rules::builtins().expect("the built-in rules check"),
        pairs,
        centers,
        ids,
    }
}

fn benches(c: &mut Criterion) {
    let f = fixture();

    c.bench_function("lookup/1000_ids", |b| {
        b.iter(|| {
            f.ids
                .iter()
                .take(1000)
                .filter_map(|id| f.snap.lookup(black_box(id)))
                .count()
        });
    });

    for id in ["relative_wins", "bid_rigging"] {
        let rule = f
            .rules
            .iter()
            .find(|r| r.id == id)
            .expect("a built-in rule");
        for (name, pruning) in [("pruned", Pruning::Always), ("unpruned", Pruning::Never)] {
            let opts = ExecOptions {
                pruning,
                ..ExecOptions::default()
            };
            c.bench_function(&format!("rule/{id}/{name}"), |b| {
                // Compiled per iteration: a compiled rule fixes its pruning sets on first run.
                b.iter_batched(
                    || (),
                    |()| {
                        let compiled = exec::compile(rule, &f.snap).expect("the rule compiles");
                        exec::run(&f.snap, &compiled, &opts)
                            .expect("the rule runs")
                            .findings
                            .len()
                    },
                    BatchSize::SmallInput,
                );
            });
        }
    }

    let popts = PathOptions {
        max_hops: 6,
        kinds: vec![EdgeKind::Relation, EdgeKind::Owns, EdgeKind::Role],
        ..PathOptions::default()
    };
    c.bench_function("path/distance_q2_pairs", |b| {
        let mut s = Searcher::new(&f.snap);
        b.iter(|| {
            f.pairs
                .iter()
                .filter(|&&(a, z)| s.distance(a, z, &popts).hops.is_some())
                .count()
        });
    });

    c.bench_function("neighbourhood/2hop_q3_officials", |b| {
        b.iter(|| {
            f.centers
                .iter()
                .map(|&n| neighbourhood(&f.snap, n, 2, None, usize::MAX).1.len())
                .sum::<usize>()
        });
    });
}

criterion_group! {
    name = inner;
    config = Criterion::default().sample_size(20);
    targets = benches
}
criterion_main!(inner);
