//! What a compiled rule branch is, as data: the plan (slots, start, steps, evidence chain),
//! the edge patterns and kind masks its steps test, the compiled expressions (`CExpr`) its
//! conditions, grades and scores are made of, and the pruning sets a run attaches to it.
//!
//! Why a file of its own: a plan holds compiled expressions (filters, `valid_at` dates) and a
//! compiled `EXISTS` holds a plan, so the two types cannot live in files that import each
//! other. Here they depend on nothing else in `exec/`, and every other file builds
//! (`compile.rs`, `plan.rs`, `prune.rs`), reads (`run.rs`, `expr.rs`, `text.rs`) or walks
//! (`graph.rs`) them from above.

use qinglian_model::NodeKind;
use qinglian_rules::ast::{CmpOp, Dir};
use std::collections::BTreeMap;

/// The node kinds a variable may take, indexed by [`NodeKind::index`].
pub(crate) type KindMask = [bool; NodeKind::COUNT];

/// The mask of `kinds` (every kind when the list is empty: the variable's kind is unknown).
pub(crate) fn kinds_mask(kinds: &[NodeKind]) -> KindMask {
    let mut m = [kinds.is_empty(); NodeKind::COUNT];
    for k in kinds {
        m[k.index()] = true;
    }
    m
}

/// One edge kind an edge pattern accepts, with its label filter.
#[derive(Clone, Debug)]
pub(crate) struct TypeSpec {
    pub kind: u8,
    /// Accepted label codes (`None`: every label).
    pub mask: Option<Vec<bool>>,
    /// The lowest value an edge may have (`SAME_AS{min p}`: the link's probability).
    pub min: Option<f64>,
}

/// An edge pattern between a left node A and a right node B, as written.
#[derive(Clone, Debug)]
pub(crate) struct RelSpec {
    pub types: Vec<TypeSpec>,
    pub dir: Dir,
}

/// How a plan begins.
#[derive(Clone, Debug)]
pub(crate) enum Start {
    /// Every node of some kinds.
    Nodes { slot: usize, kinds: KindMask },
    /// Every edge of some kinds: binds both ends (and the edge).
    Edges {
        rel: RelSpec,
        a: usize,
        b: usize,
        edge: usize,
        a_kinds: KindMask,
        b_kinds: KindMask,
    },
    /// A sub-plan: the outer variables are bound already.
    Bound,
    /// The nodes a caller gave for a variable (see [`Given`]), sorted.
    Given { slot: usize, nodes: Vec<u32> },
}

/// Nodes a caller binds variables to, by variable name: a pre-award check asks the rule about
/// the agency and bidders of a procurement that is not in the data yet. Each list is sorted.
pub type Given = BTreeMap<String, Vec<u32>>;

/// A step after the start.
#[derive(Clone, Debug)]
pub(crate) enum Step {
    /// One edge from `from` to `to` (bound already when `to_bound`: then it is a check).
    Expand {
        rel: RelSpec,
        from: usize,
        to: usize,
        from_left: bool,
        to_bound: bool,
        edge: usize,
        to_kinds: KindMask,
    },
    /// A variable-length edge.
    Path {
        rel: RelSpec,
        from: usize,
        to: usize,
        from_left: bool,
        to_bound: bool,
        path: usize,
        lo: u32,
        hi: u32,
        valid_at: Option<CExpr>,
        to_kinds: KindMask,
    },
    /// Nodes sharing a normalised phone (tag 0) or address (tag 1) with `from`, through the
    /// code index: an equality join written `x.phone = y.phone`.
    Code {
        from: usize,
        to: usize,
        tag: usize,
        to_bound: bool,
        to_kinds: KindMask,
    },
    /// A condition.
    Filter(CExpr),
    /// A variable the caller gave nodes for: binds each in turn, or, when the variable is bound
    /// already (`to_bound`), checks that its node is one of them. `nodes` is sorted.
    Given {
        slot: usize,
        nodes: Vec<u32>,
        to_bound: bool,
    },
}

/// A pattern element, for the evidence chain.
#[derive(Clone, Debug)]
pub(crate) enum ChainItem {
    Node(usize),
    /// A single edge slot.
    Edge(usize),
    /// A path slot and the node slots at its ends (left, right).
    Path(usize),
}

/// A planned branch.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    pub n_nodes: usize,
    pub n_edges: usize,
    pub n_paths: usize,
    pub node_slot: BTreeMap<String, usize>,
    pub edge_slot: BTreeMap<String, usize>,
    pub path_slot: BTreeMap<String, usize>,
    pub start: Start,
    pub steps: Vec<Step>,
    /// Node slots of official, target, target2, ref.
    pub returns: [Option<usize>; 4],
    /// Pattern order, for evidence.
    pub chain: Vec<Vec<ChainItem>>,
    /// For a sub-plan: (outer node slot, inner node slot), and the same for edges and paths.
    pub outer_nodes: Vec<(usize, usize)>,
    pub outer_edges: Vec<(usize, usize)>,
    pub outer_paths: Vec<(usize, usize)>,
    /// Estimated rows touched.
    pub cost: f64,
    /// The conjuncts of the WHERE clause (kept for describing the time windows of a finding).
    pub conditions: Vec<CExpr>,
    /// Per node slot, the nodes a binding must belong to (see `prune`); computed on the first
    /// run against the snapshot the plan was made for, then reused.
    pub need: std::sync::OnceLock<Needs>,
}

impl Plan {
    /// Whether node `x` may be bound to slot `slot` (always, before pruning sets exist).
    #[inline]
    pub(crate) fn allows(&self, slot: usize, x: u32) -> bool {
        self.need
            .get()
            .and_then(|v| v.slots.get(slot))
            .is_none_or(|n| allows(n, x))
    }

    /// Whether expansion step `step` can lead anywhere from the current bindings (`nodes`,
    /// per node slot): when the next step closes a triangle back to a node bound earlier, the
    /// pair (this step's `from`, that node) must be one the two edges can join (see [`Pairs`]).
    #[inline]
    pub(crate) fn pair_allows(&self, step: usize, nodes: &[u32]) -> bool {
        match self.need.get().and_then(|v| v.pairs.get(step)) {
            Some(Some(p)) => p.set.contains(&pair(nodes[p.from], nodes[p.other])),
            _ => true,
        }
    }

    /// Whether a walk of step `step` with `left` edges still to go should expand from `x`.
    #[inline]
    pub(crate) fn walk_allows(&self, step: usize, left: u32, x: u32) -> bool {
        self.need
            .get()
            .and_then(|v| v.walks.get(step))
            .and_then(|w| w.get(left as usize - 1))
            .is_none_or(|b| contains(b, x))
    }
}

/// Names of the RETURN items, in slot order.
pub(crate) const RETURN_NAMES: [&str; 4] = ["official", "target", "target2", "ref"];

/// A node property, resolved to where it is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NodeProp {
    Id,
    Name,
    Kind,
    /// The main date column, meaningful for one kind (birth, founded, published, signed, paid).
    MainDate(NodeKind),
    Death,
    Identifier(NodeKind),
    Listed,
    Blacklisted,
    Official,
    Amount,
    Budget,
    Phone,
    Address,
    /// How many companies share the node's normalised phone / address.
    PhoneShared,
    AddressShared,
    Title,
}

/// An edge property.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EdgeProp {
    Start,
    End,
    Label,
    Kind,
    Value,
    Won,
    Submitted,
}

/// Which edge a property is read from.
#[derive(Clone, Copy, Debug)]
pub(crate) enum EdgeAt {
    /// A single-edge variable.
    Slot(usize),
    /// The first edge of a path variable.
    First(usize),
    /// The last edge of a path variable.
    Last(usize),
}

/// A literal.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum CLit {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Date(i32),
}

/// A compiled expression: variables resolved to slots, properties to the columns that hold
/// them, labels to codes (see `compile.rs`; evaluated by `expr.rs`).
#[derive(Clone, Debug)]
pub(crate) enum CExpr {
    Lit(CLit),
    Node(usize),
    /// A node variable the matched branch does not bind (grades over UNION branches).
    Missing,
    NodeProp(usize, NodeProp),
    EdgeProp(EdgeAt, EdgeProp),
    /// A path or edge variable as a value (for `=`), or len/first/last.
    Len(PathOrEdge),
    ValidAt(PathOrEdge, Box<CExpr>),
    Controlling(PathOrEdge),
    During(Box<CExpr>, PathOrEdge),
    Not(Box<CExpr>),
    And(Vec<CExpr>),
    Or(Vec<CExpr>),
    Cmp(CmpOp, Box<CExpr>, Box<CExpr>),
    Within {
        a: Box<CExpr>,
        days: i32,
        after: bool,
        b: Box<CExpr>,
    },
    IsNull(Box<CExpr>, bool),
    In(Box<CExpr>, Vec<CLit>),
    KindTest(usize, KindMask),
    Arith(char, Box<CExpr>, Box<CExpr>),
    Exists(Box<Plan>),
    /// An extra column (`t.deadline`), read from the snapshot once when the rule is compiled.
    Col(ColAt, std::sync::Arc<Column>),
}

/// Where an extra column is read: a node slot or an edge.
#[derive(Clone, Copy, Debug)]
pub(crate) enum ColAt {
    Node(usize),
    Edge(EdgeAt),
}

/// An extra column's typed values: by node, or by (edge kind, edge index) packed as
/// `kind << 32 | index`. Missing and unreadable values are absent (null).
#[derive(Debug, Default)]
pub(crate) struct Column {
    pub name: String,
    /// Read as dates (a time window when a rule compares it).
    pub date: bool,
    pub values: rustc_hash::FxHashMap<u64, CLit>,
}

/// A path or a single edge, as function arguments take them.
#[derive(Clone, Copy, Debug)]
pub(crate) enum PathOrEdge {
    Path(usize),
    Edge(usize),
    Missing,
}

/// A set of nodes, one bit per node.
pub(crate) type Bits = Vec<u64>;

/// Whether node `i` is in the set `b`.
#[inline]
pub(crate) fn contains(b: &[u64], i: u32) -> bool {
    b.get(i as usize / 64)
        .is_some_and(|w| w & (1 << (i % 64)) != 0)
}

/// What pruning knows about a plan: per node slot, the nodes a binding there must belong to
/// (`None`: any); per variable-length step, the `within` sets of `prune::reach`.
#[derive(Clone, Debug, Default)]
pub(crate) struct Needs {
    pub slots: Vec<Option<Bits>>,
    pub walks: Vec<Vec<Bits>>,
    /// Per step, for an expansion whose next step is a check back to an earlier node.
    pub pairs: Vec<Option<Pairs>>,
}

/// The pairs (x, z) such that an expansion from `x` reaches some `y` that the following check
/// connects to `z`.
///
/// Why: `relative_wins` reaches some 600,000 (company, official's agency) bindings; expanding
/// each company's contracts and checking each contract's agency costs two random reads per
/// contract, and 1 in 5,000 passes. The pairs that can pass are a small set (one per
/// contract) built by one sequential pass over the contracts, and a lookup in it stays in
/// cache.
#[derive(Clone, Debug)]
pub(crate) struct Pairs {
    /// Slot of the expansion's `from` node.
    pub from: usize,
    /// Slot of the node the check connects back to.
    pub other: usize,
    pub set: rustc_hash::FxHashSet<u64>,
}

/// The key of a pair.
#[inline]
pub(crate) fn pair(x: u32, z: u32) -> u64 {
    (u64::from(x) << 32) | u64::from(z)
}

/// Whether node `x` may be bound to a slot with requirement `need`.
#[inline]
pub(crate) fn allows(need: &Option<Bits>, x: u32) -> bool {
    need.as_ref().is_none_or(|b| contains(b, x))
}
