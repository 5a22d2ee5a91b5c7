//! Transaction time in a Parquet export (`export --format parquet --history`): when the
//! database learned each fact, and the facts it no longer holds.
//!
//! The snapshot holds the facts as they are now (or after `--known-at L`), each citing the row
//! that last stated it; what the database knew *when* is the store's log, folded
//! (`qinglian_store::facts`). The CLI folds it and hands this module the result in export terms
//! (bundle ids, file names), so that this crate still reads only the snapshot: every current
//! edge gains `asserted_at` (the load that first asserted the fact) and `changed_at` (the load
//! that last changed its value), and `history/<KIND>.parquet` lists each fact that a later load
//! retracted or changed, with the load that did (`until_load`). A reader reconstructs what the
//! database knew after load `L`: current rows with `asserted_at <= L`, plus history rows with
//! `asserted_at <= L < until_load`, each at the value it had then (a changed value is one
//! history row per superseded value).

use crate::table::{Column, Ty, Val};
use qinglian_model::{EdgeKind, Interval};
use rustc_hash::FxHashMap;

/// The transaction times of the current facts and the facts that no longer hold.
#[derive(Debug, Default)]
pub struct TxTime {
    /// Per current fact, by its kind and the row that last stated it (file id, line): the load
    /// that first asserted it and the load that last changed its value.
    pub current: FxHashMap<(EdgeKind, u32, u32), (u32, u32)>,
    /// Facts that a later load retracted or changed.
    pub past: Vec<PastFact>,
}

/// A fact that no longer holds, at the value it had.
#[derive(Debug, Clone)]
pub struct PastFact {
    /// Its kind.
    pub kind: EdgeKind,
    /// Tail's bundle id.
    pub from: String,
    /// Head's bundle id.
    pub to: String,
    /// Relation, role or title.
    pub label: String,
    /// When it held (valid time).
    pub valid: Interval,
    /// Share (OWNS) or amount.
    pub value: Option<f64>,
    /// The row that stated this value: `file:line (load N)`.
    pub source: String,
    /// That row's load.
    pub load: u32,
    /// The load that first asserted the fact.
    pub asserted: u32,
    /// The load that retracted it, or changed this value.
    pub until: u32,
    /// `retracted` or `changed`.
    pub what: &'static str,
}

/// The columns of a `history/<KIND>.parquet` table.
pub fn columns() -> Vec<Column> {
    [
        ("kind", Ty::Text),
        ("from", Ty::Text),
        ("to", Ty::Text),
        ("label", Ty::Text),
        ("start", Ty::Date),
        ("end", Ty::Date),
        ("value", Ty::Float),
        ("source", Ty::Text),
        ("load", Ty::Int),
        ("asserted_at", Ty::Int),
        ("until_load", Ty::Int),
        ("what", Ty::Text),
    ]
    .into_iter()
    .map(|(name, ty)| Column {
        name: name.to_owned(),
        ty,
    })
    .collect()
}

/// One history row, in [`columns`] order.
pub fn row(p: &PastFact) -> Vec<Val> {
    let day = |d: i32, sentinel: i32| {
        if d == sentinel {
            Val::Null
        } else {
            Val::Date(d)
        }
    };
    vec![
        Val::Text(p.kind.as_str().to_owned()),
        Val::Text(p.from.clone()),
        Val::Text(p.to.clone()),
        Val::opt_text(Some(&p.label)),
        day(p.valid.start, Interval::OPEN_START),
        day(p.valid.end, Interval::OPEN_END),
        Val::opt_float(p.value),
        Val::Text(p.source.clone()),
        Val::Int(i64::from(p.load)),
        Val::Int(i64::from(p.asserted)),
        Val::Int(i64::from(p.until)),
        Val::Text(p.what.to_owned()),
    ]
}

/// The two columns a current edge gains.
pub fn current_columns() -> [Column; 2] {
    [
        Column {
            name: "asserted_at".into(),
            ty: Ty::Int,
        },
        Column {
            name: "changed_at".into(),
            ty: Ty::Int,
        },
    ]
}

impl TxTime {
    /// A current edge's two values: null when the fold does not know its row (never expected).
    pub fn of_edge(&self, kind: EdgeKind, file: u32, line: u32) -> [Val; 2] {
        match self.current.get(&(kind, file, line)) {
            Some(&(a, c)) => [Val::Int(i64::from(a)), Val::Int(i64::from(c))],
            None => [Val::Null, Val::Null],
        }
    }
}
