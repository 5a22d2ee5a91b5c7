//! # qinglian-engine
//!
//! The graph engine: a compact [`snapshot`] of the store (CSR per edge kind, intervals and
//! source rows beside every edge), a planner and executor for rule queries fanned out over
//! start nodes with rayon, evidence chains and risk scoring, bounded path search and
//! neighbourhood export. It reads the store through `qinglian-store`'s graph layer and never
//! names a storage backend.

pub mod declarations;
pub mod describe;
pub mod exec;
pub mod findings;
pub mod hypothesis;
pub mod import;
pub mod lifecycle;
pub mod linkage;
pub mod native;
pub mod paths;
pub mod proposal;
pub mod related;
pub mod screen;
pub mod search;
pub mod snapshot;

pub use screen::{screen, RuleStat, Screening};

use qinglian_store::{GraphDb, Store, StoreError};
use snapshot::Snapshot;
use std::path::Path;

/// What can go wrong in the engine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Building or writing the snapshot failed.
    #[error("snapshot: {0}")]
    Snapshot(String),
    /// A rule could not be planned or run.
    #[error("rule {rule}: {message}")]
    Rule {
        /// The rule id.
        rule: String,
        /// What went wrong.
        message: String,
    },
    /// An unknown id was asked for.
    #[error("{0}")]
    NotFound(String),
}

/// Opens the snapshot cached at `cache` if it matches the store, or builds it from the store
/// and writes it there. Returns the snapshot and whether it was rebuilt.
pub fn open_snapshot<S: Store>(
    db: &GraphDb<S>,
    cache: &Path,
) -> Result<(Snapshot, bool), EngineError> {
    let generation = db.state().generation;
    if let Ok(s) = Snapshot::open(cache, generation) {
        return Ok((s, false));
    }
    match snapshot::build_to_file(db, cache) {
        Ok(()) => Snapshot::open(cache, generation)
            .map(|s| (s, true))
            .map_err(|e| EngineError::Snapshot(e.to_string())),
        // A read-only database folder still answers, from memory — but the failed write is
        // reported, not swallowed: a full disk or a permission error is the operator's to fix.
        Err(e) => {
            tracing::warn!(
                "the snapshot could not be written to {}: {e}; answering from a copy built in memory",
                cache.display()
            );
            snapshot::build(db).map(|s| (s, true))
        }
    }
}
