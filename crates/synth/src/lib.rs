//! # qinglian-synth
//!
//! Generates realistic synthetic bundles (SCHEMA.md) with planted conflicts and their truth.
//! (Implementation in progress.)

use std::path::Path;

/// What to generate.
#[derive(Clone, Debug)]
pub struct Options {
    /// Number of people.
    pub people: usize,
    /// Random seed; the same options give the same bytes.
    pub seed: u64,
    /// Shape of the public sector generated.
    pub profile: Profile,
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
}

/// Writes a bundle and its `truth.jsonl` into `out`.
pub fn generate(opts: &Options, out: &Path) -> Result<Report, SynthError> {
    let _ = (opts, out);
    Err(SynthError::Options(
        "the generator is being implemented".into(),
    ))
}
