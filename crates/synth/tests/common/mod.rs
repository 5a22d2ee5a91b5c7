//! Shared helpers: generate a bundle into a temporary folder and read its files.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use qinglian_synth::{generate, Options, Profile, Report};
use std::collections::HashMap;
use std::path::Path;

pub const FILES: [&str; 14] = [
    "people.csv",
    "agencies.csv",
    "companies.csv",
    "positions.csv",
    "relations.csv",
    "ownership.csv",
    "roles.csv",
    "tenders.csv",
    "tender_officials.csv",
    "bids.csv",
    "contracts.csv",
    "subsidies.csv",
    "declarations.csv",
    "blacklist.csv",
];

pub fn gen(people: usize, seed: u64, profile: Profile) -> (tempfile::TempDir, Report) {
    let dir = tempfile::tempdir().unwrap();
    let rep = generate(
        &Options {
            people,
            seed,
            profile,
            duplicates: 0.0,
        },
        dir.path(),
    )
    .unwrap();
    (dir, rep)
}

/// A CSV file as its header and rows of named fields.
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<HashMap<String, String>>,
}

pub fn read(dir: &Path, name: &str) -> Table {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(dir.join(name))
        .unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(str::to_owned).collect();
    let rows = r
        .records()
        .map(|rec| {
            let rec = rec.unwrap();
            assert_eq!(rec.len(), header.len(), "{name}: ragged row");
            header
                .iter()
                .cloned()
                .zip(rec.iter().map(str::to_owned))
                .collect()
        })
        .collect();
    Table { header, rows }
}

pub fn truth(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("truth.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

pub fn s<'a>(v: &'a serde_json::Value, k: &str) -> &'a str {
    v.get(k).and_then(|x| x.as_str()).unwrap_or("")
}

/// An interval test on ISO dates as text: empty start = always, empty end = open.
pub fn during(start: &str, end: &str, d: &str) -> bool {
    (start.is_empty() || start <= d) && (end.is_empty() || d <= end)
}
