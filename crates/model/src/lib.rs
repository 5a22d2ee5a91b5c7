//! # qinglian-model
//!
//! The vocabulary every other Qinglian crate speaks: node and edge kinds, calendar dates and
//! validity intervals, provenance, the records of a load, and the validation of Chinese
//! identifiers. It does no I/O, so that the store, the ingestion, the engine and the API can
//! all depend on it without depending on each other.

pub mod date;
pub mod facts;
pub mod ident;
pub mod kinds;
pub mod normalize;
pub mod records;

pub use date::{Date, DateError, Interval};
pub use facts::FactKey;
pub use ident::{CreditCode, IdentError, ResidentId};
pub use kinds::{
    EdgeKind, NodeKind, DECLARATIONS, FAMILY, INTERESTS, RELATIONS, ROLES, TENDER_ROLES,
};
pub use records::{
    Attrs, BlacklistRecord, EdgeRecord, EdgeRecordRef, FileId, Generation, MergeKey, MergeRecord,
    NodeId, NodeRecord, Provenance,
};
