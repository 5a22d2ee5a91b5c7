//! The records that ingestion produces, the store keeps and the engine reads.
//!
//! A record is what one source row says after validation and identity resolution: nodes
//! and edges refer to each other by dense [`NodeId`]s, and every record cites the row it
//! came from ([`Provenance`]).

use crate::date::{Date, Interval};
use crate::kinds::{EdgeKind, NodeKind};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A node's dense id in the store: assigned in load order, never reused.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NodeId(pub u32);

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{}", self.0)
    }
}

/// A source file of one load, numbered in the store's file table.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub struct FileId(pub u32);

/// Where a record came from: a file of a load, and the 1-based line of its row.
///
/// Lines count physical lines, header included, so `people.csv:12` is what an editor shows.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub struct Provenance {
    /// The file (see the store's file table for its name and load).
    pub file: FileId,
    /// 1-based line number of the row's first line.
    pub line: u32,
}

/// Kind-specific attributes of a node, each parsed once at ingestion.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Attrs {
    /// Person: birth date.
    pub birth_date: Option<Date>,
    /// Person: death date.
    pub death_date: Option<Date>,
    /// Agency: region.
    pub region: Option<String>,
    /// Company: address as written.
    pub address: Option<String>,
    /// Company: phone as written.
    pub phone: Option<String>,
    /// Company: founding date.
    pub founded: Option<Date>,
    /// Company: registry status.
    pub status: Option<String>,
    /// Tender: title.
    pub title: Option<String>,
    /// Tender: budget.
    pub budget: Option<f64>,
    /// Tender: publication date.
    pub published: Option<Date>,
    /// Contract and subsidy: amount.
    pub amount: Option<f64>,
    /// Contract: signing date.
    pub signed: Option<Date>,
    /// Subsidy: payment date.
    pub paid: Option<Date>,
}

impl Attrs {
    /// Fills every empty field of `self` from `other`; returns the names of fields where
    /// both hold different values (a conflict the caller reports).
    pub fn fill_from(&mut self, other: &Attrs) -> Vec<&'static str> {
        let mut conflicts = Vec::new();
        macro_rules! fill {
            ($($f:ident),*) => {$(
                match (&self.$f, &other.$f) {
                    (None, Some(v)) => self.$f = Some(v.clone()),
                    (Some(a), Some(b)) if a != b => conflicts.push(stringify!($f)),
                    _ => {}
                }
            )*};
        }
        fill!(birth_date, death_date, region, address, phone, founded, status, title, budget, published, amount, signed, paid);
        conflicts
    }
}

/// A node as one source row (or a merge of rows) describes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeRecord {
    /// Dense id.
    pub id: NodeId,
    /// What the node is.
    pub kind: NodeKind,
    /// The id the bundle gave it (for a merge, the first row's).
    pub ext_id: String,
    /// Other bundle ids resolved to this node (same identifier, or re-used in a later load).
    pub aliases: Vec<String>,
    /// Display name, normalised.
    pub name: String,
    /// A valid national identifier: resident ID (people) or credit code (companies).
    pub identifier: Option<String>,
    /// Kind-specific attributes.
    pub attrs: Attrs,
    /// Columns beyond SCHEMA.md's, and raw values that failed validation, by column name.
    pub props: Vec<(String, String)>,
    /// Every row that described this node, first row first.
    pub sources: Vec<Provenance>,
}

/// An edge from one source row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EdgeRecord {
    /// What the edge says.
    pub kind: EdgeKind,
    /// Tail.
    pub from: NodeId,
    /// Head.
    pub to: NodeId,
    /// Relation, role or title; empty when the kind has none.
    pub label: String,
    /// Days on which the edge holds.
    pub valid: Interval,
    /// share_pct (OWNS) or amount (BID).
    pub value: Option<f64>,
    /// BID: submission date.
    pub date: Option<Date>,
    /// BID: won.
    pub flag: Option<bool>,
    /// Extra columns of the row.
    pub props: Vec<(String, String)>,
    /// The row.
    pub source: Provenance,
}

/// One entry of `blacklist.csv`: an attribute of a person or company.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BlacklistRecord {
    /// The listed entity.
    pub node: NodeId,
    /// Why it was listed (bribery record, debarment, ...).
    pub reason: String,
    /// When it was listed; unknown when empty in the source.
    pub listed: Option<Date>,
    /// Who listed it.
    pub list_source: String,
    /// Extra columns.
    pub props: Vec<(String, String)>,
    /// The row.
    pub source: Provenance,
}

/// What made two rows one entity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MergeKey {
    /// The same bundle id (a repeated row, or a row re-used by a later load).
    Id,
    /// The same valid resident identity number.
    IdNumber,
    /// The same valid unified social credit code.
    CreditCode,
}

impl MergeKey {
    /// Name used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            MergeKey::Id => "id",
            MergeKey::IdNumber => "id_number",
            MergeKey::CreditCode => "credit_code",
        }
    }
}

/// A recorded merge: the row at `merged` was resolved to the node first described at `kept`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MergeRecord {
    /// The surviving node.
    pub node: NodeId,
    /// Its bundle id.
    pub kept_ext: String,
    /// The bundle id of the merged row (equal to `kept_ext` for a repeated row).
    pub merged_ext: String,
    /// What matched.
    pub key: MergeKey,
    /// The matching value.
    pub value: String,
    /// The surviving node's first row.
    pub kept: Provenance,
    /// The merged row.
    pub merged: Provenance,
    /// Differences between the rows worth a look (another name, say).
    pub note: String,
}
