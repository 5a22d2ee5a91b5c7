//! Planning a rule branch: slots for variables, a start (a scan of a node kind or of an edge
//! kind), an order of expansions chosen by estimated cost, and each filter placed at the
//! first step where all its variables are bound. `valid_at(path, date)` whose date is known
//! before the path is expanded is pushed into the expansion and checked edge by edge.

use super::expr::{CExpr, CLit, EdgeAt, EdgeProp, NodeProp, PathOrEdge};
use crate::snapshot::Snapshot;
use crate::EngineError;
use qinglian_model::{EdgeKind, NodeKind};
use qinglian_rules::ast::{Branch, Dir, EdgeType, Expr, Lit, PathPattern};
use qinglian_rules::check::{VarKind, Vars};
use std::collections::BTreeMap;

/// One edge kind an edge pattern accepts, with its label filter.
#[derive(Clone, Debug)]
pub(crate) struct TypeSpec {
    pub kind: u8,
    /// Accepted label codes (`None`: every label).
    pub mask: Option<Vec<bool>>,
}

/// An edge pattern between a left node A and a right node B, as written.
#[derive(Clone, Debug)]
pub(crate) struct RelSpec {
    pub types: Vec<TypeSpec>,
    pub dir: Dir,
}

/// The node kinds a variable may take, indexed by [`NodeKind::index`].
pub(crate) type KindMask = [bool; NodeKind::COUNT];

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
}

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
    pub need: std::sync::OnceLock<super::prune::Needs>,
}

impl Plan {
    /// Whether node `x` may be bound to slot `slot` (always, before pruning sets exist).
    #[inline]
    pub(crate) fn allows(&self, slot: usize, x: u32) -> bool {
        self.need
            .get()
            .and_then(|v| v.slots.get(slot))
            .is_none_or(|n| super::prune::allows(n, x))
    }

    /// Whether expansion step `step` can lead anywhere from the current bindings: when the
    /// next step closes a triangle back to a node bound earlier, the pair (this step's
    /// `from`, that node) must be one the two edges can join (see `prune::Pairs`).
    #[inline]
    pub(crate) fn pair_allows(&self, step: usize, b: &super::graph::Bind) -> bool {
        match self.need.get().and_then(|v| v.pairs.get(step)) {
            Some(Some(p)) => p
                .set
                .contains(&super::prune::pair(b.nodes[p.from], b.nodes[p.other])),
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
            .is_none_or(|b| super::prune::allows_bits(b, x))
    }
}

/// Names of the RETURN items, in slot order.
pub(crate) const RETURN_NAMES: [&str; 4] = ["official", "target", "target2", "ref"];

struct Rel<'q> {
    a: usize,
    b: usize,
    var: &'q str,
    types: &'q [EdgeType],
    dir: Dir,
    hops: Option<(u32, u32)>,
    /// A virtual edge: nodes sharing this code column (0 phone, 1 address).
    code: Option<usize>,
}

/// Whether a step over `r` reads from its left end (`a`). An expansion reads from its bound end;
/// a check (both ends bound) reads the end with the shorter lists on average: a contract's one
/// AWARDED edge, not its agency's thousands. The cost model and the emitted step both ask
/// here: costing a check from the bound-first side once charged relative_wins' "this agency
/// awarded this contract" at contracts-per-agency rows, a figure that grows with the data, and
/// flipped the plan from 3M people up to a start 3.6x slower.
fn reads_forward(r: &Rel<'_>, bound: &[bool], masks: &[KindMask], snap: &Snapshot) -> bool {
    if bound[r.a] && bound[r.b] && r.hops.is_none() && r.code.is_none() {
        let specs = type_specs(r.types, snap);
        let from_a = degree(snap, &specs, r.dir, true, &masks[r.a]);
        let from_b = degree(snap, &specs, r.dir, false, &masks[r.b]);
        return from_a <= from_b;
    }
    bound[r.a]
}

/// `x.phone = y.phone` / `x.address = y.address` between two node variables.
fn code_join(e: &Expr) -> Option<(&str, &str, usize)> {
    let Expr::Cmp(qinglian_rules::ast::CmpOp::Eq, a, b, _) = e else {
        return None;
    };
    let (Expr::Prop(x, pa, _), Expr::Prop(y, pb, _)) = (&**a, &**b) else {
        return None;
    };
    let (Expr::Var(x, _), Expr::Var(y, _)) = (&**x, &**y) else {
        return None;
    };
    let tag = match (pa.as_str(), pb.as_str()) {
        ("phone", "phone") => 0,
        ("address", "address") => 1,
        _ => return None,
    };
    Some((x, y, tag))
}

struct Cond<'q> {
    expr: &'q Expr,
    vars: Vec<String>,
}

/// Everything known about the outer query when planning an EXISTS body.
pub(crate) struct Outer<'p> {
    pub plan_nodes: &'p BTreeMap<String, usize>,
    pub plan_edges: &'p BTreeMap<String, usize>,
    pub plan_paths: &'p BTreeMap<String, usize>,
}

fn kinds_mask(kinds: &[NodeKind]) -> KindMask {
    let mut m = [kinds.is_empty(); NodeKind::COUNT];
    for k in kinds {
        m[k.index()] = true;
    }
    m
}

fn node_kinds(vars: &Vars, name: &str) -> Vec<NodeKind> {
    match vars.get(name).map(|v| &v.kind) {
        Some(VarKind::Node(k)) => k.clone(),
        _ => Vec::new(),
    }
}

fn type_specs(types: &[EdgeType], snap: &Snapshot) -> Vec<TypeSpec> {
    types
        .iter()
        .map(|t| {
            let mask = if t.labels.is_empty() {
                None
            } else {
                Some(
                    snap.labels(t.kind)
                        .iter()
                        .map(|l| t.labels.iter().any(|x| x == l) != t.negated)
                        .collect(),
                )
            };
            TypeSpec {
                kind: t.kind.index() as u8,
                mask,
            }
        })
        .collect()
}

/// Fraction of a kind's edges that pass a label filter.
fn label_fraction(snap: &Snapshot, t: &TypeSpec) -> f64 {
    let Some(mask) = &t.mask else { return 1.0 };
    let counts = snap
        .stats()
        .labels
        .get(t.kind as usize)
        .cloned()
        .unwrap_or_default();
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return 0.0;
    }
    let hit: u64 = counts
        .iter()
        .zip(mask)
        .filter(|(_, m)| **m)
        .map(|(c, _)| c)
        .sum();
    hit as f64 / total as f64
}

/// Average number of edges of `types` per node of `kinds`, following `dir` seen from the
/// pattern's left side when `forward`.
fn degree(snap: &Snapshot, types: &[TypeSpec], dir: Dir, forward: bool, kinds: &KindMask) -> f64 {
    let st = snap.stats();
    let nodes: u64 = (0..NodeKind::COUNT)
        .filter(|&k| kinds[k])
        .map(|k| st.nodes[k])
        .sum();
    if nodes == 0 {
        return 0.0;
    }
    let mut d = 0.0;
    for t in types {
        let k = t.kind as usize;
        let out: u64 = (0..NodeKind::COUNT)
            .filter(|&x| kinds[x])
            .map(|x| st.by_tail_kind[k][x])
            .sum();
        let inc: u64 = (0..NodeKind::COUNT)
            .filter(|&x| kinds[x])
            .map(|x| st.by_head_kind[k][x])
            .sum();
        let n = match (dir, forward) {
            (Dir::Out, true) | (Dir::In, false) => out,
            (Dir::In, true) | (Dir::Out, false) => inc,
            (Dir::Both, _) => out + inc,
        };
        d += n as f64 * label_fraction(snap, t);
    }
    d / nodes as f64
}

/// The node kinds an edge pattern can reach from one side.
fn far_kinds(types: &[TypeSpec], dir: Dir, forward: bool) -> KindMask {
    let mut m = [false; NodeKind::COUNT];
    for t in types {
        let k = EdgeKind::ALL[t.kind as usize];
        let (fk, tk) = (k.from_kinds(), k.to_kinds());
        let lists: Vec<&[NodeKind]> = match (dir, forward) {
            (Dir::Out, true) | (Dir::In, false) => vec![tk],
            (Dir::In, true) | (Dir::Out, false) => vec![fk],
            (Dir::Both, _) => vec![tk, fk],
        };
        for l in lists {
            for x in l {
                m[x.index()] = true;
            }
        }
    }
    m
}

fn and(m: &KindMask, n: &KindMask) -> KindMask {
    std::array::from_fn(|i| m[i] && n[i])
}

fn count(snap: &Snapshot, kinds: &KindMask) -> f64 {
    (0..NodeKind::COUNT)
        .filter(|&k| kinds[k])
        .map(|k| snap.stats().nodes[k] as f64)
        .sum()
}

fn flatten<'q>(e: &'q Expr, out: &mut Vec<&'q Expr>) {
    match e {
        Expr::And(v) => v.iter().for_each(|x| flatten(x, out)),
        other => out.push(other),
    }
}

/// Free variables of an expression (variables of EXISTS bodies that the body binds itself are
/// not free).
fn free_vars(e: &Expr, out: &mut Vec<String>) {
    match e {
        Expr::Exists(q, _) => {
            let mut local = Vec::new();
            for p in &q.patterns {
                for n in &p.nodes {
                    local.push(n.var.clone());
                }
                for r in &p.rels {
                    local.push(r.var.clone());
                }
            }
            let mut inner = Vec::new();
            for p in &q.patterns {
                for n in &p.nodes {
                    inner.push(n.var.clone());
                }
            }
            if let Some(f) = &q.filter {
                f.vars(&mut inner);
            }
            // Variables mentioned in the body that the outer query binds are free; the rest
            // are the body's own. The caller intersects with what the outer query binds.
            out.extend(inner);
        }
        other => other.vars(out),
    }
}

/// Selectivity guess of a condition.
fn selectivity(e: &Expr) -> f64 {
    match e {
        Expr::Cmp(qinglian_rules::ast::CmpOp::Ne, ..) => 0.95,
        Expr::IsNull(_, false, _) => 0.9,
        Expr::Exists(..) => 0.5,
        Expr::Not(inner) if matches!(**inner, Expr::Exists(..)) => 0.9,
        _ => 0.3,
    }
}

/// Plans a branch (or an EXISTS body, when `outer` is given).
pub(crate) fn plan_branch(
    patterns: &[PathPattern],
    filter: Option<&Expr>,
    returns: &[qinglian_rules::ast::ReturnItem],
    vars: &Vars,
    snap: &Snapshot,
    outer: Option<&Outer<'_>>,
) -> Result<Plan, EngineError> {
    let err = |m: String| EngineError::Rule {
        rule: String::new(),
        message: m,
    };
    let mut node_slot: BTreeMap<String, usize> = BTreeMap::new();
    let mut edge_slot: BTreeMap<String, usize> = BTreeMap::new();
    let mut path_slot: BTreeMap<String, usize> = BTreeMap::new();
    let mut plan_chain = Vec::new();
    let mut rels: Vec<Rel<'_>> = Vec::new();
    // Outer variables first, so that a sub-plan can copy them in.
    let (mut outer_nodes, mut outer_edges, mut outer_paths) = (Vec::new(), Vec::new(), Vec::new());
    let mut mentioned = Vec::new();
    for p in patterns {
        mentioned.extend(p.nodes.iter().map(|n| n.var.clone()));
        mentioned.extend(p.rels.iter().map(|r| r.var.clone()));
    }
    if let Some(f) = filter {
        free_vars(f, &mut mentioned);
    }
    if let Some(o) = outer {
        for v in &mentioned {
            if let Some(&s) = o.plan_nodes.get(v) {
                if !node_slot.contains_key(v) {
                    let i = node_slot.len();
                    node_slot.insert(v.clone(), i);
                    outer_nodes.push((s, i));
                }
            } else if let Some(&s) = o.plan_edges.get(v) {
                if !edge_slot.contains_key(v) {
                    let i = edge_slot.len();
                    edge_slot.insert(v.clone(), i);
                    outer_edges.push((s, i));
                }
            } else if let Some(&s) = o.plan_paths.get(v) {
                if !path_slot.contains_key(v) {
                    let i = path_slot.len();
                    path_slot.insert(v.clone(), i);
                    outer_paths.push((s, i));
                }
            }
        }
    }
    for p in patterns {
        let mut chain = Vec::new();
        for (i, n) in p.nodes.iter().enumerate() {
            let len = node_slot.len();
            let s = *node_slot.entry(n.var.clone()).or_insert(len);
            chain.push(ChainItem::Node(s));
            if i < p.rels.len() {
                let r = &p.rels[i];
                let next = &p.nodes[i + 1];
                let len = node_slot.len();
                let b = *node_slot.entry(next.var.clone()).or_insert(len);
                match r.hops {
                    None => {
                        let len = edge_slot.len();
                        let e = *edge_slot.entry(r.var.clone()).or_insert(len);
                        chain.push(ChainItem::Edge(e));
                    }
                    Some(_) => {
                        let len = path_slot.len();
                        let e = *path_slot.entry(r.var.clone()).or_insert(len);
                        chain.push(ChainItem::Path(e));
                    }
                }
                rels.push(Rel {
                    a: s,
                    b,
                    var: &r.var,
                    types: &r.types,
                    dir: r.dir,
                    hops: r.hops,
                    code: None,
                });
            }
        }
        plan_chain.push(chain);
    }
    let mut masks = vec![[true; NodeKind::COUNT]; node_slot.len()];
    for (name, &s) in &node_slot {
        masks[s] = kinds_mask(&node_kinds(vars, name));
    }
    // Conditions and the variables they need.
    let mut conj = Vec::new();
    if let Some(f) = filter {
        flatten(f, &mut conj);
    }
    for c in &conj {
        if let Some((x, y, tag)) = code_join(c) {
            if let (Some(&a), Some(&b)) = (node_slot.get(x), node_slot.get(y)) {
                rels.push(Rel {
                    a,
                    b,
                    var: "",
                    types: &[],
                    dir: Dir::Both,
                    hops: None,
                    code: Some(tag),
                });
            }
        }
    }
    let all_bound: Vec<String> = node_slot
        .keys()
        .chain(edge_slot.keys())
        .chain(path_slot.keys())
        .cloned()
        .collect();
    let conds: Vec<Cond<'_>> = conj
        .into_iter()
        .map(|e| {
            let mut v = Vec::new();
            free_vars(e, &mut v);
            v.retain(|x| all_bound.contains(x));
            v.sort();
            v.dedup();
            Cond { expr: e, vars: v }
        })
        .collect();

    // Candidate starts.
    enum Cand {
        Node(usize),
        Edge(usize),
        Bound,
    }
    let mut cands: Vec<(Cand, f64)> = Vec::new();
    if outer.is_some() {
        cands.push((Cand::Bound, 1.0));
    } else {
        for (s, m) in masks.iter().enumerate() {
            if *m != [true; NodeKind::COUNT] {
                cands.push((Cand::Node(s), count(snap, m)));
            }
        }
        for (i, r) in rels.iter().enumerate() {
            if r.hops.is_none() && r.code.is_none() {
                let specs = type_specs(r.types, snap);
                let rows: f64 = specs
                    .iter()
                    .map(|t| snap.stats().edges[t.kind as usize] as f64 * label_fraction(snap, t))
                    .sum();
                cands.push((Cand::Edge(i), rows));
            }
        }
    }
    let slot_name = |s: usize| {
        node_slot
            .iter()
            .find(|(_, v)| **v == s)
            .map(|(k, _)| k.clone())
            .unwrap_or_default()
    };
    let mut best: Option<(f64, Start, Vec<usize>, Vec<bool>)> = None;
    for (cand, rows0) in cands {
        let mut bound = vec![false; node_slot.len()];
        let mut done = vec![false; rels.len()];
        let start = match cand {
            Cand::Node(s) => {
                bound[s] = true;
                Start::Nodes {
                    slot: s,
                    kinds: masks[s],
                }
            }
            Cand::Edge(i) => {
                let r = &rels[i];
                bound[r.a] = true;
                bound[r.b] = true;
                done[i] = true;
                Start::Edges {
                    rel: RelSpec {
                        types: type_specs(r.types, snap),
                        dir: r.dir,
                    },
                    a: r.a,
                    b: r.b,
                    edge: edge_slot[r.var],
                    a_kinds: masks[r.a],
                    b_kinds: masks[r.b],
                }
            }
            Cand::Bound => {
                for &(_, i) in &outer_nodes {
                    bound[i] = true;
                }
                Start::Bound
            }
        };
        // Every connected order of the remaining edges, cheapest under the cost model
        // (patterns have a handful of edges, so the search is small; branch and bound).
        let ctx = Search {
            rels: &rels,
            masks: &masks,
            conds: &conds,
            snap,
            node_slot: &node_slot,
            outer,
        };
        let mut applied = vec![false; conds.len()];
        let mut rows = rows0;
        ctx.apply(&mut rows, &mut applied, &bound, &done);
        let bound_cost = best.as_ref().map_or(f64::INFINITY, |b| b.0);
        let mut found: Option<(f64, Vec<usize>)> = None;
        ctx.search(
            &mut bound,
            &mut done,
            &mut applied,
            rows,
            rows0,
            &mut Vec::new(),
            bound_cost,
            &mut found,
        );
        if let Some((cost, order)) = found {
            if best.as_ref().is_none_or(|b| cost < b.0) {
                best = Some((cost, start, order, Vec::new()));
            }
        }
    }
    let Some((cost, start, order, _)) = best else {
        return Err(err(
            "no way to plan this pattern: every part must connect to a node whose kind is known"
                .into(),
        ));
    };

    // Emit steps along the chosen order.
    let mut bound = vec![false; node_slot.len()];
    let mut done = vec![false; rels.len()];
    let mut steps = Vec::new();
    let mut applied = vec![false; conds.len()];
    match &start {
        Start::Nodes { slot, .. } => bound[*slot] = true,
        Start::Edges { a, b, edge, .. } => {
            bound[*a] = true;
            bound[*b] = true;
            if let Some(i) = rels
                .iter()
                .position(|r| r.hops.is_none() && edge_slot.get(r.var) == Some(edge))
            {
                done[i] = true;
            }
        }
        Start::Bound => {
            for &(_, i) in &outer_nodes {
                bound[i] = true;
            }
        }
    }
    let cx = Compile {
        node: &node_slot,
        edge: &edge_slot,
        path: &path_slot,
        vars,
        snap,
    };
    let bound_now = |v: &str, bound: &[bool], done: &[bool]| -> bool {
        if let Some(&s) = node_slot.get(v) {
            return bound[s];
        }
        if let Some(i) = rels.iter().position(|r| r.var == v) {
            return done[i];
        }
        edge_slot.contains_key(v) || path_slot.contains_key(v)
    };
    let emit_filters = |steps: &mut Vec<Step>,
                        applied: &mut Vec<bool>,
                        bound: &[bool],
                        done: &[bool]|
     -> Result<(), EngineError> {
        for (j, c) in conds.iter().enumerate() {
            if !applied[j] && c.vars.iter().all(|v| bound_now(v, bound, done)) {
                applied[j] = true;
                steps.push(Step::Filter(cx.expr(c.expr)?));
            }
        }
        Ok(())
    };
    // Checks (single edges whose ends are both bound) run as soon as they can, before the
    // conditions that became evaluable at the same point: a check touches one short adjacency
    // list and is usually far more selective (in relative_wins, "this agency awarded this
    // contract" keeps 1 binding in 5,000; the date window keeps 1 in 4).
    let order = {
        let mut b = bound.clone();
        let mut placed = vec![false; rels.len()];
        let mut out = Vec::with_capacity(order.len());
        let is_check = |j: usize, b: &[bool]| {
            rels[j].hops.is_none() && rels[j].code.is_none() && b[rels[j].a] && b[rels[j].b]
        };
        let push_checks = |b: &[bool], placed: &mut Vec<bool>, out: &mut Vec<usize>| {
            for &j in &order {
                if !placed[j] && !done[j] && is_check(j, b) {
                    placed[j] = true;
                    out.push(j);
                }
            }
        };
        push_checks(&b, &mut placed, &mut out);
        for &i in &order {
            if placed[i] {
                continue;
            }
            placed[i] = true;
            out.push(i);
            b[rels[i].a] = true;
            b[rels[i].b] = true;
            push_checks(&b, &mut placed, &mut out);
        }
        out
    };
    let check_next = |k: usize, bound: &[bool], done: &[bool]| {
        order.get(k).is_some_and(|&j| {
            !done[j]
                && rels[j].hops.is_none()
                && rels[j].code.is_none()
                && bound[rels[j].a]
                && bound[rels[j].b]
        })
    };
    if !check_next(0, &bound, &done) {
        emit_filters(&mut steps, &mut applied, &bound, &done)?;
    }
    for (pos, &i) in order.iter().enumerate() {
        let r = &rels[i];
        let forward = reads_forward(r, &bound, &masks, snap);
        let (from, to) = if forward { (r.a, r.b) } else { (r.b, r.a) };
        if let Some(tag) = r.code {
            steps.push(Step::Code {
                from,
                to,
                tag,
                to_bound: bound[to],
                to_kinds: masks[to],
            });
            bound[to] = true;
            done[i] = true;
            if !check_next(pos + 1, &bound, &done) {
                emit_filters(&mut steps, &mut applied, &bound, &done)?;
            }
            continue;
        }
        let specs = type_specs(r.types, snap);
        let far = far_kinds(&specs, r.dir, forward);
        let to_kinds = masks[to];
        let check_kinds = if far.iter().zip(&to_kinds).all(|(f, t)| !*f || *t) {
            [true; NodeKind::COUNT]
        } else {
            to_kinds
        };
        let rel = RelSpec {
            types: specs,
            dir: r.dir,
        };
        match r.hops {
            None => steps.push(Step::Expand {
                rel,
                from,
                to,
                from_left: forward,
                to_bound: bound[to],
                edge: edge_slot[r.var],
                to_kinds: check_kinds,
            }),
            Some((lo, hi)) => {
                // valid_at(this path, date) whose date is already known: check per edge.
                let mut valid_at = None;
                for (j, c) in conds.iter().enumerate() {
                    if applied[j] {
                        continue;
                    }
                    if let Expr::Call(f, args, _) = c.expr {
                        if f == "valid_at" && args.len() == 2 {
                            if let Expr::Var(v, _) = &args[0] {
                                let mut dv = Vec::new();
                                args[1].vars(&mut dv);
                                if v == r.var && dv.iter().all(|x| bound_now(x, &bound, &done)) {
                                    valid_at = Some(cx.expr(&args[1])?);
                                    // Checked edge by edge while walking: no filter after.
                                    applied[j] = true;
                                }
                            }
                        }
                    }
                }
                let slot = path_slot[r.var];
                steps.push(Step::Path {
                    rel,
                    from,
                    to,
                    from_left: forward,
                    to_bound: bound[to],
                    path: slot,
                    lo,
                    hi,
                    valid_at,
                    to_kinds: check_kinds,
                });
            }
        }
        bound[to] = true;
        done[i] = true;
        if !check_next(pos + 1, &bound, &done) {
            emit_filters(&mut steps, &mut applied, &bound, &done)?;
        }
    }
    // Pushed conditions stay in the WHERE list for describing windows.
    let conditions = conds
        .iter()
        .map(|c| cx.expr(c.expr))
        .collect::<Result<Vec<_>, _>>()?;
    let _ = slot_name;
    let mut ret = [None; 4];
    for r in returns {
        if let Some(i) = RETURN_NAMES.iter().position(|n| *n == r.name) {
            ret[i] = node_slot.get(&r.var).copied();
        }
    }
    Ok(Plan {
        n_nodes: node_slot.len(),
        n_edges: edge_slot.len(),
        n_paths: path_slot.len(),
        node_slot,
        edge_slot,
        path_slot,
        start,
        steps,
        returns: ret,
        chain: plan_chain,
        outer_nodes,
        outer_edges,
        outer_paths,
        cost,
        conditions,
        need: std::sync::OnceLock::new(),
    })
}

/// Plans a whole branch.
pub(crate) fn plan(b: &Branch, vars: &Vars, snap: &Snapshot) -> Result<Plan, EngineError> {
    plan_branch(&b.patterns, b.filter.as_ref(), &b.returns, vars, snap, None)
}

/// Compiles expressions against slot maps.
pub(crate) struct Compile<'p> {
    pub node: &'p BTreeMap<String, usize>,
    pub edge: &'p BTreeMap<String, usize>,
    pub path: &'p BTreeMap<String, usize>,
    pub vars: &'p Vars,
    pub snap: &'p Snapshot,
}

impl Compile<'_> {
    fn path_or_edge(&self, e: &Expr) -> PathOrEdge {
        match e {
            Expr::Var(v, _) => {
                if let Some(&p) = self.path.get(v) {
                    PathOrEdge::Path(p)
                } else if let Some(&s) = self.edge.get(v) {
                    PathOrEdge::Edge(s)
                } else {
                    PathOrEdge::Missing
                }
            }
            _ => PathOrEdge::Missing,
        }
    }

    pub(crate) fn expr(&self, e: &Expr) -> Result<CExpr, EngineError> {
        Ok(match e {
            Expr::Lit(l, _) => CExpr::Lit(match l {
                Lit::Null => CLit::Null,
                Lit::Bool(b) => CLit::Bool(*b),
                Lit::Num(n) => CLit::Num(*n),
                Lit::Str(s) => CLit::Str(s.clone()),
                Lit::Date(d) => CLit::Date(*d),
            }),
            Expr::Var(v, _) => match self.node.get(v) {
                Some(&s) => CExpr::Node(s),
                None => CExpr::Missing,
            },
            Expr::Prop(base, name, _) => self.prop(base, name),
            Expr::Call(f, args, _) => match f.as_str() {
                "len" => CExpr::Len(self.path_or_edge(&args[0])),
                "valid_at" => {
                    CExpr::ValidAt(self.path_or_edge(&args[0]), Box::new(self.expr(&args[1])?))
                }
                "controlling" => CExpr::Controlling(self.path_or_edge(&args[0])),
                other => {
                    return Err(EngineError::Rule {
                        rule: String::new(),
                        message: format!("{other}() cannot be used as a value"),
                    })
                }
            },
            Expr::Not(x) => CExpr::Not(Box::new(self.expr(x)?)),
            Expr::And(v) => CExpr::And(v.iter().map(|x| self.expr(x)).collect::<Result<_, _>>()?),
            Expr::Or(v) => CExpr::Or(v.iter().map(|x| self.expr(x)).collect::<Result<_, _>>()?),
            Expr::Cmp(op, a, b, _) => {
                CExpr::Cmp(*op, Box::new(self.expr(a)?), Box::new(self.expr(b)?))
            }
            Expr::During(a, b, _) => CExpr::During(Box::new(self.expr(a)?), self.path_or_edge(b)),
            Expr::Within {
                a, days, after, b, ..
            } => CExpr::Within {
                a: Box::new(self.expr(a)?),
                days: *days,
                after: *after,
                b: Box::new(self.expr(b)?),
            },
            Expr::IsNull(a, n, _) => CExpr::IsNull(Box::new(self.is_null_operand(a)?), *n),
            Expr::In(a, lits, _) => CExpr::In(
                Box::new(self.expr(a)?),
                lits.iter()
                    .map(|l| match l {
                        Lit::Null => CLit::Null,
                        Lit::Bool(b) => CLit::Bool(*b),
                        Lit::Num(n) => CLit::Num(*n),
                        Lit::Str(s) => CLit::Str(s.clone()),
                        Lit::Date(d) => CLit::Date(*d),
                    })
                    .collect(),
            ),
            Expr::KindTest(v, kinds, _) => match self.node.get(v) {
                Some(&s) => CExpr::KindTest(s, kinds_mask(kinds)),
                None => CExpr::Lit(CLit::Null),
            },
            Expr::Arith(op, a, b, _) => {
                CExpr::Arith(*op, Box::new(self.expr(a)?), Box::new(self.expr(b)?))
            }
            Expr::Exists(q, _) => {
                let outer = Outer {
                    plan_nodes: self.node,
                    plan_edges: self.edge,
                    plan_paths: self.path,
                };
                let sub = plan_branch(
                    &q.patterns,
                    q.filter.as_ref(),
                    &[],
                    self.vars,
                    self.snap,
                    Some(&outer),
                )?;
                CExpr::Exists(Box::new(sub))
            }
        })
    }

    /// `v IS NULL` on a node variable tests whether the matched branch binds it.
    fn is_null_operand(&self, e: &Expr) -> Result<CExpr, EngineError> {
        if let Expr::Var(v, _) = e {
            if self.node.contains_key(v) {
                return Ok(CExpr::Lit(CLit::Bool(true)));
            }
            if self.edge.contains_key(v) || self.path.contains_key(v) {
                return Ok(CExpr::Lit(CLit::Bool(true)));
            }
            return Ok(CExpr::Missing);
        }
        self.expr(e)
    }

    fn prop(&self, base: &Expr, name: &str) -> CExpr {
        match base {
            Expr::Var(v, _) => {
                if let Some(&s) = self.node.get(v) {
                    let kinds = node_kinds(self.vars, v);
                    return match node_prop(&kinds, name) {
                        Some(p) => CExpr::NodeProp(s, p),
                        None => CExpr::Lit(CLit::Null),
                    };
                }
                if let Some(&s) = self.edge.get(v) {
                    return edge_prop(name).map_or(CExpr::Lit(CLit::Null), |p| {
                        CExpr::EdgeProp(EdgeAt::Slot(s), p)
                    });
                }
                CExpr::Missing
            }
            Expr::Call(f, args, _) if f == "first" || f == "last" => {
                match self.path_or_edge(&args[0]) {
                    PathOrEdge::Path(p) => edge_prop(name).map_or(CExpr::Lit(CLit::Null), |ep| {
                        CExpr::EdgeProp(
                            if f == "first" {
                                EdgeAt::First(p)
                            } else {
                                EdgeAt::Last(p)
                            },
                            ep,
                        )
                    }),
                    PathOrEdge::Edge(s) => edge_prop(name).map_or(CExpr::Lit(CLit::Null), |ep| {
                        CExpr::EdgeProp(EdgeAt::Slot(s), ep)
                    }),
                    PathOrEdge::Missing => CExpr::Missing,
                }
            }
            _ => CExpr::Lit(CLit::Null),
        }
    }
}

fn node_prop(kinds: &[NodeKind], name: &str) -> Option<NodeProp> {
    let main = |k: NodeKind| {
        if kinds.is_empty() || kinds.contains(&k) {
            Some(NodeProp::MainDate(k))
        } else {
            None
        }
    };
    Some(match name {
        "id" => NodeProp::Id,
        "name" => NodeProp::Name,
        "kind" => NodeProp::Kind,
        "birth_date" => return main(NodeKind::Person),
        "founded" => return main(NodeKind::Company),
        "published" => return main(NodeKind::Tender),
        "signed" => return main(NodeKind::Contract),
        "paid" => return main(NodeKind::Subsidy),
        "death_date" => NodeProp::Death,
        "id_number" => NodeProp::Identifier(NodeKind::Person),
        "credit_code" => NodeProp::Identifier(NodeKind::Company),
        "listed" => NodeProp::Listed,
        "blacklisted" => NodeProp::Blacklisted,
        "official" => NodeProp::Official,
        "amount" => NodeProp::Amount,
        "budget" => NodeProp::Budget,
        "phone" => NodeProp::Phone,
        "address" => NodeProp::Address,
        "title" => NodeProp::Title,
        _ => return None,
    })
}

fn edge_prop(name: &str) -> Option<EdgeProp> {
    Some(match name {
        "start" => EdgeProp::Start,
        "end" => EdgeProp::End,
        "label" | "relation" | "role" | "title" => EdgeProp::Label,
        "kind" => EdgeProp::Kind,
        "share_pct" | "amount" => EdgeProp::Value,
        "won" => EdgeProp::Won,
        "submitted" => EdgeProp::Submitted,
        _ => return None,
    })
}

struct Search<'a, 'q> {
    rels: &'a [Rel<'q>],
    masks: &'a [KindMask],
    conds: &'a [Cond<'q>],
    snap: &'a Snapshot,
    node_slot: &'a BTreeMap<String, usize>,
    outer: Option<&'a Outer<'a>>,
}

impl Search<'_, '_> {
    fn is_bound(&self, v: &str, bound: &[bool], done: &[bool]) -> bool {
        if let Some(&s) = self.node_slot.get(v) {
            return bound[s];
        }
        if let Some(i) = self.rels.iter().position(|r| r.var == v) {
            return done[i];
        }
        self.outer
            .is_some_and(|o| o.plan_edges.contains_key(v) || o.plan_paths.contains_key(v))
    }

    fn apply(&self, rows: &mut f64, applied: &mut [bool], bound: &[bool], done: &[bool]) {
        for (j, c) in self.conds.iter().enumerate() {
            if !applied[j] && c.vars.iter().all(|v| self.is_bound(v, bound, done)) {
                applied[j] = true;
                *rows *= selectivity(c.expr);
            }
        }
    }

    /// Output rows and work of expanding rel `i` from its bound side.
    fn step(&self, i: usize, bound: &[bool]) -> (f64, f64) {
        let r = &self.rels[i];
        // Costed from the side the emitted step will read (the same function decides both).
        let forward = reads_forward(r, bound, self.masks, self.snap);
        let (from, to) = if forward { (r.a, r.b) } else { (r.b, r.a) };
        if let Some(tag) = r.code {
            let st = self.snap.stats();
            let per = st.code_pairs[tag] as f64 / (st.code_nodes[tag].max(1) as f64);
            return if bound[to] {
                (1.0 / per.max(1.0), 1.0)
            } else {
                (per, per)
            };
        }
        let specs = type_specs(r.types, self.snap);
        let d1 = degree(self.snap, &specs, r.dir, forward, &self.masks[from]);
        let far = far_kinds(&specs, r.dir, forward);
        let d2 = degree(self.snap, &specs, r.dir, forward, &far);
        let work = match r.hops {
            None => d1,
            Some((lo, hi)) => {
                let mut t = if lo == 0 { 1.0 } else { 0.0 };
                let mut walk = d1;
                for h in 1..=hi {
                    if h >= lo {
                        t += walk;
                    }
                    walk *= d2;
                }
                t
            }
        };
        let out = if bound[to] {
            (work / count(self.snap, &and(&far, &self.masks[to])).max(1.0)).min(1.0)
        } else {
            work
        };
        (out, work)
    }

    #[allow(clippy::too_many_arguments)]
    fn search(
        &self,
        bound: &mut Vec<bool>,
        done: &mut Vec<bool>,
        applied: &mut Vec<bool>,
        rows: f64,
        cost: f64,
        order: &mut Vec<usize>,
        limit: f64,
        best: &mut Option<(f64, Vec<usize>)>,
    ) {
        let cap = best.as_ref().map_or(limit, |b| b.0.min(limit));
        if cost >= cap {
            return;
        }
        if done.iter().all(|d| *d) {
            *best = Some((cost, order.clone()));
            return;
        }
        for i in 0..self.rels.len() {
            let r = &self.rels[i];
            if done[i] || !(bound[r.a] || bound[r.b]) {
                continue;
            }
            let (out, work) = self.step(i, bound);
            let to = if bound[r.a] { r.b } else { r.a };
            let (was_bound, was_applied) = (bound[to], applied.clone());
            bound[to] = true;
            done[i] = true;
            order.push(i);
            let mut next = rows * out.max(1e-9);
            self.apply(&mut next, applied, bound, done);
            self.search(
                bound,
                done,
                applied,
                next,
                cost + rows * (1.0 + work),
                order,
                limit,
                best,
            );
            order.pop();
            done[i] = false;
            bound[to] = was_bound;
            *applied = was_applied;
        }
    }
}
