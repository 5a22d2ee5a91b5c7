//! The planner's cost model: what expanding an edge pattern from a bound end is expected to
//! produce and cost (degrees per edge type and node kind from the snapshot's statistics, label
//! fractions, guessed filter selectivities), and the branch-and-bound search over expansion
//! orders that `plan.rs` runs with it. Kept apart from the plan so that a change of an estimate
//! is reviewed as one, against `tests/golden/explain/`.

use super::compile::Outer;
use super::ir::{KindMask, TypeSpec};
use crate::snapshot::Snapshot;
use qinglian_model::{EdgeKind, NodeKind};
use qinglian_rules::ast::{Dir, EdgeType, Expr};
use std::collections::BTreeMap;

/// An edge pattern between node slots `a` (left) and `b` (right), as the order search sees it.
pub(super) struct Rel<'q> {
    pub(super) a: usize,
    pub(super) b: usize,
    pub(super) var: &'q str,
    pub(super) types: &'q [EdgeType],
    pub(super) dir: Dir,
    pub(super) hops: Option<(u32, u32)>,
    /// A virtual edge: nodes sharing this code column (0 phone, 1 address).
    pub(super) code: Option<usize>,
    /// Not an edge: the nodes the caller gave for node slot `a` (= `b`), by index into
    /// [`Layout::given`]. Binds the slot when it is free, checks it when bound.
    pub(super) given: Option<usize>,
}

/// Whether a step over `r` reads from its left end (`a`). An expansion reads from its bound end;
/// a check (both ends bound) reads the end with the shorter lists on average: a contract's one
/// AWARDED edge, not its agency's thousands. The cost model and the emitted step both ask
/// here: costing a check from the bound-first side once charged relative_wins' "this agency
/// awarded this contract" at contracts-per-agency rows, a figure that grows with the data, and
/// flipped the plan from 3M people up to a start 3.6x slower.
pub(super) fn reads_forward(
    r: &Rel<'_>,
    bound: &[bool],
    masks: &[KindMask],
    snap: &Snapshot,
) -> bool {
    if bound[r.a] && bound[r.b] && r.hops.is_none() && r.code.is_none() && r.given.is_none() {
        let specs = type_specs(r.types, snap);
        let from_a = degree(snap, &specs, r.dir, true, &masks[r.a]);
        let from_b = degree(snap, &specs, r.dir, false, &masks[r.b]);
        return from_a <= from_b;
    }
    bound[r.a]
}

pub(super) struct Cond<'q> {
    pub(super) expr: &'q Expr,
    pub(super) vars: Vec<String>,
}

pub(super) fn type_specs(types: &[EdgeType], snap: &Snapshot) -> Vec<TypeSpec> {
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
                min: t.min,
            }
        })
        .collect()
}

/// Fraction of a kind's edges that pass a label filter.
pub(super) fn label_fraction(snap: &Snapshot, t: &TypeSpec) -> f64 {
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
pub(super) fn degree(
    snap: &Snapshot,
    types: &[TypeSpec],
    dir: Dir,
    forward: bool,
    kinds: &KindMask,
) -> f64 {
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
pub(super) fn far_kinds(types: &[TypeSpec], dir: Dir, forward: bool) -> KindMask {
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

pub(super) fn and(m: &KindMask, n: &KindMask) -> KindMask {
    std::array::from_fn(|i| m[i] && n[i])
}

pub(super) fn count(snap: &Snapshot, kinds: &KindMask) -> f64 {
    (0..NodeKind::COUNT)
        .filter(|&k| kinds[k])
        .map(|k| snap.stats().nodes[k] as f64)
        .sum()
}

/// Selectivity guess of a condition.
pub(super) fn selectivity(e: &Expr) -> f64 {
    match e {
        Expr::Cmp(qinglian_rules::ast::CmpOp::Ne, ..) => 0.95,
        Expr::IsNull(_, false, _) => 0.9,
        Expr::Exists(..) => 0.5,
        Expr::Not(inner) if matches!(**inner, Expr::Exists(..)) => 0.9,
        _ => 0.3,
    }
}

pub(super) struct Search<'a, 'q> {
    pub(super) rels: &'a [Rel<'q>],
    pub(super) masks: &'a [KindMask],
    pub(super) conds: &'a [Cond<'q>],
    pub(super) snap: &'a Snapshot,
    pub(super) node_slot: &'a BTreeMap<String, usize>,
    pub(super) given: &'a [(usize, Vec<u32>)],
    pub(super) outer: Option<&'a Outer<'a>>,
}

impl Search<'_, '_> {
    pub(super) fn is_bound(&self, v: &str, bound: &[bool], done: &[bool]) -> bool {
        if let Some(&s) = self.node_slot.get(v) {
            return bound[s];
        }
        if let Some(i) = self.rels.iter().position(|r| r.var == v) {
            return done[i];
        }
        self.outer
            .is_some_and(|o| o.plan_edges.contains_key(v) || o.plan_paths.contains_key(v))
    }

    pub(super) fn apply(
        &self,
        rows: &mut f64,
        applied: &mut [bool],
        bound: &[bool],
        done: &[bool],
    ) {
        for (j, c) in self.conds.iter().enumerate() {
            if !applied[j] && c.vars.iter().all(|v| self.is_bound(v, bound, done)) {
                applied[j] = true;
                *rows *= selectivity(c.expr);
            }
        }
    }

    /// Output rows and work of expanding rel `i` from its bound side.
    pub(super) fn step(&self, i: usize, bound: &[bool]) -> (f64, f64) {
        let r = &self.rels[i];
        // Costed from the side the emitted step will read (the same function decides both).
        let forward = reads_forward(r, bound, self.masks, self.snap);
        let (from, to) = if forward { (r.a, r.b) } else { (r.b, r.a) };
        if let Some(j) = r.given {
            let n = self.given[j].1.len() as f64;
            return if bound[r.a] {
                (
                    (n / count(self.snap, &self.masks[r.a]).max(1.0)).min(1.0),
                    1.0,
                )
            } else {
                (n, n)
            };
        }
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
    pub(super) fn search(
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
            if done[i] || !(bound[r.a] || bound[r.b] || r.given.is_some()) {
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
