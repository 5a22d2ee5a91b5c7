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
