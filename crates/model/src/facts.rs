//! The identity of a fact: which rows of two loads state the same relationship.
//!
//! A monthly refresh sends most rows again, some with a changed value (a stake's share, a
//! contract's supplier, a position's new end date). Without an identity every row would be a
//! new edge and every refresh would duplicate the graph; with one, a row with a known key either
//! repeats the fact (it adds a source row) or changes it (reported, and the new value holds).
//! The keys, per file, are documented in `docs/ingest.md`:
//!
//! | edge | key |
//! |---|---|
//! | POSITION | person, agency, title, start |
//! | RELATION | the unordered pair, the relation read from the lower id (`parent` one way is `child` the other) |
//! | OWNS | owner, company, start |
//! | ROLE | person, company, role, start |
//! | HANDLED | tender, person, role |
//! | BID | tender, company (and the extra `bid_id` or `lot` column, when there is one) |
//! | DECLARED | person, subject, relation |
//! | RAN, AWARDED, PAID | the tender, contract or subsidy (its row names one agency) |
//! | TO, APPROVED_BY, UNDER | the contract or subsidy |
//! | PART_OF | the agency (its row names one parent) |
//!
//! Everything else an edge holds is its *value*: compared to tell a repeat from a change.

use crate::kinds::EdgeKind;
use crate::records::{EdgeRecord, NodeId};
use crate::Interval;
use serde::{Deserialize, Serialize};

/// A fact's identity.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FactKey {
    /// The edge kind.
    pub kind: EdgeKind,
    /// The first node of the key (see the module table).
    pub a: NodeId,
    /// The second node, or `NodeId(u32::MAX)` when the key has one node.
    pub b: NodeId,
    /// The label when it is part of the key, else empty.
    pub label: String,
    /// The start of the validity interval when it is part of the key, else `i32::MIN`.
    pub start: i32,
}

const NONE: NodeId = NodeId(u32::MAX);

/// An edge's fields a key and a value are made of, borrowed: what an [`EdgeRecord`] and an
/// [`crate::EdgeRecordRef`] both hold, so that ingestion and the snapshot build can key millions
/// of rows without allocating.
#[derive(Clone, Copy, Debug)]
pub struct Fields<'e> {
    /// The edge kind.
    pub kind: EdgeKind,
    /// Tail.
    pub from: NodeId,
    /// Head.
    pub to: NodeId,
    /// Label.
    pub label: &'e str,
    /// Validity.
    pub valid: Interval,
    /// Extra columns.
    pub props: &'e [(String, String)],
}

/// The first node of the key of a record of `kind` from `from` to `to` (see [`Fields::key`]):
/// two records can state one fact only if it is the same, so a delta load finds the facts its
/// rows may restate by it alone, from each stored record's kind and ends (no decoding).
pub fn key_node(kind: EdgeKind, from: NodeId, to: NodeId) -> NodeId {
    match kind {
        EdgeKind::Relation => from.min(to),
        EdgeKind::Ran | EdgeKind::Awarded | EdgeKind::Paid => to,
        _ => from,
    }
}

impl<'e> Fields<'e> {
    /// The fields of a record.
    pub fn of(e: &'e EdgeRecord) -> Fields<'e> {
        Fields {
            kind: e.kind,
            from: e.from,
            to: e.to,
            label: &e.label,
            valid: e.valid,
            props: &e.props,
        }
    }

    /// The key as (a, b, label, start) — see the module table.
    ///
    /// Its first node is [`key_node`] of the record's kind and ends.
    pub fn key(&self) -> (NodeId, NodeId, &'e str, i32) {
        match self.kind {
            EdgeKind::Position | EdgeKind::Role => {
                (self.from, self.to, self.label, self.valid.start)
            }
            EdgeKind::Owns => (self.from, self.to, "", self.valid.start),
            EdgeKind::Relation => {
                let (a, b, label) = self.relation();
                (a, b, label, i32::MIN)
            }
            EdgeKind::Handled | EdgeKind::Declared | EdgeKind::SameAs => {
                (self.from, self.to, self.label, i32::MIN)
            }
            // A bid per lot: real portals (OCDS) send one row per lot of a tender, told apart
            // by an extra `bid_id` or `lot` column when the bundle has one.
            EdgeKind::Bid => (self.from, self.to, self.bid_label(), i32::MIN),
            EdgeKind::Ran | EdgeKind::Awarded | EdgeKind::Paid => (self.to, NONE, "", i32::MIN),
            EdgeKind::To | EdgeKind::ApprovedBy | EdgeKind::Under | EdgeKind::PartOf => {
                (self.from, NONE, "", i32::MIN)
            }
        }
    }

    /// A relation as it reads from its lower node id: `A -[parent]-> B` and `B -[child]-> A`
    /// state one fact, as do `A -[spouse]-> B` and `B -[spouse]-> A`. Other kinds as written.
    pub fn relation(&self) -> (NodeId, NodeId, &'e str) {
        if self.kind != EdgeKind::Relation || self.from <= self.to {
            (self.from, self.to, self.label)
        } else {
            (
                self.to,
                self.from,
                crate::kinds::inverse_relation(self.label),
            )
        }
    }

    /// The extra column that tells two bids of one company on one tender apart, if any.
    fn bid_label(&self) -> &'e str {
        ["bid_id", "lot"]
            .iter()
            .find_map(|c| {
                self.props
                    .iter()
                    .find(|(k, _)| k == c)
                    .map(|(_, v)| v.as_str())
            })
            .unwrap_or("")
    }
}

impl FactKey {
    /// The key of `e`.
    pub fn of(e: &EdgeRecord) -> FactKey {
        let (a, b, label, start) = Fields::of(e).key();
        FactKey {
            kind: e.kind,
            a,
            b,
            label: label.to_owned(),
            start,
        }
    }
}

/// Whether a relationship row retracts its fact: an extra `op` column saying `retract`
/// (docs/ingest.md, "Refreshing data"). Such a row is kept in the load's log, never as an edge.
pub fn retracts(props: &[(String, String)]) -> bool {
    props.iter().any(|(k, v)| k == "op" && v == "retract")
}

/// A relation read from its lower node id (see [`Fields::relation`]).
pub fn relation(e: &EdgeRecord) -> (NodeId, NodeId, &str) {
    Fields::of(e).relation()
}

/// The CSV columns in which `new` differs from `old`, a fact of the same key, with both values
/// as text (an empty list: the same fact again). Node ends are compared by store id; the caller
/// names them.
pub fn changes(old: &EdgeRecord, new: &EdgeRecord) -> Vec<Change> {
    let mut out = Vec::new();
    let k = new.kind;
    let mut push = |column: &'static str, was: String, now: String| {
        if was != now {
            out.push(Change { column, was, now });
        }
    };
    let (tail, head) = end_columns(k);
    if k == EdgeKind::Relation {
        // The same relation written from the other end is no change.
        if relation(old) != relation(new) {
            push(tail, id(old.from), id(new.from));
            push(head, id(old.to), id(new.to));
            push(label_column(k), old.label.clone(), new.label.clone());
        }
    } else {
        push(tail, id(old.from), id(new.from));
        push(head, id(old.to), id(new.to));
        push(label_column(k), old.label.clone(), new.label.clone());
    }
    push("start", start_text(old.valid), start_text(new.valid));
    push("end", end_text(old.valid), end_text(new.valid));
    push(value_column(k), num(old.value), num(new.value));
    push("submitted", opt(old.date), opt(new.date));
    push("won", opt(old.flag), opt(new.flag));
    out
}

/// One changed column of a fact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// The CSV column.
    pub column: &'static str,
    /// The value held before (store ids of nodes as `#n`).
    pub was: String,
    /// The value of the new row.
    pub now: String,
}

fn id(n: NodeId) -> String {
    format!("#{}", n.0)
}

fn num(v: Option<f64>) -> String {
    v.map_or_else(String::new, |x| x.to_string())
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(String::new, |x| x.to_string())
}

fn start_text(i: Interval) -> String {
    if i.start == Interval::OPEN_START {
        String::new()
    } else {
        crate::Date(i.start).to_string()
    }
}

fn end_text(i: Interval) -> String {
    if i.end == Interval::OPEN_END {
        String::new()
    } else {
        crate::Date(i.end).to_string()
    }
}

/// The columns holding an edge's tail and head in its file.
pub fn end_columns(k: EdgeKind) -> (&'static str, &'static str) {
    match k {
        EdgeKind::Position => ("person_id", "agency_id"),
        EdgeKind::Relation => ("person_id", "relative_id"),
        EdgeKind::Owns => ("owner_id", "company_id"),
        EdgeKind::Role => ("person_id", "company_id"),
        EdgeKind::Handled => ("person_id", "tender_id"),
        EdgeKind::Bid => ("company_id", "tender_id"),
        EdgeKind::Declared => ("person_id", "subject_id"),
        EdgeKind::PartOf => ("id", "parent_id"),
        EdgeKind::Ran | EdgeKind::Awarded | EdgeKind::Paid => ("agency_id", "id"),
        EdgeKind::To => ("id", "company_id"),
        EdgeKind::ApprovedBy => ("id", "approver_id"),
        EdgeKind::Under => ("id", "tender_id"),
        // Derived, never read from a file: the two records' ids, as `links list` prints them.
        EdgeKind::SameAs => ("a", "b"),
    }
}

fn label_column(k: EdgeKind) -> &'static str {
    match k {
        EdgeKind::Position => "title",
        EdgeKind::Role | EdgeKind::Handled => "role",
        _ => "relation",
    }
}

fn value_column(k: EdgeKind) -> &'static str {
    match k {
        EdgeKind::Owns => "share_pct",
        _ => "amount",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `key_node`, which a delta load filters stored records by, is the first node of the key
    /// for every kind and both orders of the ends: a mismatch would miss a restated fact.
    #[test]
    fn key_node_is_the_first_node_of_the_key() {
        for kind in EdgeKind::ALL.iter().copied() {
            for (from, to) in [(NodeId(3), NodeId(9)), (NodeId(9), NodeId(3))] {
                let f = Fields {
                    kind,
                    from,
                    to,
                    label: "parent",
                    valid: Interval::ALWAYS,
                    props: &[],
                };
                assert_eq!(key_node(kind, from, to), f.key().0, "{kind}");
            }
        }
    }
}
