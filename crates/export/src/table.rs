//! What an export holds: every node and every edge as a row of typed columns.
//!
//! Each format writes these rows and nothing else, so that no format can forget an attribute
//! the others keep (the exports of the first releases carried only a node's kind and name).
//! A node row holds the node's identity (bundle id, kind, name, identifier, other ids), every
//! attribute of its kind, its blacklist entries, every extra column of its rows and where it
//! came from; an edge row its ends, kind, label, validity, number, bid date and outcome,
//! extra columns and source row. Columns are typed (text, number, yes/no, day, count, list of
//! texts) so that Parquet, Neo4j, GraphML and GEXF can declare them; a format without types
//! writes the text of each value.

use qinglian_engine::describe::cite;
use qinglian_engine::exec::EdgeRef;
use qinglian_engine::snapshot::Snapshot;
use qinglian_model::{Attrs, Date, EdgeKind, Interval, NodeKind};
use rustc_hash::FxHashSet;

/// A column's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    /// Text.
    Text,
    /// A number (amounts, shares in percent).
    Float,
    /// Yes or no.
    Bool,
    /// A calendar day.
    Date,
    /// A whole number (load numbers).
    Int,
    /// Several texts (other ids, source rows, blacklist entries).
    List,
}

impl Ty {
    /// The type's name in the manifest and the docs.
    pub fn as_str(self) -> &'static str {
        match self {
            Ty::Text => "text",
            Ty::Float => "float",
            Ty::Bool => "bool",
            Ty::Date => "date",
            Ty::Int => "int",
            Ty::List => "list",
        }
    }
}

/// One cell.
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    /// No value.
    Null,
    /// Text.
    Text(String),
    /// A number.
    Float(f64),
    /// Yes or no.
    Bool(bool),
    /// Days since 1970-01-01 (the model's [`Date`]).
    Date(i32),
    /// A whole number.
    Int(i64),
    /// Several texts.
    List(Vec<String>),
}

impl Val {
    /// The value as text, the way text formats write it: days as `YYYY-MM-DD`, lists joined
    /// with `"; "`, null as `None`.
    pub fn text(&self) -> Option<String> {
        match self {
            Val::Null => None,
            Val::Text(s) => Some(s.clone()),
            Val::Float(x) => Some(x.to_string()),
            Val::Bool(b) => Some(b.to_string()),
            Val::Date(d) => Some(Date(*d).to_string()),
            Val::Int(i) => Some(i.to_string()),
            Val::List(v) if v.is_empty() => None,
            Val::List(v) => Some(v.join("; ")),
        }
    }

    pub(crate) fn opt_text(s: Option<&str>) -> Val {
        match s {
            Some(s) if !s.is_empty() => Val::Text(s.to_owned()),
            _ => Val::Null,
        }
    }

    fn opt_date(d: Option<Date>) -> Val {
        d.map_or(Val::Null, |d| Val::Date(d.0))
    }

    pub(crate) fn opt_float(x: Option<f64>) -> Val {
        x.map_or(Val::Null, Val::Float)
    }
}

/// A named, typed column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    /// Its name.
    pub name: String,
    /// Its type.
    pub ty: Ty,
}

fn col(name: &str, ty: Ty) -> Column {
    Column {
        name: name.to_owned(),
        ty,
    }
}

/// The nodes and edges to export, and whether (and why) the selection was cut short.
#[derive(Clone, Debug)]
pub struct Selection {
    /// Snapshot node numbers.
    pub nodes: Vec<u32>,
    /// Edges whose two ends are among `nodes`.
    pub edges: Vec<EdgeRef>,
    /// Why the selection is incomplete (for example "cut at 500 nodes"), if it is.
    pub truncated: Option<String>,
}

impl Selection {
    /// A selection of `nodes` and the `edges` whose two ends are both among them.
    pub fn new(
        snap: &Snapshot,
        nodes: Vec<u32>,
        edges: &[EdgeRef],
        truncated: Option<String>,
    ) -> Selection {
        let inside: FxHashSet<u32> = nodes.iter().copied().collect();
        let edges = edges
            .iter()
            .copied()
            .filter(|e| {
                let (a, b) = ends(snap, *e);
                inside.contains(&a) && inside.contains(&b)
            })
            .collect();
        Selection {
            nodes,
            edges,
            truncated,
        }
    }

    /// The whole graph.
    pub fn all(snap: &Snapshot) -> Selection {
        let mut edges = Vec::new();
        for k in EdgeKind::ALL {
            let n = snap.edges(*k).len() as u32;
            edges.extend((0..n).map(|idx| EdgeRef {
                kind: k.index() as u8,
                idx,
            }));
        }
        Selection {
            nodes: (0..snap.node_count()).collect(),
            edges,
            truncated: None,
        }
    }

    /// The node kinds present, in declaration order.
    pub fn node_kinds(&self, snap: &Snapshot) -> Vec<NodeKind> {
        let mut seen = [false; NodeKind::COUNT];
        for &n in &self.nodes {
            seen[snap.kind_of(n).index()] = true;
        }
        NodeKind::ALL
            .iter()
            .copied()
            .filter(|k| seen[k.index()])
            .collect()
    }

    /// The edge kinds present, in declaration order.
    pub fn edge_kinds(&self) -> Vec<EdgeKind> {
        let mut seen = [false; EdgeKind::COUNT];
        for e in &self.edges {
            seen[e.kind as usize] = true;
        }
        EdgeKind::ALL
            .iter()
            .copied()
            .filter(|k| seen[k.index()])
            .collect()
    }
}

/// The two ends of an edge.
pub fn ends(snap: &Snapshot, e: EdgeRef) -> (u32, u32) {
    let v = snap.edges(e.kind());
    (v.src[e.idx as usize], v.dst[e.idx as usize])
}

/// The attribute columns of a node kind, typed, named as in the bundle's CSV files.
pub fn attr_columns(kind: NodeKind) -> &'static [(&'static str, Ty)] {
    match kind {
        NodeKind::Person => &[("birth_date", Ty::Date), ("death_date", Ty::Date)],
        NodeKind::Agency => &[("region", Ty::Text)],
        NodeKind::Company => &[
            ("address", Ty::Text),
            ("phone", Ty::Text),
            ("founded", Ty::Date),
            ("status", Ty::Text),
        ],
        NodeKind::Tender => &[
            ("title", Ty::Text),
            ("budget", Ty::Float),
            ("published", Ty::Date),
        ],
        NodeKind::Contract => &[("amount", Ty::Float), ("signed", Ty::Date)],
        NodeKind::Subsidy => &[("amount", Ty::Float), ("paid", Ty::Date)],
    }
}

/// The values of [`attr_columns`], in the same order.
fn attr_values(a: &Attrs) -> Vec<(&'static str, Val)> {
    match a {
        Attrs::Person {
            birth_date,
            death_date,
        } => vec![
            ("birth_date", Val::opt_date(*birth_date)),
            ("death_date", Val::opt_date(*death_date)),
        ],
        Attrs::Agency { region } => vec![("region", Val::opt_text(region.as_deref()))],
        Attrs::Company {
            address,
            phone,
            founded,
            status,
        } => vec![
            ("address", Val::opt_text(address.as_deref())),
            ("phone", Val::opt_text(phone.as_deref())),
            ("founded", Val::opt_date(*founded)),
            ("status", Val::opt_text(status.as_deref())),
        ],
        Attrs::Tender {
            title,
            budget,
            published,
        } => vec![
            ("title", Val::opt_text(title.as_deref())),
            ("budget", Val::opt_float(*budget)),
            ("published", Val::opt_date(*published)),
        ],
        Attrs::Contract { amount, signed } => vec![
            ("amount", Val::opt_float(*amount)),
            ("signed", Val::opt_date(*signed)),
        ],
        Attrs::Subsidy { amount, paid } => vec![
            ("amount", Val::opt_float(*amount)),
            ("paid", Val::opt_date(*paid)),
        ],
    }
}

/// Columns in order, with the position of each name: the schema of one table.
#[derive(Clone, Debug, Default)]
struct Layout {
    columns: Vec<Column>,
    index: rustc_hash::FxHashMap<String, usize>,
    /// How many columns are the table's own; the rest are the bundle's extra columns.
    fixed: usize,
}

impl Layout {
    fn push(&mut self, name: &str, ty: Ty) {
        if !self.index.contains_key(name) {
            self.index.insert(name.to_owned(), self.columns.len());
            self.columns.push(col(name, ty));
        }
    }

    /// An extra column of the bundle, renamed `extra_<name>` when its name is one of the
    /// table's own columns (a people.csv column called `address` must not fill the address of
    /// companies): the returned name is the one the table uses.
    fn push_extra(&mut self, name: &str) -> String {
        let mut n = name.to_owned();
        while self.index.get(&n).is_some_and(|&i| !self.is_extra(i)) {
            n = format!("extra_{n}");
        }
        self.push(&n, Ty::Text);
        n
    }

    /// Ends the table's own columns and adds a column per distinct extra column name of
    /// `props`; returns bundle name → table column name.
    fn extras(
        &mut self,
        props: impl Iterator<Item = (String, String)>,
    ) -> rustc_hash::FxHashMap<String, String> {
        self.fixed = self.columns.len();
        let mut extra = rustc_hash::FxHashMap::default();
        for (name, _) in props {
            if let std::collections::hash_map::Entry::Vacant(slot) = extra.entry(name) {
                let as_named = self.push_extra(slot.key());
                slot.insert(as_named);
            }
        }
        extra
    }

    fn is_extra(&self, i: usize) -> bool {
        i >= self.fixed
    }
}

/// The node table of a set of kinds: its columns, and a row per node.
#[derive(Debug)]
pub struct NodeTable {
    layout: Layout,
    /// (kind, bundle column) → table column, for extra columns renamed by `push_extra`.
    extra: rustc_hash::FxHashMap<String, String>,
    /// Whether the table carries [`rule_columns`].
    derived: bool,
}

/// What rules read of a node that no row of the bundle states, derived by the snapshot: the
/// earliest blacklist date (`listed`), whether a person holds or held a position
/// (`official`), a company's phone and address as normalised keys (null when absent or a
/// placeholder: two companies share a phone when their keys are equal) and how many companies
/// give each. The Parquet export carries them so that the compiled rules (`crates/sql`) read
/// what the engine reads.
pub fn rule_columns(kind: NodeKind) -> &'static [(&'static str, Ty)] {
    match kind {
        NodeKind::Person => &[("listed", Ty::Date), ("official", Ty::Bool)],
        NodeKind::Company => &[
            ("listed", Ty::Date),
            ("phone_key", Ty::Text),
            ("address_key", Ty::Text),
            ("phone_shared", Ty::Int),
            ("address_shared", Ty::Int),
        ],
        _ => &[],
    }
}

/// The values of [`rule_columns`] for node `n`.
fn rule_values(snap: &Snapshot, n: u32) -> Vec<(&'static str, Val)> {
    let i = n as usize;
    let listed = day(snap.listed()[i], qinglian_engine::snapshot::NO_DATE);
    let official = snap.flags()[i] & qinglian_engine::snapshot::flag::OFFICIAL != 0;
    let code = |tag: usize, c: u32| {
        if c == 0 {
            (Val::Null, Val::Null)
        } else {
            let shared = snap.code_nodes(tag, c).len() as i64;
            (
                Val::Text(snap.code_text(tag, c).to_owned()),
                Val::Int(shared),
            )
        }
    };
    let (phone, phone_n) = code(0, snap.phones()[i]);
    let (address, address_n) = code(1, snap.addresses()[i]);
    vec![
        ("listed", listed),
        ("official", Val::Bool(official)),
        ("phone_key", phone),
        ("address_key", address),
        ("phone_shared", phone_n),
        ("address_shared", address_n),
    ]
}

impl NodeTable {
    /// The table of the nodes of `kinds` among `nodes`: the fixed columns, every attribute
    /// column of those kinds, and every extra column any of those nodes has.
    pub fn new(snap: &Snapshot, nodes: &[u32], kinds: &[NodeKind]) -> NodeTable {
        Self::build(snap, nodes, kinds, false)
    }

    /// [`NodeTable::new`] with the [`rule_columns`] of those kinds, for the compiled rules.
    pub fn with_rule_columns(snap: &Snapshot, nodes: &[u32], kinds: &[NodeKind]) -> NodeTable {
        Self::build(snap, nodes, kinds, true)
    }

    fn build(snap: &Snapshot, nodes: &[u32], kinds: &[NodeKind], derived: bool) -> NodeTable {
        let mut layout = Layout::default();
        for (n, t) in [
            ("id", Ty::Text),
            ("kind", Ty::Text),
            ("name", Ty::Text),
            ("identifier", Ty::Text),
            ("aliases", Ty::List),
        ] {
            layout.push(n, t);
        }
        for k in kinds {
            for (n, t) in attr_columns(*k) {
                layout.push(n, *t);
            }
        }
        for k in kinds.iter().filter(|_| derived) {
            for (n, t) in rule_columns(*k) {
                layout.push(n, *t);
            }
        }
        for (n, t) in [
            ("blacklisted", Ty::Bool),
            ("blacklist", Ty::List),
            ("source", Ty::Text),
            ("sources", Ty::List),
            ("load", Ty::Int),
        ] {
            layout.push(n, t);
        }
        let props = nodes
            .iter()
            .filter(|&&n| kinds.contains(&snap.kind_of(n)))
            .flat_map(|&n| snap.detail(n).map(|d| d.props).unwrap_or_default());
        let extra = layout.extras(props);
        NodeTable {
            layout,
            extra,
            derived,
        }
    }

    /// The columns.
    pub fn columns(&self) -> &[Column] {
        &self.layout.columns
    }

    /// Node `n`'s row, one value per column.
    pub fn row(&self, snap: &Snapshot, n: u32) -> Vec<Val> {
        let mut row = vec![Val::Null; self.layout.columns.len()];
        let mut set = |name: &str, v: Val| {
            if let Some(&i) = self.layout.index.get(name) {
                row[i] = v;
            }
        };
        let (f, l) = snap.node_source(n);
        set("id", Val::Text(snap.ext(n).to_owned()));
        set("kind", Val::Text(snap.kind_of(n).as_str().to_owned()));
        set("name", Val::Text(snap.name(n).to_owned()));
        set("source", Val::Text(cite(snap, f, l)));
        set(
            "load",
            snap.file(f)
                .map_or(Val::Null, |m| Val::Int(i64::from(m.load))),
        );
        let listed = snap.flags()[n as usize] & qinglian_engine::snapshot::flag::BLACKLISTED != 0;
        set("blacklisted", Val::Bool(listed));
        if self.derived {
            for (name, v) in rule_values(snap, n) {
                set(name, v);
            }
        }
        if let Some(d) = snap.detail(n) {
            set("identifier", Val::opt_text(d.identifier.as_deref()));
            set("aliases", Val::List(d.aliases.clone()));
            for (name, v) in attr_values(&d.attrs) {
                set(name, v);
            }
            let sources = d
                .sources
                .iter()
                .map(|p| cite(snap, p.file.0, p.line))
                .collect();
            set("sources", Val::List(sources));
            let entries = d.blacklist.iter().map(|b| listing(snap, b)).collect();
            set("blacklist", Val::List(entries));
            for (name, v) in d.props {
                if let Some(as_named) = self.extra.get(&name) {
                    set(as_named, Val::Text(v));
                }
            }
        }
        row
    }
}

/// A blacklist entry as one text: `list: reason (listed YYYY-MM-DD; file:line (load N))`.
fn listing(snap: &Snapshot, b: &qinglian_model::BlacklistRecord) -> String {
    let when = b
        .listed
        .map(|d| format!("listed {d}; "))
        .unwrap_or_default();
    let row = cite(snap, b.source.file.0, b.source.line);
    format!("{}: {} ({when}{row})", b.list_source, b.reason)
}

/// The edge table of a set of kinds: its columns, and a row per edge.
#[derive(Debug)]
pub struct EdgeTable {
    layout: Layout,
    extra: rustc_hash::FxHashMap<String, String>,
}

impl EdgeTable {
    /// The table of the edges of `kinds` among `edges`: the fixed columns, the number under
    /// its name (`share_pct` for OWNS, `amount` otherwise), the bid columns when BID is among
    /// the kinds, and every extra column any of those edges has.
    pub fn new(snap: &Snapshot, edges: &[EdgeRef], kinds: &[EdgeKind]) -> EdgeTable {
        let mut layout = Layout::default();
        for (n, t) in [
            ("edge", Ty::Text),
            ("kind", Ty::Text),
            ("from", Ty::Text),
            ("from_kind", Ty::Text),
            ("to", Ty::Text),
            ("to_kind", Ty::Text),
            ("label", Ty::Text),
            ("start", Ty::Date),
            ("end", Ty::Date),
        ] {
            layout.push(n, t);
        }
        if kinds.contains(&EdgeKind::Owns) {
            layout.push("share_pct", Ty::Float);
        }
        if kinds.iter().any(|k| *k != EdgeKind::Owns) {
            layout.push("amount", Ty::Float);
        }
        if kinds.contains(&EdgeKind::Bid) {
            layout.push("submitted", Ty::Date);
            layout.push("won", Ty::Bool);
        }
        layout.push("source", Ty::Text);
        layout.push("load", Ty::Int);
        let props = edges
            .iter()
            .filter(|e| kinds.contains(&e.kind()))
            .flat_map(|e| snap.edge_props(e.kind(), e.idx as usize));
        let extra = layout.extras(props);
        EdgeTable { layout, extra }
    }

    /// The columns.
    pub fn columns(&self) -> &[Column] {
        &self.layout.columns
    }

    /// Edge `e`'s row, one value per column.
    pub fn row(&self, snap: &Snapshot, e: EdgeRef) -> Vec<Val> {
        let mut row = vec![Val::Null; self.layout.columns.len()];
        let mut set = |name: &str, v: Val| {
            if let Some(&i) = self.layout.index.get(name) {
                row[i] = v;
            }
        };
        let k = e.kind();
        let v = snap.edges(k);
        let i = e.idx as usize;
        let (a, b) = (v.src[i], v.dst[i]);
        let (f, l) = v.source(i);
        let iv = v.interval(i);
        set("edge", Val::Text(format!("{}#{}", k.as_str(), e.idx)));
        set("kind", Val::Text(k.as_str().to_owned()));
        set("from", Val::Text(snap.ext(a).to_owned()));
        set("from_kind", Val::Text(snap.kind_of(a).as_str().to_owned()));
        set("to", Val::Text(snap.ext(b).to_owned()));
        set("to_kind", Val::Text(snap.kind_of(b).as_str().to_owned()));
        set("label", Val::opt_text(Some(snap.label_text(k, v.label(i)))));
        set("start", day(iv.start, Interval::OPEN_START));
        set("end", day(iv.end, Interval::OPEN_END));
        let value = Val::opt_float(v.value(i));
        set(
            if k == EdgeKind::Owns {
                "share_pct"
            } else {
                "amount"
            },
            value,
        );
        set("submitted", v.date(i).map_or(Val::Null, Val::Date));
        set("won", v.flag(i).map_or(Val::Null, Val::Bool));
        set("source", Val::Text(cite(snap, f, l)));
        set(
            "load",
            snap.file(f)
                .map_or(Val::Null, |m| Val::Int(i64::from(m.load))),
        );
        for (name, val) in snap.edge_props(k, i) {
            if let Some(as_named) = self.extra.get(&name) {
                set(as_named, Val::Text(val));
            }
        }
        row
    }
}

/// A validity bound as a day, or null for the sentinel of an unknown start or open end.
fn day(d: i32, sentinel: i32) -> Val {
    if d == sentinel || d == qinglian_engine::snapshot::NO_DATE {
        Val::Null
    } else {
        Val::Date(d)
    }
}

impl Selection {
    /// The nodes and edges of a finding's evidence chain, found again in the snapshot by their
    /// bundle ids and source rows (an evidence edge names its ends and its row, not its
    /// position in the snapshot's arrays).
    pub fn of_evidence(snap: &Snapshot, ev: &qinglian_engine::findings::Evidence) -> Selection {
        let nodes: Vec<u32> = ev.nodes.iter().filter_map(|n| snap.lookup(&n.id)).collect();
        let mut edges = Vec::new();
        for e in &ev.edges {
            let (Some(a), Some(b)) = (snap.lookup(&e.from), snap.lookup(&e.to)) else {
                continue;
            };
            let v = snap.edges(e.kind);
            let found = v.out(a).find(|&i| {
                let (f, l) = v.source(i);
                v.dst[i] == b
                    && l == e.source.line
                    && snap.file(f).map(|m| m.name.as_str()) == e.source.file.as_deref()
            });
            if let Some(i) = found {
                edges.push(EdgeRef {
                    kind: e.kind.index() as u8,
                    idx: i as u32,
                });
            }
        }
        Selection::new(snap, nodes, &edges, None)
    }
}
