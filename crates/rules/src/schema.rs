//! What rules may ask of nodes and edges: the property catalog.

use qinglian_model::{EdgeKind, NodeKind};

/// A value type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    /// true / false
    Bool,
    /// A number.
    Num,
    /// Text.
    Str,
    /// A calendar day.
    Date,
    /// A node.
    Node,
    /// One edge.
    Edge,
    /// A variable-length edge: a sequence of edges.
    Path,
    /// `null`: compatible with anything.
    Null,
}

impl Ty {
    /// Name in messages.
    pub fn name(self) -> &'static str {
        match self {
            Ty::Bool => "a boolean",
            Ty::Num => "a number",
            Ty::Str => "text",
            Ty::Date => "a date",
            Ty::Node => "a node",
            Ty::Edge => "an edge",
            Ty::Path => "a path",
            Ty::Null => "null",
        }
    }
}

/// Properties every node has.
pub const NODE_COMMON: &[(&str, Ty)] = &[("id", Ty::Str), ("name", Ty::Str), ("kind", Ty::Str)];

/// Kind-specific node properties.
pub fn node_props(k: NodeKind) -> &'static [(&'static str, Ty)] {
    match k {
        NodeKind::Person => &[
            ("birth_date", Ty::Date),
            ("death_date", Ty::Date),
            ("id_number", Ty::Str),
            ("listed", Ty::Date),
            ("blacklisted", Ty::Bool),
            ("official", Ty::Bool),
        ],
        NodeKind::Agency => &[],
        NodeKind::Company => &[
            ("credit_code", Ty::Str),
            ("address", Ty::Str),
            ("phone", Ty::Str),
            // How many companies in the data give this phone / address (after normalisation;
            // null when the company gives none): a value shared by a whole cluster-registration
            // building (集群注册) is weak evidence of a ring.
            ("phone_shared", Ty::Num),
            ("address_shared", Ty::Num),
            ("founded", Ty::Date),
            ("listed", Ty::Date),
            ("blacklisted", Ty::Bool),
        ],
        NodeKind::Tender => &[
            ("title", Ty::Str),
            ("budget", Ty::Num),
            ("published", Ty::Date),
        ],
        NodeKind::Contract => &[("amount", Ty::Num), ("signed", Ty::Date)],
        NodeKind::Subsidy => &[("amount", Ty::Num), ("paid", Ty::Date)],
    }
}

/// Properties every edge has.
pub const EDGE_COMMON: &[(&str, Ty)] = &[
    ("start", Ty::Date),
    ("end", Ty::Date),
    ("label", Ty::Str),
    ("kind", Ty::Str),
];

/// Kind-specific edge properties; the label goes by its column's name too.
pub fn edge_props(k: EdgeKind) -> &'static [(&'static str, Ty)] {
    match k {
        EdgeKind::Position => &[("title", Ty::Str)],
        EdgeKind::Relation | EdgeKind::Declared => &[("relation", Ty::Str)],
        EdgeKind::Role | EdgeKind::Handled => &[("role", Ty::Str)],
        EdgeKind::Owns => &[("share_pct", Ty::Num)],
        EdgeKind::SameAs => &[("probability", Ty::Num)],
        EdgeKind::Bid => &[
            ("amount", Ty::Num),
            ("won", Ty::Bool),
            ("submitted", Ty::Date),
        ],
        _ => &[],
    }
}

/// The type of node property `p` for any of `kinds` (empty = any kind).
pub fn node_prop(kinds: &[NodeKind], p: &str) -> Option<Ty> {
    if let Some((_, t)) = NODE_COMMON.iter().find(|(n, _)| *n == p) {
        return Some(*t);
    }
    let all = if kinds.is_empty() {
        NodeKind::ALL
    } else {
        kinds
    };
    all.iter()
        .flat_map(|k| node_props(*k))
        .find(|(n, _)| *n == p)
        .map(|(_, t)| *t)
}

/// The type of edge property `p` for any of `kinds`.
pub fn edge_prop(kinds: &[EdgeKind], p: &str) -> Option<Ty> {
    if let Some((_, t)) = EDGE_COMMON.iter().find(|(n, _)| *n == p) {
        return Some(*t);
    }
    kinds
        .iter()
        .flat_map(|k| edge_props(*k))
        .find(|(n, _)| *n == p)
        .map(|(_, t)| *t)
}

/// Labels a rule may name for an edge kind (`None`: free text, such as position titles).
pub fn labels(k: EdgeKind) -> Option<&'static [&'static str]> {
    k.known_labels()
}

/// Where an extra column lives: a node kind or an edge kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Owner {
    /// A column of a node kind's file.
    Node(NodeKind),
    /// A column of an edge kind's file.
    Edge(EdgeKind),
}

/// Columns a rule may read beyond the catalog above, each with the type its text is read as:
/// the bundle's extra columns (and the standards' fields the translators keep as such). The
/// standard ones are known to every rule; a rule file declares its own in a `[columns]` table
/// (`"Tender.framework" = "text"`), so that a misspelt column is still an error and a date
/// column compares as a date. A value that does not read as its type counts as null.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Columns(std::collections::BTreeMap<(Owner, String), Ty>);

/// The columns the standards' translators write (OCDS, FtM, BODS) and the registry status of a
/// company, known to every rule.
const STANDARD: &[(&str, &str, Ty)] = &[
    ("Tender", "deadline", Ty::Date),
    ("Tender", "procurement_method", Ty::Str),
    ("Tender", "method_details", Ty::Str),
    ("Tender", "status", Ty::Str),
    ("Tender", "currency", Ty::Str),
    ("Tender", "number_of_tenderers", Ty::Num),
    ("Tender", "buyer_id", Ty::Str),
    ("Tender", "award_criteria", Ty::Str),
    ("Tender", "deadline_at", Ty::Str),
    ("Tender", "submission_days", Ty::Num),
    ("Tender", "awards_final", Ty::Bool),
    ("Tender", "winners", Ty::Num),
    ("Tender", "awarded", Ty::Bool),
    ("BID", "status", Ty::Str),
    ("BID", "currency", Ty::Str),
    ("BID", "lot", Ty::Str),
    ("BID", "consortium_size", Ty::Num),
    ("BID", "bid_id", Ty::Str),
    ("BID", "tenderers", Ty::Str),
    ("BID", "submitted_at", Ty::Str),
    ("Contract", "currency", Ty::Str),
    ("Contract", "status", Ty::Str),
    ("Company", "status", Ty::Str),
    ("Company", "status_date", Ty::Date),
    ("Company", "topics", Ty::Str),
    ("Company", "jurisdiction", Ty::Str),
    ("Person", "topics", Ty::Str),
    ("Person", "pep_status", Ty::Str),
    ("Subsidy", "program", Ty::Str),
    ("Subsidy", "period", Ty::Str),
    ("Agency", "region", Ty::Str),
];

impl Columns {
    /// The standard columns only.
    pub fn standard() -> Columns {
        let mut c = Columns::default();
        for (owner, name, ty) in STANDARD {
            if let Some(o) = Owner::parse(owner) {
                c.0.insert((o, (*name).to_owned()), *ty);
            }
        }
        c
    }

    /// Adds a declared column; refuses one that shadows a catalog property or changes the
    /// type of a standard column.
    pub fn declare(&mut self, key: &str, ty: &str) -> Result<(), String> {
        let (owner, name) = key
            .split_once('.')
            .ok_or_else(|| format!("column `{key}` must be written Kind.column or EDGE.column"))?;
        let o = Owner::parse(owner).ok_or_else(|| {
            format!("`{owner}` is neither a node kind (Tender, …) nor an edge kind (BID, …)")
        })?;
        let t = match ty {
            "text" => Ty::Str,
            "number" => Ty::Num,
            "date" => Ty::Date,
            "bool" => Ty::Bool,
            _ => {
                return Err(format!(
                    "column type `{ty}`: expected text, number, date or bool"
                ))
            }
        };
        let builtin = match o {
            Owner::Node(k) => node_prop(&[k], name),
            Owner::Edge(k) => edge_prop(&[k], name),
        };
        if builtin.is_some() {
            return Err(format!(
                "`{key}` is a property already; it needs no declaration"
            ));
        }
        match self.0.insert((o, name.to_owned()), t) {
            Some(old) if old != t => Err(format!(
                "`{key}` is a standard column read as {}",
                old.name()
            )),
            _ => Ok(()),
        }
    }

    /// The type of column `name` on any of the owners.
    pub fn get(&self, owners: impl IntoIterator<Item = Owner>, name: &str) -> Option<Ty> {
        owners
            .into_iter()
            .find_map(|o| self.0.get(&(o, name.to_owned())).copied())
    }

    /// Every column, for documentation and `rules list`.
    pub fn iter(&self) -> impl Iterator<Item = (Owner, &str, Ty)> {
        self.0.iter().map(|((o, n), t)| (*o, n.as_str(), *t))
    }
}

impl Owner {
    /// `Tender` → node kind, `BID` → edge kind.
    pub fn parse(s: &str) -> Option<Owner> {
        if let Some(k) = NodeKind::ALL.iter().find(|k| k.as_str() == s) {
            return Some(Owner::Node(*k));
        }
        EdgeKind::ALL
            .iter()
            .find(|k| k.as_str() == s)
            .map(|k| Owner::Edge(*k))
    }
}
