//! Investigators' judgements on candidate identity links: "these two records are one" or "they
//! are not", each kept with who made it and when, never overwritten — a later judgement on the
//! same pair supersedes an earlier one, and both stay in the history (as nomenklatura keeps its
//! resolver's judgements). Keys: `J/`, the pair's two bundle ids (ordered) separated by a NUL,
//! a NUL, then the judgement's time and sequence.

use crate::{Batch, Store, StoreError};
use serde::{Deserialize, Serialize};

const PREFIX: &[u8] = b"J/";

/// What the investigator said of a pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    /// The two records denote one person or company.
    Confirmed,
    /// They do not.
    Rejected,
}

impl Verdict {
    /// The word used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Confirmed => "confirmed",
            Verdict::Rejected => "rejected",
        }
    }
}

/// One judgement on a pair of records.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Judgement {
    /// The record with the smaller bundle id.
    pub a: String,
    /// The other.
    pub b: String,
    /// What was decided.
    pub verdict: Verdict,
    /// Who decided it.
    pub by: String,
    /// When, in Unix milliseconds.
    pub at_ms: u64,
    /// Why, in the investigator's words.
    pub note: String,
}

impl Judgement {
    /// A judgement on `x` and `y` (in either order).
    pub fn new(x: &str, y: &str, verdict: Verdict, by: &str, at_ms: u64, note: &str) -> Judgement {
        let (a, b) = if x <= y { (x, y) } else { (y, x) };
        Judgement {
            a: a.to_owned(),
            b: b.to_owned(),
            verdict,
            by: by.to_owned(),
            at_ms,
            note: note.to_owned(),
        }
    }
}

/// Records a judgement durably (history kept: it is added, never replaces).
pub fn put<S: Store>(store: &S, j: &Judgement) -> Result<(), StoreError> {
    let seq = history(store)?.len() as u64;
    let mut key = PREFIX.to_vec();
    key.extend_from_slice(j.a.as_bytes());
    key.push(0);
    key.extend_from_slice(j.b.as_bytes());
    key.push(0);
    key.extend_from_slice(&j.at_ms.to_be_bytes());
    key.extend_from_slice(&seq.to_be_bytes());
    let value = postcard::to_allocvec(j).map_err(|e| StoreError::Corrupt {
        key: "J/".into(),
        reason: e.to_string(),
    })?;
    let mut b = Batch::new();
    b.put(key, value)?;
    store.commit(b)
}

/// Every judgement ever made, per pair in time order.
pub fn history<S: Store>(store: &S) -> Result<Vec<Judgement>, StoreError> {
    let mut out = Vec::new();
    for r in store.scan_prefix(PREFIX) {
        let (k, v) = r?;
        let j: Judgement = postcard::from_bytes(&v).map_err(|e| StoreError::Corrupt {
            key: String::from_utf8_lossy(&k).into_owned(),
            reason: e.to_string(),
        })?;
        out.push(j);
    }
    Ok(out)
}

/// The judgement in force per pair: the latest.
pub fn current<S: Store>(store: &S) -> Result<Vec<Judgement>, StoreError> {
    let mut out: Vec<Judgement> = Vec::new();
    for j in history(store)? {
        match out.last_mut() {
            Some(last) if last.a == j.a && last.b == j.b => *last = j,
            _ => out.push(j),
        }
    }
    Ok(out)
}
