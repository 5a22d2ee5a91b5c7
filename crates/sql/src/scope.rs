//! Patterns unrolled into variants: one join per choice of node kind and path length, so that
//! every variant is a plain equi-join that DuckDB and Spark plan well (an `OR` between
//! orientations would become a nested-loop join on Spark). An edge pattern with several types
//! or directions reads, when staged, the union of its choices (`hops.rs`); unstaged, it is
//! unrolled into one variant per choice too.

use crate::{Dialect, SqlError};
use qinglian_model::kinds::inverse_relation;
use qinglian_model::{EdgeKind, NodeKind};
use qinglian_rules::ast::{Dir, EdgeType, PathPattern};
use qinglian_rules::check::{VarKind, Vars};
use std::collections::BTreeMap;

/// More variants than this is no portable SQL any more (a rule of long untyped paths).
const MAX_VARIANTS: usize = 4096;

/// One edge as bound in a variant: its table alias and what the table is.
#[derive(Clone, Debug)]
pub(crate) struct EdgeBind {
    pub alias: String,
    pub shape: Shape,
}

/// What an edge's table alias reads.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Shape {
    /// One kind's table, and whether the pattern reads it from its head (the left node is the
    /// edge's `to`), which inverts RELATION and DECLARED labels.
    Table { kind: EdgeKind, inverted: bool },
    /// The union of several choices, with the columns `hops.rs` describes.
    Union,
}

impl EdgeBind {
    /// The column of the end the pattern walks to.
    pub fn far(&self, d: Dialect) -> String {
        match self.shape {
            Shape::Table { inverted: true, .. } => format!("{}.{}", self.alias, d.quote("from")),
            Shape::Table { .. } => format!("{}.{}", self.alias, d.quote("to")),
            Shape::Union => format!("{}.far", self.alias),
        }
    }

    /// The edge's kind name, as SQL text.
    pub fn kind_name(&self) -> String {
        match self.shape {
            Shape::Table { kind, .. } => format!("'{kind}'"),
            Shape::Union => format!("{}.kname", self.alias),
        }
    }

    /// The edge kind's index as two digits, as SQL text (the witness orders kinds by it).
    pub fn kind_index(&self) -> String {
        match self.shape {
            Shape::Table { kind, .. } => format!("'{:02}'", kind.index()),
            Shape::Union => format!("{}.kix", self.alias),
        }
    }
}

/// What a variable is in one variant.
#[derive(Clone, Debug)]
pub(crate) enum Bound {
    Node { alias: String, kind: NodeKind },
    Edge(EdgeBind),
    Path(Vec<EdgeBind>),
}

/// One variant of a branch (or of an `EXISTS` body, on top of the outer one's bindings).
#[derive(Clone, Debug, Default)]
pub(crate) struct Variant {
    /// `table alias` items of the FROM list added by this level.
    pub from: Vec<String>,
    /// Join conditions added by this level.
    pub joins: Vec<String>,
    /// Pairs of aliases joined on an equality (an edge and the node or edge it continues).
    pub links: Vec<(String, String)>,
    /// Every variable bound, this level's and the outer ones'.
    pub vars: BTreeMap<String, Bound>,
}

/// Names aliases uniquely across a whole rule (EXISTS bodies included).
#[derive(Debug, Default)]
pub(crate) struct Aliases(u32);

impl Aliases {
    fn next(&mut self, p: &str) -> String {
        self.0 += 1;
        format!("{p}{}", self.0)
    }
}

/// Every variant of `patterns` on top of `outer`, the new level's FROM and joins only;
/// `staged`: an edge pattern of several choices reads their union instead of unrolling them.
pub(crate) fn expand(
    patterns: &[PathPattern],
    vars: &Vars,
    outer: &Variant,
    d: Dialect,
    staged: bool,
    aliases: &mut Aliases,
) -> Result<Vec<Variant>, SqlError> {
    let start = Variant {
        vars: outer.vars.clone(),
        ..Variant::default()
    };
    let mut out = vec![start];
    for p in patterns {
        for (i, n) in p.nodes.iter().enumerate() {
            out = bind_node(out, &n.var, vars, aliases)?;
            if let Some(r) = p.rels.get(i) {
                let right = &p.nodes[i + 1].var;
                out = bind_node(out, right, vars, aliases)?;
                let mut next = Vec::new();
                for v in out {
                    next.extend(bind_rel(v, (&n.var, right), r, (d, staged), aliases)?);
                    if next.len() > MAX_VARIANTS {
                        return Err(SqlError::TooLarge(MAX_VARIANTS));
                    }
                }
                out = next;
            }
        }
    }
    Ok(out)
}

/// Binds a node variable to a table of each of its kinds (one variant per kind).
fn bind_node(
    vs: Vec<Variant>,
    var: &str,
    vars: &Vars,
    aliases: &mut Aliases,
) -> Result<Vec<Variant>, SqlError> {
    let kinds = match vars.get(var).map(|v| &v.kind) {
        Some(VarKind::Node(k)) if !k.is_empty() => k.clone(),
        _ => NodeKind::ALL.to_vec(),
    };
    let mut out = Vec::new();
    for v in vs {
        if v.vars.contains_key(var) {
            out.push(v);
            continue;
        }
        for k in &kinds {
            let mut w = v.clone();
            let alias = aliases.next("n");
            w.from.push(format!("n_{k} {alias}"));
            w.vars
                .insert(var.to_owned(), Bound::Node { alias, kind: *k });
            out.push(w);
        }
    }
    Ok(out)
}

/// The node id column of a bound node variable.
pub(crate) fn node_id(v: &Variant, var: &str) -> Option<String> {
    match v.vars.get(var) {
        Some(Bound::Node { alias, .. }) => Some(format!("{alias}.id")),
        _ => None,
    }
}

/// One hop choice: a type and whether it is read from the edge's head.
pub(crate) type Hop<'t> = (&'t EdgeType, bool);

/// One hop of a variant: a single choice, or (staged) the union of them all.
#[derive(Clone, Copy)]
enum Step<'t> {
    One(Hop<'t>),
    Any,
}

fn hop_choices(types: &[EdgeType], dir: Dir) -> Vec<Hop<'_>> {
    let mut out = Vec::new();
    for t in types {
        match dir {
            Dir::Out => out.push((t, false)),
            Dir::In => out.push((t, true)),
            Dir::Both => {
                out.push((t, false));
                out.push((t, true));
            }
        }
    }
    out
}

/// The hop sequences of an edge pattern: every length, and per hop every choice (unrolled)
/// or their union (staged, when there are several).
fn sequences<'t>(
    choices: &[Hop<'t>],
    (lo, hi): (u32, u32),
    staged: bool,
) -> Result<Vec<Vec<Step<'t>>>, SqlError> {
    let mut seqs: Vec<Vec<Step<'t>>> = Vec::new();
    for n in lo..=hi {
        if staged && choices.len() > 1 {
            seqs.push(vec![Step::Any; n as usize]);
            continue;
        }
        let mut level: Vec<Vec<Step<'t>>> = vec![Vec::new()];
        for _ in 0..n {
            level = level
                .into_iter()
                .flat_map(|s| {
                    choices.iter().map(move |c| {
                        let mut t = s.clone();
                        t.push(Step::One(*c));
                        t
                    })
                })
                .collect();
            if level.len() > MAX_VARIANTS {
                return Err(SqlError::TooLarge(MAX_VARIANTS));
            }
        }
        seqs.extend(level);
    }
    Ok(seqs)
}

/// Binds an edge pattern between two bound nodes: one variant per length and sequence of
/// choices (a choice being a type and direction, or, staged, their union).
fn bind_rel(
    v: Variant,
    (left, right): (&str, &str),
    r: &qinglian_rules::ast::RelPat,
    (d, staged): (Dialect, bool),
    aliases: &mut Aliases,
) -> Result<Vec<Variant>, SqlError> {
    let (Some(a), Some(b)) = (node_id(&v, left), node_id(&v, right)) else {
        return Err(SqlError::Unsupported(
            "an edge between unbound nodes".into(),
        ));
    };
    let choices = hop_choices(&r.types, r.dir);
    let mut out = Vec::new();
    for seq in sequences(&choices, r.hops.unwrap_or((1, 1)), staged)? {
        let mut w = v.clone();
        let mut cur = a.clone();
        let mut hops: Vec<EdgeBind> = Vec::new();
        for (i, step) in seq.iter().enumerate() {
            let hop = bind_hop(&mut w, &cur, *step, &choices, d, aliases);
            for h in &hops {
                if distinct_needed(h, &hop) {
                    w.joins
                        .push(format!("{}.edge <> {}.edge", h.alias, hop.alias));
                }
            }
            cur = hop.far(d);
            if i + 1 == seq.len() {
                w.joins.push(format!("{cur} = {b}"));
                w.links.push((hop.alias.clone(), alias_of(&b)));
            }
            hops.push(hop);
        }
        if seq.is_empty() {
            w.joins.push(format!("{a} = {b}"));
            w.links.push((alias_of(&a), alias_of(&b)));
        }
        let bound = match r.hops {
            None => Bound::Edge(hops.remove(0)),
            Some(_) => Bound::Path(hops),
        };
        w.vars.insert(r.var.clone(), bound);
        out.push(w);
    }
    Ok(out)
}

/// Adds one hop from `cur` to variant `w`: its table, the join to `cur`, and (one choice) its
/// label filter and minimum, which a union applies inside.
fn bind_hop(
    w: &mut Variant,
    cur: &str,
    step: Step<'_>,
    choices: &[Hop<'_>],
    d: Dialect,
    aliases: &mut Aliases,
) -> EdgeBind {
    let alias = aliases.next("e");
    let bind = match step {
        Step::One((t, inverted)) => {
            let near = if inverted { "to" } else { "from" };
            w.from.push(format!("e_{} {alias}", t.kind));
            w.joins.push(format!("{alias}.{} = {cur}", d.quote(near)));
            if let Some(f) = label_filter(&alias, t, inverted) {
                w.joins.push(f);
            }
            if let Some(m) = t.min {
                w.joins
                    .push(format!("{alias}.{} >= {m}", value_column(t.kind)));
            }
            Shape::Table {
                kind: t.kind,
                inverted,
            }
        }
        Step::Any => {
            w.from
                .push(format!("{} {alias}", crate::hops::table(choices, d)));
            w.joins.push(format!("{alias}.near = {cur}"));
            Shape::Union
        }
    };
    w.links.push((alias.clone(), alias_of(cur)));
    EdgeBind { alias, shape: bind }
}

/// Whether a path must state that two of its hops are different edges: always when either is
/// a union (edge ids are unique across kinds), else when they are of one kind.
fn distinct_needed(a: &EdgeBind, b: &EdgeBind) -> bool {
    match (a.shape, b.shape) {
        (Shape::Table { kind: x, .. }, Shape::Table { kind: y, .. }) => x == y,
        _ => true,
    }
}

/// The table alias of a column reference `alias.column`.
fn alias_of(column: &str) -> String {
    column.split('.').next().unwrap_or(column).to_owned()
}

/// `v` with its FROM items listed in the order of `order` (variable names; a path's hops in
/// the order written, its items of one rank), the items of variables it does not name last:
/// [`ordered_from`] then keeps that order wherever the joins allow.
pub(crate) fn prioritised(v: &Variant, order: &[String]) -> Variant {
    let mut rank: BTreeMap<&str, usize> = BTreeMap::new();
    for (var, b) in &v.vars {
        let r = order.iter().position(|o| o == var).unwrap_or(order.len());
        match b {
            Bound::Node { alias, .. } => {
                rank.insert(alias, r);
            }
            Bound::Edge(e) => {
                rank.insert(&e.alias, r);
            }
            Bound::Path(hops) => {
                for e in hops {
                    rank.insert(&e.alias, r);
                }
            }
        }
    }
    let mut w = v.clone();
    let key = |item: &String| {
        let alias = item.rsplit(' ').next().unwrap_or("");
        rank.get(alias).copied().unwrap_or(order.len())
    };
    w.from.sort_by_key(key);
    w
}

/// The FROM list of a variant, ordered so that every table joins one listed before it (or an
/// outer query's) on an equality whenever the pattern allows.
///
/// Why: Spark's join reordering takes, at each step, the first later table sharing *any*
/// condition with those already joined. With a node listed before the edge reaching it, a
/// temporal condition (`c.signed DURING p`) joined the contract to the position first, as a
/// nested loop; a second pattern (`(a2)-[…]->(s2)-[…]->(x)`) began with a table joined to
/// nothing but `a1 <> a2`. On 20,000 people that made `relative_wins` run for minutes instead
/// of seconds. DuckDB orders joins itself; the order costs it nothing.
pub(crate) fn ordered_from(v: &Variant) -> Vec<String> {
    let alias = |item: &String| item.rsplit(' ').next().unwrap_or("").to_owned();
    let mine: Vec<String> = v.from.iter().map(alias).collect();
    let mut placed: Vec<String> = Vec::new();
    let mut left: Vec<usize> = (0..v.from.len()).collect();
    let mut out = Vec::new();
    while !left.is_empty() {
        let joined = |i: usize| {
            v.links.iter().any(|(x, y)| {
                let other = if *x == mine[i] {
                    y
                } else if *y == mine[i] {
                    x
                } else {
                    return false;
                };
                placed.contains(other) || !mine.contains(other)
            })
        };
        let at = left.iter().position(|&i| joined(i)).unwrap_or(0);
        let i = left.remove(at);
        placed.push(mine[i].clone());
        out.push(v.from[i].clone());
    }
    out
}

/// The column holding an edge kind's value: OWNS's share, every other kind's amount (a
/// SAME_AS link's probability is exported as its amount, `qinglian_export::table`).
pub(crate) fn value_column(k: EdgeKind) -> &'static str {
    match k {
        EdgeKind::Owns => "share_pct",
        _ => "amount",
    }
}

/// The label of edge table `alias` of kind `k` as the pattern reads it: from the head
/// (`inverted`), a RELATION or DECLARED `parent` is a `child` and the other way round.
pub(crate) fn read_label(alias: &str, k: EdgeKind, inverted: bool) -> String {
    if inverted && inverts(k) {
        format!(
            "(CASE {alias}.label WHEN 'parent' THEN 'child' WHEN 'child' THEN 'parent' ELSE {alias}.label END)"
        )
    } else {
        format!("{alias}.label")
    }
}

/// Whether edge table `alias` of kind `k` alone controls its company (`controlling`): a share
/// of 50 % or more, or a legal representative's role; never unknown.
pub(crate) fn controls(alias: &str, k: EdgeKind) -> String {
    match k {
        EdgeKind::Owns => format!("COALESCE({alias}.share_pct >= 50, FALSE)"),
        EdgeKind::Role => format!("COALESCE({alias}.label = 'legal_rep', FALSE)"),
        _ => "FALSE".into(),
    }
}

/// Whether labels of `k` read inverted from the head's side.
pub(crate) fn inverts(k: EdgeKind) -> bool {
    matches!(k, EdgeKind::Relation | EdgeKind::Declared)
}

/// The label filter of a type read from one side, as a condition.
pub(crate) fn label_filter(alias: &str, t: &EdgeType, inverted: bool) -> Option<String> {
    if t.labels.is_empty() {
        return None;
    }
    let mut set: Vec<String> = t
        .labels
        .iter()
        .map(|l| {
            if inverted && inverts(t.kind) {
                inverse_relation(l).to_owned()
            } else {
                l.clone()
            }
        })
        .collect();
    set.sort();
    set.dedup();
    let list: Vec<String> = set.iter().map(|l| crate::expr::text_lit(l)).collect();
    let list = list.join(", ");
    // A row without a label passes `{!a|b}`, as in the engine.
    Some(if t.negated {
        format!("({alias}.label IS NULL OR {alias}.label NOT IN ({list}))")
    } else {
        format!("{alias}.label IN ({list})")
    })
}
