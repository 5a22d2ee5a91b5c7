//! Running a plan: depth-first over its steps from every start item, in parallel over start
//! items with rayon. Each complete match yields a finding key (official, target, target2, ref)
//! and a witness; per key the witness with the fewest edges, then the smallest sequence of
//! bundle-id ranks along the chain, then what its edges say (kind, validity, label), then the
//! earliest source rows, is kept. The choice does not depend on the order in which threads find
//! matches, so output is deterministic; and it depends on the rows' order in their files only
//! between facts equal in all else, so a refresh that moves rows keeps the same evidence.

use super::expr::Val;
use super::graph::{each_edge, label_ok, Bind, EdgeRef, Walks, G};
use super::ir::{CExpr, ChainItem, KindMask, Needs, Plan, RelSpec, Start, Step};
use super::prune::{self, Pruning};
use qinglian_model::{EdgeKind, NodeKind};
use qinglian_rules::ast::Dir;
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// A finding key: node ids of official, target, target2, ref (`u32::MAX` when absent).
pub(crate) type Key = [u32; 4];

/// How a witness compares: fewer edges first, then ranks along the chain, then what the edges
/// say — kind, validity interval, label (two positions of one official at one agency: the
/// earlier; an owner and a director shared: the owner), whatever the row order of the extract or
/// the loads it came in — then source rows.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct WitKey {
    /// Colour first (0 red, 1 yellow, 2 green): the evidence kept must justify the colour.
    pub colour: u8,
    /// Then how doubtful the identity links it crosses make it, in millionths (`1 − Π p`):
    /// 0 for a chain that crosses none, so a direct chain always beats one through a link.
    pub doubt: u32,
    pub edges: u32,
    pub ranks: Vec<u32>,
    pub facts: Vec<(u8, i32, i32, u32)>,
    pub sources: Vec<(u32, u32)>,
}

/// The best witness found for a key.
#[derive(Clone, Debug)]
pub(crate) struct Best {
    pub wit: WitKey,
    pub branch: usize,
    pub bind: Bind,
}

/// Deadline and cancellation shared by the workers of one query.
#[derive(Debug)]
pub(crate) struct Limits {
    pub deadline: Option<Instant>,
    pub stop: AtomicBool,
}

impl Limits {
    pub(crate) fn new(deadline: Option<Instant>) -> Limits {
        Limits {
            deadline,
            stop: AtomicBool::new(false),
        }
    }

    fn expired(&self) -> bool {
        if self.stop.load(Ordering::Relaxed) {
            return true;
        }
        if self.deadline.is_some_and(|d| Instant::now() > d) {
            self.stop.store(true, Ordering::Relaxed);
            return true;
        }
        false
    }
}

/// Where complete matches go.
trait Sink {
    /// Takes a match; returns false to stop the search (EXISTS).
    fn take(&mut self, g: &G<'_>, plan: &Plan, b: &Bind) -> bool;
}

struct Collect<'p> {
    branch: usize,
    best: FxHashMap<Key, Best>,
    grader: &'p Grader<'p>,
}

/// How a match is coloured: the rule's grades (first that holds) or its default.
pub(crate) struct Grader<'p> {
    pub grades: &'p [(qinglian_rules::Severity, CExpr)],
    pub default: qinglian_rules::Severity,
}

impl Grader<'_> {
    pub(crate) fn colour(&self, g: &G<'_>, b: &Bind) -> qinglian_rules::Severity {
        self.grades
            .iter()
            .find(|(_, e)| g.truth(e, b) == Some(true))
            .map_or(self.default, |(s, _)| *s)
    }
}

fn colour_rank(s: qinglian_rules::Severity) -> u8 {
    match s {
        qinglian_rules::Severity::Red => 0,
        qinglian_rules::Severity::Yellow => 1,
        qinglian_rules::Severity::Green => 2,
    }
}

impl Sink for Collect<'_> {
    fn take(&mut self, g: &G<'_>, plan: &Plan, b: &Bind) -> bool {
        let key: Key = std::array::from_fn(|i| plan.returns[i].map_or(u32::MAX, |s| b.nodes[s]));
        let mut wit = witness(g, plan, b);
        wit.colour = colour_rank(self.grader.colour(g, b));
        match self.best.get_mut(&key) {
            Some(cur) if cur.wit <= wit => {}
            Some(cur) => {
                *cur = Best {
                    wit,
                    branch: self.branch,
                    bind: b.clone(),
                }
            }
            None => {
                self.best.insert(
                    key,
                    Best {
                        wit,
                        branch: self.branch,
                        bind: b.clone(),
                    },
                );
            }
        }
        true
    }
}

struct Any(bool);

impl Sink for Any {
    fn take(&mut self, _: &G<'_>, _: &Plan, _: &Bind) -> bool {
        self.0 = true;
        false
    }
}

/// The nodes and edges of a witness in chain order.
pub(crate) fn chain_items(
    g: &G<'_>,
    plan: &Plan,
    b: &Bind,
) -> Vec<Vec<(Option<u32>, Option<EdgeRef>)>> {
    let mut out = Vec::new();
    for part in &plan.chain {
        let mut items = Vec::new();
        let mut last_node = u32::MAX;
        for it in part {
            match it {
                ChainItem::Node(s) => {
                    // A path item has already emitted its far end.
                    if items
                        .last()
                        .is_none_or(|(n, _): &(Option<u32>, Option<EdgeRef>)| {
                            *n != Some(b.nodes[*s])
                        })
                    {
                        items.push((Some(b.nodes[*s]), None));
                    }
                    last_node = b.nodes[*s];
                }
                ChainItem::Edge(e) => items.push((None, Some(b.edges[*e]))),
                ChainItem::Path(p) => {
                    let mut cur = last_node;
                    for e in b.path(*p) {
                        items.push((None, Some(*e)));
                        let v = &g.ev[e.kind as usize];
                        let (s, d) = (v.src[e.idx as usize], v.dst[e.idx as usize]);
                        cur = if s == cur { d } else { s };
                        items.push((Some(cur), None));
                    }
                    last_node = cur;
                }
            }
        }
        out.push(items);
    }
    out
}

fn witness(g: &G<'_>, plan: &Plan, b: &Bind) -> WitKey {
    let mut w = WitKey {
        colour: 0,
        doubt: 0,
        edges: 0,
        ranks: Vec::with_capacity(16),
        facts: Vec::with_capacity(16),
        sources: Vec::with_capacity(16),
    };
    let mut sure = 1.0;
    for part in chain_items(g, plan, b) {
        for (n, e) in part {
            if let Some(n) = n {
                w.ranks.push(g.ranks[n as usize]);
            }
            if let Some(e) = e {
                w.edges += 1;
                let (k, i) = (e.kind as usize, e.idx as usize);
                if e.kind() == EdgeKind::SameAs {
                    sure *= g.ev[k].value(i).unwrap_or(0.0);
                }
                let iv = g.ev[k].interval(i);
                w.facts.push((e.kind, iv.start, iv.end, g.label_rank(k, i)));
                w.sources.push(g.ev[k].source(i));
            }
        }
    }
    w.doubt = ((1.0 - sure) * 1e6).round() as u32;
    w
}

#[inline]
fn kind_ok(g: &G<'_>, mask: &KindMask, n: u32) -> bool {
    mask == &[true; NodeKind::COUNT] || mask[g.kind_idx(n)]
}

/// Runs steps `i..` on `b`; returns false when the sink asked to stop.
fn go(g: &G<'_>, plan: &Plan, i: usize, b: &mut Bind, sink: &mut dyn Sink) -> bool {
    let Some(step) = plan.steps.get(i) else {
        return sink.take(g, plan, b);
    };
    match step {
        Step::Code {
            from,
            to,
            tag,
            to_bound,
            to_kinds,
        } => {
            let col = if *tag == 0 { g.phones } else { g.addrs };
            let code = col[b.nodes[*from] as usize];
            if code == 0 {
                return true;
            }
            if *to_bound {
                return if col[b.nodes[*to] as usize] == code {
                    go(g, plan, i + 1, b, sink)
                } else {
                    true
                };
            }
            for &y in g.snap.code_nodes(*tag, code) {
                if kind_ok(g, to_kinds, y) && g.node_known(y) && plan.allows(*to, y) {
                    b.nodes[*to] = y;
                    if !go(g, plan, i + 1, b, sink) {
                        return false;
                    }
                }
            }
            true
        }
        Step::Filter(c) => {
            if g.truth(c, b) == Some(true) {
                go(g, plan, i + 1, b, sink)
            } else {
                true
            }
        }
        Step::Given {
            slot,
            nodes,
            to_bound,
        } => {
            if *to_bound {
                return if nodes.binary_search(&b.nodes[*slot]).is_ok() {
                    go(g, plan, i + 1, b, sink)
                } else {
                    true
                };
            }
            for &n in nodes {
                if g.node_known(n) && plan.allows(*slot, n) {
                    b.nodes[*slot] = n;
                    if !go(g, plan, i + 1, b, sink) {
                        return false;
                    }
                }
            }
            true
        }
        Step::Expand {
            rel,
            from,
            to,
            from_left,
            to_bound,
            edge,
            to_kinds,
        } => {
            if !plan.pair_allows(i, &b.nodes) {
                return true;
            }
            let (cur, target) = (b.nodes[*from], b.nodes[*to]);
            each_edge(g, rel, *from_left, cur, |e, far| {
                if *to_bound {
                    if far != target {
                        return true;
                    }
                } else {
                    if !kind_ok(g, to_kinds, far) || !g.node_known(far) || !plan.allows(*to, far) {
                        return true;
                    }
                    b.nodes[*to] = far;
                }
                b.edges[*edge] = e;
                go(g, plan, i + 1, b, sink)
            })
        }
        Step::Path {
            rel,
            from,
            to,
            from_left,
            to_bound,
            path,
            lo,
            hi,
            valid_at,
            to_kinds,
        } => {
            let day = match valid_at {
                Some(d) => match g.eval(d, b) {
                    Val::Date(d) => Some(d),
                    _ => return true, // valid_at(_, null) is never true
                },
                None => None,
            };
            let cur = b.nodes[*from];
            let target = if *to_bound { Some(b.nodes[*to]) } else { None };
            // Walks from the same node without a per-binding date or end are the same: the
            // previous binding's are reused (start items come sorted by node).
            let reusable = day.is_none() && target.is_none();
            if b.memo.len() <= i {
                b.memo.resize_with(plan.steps.len(), Default::default);
            }
            let mut walks = std::mem::take(&mut b.memo[i]);
            if !(reusable && walks.key == Some(cur)) {
                walks.ends.clear();
                walks.edges.clear();
                walks.offs.clear();
                walks.offs.push(0);
                let spec = PathSpec {
                    rel,
                    from_left: *from_left,
                    lo: *lo,
                    hi: *hi,
                    day,
                    to_kinds,
                    target,
                    plan,
                    to: *to,
                    step: i,
                };
                let mut trail = Vec::with_capacity(*hi as usize);
                collect(g, &spec, cur, &mut trail, &mut walks);
                walks.key = if reusable { Some(cur) } else { None };
            }
            let mut more = true;
            for (j, &end) in walks.ends.iter().enumerate() {
                let (a, z) = (walks.offs[j] as usize, walks.offs[j + 1] as usize);
                let start = b.stack.len();
                // Paths are kept in pattern order (left to right) while later steps read them.
                if *from_left {
                    b.stack.extend_from_slice(&walks.edges[a..z]);
                } else {
                    b.stack.extend(walks.edges[a..z].iter().rev());
                }
                b.paths[*path] = (start as u32, (z - a) as u32);
                if target.is_none() {
                    b.nodes[*to] = end;
                }
                more = go(g, plan, i + 1, b, sink);
                b.stack.truncate(start);
                if !more {
                    break;
                }
            }
            b.memo[i] = walks;
            more
        }
    }
}

struct PathSpec<'p> {
    rel: &'p RelSpec,
    from_left: bool,
    lo: u32,
    hi: u32,
    day: Option<i32>,
    to_kinds: &'p KindMask,
    target: Option<u32>,
    plan: &'p Plan,
    to: usize,
    step: usize,
}

/// Every trail of `lo..=hi` edges from `cur` (no edge twice), with its end node.
fn collect(g: &G<'_>, s: &PathSpec<'_>, cur: u32, trail: &mut Vec<EdgeRef>, out: &mut Walks) {
    let depth = trail.len() as u32;
    if depth >= s.lo {
        let ends_here = match s.target {
            Some(t) => cur == t,
            None => kind_ok(g, s.to_kinds, cur) && g.node_known(cur) && s.plan.allows(s.to, cur),
        };
        if ends_here {
            out.ends.push(cur);
            out.edges.extend_from_slice(trail);
            out.offs.push(out.edges.len() as u32);
        }
    }
    if depth == s.hi {
        return;
    }
    // Past the first node (which the slot's own set has vetted), expand only nodes from which
    // the edges left can still reach an allowed end.
    if depth > 0 && s.target.is_none() && !s.plan.walk_allows(s.step, s.hi - depth, cur) {
        return;
    }
    each_edge(g, s.rel, s.from_left, cur, |e, far| {
        if let Some(d) = s.day {
            if !g.ev[e.kind as usize].interval(e.idx as usize).contains(d) {
                return true;
            }
        }
        if trail.contains(&e) {
            return true;
        }
        trail.push(e);
        collect(g, s, far, trail, out);
        trail.pop();
        true
    });
}

/// Whether an EXISTS sub-plan has a match given the outer bindings.
pub(crate) fn exists(g: &G<'_>, plan: &Plan, outer: &Bind) -> bool {
    let mut b = Bind::new(plan.n_nodes, plan.n_edges, plan.n_paths);
    for &(o, i) in &plan.outer_nodes {
        b.nodes[i] = outer.nodes[o];
    }
    for &(o, i) in &plan.outer_edges {
        b.edges[i] = outer.edges[o];
    }
    for &(o, i) in &plan.outer_paths {
        let es = outer.path(o);
        let s = b.stack.len() as u32;
        b.stack.extend_from_slice(es);
        b.paths[i] = (s, es.len() as u32);
    }
    let mut sink = Any(false);
    go(g, plan, 0, &mut b, &mut sink);
    sink.0
}

/// Runs one branch over every start item; returns the best witness per key, and whether the
/// deadline cut the run short.
pub(crate) fn run_branch(
    g: &G<'_>,
    plan: &Plan,
    grader: &Grader<'_>,
    branch: usize,
    limits: &Limits,
    pruning: Pruning,
) -> (FxHashMap<Key, Best>, bool) {
    // Start items: (kind index of edge or u8::MAX for nodes, index).
    let items: Vec<(u8, u32, u32)> = match &plan.start {
        Start::Nodes { kinds, .. } => (0..NodeKind::COUNT)
            .filter(|&k| kinds[k])
            .flat_map(|k| {
                let (a, z) = (g.kind_start[k], g.kind_start[k + 1]);
                (a..z)
                    .step_by(2048)
                    .map(move |s| (u8::MAX, s, (s + 2048).min(z)))
            })
            .collect(),
        Start::Edges { rel, .. } => rel
            .types
            .iter()
            .flat_map(|t| {
                let m = g.ev[t.kind as usize].len() as u32;
                (0..m)
                    .step_by(2048)
                    .map(move |s| (t.kind, s, (s + 2048).min(m)))
            })
            .collect(),
        Start::Bound => Vec::new(),
        // Given nodes: a handful, one item each (the kind byte is unused).
        Start::Given { nodes, .. } => (0..nodes.len() as u32).map(|i| (0, i, i + 1)).collect(),
    };
    plan.need.get_or_init(|| match pruning {
        Pruning::Never => Needs::default(),
        Pruning::Always => prune::needs(g, plan, true),
        Pruning::Auto => prune::needs(g, plan, false),
    });
    let merged = items
        .par_iter()
        .fold(
            || Collect {
                branch,
                best: FxHashMap::default(),
                grader,
            },
            |mut acc, &(k, lo, hi)| {
                if limits.expired() {
                    return acc;
                }
                let mut b = Bind::new(plan.n_nodes, plan.n_edges, plan.n_paths);
                for x in lo..hi {
                    start_one(g, plan, k, x, &mut b, &mut acc);
                }
                acc
            },
        )
        .reduce(
            || Collect {
                branch,
                best: FxHashMap::default(),
                grader,
            },
            |mut a, b| {
                for (k, v) in b.best {
                    match a.best.get_mut(&k) {
                        Some(cur) if cur.wit <= v.wit => {}
                        Some(cur) => *cur = v,
                        None => {
                            a.best.insert(k, v);
                        }
                    }
                }
                a
            },
        );
    let cut = limits.stop.load(Ordering::Relaxed);
    (merged.best, cut)
}

fn start_one(g: &G<'_>, plan: &Plan, k: u8, x: u32, b: &mut Bind, sink: &mut dyn Sink) {
    match &plan.start {
        Start::Nodes { slot, .. } => {
            if g.node_known(x) && plan.allows(*slot, x) {
                b.nodes[*slot] = x;
                go(g, plan, 0, b, sink);
            }
        }
        Start::Edges {
            rel,
            a,
            b: bb,
            edge,
            a_kinds,
            b_kinds,
        } => {
            let Some(t) = rel.types.iter().find(|t| t.kind == k) else {
                return;
            };
            let v = &g.ev[k as usize];
            let e = x as usize;
            if !g.edge_known(k as usize, e) {
                return;
            }
            let (s, d) = (v.src[e], v.dst[e]);
            // The pattern's left node is the tail for `->`, the head for `<-`; either for `-`.
            let orient: &[(u32, u32, bool)] = match rel.dir {
                Dir::Out => &[(s, d, false)],
                Dir::In => &[(d, s, false)],
                Dir::Both => &[(s, d, false), (d, s, true)],
            };
            for &(left, right, inverted) in orient {
                if rel.dir == Dir::Both && s == d && inverted {
                    continue; // a self-loop read both ways is the same binding
                }
                if !label_ok(g, t, e, inverted)
                    || !kind_ok(g, a_kinds, left)
                    || !kind_ok(g, b_kinds, right)
                {
                    continue;
                }
                if !g.node_known(left)
                    || !g.node_known(right)
                    || !plan.allows(*a, left)
                    || !plan.allows(*bb, right)
                {
                    continue;
                }
                b.nodes[*a] = left;
                b.nodes[*bb] = right;
                b.edges[*edge] = EdgeRef { kind: k, idx: x };
                go(g, plan, 0, b, sink);
            }
        }
        Start::Bound => {}
        Start::Given { slot, nodes } => {
            let n = nodes[x as usize];
            if g.node_known(n) && plan.allows(*slot, n) {
                b.nodes[*slot] = n;
                go(g, plan, 0, b, sink);
            }
        }
    }
}
