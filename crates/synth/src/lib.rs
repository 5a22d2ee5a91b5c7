//! # qinglian-synth
//!
//! Generates realistic synthetic bundles (SCHEMA.md) with planted conflicts and their truth.
//!
//! * **Background.** People with real surname frequencies and era-typical given names (so
//!   张伟 recurs hundreds of times at a million people), valid GB 11643 resident IDs
//!   consistent with sex and birth date (about 2 % unknown), families (spouses, parents and
//!   children, siblings, in-laws, plus associates), an agency hierarchy, officials with one
//!   to three positions, companies with valid GB 32100 credit codes, ownership through up to
//!   three layers of holding companies, roles, tenders with bids and tender officials,
//!   contracts, subsidies, declarations and a blacklist.
//! * **Planted truth.** Stories for each of the nine rules of `shared/bench/gen.py`'s
//!   docstring, exact by construction, and decoys (look-alikes that must not match) for
//!   `relative_wins` and `evaluator_conflict`; and stories with decoys for the four
//!   subsidy-fraud rules (`double_dipping`, `shell_recipient`, `split_application`,
//!   `colleague_subsidy`), whose payments carry a `period` and whose dead companies a
//!   `status_date`.
//! * **Exhaustive oracle.** Every rule is evaluated on the generated rows; hits that were not
//!   planted are written as `incidental`, so planted + incidental is each rule's complete
//!   answer. A planted finding the oracle does not confirm is an error; a decoy it matches is
//!   dropped.
//!
//! The same (people, seed, profile) always gives the same bytes: every phase draws from its
//! own seeded stream, and nothing depends on hash-map iteration order.

mod data;
mod fraud;
mod fraud_oracle;
mod oracle;
mod plant;
mod truth;
mod util;
mod world;
mod write;

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::Instant;
use truth::{Key, Kind, Truth, PATTERNS};

/// What to generate.
#[derive(Clone, Debug)]
pub struct Options {
    /// Number of people.
    pub people: usize,
    /// Random seed; the same options give the same bytes.
    pub seed: u64,
    /// Shape of the public sector generated.
    pub profile: Profile,
    /// Share of people and companies who also appear as a second record without an
    /// identifier (a register that keeps names and birth dates, or names and addresses, only),
    /// listed in `links.jsonl`: the truth the candidate identity links are measured against;
    /// half as many companies get a namesake that is another company. Half of the second
    /// records carry the first's shareholdings and roles, so that some true findings are
    /// found only across a link. 0 writes none.
    pub duplicates: f64,
}

/// Shape of the generated public sector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// A province: bureaus, cities, districts, towns, parks.
    Province,
    /// One development zone (the demo bundle): a park committee and its bureaus.
    Zone,
}

/// What was written.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// (file name, data rows) per file written.
    pub files: Vec<(String, u64)>,
    /// Truth lines per (pattern, kind).
    pub truth: Vec<(String, String, u64)>,
    /// Wall time.
    pub seconds: f64,
}

/// Why generation failed.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// Writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: std::path::PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Bad options.
    #[error("{0}")]
    Options(String),
    /// The generator contradicted itself (a bug): a planted finding its oracle does not find.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Writes a bundle and its `truth.jsonl` into `out`.
pub fn generate(opts: &Options, out: &Path) -> Result<Report, SynthError> {
    let t0 = Instant::now();
    if opts.people < 100 {
        return Err(SynthError::Options(format!(
            "--people {}: at least 100 people are needed",
            opts.people
        )));
    }
    if opts.people > 50_000_000 {
        return Err(SynthError::Options(format!(
            "--people {}: at most 50,000,000 people are supported",
            opts.people
        )));
    }
    let mut w = world::World::generate(opts.profile, opts.people, opts.seed)?;
    w.plant(&mut util::Rng::new(opts.seed, 9));
    w.plant_subsidy_fraud(&mut util::Rng::new(opts.seed, 10));
    w.gen_periods_and_status_dates(&mut util::Rng::new(opts.seed, 11));
    w.gen_declarations();
    let truth = finish_truth(&w)?;
    if !(0.0..=1.0).contains(&opts.duplicates) {
        return Err(SynthError::Options(format!(
            "--duplicates {}: a share between 0 and 1",
            opts.duplicates
        )));
    }
    w.gen_duplicates(&mut util::Rng::new(opts.seed, 12), opts.duplicates);
    w.split_rows(&mut util::Rng::new(opts.seed, 13));
    std::fs::create_dir_all(out).map_err(|source| SynthError::Io {
        path: out.to_path_buf(),
        source,
    })?;
    let files = write::write_all(&w, &truth, out, opts.seed)?;
    let mut counts: BTreeMap<(truth::Pattern, Kind), u64> = BTreeMap::new();
    for t in &truth {
        *counts.entry((t.f.pattern, t.kind)).or_default() += 1;
    }
    Ok(Report {
        files,
        truth: counts
            .into_iter()
            .map(|((p, k), n)| (p.as_str().to_owned(), k.as_str().to_owned(), n))
            .collect(),
        seconds: t0.elapsed().as_secs_f64(),
    })
}

/// Runs the oracle: checks every planted finding, drops decoys it matches, adds the
/// incidental findings. Returns the truth grouped by pattern, then planted, incidental,
/// decoy.
fn finish_truth(w: &world::World) -> Result<Vec<Truth>, SynthError> {
    let found = oracle::run(w);
    let mut planted: HashSet<Key> = HashSet::new();
    let mut out: Vec<Truth> = Vec::new();
    for t in &w.truth {
        let key = t.f.key();
        match t.kind {
            Kind::Planted => {
                if !found.contains_key(&key) {
                    return Err(SynthError::Internal(format!(
                        "planted {} finding {:?} is not found by the oracle",
                        t.f.pattern.as_str(),
                        key
                    )));
                }
                if planted.insert(key) {
                    out.push(t.clone());
                }
            }
            Kind::Decoy => {
                if !found.contains_key(&key) {
                    out.push(t.clone());
                }
            }
            Kind::Incidental => {}
        }
    }
    for (key, f) in &found {
        if !planted.contains(key) {
            out.push(Truth {
                kind: Kind::Incidental,
                f: f.clone(),
            });
        }
    }
    let order = |p: truth::Pattern| PATTERNS.iter().position(|&x| x == p).unwrap_or(0);
    out.sort_by_key(|t| (order(t.f.pattern), t.kind));
    Ok(out)
}
