//! Node kinds, edge kinds and the label vocabularies of the input format.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! named_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
        #[repr(u8)]
        pub enum $name { $($(#[$vm])* $v),+ }

        impl $name {
            /// Every value, in declaration order (which is also the numeric order).
            pub const ALL: &'static [$name] = &[$($name::$v),+];

            /// How many values there are: the length of [`Self::ALL`], for arrays indexed by
            /// [`Self::index`].
            pub const COUNT: usize = Self::ALL.len();

            /// The name used in files, rules and output.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$v => $s),+ }
            }

            /// Looks a value up by its name (exact, case-sensitive).
            pub fn parse(s: &str) -> Option<$name> {
                match s { $($s => Some($name::$v),)+ _ => None }
            }

            /// The value's index in [`Self::ALL`].
            pub fn index(self) -> usize {
                self as usize
            }

            /// The value with index `i`.
            pub fn from_index(i: usize) -> Option<$name> {
                Self::ALL.get(i).copied()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

named_enum! {
    /// What a node is. Tenders, contracts and subsidies are nodes so that an evidence chain
    /// can name them.
    NodeKind {
        /// A natural person; an *official* is a person with a position.
        Person = "Person",
        /// A public body: bureau, park committee, town.
        Agency = "Agency",
        /// A company or other registered organisation.
        Company = "Company",
        /// A procurement run by an agency.
        Tender = "Tender",
        /// A contract signed by an agency with a company.
        Contract = "Contract",
        /// A payment of public money to a person or company.
        Subsidy = "Subsidy",
    }
}

named_enum! {
    /// What an edge says. The direction is the one given in `docs/ARCHITECTURE.md`.
    EdgeKind {
        /// Person -> Agency: the person holds an office (an interval, the title as label).
        Position = "POSITION",
        /// Person -> Person: the relative is `label` to the person (spouse, parent, ...).
        Relation = "RELATION",
        /// Person|Company -> Company: ownership with a share (an interval).
        Owns = "OWNS",
        /// Person -> Company: legal_rep, director, supervisor, manager, employee (an interval).
        Role = "ROLE",
        /// Agency -> Agency: the agency is part of its parent.
        PartOf = "PART_OF",
        /// Agency -> Tender: the agency runs the tender.
        Ran = "RAN",
        /// Company -> Tender: a bid (amount, submitted, won).
        Bid = "BID",
        /// Person -> Tender: requester, evaluator or approver of a tender.
        Handled = "HANDLED",
        /// Agency -> Contract: the agency signed the contract.
        Awarded = "AWARDED",
        /// Contract -> Company, Subsidy -> Person|Company: who receives the money.
        To = "TO",
        /// Contract|Subsidy -> Person: who approved it.
        ApprovedBy = "APPROVED_BY",
        /// Contract -> Tender: the tender the contract came out of.
        Under = "UNDER",
        /// Agency -> Subsidy: the agency paid the subsidy.
        Paid = "PAID",
        /// Person -> Person|Company: what an official declared (a relative or an interest).
        Declared = "DECLARED",
        /// Person -> Person, Company -> Company: a candidate identity link — the two records
        /// probably denote one person or company (the probability as value). Derived from the
        /// data by `qinglian_engine::linkage` and the investigators' judgements, never loaded
        /// nor stored: see [`EdgeKind::is_derived`].
        SameAs = "SAME_AS",
    }
}

impl EdgeKind {
    /// How many kinds are facts kept in the store: every kind but the derived ones, which
    /// come last. Stored per-kind counts have exactly this many entries, so that adding a
    /// derived kind never changes the store's format.
    pub const STORED: usize = 14;

    /// Whether edges of this kind are computed from the data rather than stated by a row.
    pub fn is_derived(self) -> bool {
        self.index() >= Self::STORED
    }
}

impl EdgeKind {
    /// Whether edges of this kind carry a validity interval from their source row.
    pub fn has_interval(self) -> bool {
        matches!(self, EdgeKind::Position | EdgeKind::Owns | EdgeKind::Role)
    }

    /// The node kinds allowed at the tail (`from`) of an edge of this kind.
    pub fn from_kinds(self) -> &'static [NodeKind] {
        use NodeKind::*;
        match self {
            EdgeKind::Position
            | EdgeKind::Relation
            | EdgeKind::Role
            | EdgeKind::Handled
            | EdgeKind::Declared => &[Person],
            EdgeKind::Owns | EdgeKind::SameAs => &[Person, Company],
            EdgeKind::PartOf | EdgeKind::Ran | EdgeKind::Awarded | EdgeKind::Paid => &[Agency],
            EdgeKind::Bid => &[Company],
            EdgeKind::To | EdgeKind::ApprovedBy => &[Contract, Subsidy],
            EdgeKind::Under => &[Contract],
        }
    }

    /// The node kinds allowed at the head (`to`) of an edge of this kind.
    pub fn to_kinds(self) -> &'static [NodeKind] {
        use NodeKind::*;
        match self {
            EdgeKind::Position | EdgeKind::PartOf => &[Agency],
            EdgeKind::Relation | EdgeKind::ApprovedBy => &[Person],
            EdgeKind::Owns | EdgeKind::Role => &[Company],
            EdgeKind::Ran | EdgeKind::Bid | EdgeKind::Handled | EdgeKind::Under => &[Tender],
            EdgeKind::Awarded => &[Contract],
            EdgeKind::To | EdgeKind::Declared | EdgeKind::SameAs => &[Person, Company],
            EdgeKind::Paid => &[Subsidy],
        }
    }

    /// The label vocabulary of this kind, when it has a closed one.
    pub fn known_labels(self) -> Option<&'static [&'static str]> {
        match self {
            EdgeKind::Relation => Some(RELATIONS),
            EdgeKind::Declared => Some(DECLARATIONS),
            EdgeKind::Role => Some(ROLES),
            EdgeKind::Handled => Some(TENDER_ROLES),
            _ => None,
        }
    }
}

/// `relations.csv` vocabulary: what `relative_id` is to `person_id`.
pub const RELATIONS: &[&str] = &[
    "spouse",
    "parent",
    "child",
    "sibling",
    "in_law",
    "associate",
    "other",
];
/// What a declaration may say about a company: the kind of interest the official has in it.
pub const INTERESTS: &[&str] = &["interest", "shareholder", "legal_rep", "director"];
/// `declarations.csv` vocabulary: a relative's relation ([`RELATIONS`]) or the kind of a company
/// interest ([`INTERESTS`]), in that order.
pub const DECLARATIONS: &[&str] = &DECLARATIONS_ARRAY;
const DECLARATIONS_ARRAY: [&str; RELATIONS.len() + INTERESTS.len()] = concat(RELATIONS, INTERESTS);

/// `a` then `b`, in a constant.
const fn concat<const N: usize>(a: &[&'static str], b: &[&'static str]) -> [&'static str; N] {
    let mut out = [""; N];
    let mut i = 0;
    while i < a.len() {
        out[i] = a[i];
        i += 1;
    }
    while i < N {
        out[i] = b[i - a.len()];
        i += 1;
    }
    out
}
/// The relations that count as family in the built-in rules.
pub const FAMILY: &[&str] = &["spouse", "parent", "child", "sibling", "in_law"];
/// `roles.csv` vocabulary.
pub const ROLES: &[&str] = &["legal_rep", "director", "supervisor", "manager", "employee"];
/// `tender_officials.csv` vocabulary.
pub const TENDER_ROLES: &[&str] = &["requester", "evaluator", "approver"];

/// The relation seen from the other end: if B is A's `parent`, A is B's `child`.
///
/// Rules read a RELATION label from the side they traverse it from, so that
/// `(o)-[:RELATION{child}]-(m)` means "m is o's child" whichever way the row was written.
pub fn inverse_relation(label: &str) -> &str {
    match label {
        "parent" => "child",
        "child" => "parent",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in EdgeKind::ALL {
            assert_eq!(EdgeKind::parse(k.as_str()), Some(*k));
            assert_eq!(EdgeKind::from_index(k.index()), Some(*k));
        }
        for k in NodeKind::ALL {
            assert_eq!(NodeKind::parse(k.as_str()), Some(*k));
        }
        assert_eq!(EdgeKind::parse("owns"), None);
    }

    #[test]
    fn counts_match_the_lists() {
        assert_eq!(NodeKind::COUNT, 6);
        assert_eq!(EdgeKind::COUNT, 15);
        assert_eq!(NodeKind::from_index(NodeKind::COUNT), None);
        assert_eq!(
            EdgeKind::from_index(EdgeKind::STORED - 1),
            Some(EdgeKind::Declared)
        );
        let derived: Vec<EdgeKind> = EdgeKind::ALL
            .iter()
            .copied()
            .filter(|k| k.is_derived())
            .collect();
        assert_eq!(derived, [EdgeKind::SameAs]);
    }

    #[test]
    fn vocabularies() {
        assert_eq!(DECLARATIONS, [RELATIONS, INTERESTS].concat());
        assert!(FAMILY.iter().all(|f| RELATIONS.contains(f)));
        assert_eq!(EdgeKind::Declared.known_labels(), Some(DECLARATIONS));
        assert_eq!(EdgeKind::Relation.known_labels(), Some(RELATIONS));
    }

    #[test]
    fn relation_inverse_is_an_involution() {
        for r in RELATIONS {
            assert_eq!(inverse_relation(inverse_relation(r)), *r);
        }
        assert_eq!(inverse_relation("parent"), "child");
    }
}
