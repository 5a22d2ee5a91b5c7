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

/// The store's generation: incremented by every committed load, so that a snapshot built at
/// one generation is known to be stale at the next. Serialized as the bare number.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Generation(pub u64);

impl Generation {
    /// The generation after this one.
    #[must_use]
    pub fn next(self) -> Generation {
        Generation(self.0 + 1)
    }
}

impl fmt::Display for Generation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

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

/// Kind-specific attributes of a node, each parsed once at ingestion. An enum, so that a
/// person cannot carry a signing date nor a contract a birth date.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Attrs {
    /// people.csv
    Person {
        /// Birth date.
        birth_date: Option<Date>,
        /// Death date.
        death_date: Option<Date>,
    },
    /// agencies.csv
    Agency {
        /// Region.
        region: Option<String>,
    },
    /// companies.csv
    Company {
        /// Address as written.
        address: Option<String>,
        /// Phone as written.
        phone: Option<String>,
        /// Founding date.
        founded: Option<Date>,
        /// Registry status.
        status: Option<String>,
    },
    /// tenders.csv
    Tender {
        /// Title.
        title: Option<String>,
        /// Budget.
        budget: Option<f64>,
        /// Publication date.
        published: Option<Date>,
    },
    /// contracts.csv
    Contract {
        /// Amount.
        amount: Option<f64>,
        /// Signing date.
        signed: Option<Date>,
    },
    /// subsidies.csv
    Subsidy {
        /// Amount.
        amount: Option<f64>,
        /// Payment date.
        paid: Option<Date>,
    },
}

macro_rules! each_field {
    ($a:expr, $b:expr, $body:ident) => {
        match ($a, $b) {
            (
                Attrs::Person {
                    birth_date: a1,
                    death_date: a2,
                },
                Attrs::Person {
                    birth_date: b1,
                    death_date: b2,
                },
            ) => {
                $body!(a1, b1, "birth_date");
                $body!(a2, b2, "death_date");
            }
            (Attrs::Agency { region: a1 }, Attrs::Agency { region: b1 }) => {
                $body!(a1, b1, "region");
            }
            (
                Attrs::Company {
                    address: a1,
                    phone: a2,
                    founded: a3,
                    status: a4,
                },
                Attrs::Company {
                    address: b1,
                    phone: b2,
                    founded: b3,
                    status: b4,
                },
            ) => {
                $body!(a1, b1, "address");
                $body!(a2, b2, "phone");
                $body!(a3, b3, "founded");
                $body!(a4, b4, "status");
            }
            (
                Attrs::Tender {
                    title: a1,
                    budget: a2,
                    published: a3,
                },
                Attrs::Tender {
                    title: b1,
                    budget: b2,
                    published: b3,
                },
            ) => {
                $body!(a1, b1, "title");
                $body!(a2, b2, "budget");
                $body!(a3, b3, "published");
            }
            (
                Attrs::Contract {
                    amount: a1,
                    signed: a2,
                },
                Attrs::Contract {
                    amount: b1,
                    signed: b2,
                },
            ) => {
                $body!(a1, b1, "amount");
                $body!(a2, b2, "signed");
            }
            (
                Attrs::Subsidy {
                    amount: a1,
                    paid: a2,
                },
                Attrs::Subsidy {
                    amount: b1,
                    paid: b2,
                },
            ) => {
                $body!(a1, b1, "amount");
                $body!(a2, b2, "paid");
            }
            _ => {}
        }
    };
}

impl Attrs {
    /// Empty attributes of a kind.
    pub fn empty(kind: NodeKind) -> Attrs {
        match kind {
            NodeKind::Person => Attrs::Person {
                birth_date: None,
                death_date: None,
            },
            NodeKind::Agency => Attrs::Agency { region: None },
            NodeKind::Company => Attrs::Company {
                address: None,
                phone: None,
                founded: None,
                status: None,
            },
            NodeKind::Tender => Attrs::Tender {
                title: None,
                budget: None,
                published: None,
            },
            NodeKind::Contract => Attrs::Contract {
                amount: None,
                signed: None,
            },
            NodeKind::Subsidy => Attrs::Subsidy {
                amount: None,
                paid: None,
            },
        }
    }

    /// Fills every empty field of `self` from `other` (of the same kind); returns the names of
    /// fields where both hold different values (a conflict the caller reports).
    pub fn fill_from(&mut self, other: &Attrs) -> Vec<&'static str> {
        let mut conflicts = Vec::new();
        macro_rules! fill {
            ($a:ident, $b:ident, $name:literal) => {
                match ($a.as_ref(), $b) {
                    (None, Some(v)) => *$a = Some(v.clone()),
                    (Some(x), Some(y)) if x != y => conflicts.push($name),
                    _ => {}
                }
            };
        }
        each_field!(self, other, fill);
        conflicts
    }

    /// Sets every field that `later` holds (of the same kind) to its value: a later load's
    /// row states what holds now.
    pub fn overwrite_from(&mut self, later: &Attrs) {
        macro_rules! over {
            ($a:ident, $b:ident, $name:literal) => {
                if let Some(v) = $b {
                    *$a = Some(v.clone());
                }
            };
        }
        each_field!(self, later, over);
    }

    /// Names of the fields in which `self` and `other` differ (the names are the CSV columns).
    pub fn diff(&self, other: &Attrs) -> Vec<&'static str> {
        let mut out = Vec::new();
        macro_rules! cmp {
            ($a:ident, $b:ident, $name:literal) => {
                if $a != $b {
                    out.push($name);
                }
            };
        }
        each_field!(self, other, cmp);
        out
    }

    /// The kind's main date: birth (person), founding (company), publication (tender),
    /// signing (contract), payment (subsidy).
    pub fn main_date(&self) -> Option<Date> {
        match self {
            Attrs::Person { birth_date, .. } => *birth_date,
            Attrs::Company { founded, .. } => *founded,
            Attrs::Tender { published, .. } => *published,
            Attrs::Contract { signed, .. } => *signed,
            Attrs::Subsidy { paid, .. } => *paid,
            Attrs::Agency { .. } => None,
        }
    }

    /// The amount of a contract or subsidy, the budget of a tender.
    pub fn amount(&self) -> Option<f64> {
        match self {
            Attrs::Tender { budget, .. } => *budget,
            Attrs::Contract { amount, .. } | Attrs::Subsidy { amount, .. } => *amount,
            _ => None,
        }
    }

    /// Every attribute as (column name, text), for display.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let empty = Attrs::empty(match self {
            Attrs::Person { .. } => NodeKind::Person,
            Attrs::Agency { .. } => NodeKind::Agency,
            Attrs::Company { .. } => NodeKind::Company,
            Attrs::Tender { .. } => NodeKind::Tender,
            Attrs::Contract { .. } => NodeKind::Contract,
            Attrs::Subsidy { .. } => NodeKind::Subsidy,
        });
        macro_rules! show {
            ($a:ident, $b:ident, $name:literal) => {
                let _ = $b;
                if let Some(v) = $a {
                    out.push(($name, v.to_string()));
                }
            };
        }
        each_field!(self, &empty, show);
        out
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

impl NodeRecord {
    /// Folds a later record of the same node into this one: earlier values win; the later
    /// record adds aliases, sources and whatever was unknown.
    pub fn absorb(&mut self, later: &NodeRecord) {
        for a in std::iter::once(&later.ext_id).chain(&later.aliases) {
            if *a != self.ext_id && !self.aliases.contains(a) {
                self.aliases.push(a.clone());
            }
        }
        if self.identifier.is_none() {
            self.identifier.clone_from(&later.identifier);
        }
        if self.name.is_empty() {
            self.name.clone_from(&later.name);
        }
        self.attrs.fill_from(&later.attrs);
        for p in &later.props {
            if !self.props.contains(p) {
                self.props.push(p.clone());
            }
        }
        for s in &later.sources {
            if !self.sources.contains(s) {
                self.sources.push(*s);
            }
        }
    }

    /// Folds a record of the same node from a *later load*: its values hold now (the load
    /// reported each change); aliases, sources and properties are added as by [`absorb`].
    ///
    /// [`absorb`]: NodeRecord::absorb
    pub fn overlay(&mut self, later: &NodeRecord) {
        if !later.name.is_empty() {
            self.name.clone_from(&later.name);
        }
        self.attrs.overwrite_from(&later.attrs);
        self.absorb(later);
    }
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

/// A borrowed view of an [`EdgeRecord`] that encodes to the same bytes, so that ingestion can
/// encode an edge straight from the row it reads without allocating its label.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct EdgeRecordRef<'a> {
    /// See [`EdgeRecord::kind`].
    pub kind: EdgeKind,
    /// See [`EdgeRecord::from`].
    pub from: NodeId,
    /// See [`EdgeRecord::to`].
    pub to: NodeId,
    /// See [`EdgeRecord::label`].
    pub label: &'a str,
    /// See [`EdgeRecord::valid`].
    pub valid: Interval,
    /// See [`EdgeRecord::value`].
    pub value: Option<f64>,
    /// See [`EdgeRecord::date`].
    pub date: Option<Date>,
    /// See [`EdgeRecord::flag`].
    pub flag: Option<bool>,
    /// See [`EdgeRecord::props`].
    pub props: &'a [(String, String)],
    /// See [`EdgeRecord::source`].
    pub source: Provenance,
}

impl<'a> EdgeRecordRef<'a> {
    /// The fields a fact's key and value are made of (`crate::facts`).
    pub fn fields(&self) -> crate::facts::Fields<'a> {
        crate::facts::Fields {
            kind: self.kind,
            from: self.from,
            to: self.to,
            label: self.label,
            valid: self.valid,
            props: self.props,
        }
    }

    /// The owned record (what [`crate::FactKey::of`] and change reports read).
    pub fn to_record(&self) -> EdgeRecord {
        EdgeRecord {
            kind: self.kind,
            from: self.from,
            to: self.to,
            label: self.label.to_owned(),
            valid: self.valid,
            value: self.value,
            date: self.date,
            flag: self.flag,
            props: self.props.to_vec(),
            source: self.source,
        }
    }
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
