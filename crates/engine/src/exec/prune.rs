//! Semi-join pruning: before a branch runs, work out for every node variable a set of nodes
//! that could still complete a match once it is bound there, and drop a binding as soon as it
//! falls outside. The sets (`ir::Needs`) are plan data; this file computes them.
//!
//! Why: a depth-first executor spends most of its time on bindings that fail several steps
//! later. In `relative_wins`, an official has some twenty relatives within two family hops,
//! but only the few who control, within three ownership or role edges, a company that ever
//! signed a contract can lead anywhere. That set is computed once per query from the right
//! end of the plan backwards — `c` must be the party of some contract; `r` must reach such a
//! `c` through 1..3 control edges — by sequential scans of the edge arrays, which the machine
//! streams at memory bandwidth, instead of being discovered through random accesses for every
//! official. The sets ignore dates and `as_of` (they only over-approximate), so pruning never
//! loses a match.

use super::graph::{directions, each_edge, G};
use super::ir::{
    contains as get, pair, Bits, KindMask, Needs, Pairs, Plan, RelSpec, Step, TypeSpec,
};
use qinglian_model::{EdgeKind, NodeKind};
use qinglian_rules::ast::Dir;

/// When a run computes its pruning sets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Pruning {
    /// When the plan expects to touch more rows than the sets would cost to compute.
    #[default]
    Auto,
    /// Always (tests compare it with `Never`).
    Always,
    /// Never.
    Never,
}

/// Past this share of all nodes, a set prunes too little to pay for computing it further.
const DENSE: f64 = 0.5;

fn empty(n: usize) -> Bits {
    vec![0; n.div_ceil(64)]
}

#[inline]
fn set(b: &mut [u64], i: u32) {
    if let Some(w) = b.get_mut(i as usize / 64) {
        *w |= 1 << (i % 64);
    }
}

fn count(b: &[u64]) -> usize {
    b.iter().map(|w| w.count_ones() as usize).sum()
}

fn and_into(acc: &mut Option<Bits>, b: Bits) {
    match acc {
        Some(a) => a.iter_mut().zip(&b).for_each(|(x, y)| *x &= y),
        None => *acc = Some(b),
    }
}

/// The nodes of the kinds in `mask`.
fn kinds(g: &G<'_>, mask: &KindMask, n: usize) -> Option<Bits> {
    if mask == &[true; NodeKind::COUNT] {
        return None;
    }
    let mut b = empty(n);
    for (k, _) in mask.iter().enumerate().filter(|(_, on)| **on) {
        for i in g.kind_start[k]..g.kind_start[k + 1] {
            set(&mut b, i);
        }
    }
    Some(b)
}

/// Label check for an edge read from `cur`'s side, as the executor's `each_edge` does it.
#[inline]
fn label_ok(g: &G<'_>, rel: &RelSpec, t: usize, e: usize, inverted: bool) -> bool {
    let spec = &rel.types[t];
    let Some(mask) = &spec.mask else { return true };
    let kind = spec.kind as usize;
    let mut c = g.ev[kind].label(e);
    if inverted && matches!(EdgeKind::ALL[kind], EdgeKind::Relation | EdgeKind::Declared) {
        c = g
            .snap
            .inverse_labels(EdgeKind::ALL[kind])
            .get(c as usize)
            .copied()
            .unwrap_or(c);
    }
    mask.get(c as usize).copied().unwrap_or(false)
}

/// Per raw label code, whether an edge read from `cur`'s side passes `spec`'s label filter;
/// `None` when every label passes.
fn label_table(g: &G<'_>, spec: &TypeSpec, inverted: bool) -> Option<Vec<bool>> {
    let mask = spec.mask.as_ref()?;
    let kind = EdgeKind::ALL[spec.kind as usize];
    let inv = g.snap.inverse_labels(kind);
    let table: Vec<bool> = (0..g.snap.labels(kind).len())
        .map(|c| {
            let c = if inverted && matches!(kind, EdgeKind::Relation | EdgeKind::Declared) {
                inv.get(c).map_or(c, |&x| x as usize)
            } else {
                c
            };
            mask.get(c).copied().unwrap_or(false)
        })
        .collect();
    (!table.iter().all(|&x| x)).then_some(table)
}

/// Edges per parallel task in [`pre`].
const CHUNK: usize = 1 << 16;

/// Nodes from which an expansion of `rel` (read with `cur` on the left when `from_left`)
/// takes at least one edge to a node in `target` (every node when `None`). One sequential
/// pass over the edge arrays, split across threads.
fn pre(g: &G<'_>, rel: &RelSpec, from_left: bool, target: Option<&[u64]>, n: usize) -> Bits {
    use rayon::prelude::*;
    let both = rel.dir == Dir::Both;
    let (use_out, use_in) = directions(rel.dir, from_left);
    let mut out = empty(n);
    for spec in &rel.types {
        let v = &g.ev[spec.kind as usize];
        let t_out = label_table(g, spec, both && !from_left);
        let t_in = label_table(g, spec, both && from_left);
        let ok = |t: &Option<Vec<bool>>, e: usize| {
            t.as_ref()
                .is_none_or(|t| t.get(v.label(e) as usize).copied().unwrap_or(false))
        };
        let part = (0..v.len().div_ceil(CHUNK))
            .into_par_iter()
            .fold(
                || empty(n),
                |mut acc, c| {
                    for e in c * CHUNK..((c + 1) * CHUNK).min(v.len()) {
                        let (s, d) = (v.src[e], v.dst[e]);
                        if use_out && target.is_none_or(|t| get(t, d)) && ok(&t_out, e) {
                            set(&mut acc, s);
                        }
                        if use_in && target.is_none_or(|t| get(t, s)) && ok(&t_in, e) {
                            set(&mut acc, d);
                        }
                    }
                    acc
                },
            )
            .reduce(
                || empty(n),
                |mut a, b| {
                    a.iter_mut().zip(&b).for_each(|(x, y)| *x |= y);
                    a
                },
            );
        out.iter_mut().zip(&part).for_each(|(x, y)| *x |= y);
    }
    out
}

/// Nodes from which a walk of `lo..=hi` edges of `rel` ends in `target`, and, for the walk
/// itself, `within[j - 1]`: the nodes from which 1..=j more edges can still reach `target`
/// (a walk with `j` edges left expands a node only if it is in there). `None` when the sets
/// grow too dense to be worth it (the caller then falls back to one edge).
fn reach(
    g: &G<'_>,
    rel: &RelSpec,
    from_left: bool,
    target: &[u64],
    (lo, hi): (u32, u32),
    n: usize,
) -> Option<(Bits, Vec<Bits>)> {
    let mut acc = if lo == 0 { target.to_vec() } else { empty(n) };
    let mut any = empty(n);
    let mut within = Vec::new();
    let mut frontier = target.to_vec();
    for depth in 1..=hi {
        frontier = pre(g, rel, from_left, Some(&frontier), n);
        if depth >= lo {
            acc.iter_mut().zip(&frontier).for_each(|(a, f)| *a |= f);
        }
        any.iter_mut().zip(&frontier).for_each(|(a, f)| *a |= f);
        if count(&acc) as f64 > DENSE * n as f64 {
            return None;
        }
        within.push(any.clone());
    }
    Some((acc, within))
}

/// Past this many edges, building a pair set costs more than it is likely to save.
const PAIR_EDGES: usize = 4_000_000;

fn pairs(g: &G<'_>, plan: &Plan, i: usize) -> Option<Pairs> {
    let Step::Expand {
        rel,
        from,
        to,
        from_left,
        to_bound: false,
        ..
    } = plan.steps.get(i)?
    else {
        return None;
    };
    let Step::Expand {
        rel: rel2,
        from: from2,
        to: to2,
        from_left: from_left2,
        to_bound: true,
        ..
    } = plan.steps.get(i + 1)?
    else {
        return None;
    };
    // The check must join this step's new node `to` with a node bound before this step.
    let (other, y_left) = if from2 == to {
        (*to2, *from_left2)
    } else if to2 == to {
        (*from2, !*from_left2)
    } else {
        return None;
    };
    if other == *from || other == *to {
        return None;
    }
    let edges: usize = rel.types.iter().map(|t| g.ev[t.kind as usize].len()).sum();
    if edges > PAIR_EDGES {
        return None;
    }
    let (use_out, use_in) = directions(rel.dir, *from_left);
    let both = rel.dir == Dir::Both;
    // Worth it only when the check is nearly functional from the new node (a contract's one
    // agency), so that the set stays about as small as the edge list: estimate the check's
    // fan-out on an even sample of edges first (bidders of a tender: five; skipped).
    let mut seen = 0usize;
    let mut fan = 0usize;
    for spec in &rel.types {
        let v = &g.ev[spec.kind as usize];
        let stride = (v.len() / 512).max(1);
        for e in (0..v.len()).step_by(stride) {
            let ys = [(use_out, v.dst[e]), (use_in, v.src[e])];
            for (on, y) in ys {
                if on {
                    seen += 1;
                    each_edge(g, rel2, y_left, y, |_, _| {
                        fan += 1;
                        true
                    });
                }
            }
        }
    }
    if seen == 0 || fan > 2 * seen {
        return None;
    }
    let mut set = rustc_hash::FxHashSet::default();
    for (t, spec) in rel.types.iter().enumerate() {
        let v = &g.ev[spec.kind as usize];
        for e in 0..v.len() {
            let (s, d) = (v.src[e], v.dst[e]);
            let mut add = |x: u32, y: u32| {
                each_edge(g, rel2, y_left, y, |_, z| {
                    set.insert(pair(x, z));
                    true
                });
            };
            if use_out && label_ok(g, rel, t, e, both && !*from_left) {
                add(s, d);
            }
            if use_in && label_ok(g, rel, t, e, both && *from_left) {
                add(d, s);
            }
        }
    }
    Some(Pairs {
        from: *from,
        other,
        set,
    })
}

/// Edges the pruning passes would scan for `plan` (an upper bound).
fn scan_size(g: &G<'_>, plan: &Plan) -> f64 {
    let edges = |rel: &RelSpec| -> f64 {
        rel.types
            .iter()
            .map(|t| g.ev[t.kind as usize].len() as f64)
            .sum()
    };
    plan.steps
        .iter()
        .map(|s| match s {
            Step::Expand { rel, to_bound, .. } => edges(rel) * if *to_bound { 2.0 } else { 1.0 },
            Step::Path {
                rel, to_bound, hi, ..
            } => edges(rel) * if *to_bound { 2.0 } else { f64::from(*hi) },
            Step::Code { .. } | Step::Filter(_) | Step::Given { .. } => 0.0,
        })
        .sum()
}

/// How much more a binding the plan touches costs than an edge a pruning pass scans (a random
/// access into a large snapshot against a sequential read), as far as the plan's estimate can
/// tell. Calibrated on the 1M-person bundle: relative_wins (estimate 0.89x the scan) runs in
/// 62 ms with the passes and 100 ms without; bid_rigging's branches (0.42-0.85x) run 10%
/// slower with them. The estimate does not separate the two more finely than that.
const BINDING_OVER_SCAN: f64 = 1.2;

/// Computes [`Needs`] for `plan`, when it pays: the passes cost a few nanoseconds per edge
/// scanned and save a random access per binding pruned, so a plan that expects to touch
/// fewer rows than the passes would scan (weighted by `BINDING_OVER_SCAN`) runs without them.
pub(crate) fn needs(g: &G<'_>, plan: &Plan, always: bool) -> Needs {
    let scan = scan_size(g, plan);
    if plan.cost * BINDING_OVER_SCAN < scan && !always {
        return Needs::default();
    }
    let n = g.snap.node_count() as usize;
    let mut need: Vec<Option<Bits>> = vec![None; plan.n_nodes];
    let mut walks: Vec<Vec<Bits>> = vec![Vec::new(); plan.steps.len()];
    for (i, step) in plan.steps.iter().enumerate().rev() {
        match step {
            Step::Expand {
                rel,
                from,
                to,
                from_left,
                to_bound,
                to_kinds,
                ..
            } => {
                if *to_bound {
                    and_into(&mut need[*from], pre(g, rel, *from_left, None, n));
                    and_into(&mut need[*to], pre(g, rel, !*from_left, None, n));
                } else {
                    let mut target = need[*to].take();
                    if let Some(k) = kinds(g, to_kinds, n) {
                        and_into(&mut target, k);
                    }
                    let b = pre(g, rel, *from_left, target.as_deref(), n);
                    need[*to] = target;
                    and_into(&mut need[*from], b);
                }
            }
            Step::Path {
                rel,
                from,
                to,
                from_left,
                to_bound,
                lo,
                hi,
                to_kinds,
                ..
            } => {
                if *to_bound {
                    if *lo >= 1 {
                        and_into(&mut need[*from], pre(g, rel, *from_left, None, n));
                        and_into(&mut need[*to], pre(g, rel, !*from_left, None, n));
                    }
                    continue;
                }
                let mut target = need[*to].take();
                if let Some(k) = kinds(g, to_kinds, n) {
                    and_into(&mut target, k);
                }
                let one = || (*lo >= 1).then(|| pre(g, rel, *from_left, None, n));
                let b = match &target {
                    Some(t) => match reach(g, rel, *from_left, t, (*lo, *hi), n) {
                        Some((b, within)) => {
                            walks[i] = within;
                            Some(b)
                        }
                        None => one(),
                    },
                    None => one(),
                };
                need[*to] = target;
                if let Some(b) = b {
                    and_into(&mut need[*from], b);
                }
            }
            Step::Code { .. } | Step::Filter(_) | Step::Given { .. } => {}
        }
    }
    // A start that scans every node of a kind already has the kind; drop sets that hold
    // almost everything, which would only cost a lookup per binding.
    {
        for b in &mut need {
            if b.as_ref()
                .is_some_and(|s| count(s) as f64 > DENSE * n as f64)
            {
                *b = None;
            }
        }
    }
    let pairs = (0..plan.steps.len()).map(|i| pairs(g, plan, i)).collect();
    Needs {
        slots: need,
        walks,
        pairs,
    }
}

#[cfg(test)]
mod tests {
    use super::super::{compile, run, run::exists, testdata, ExecOptions};
    use super::{needs, Bits, Pruning};
    use crate::exec::graph::G;
    use crate::exec::ir::Start;
    use crate::snapshot::Snapshot;
    use qinglian_model::{EdgeKind, NodeKind};
    use std::collections::BTreeSet;

    /// The bundle ids of the nodes in `b`.
    fn ids(snap: &Snapshot, b: &Bits) -> BTreeSet<String> {
        (0..snap.node_count())
            .filter(|&n| super::get(b, n))
            .map(|n| snap.ext(n).to_owned())
            .collect()
    }

    fn set(xs: &[&str]) -> BTreeSet<String> {
        xs.iter().map(|x| (*x).to_owned()).collect()
    }

    /// People and companies owning one another, and 30 contracts with C1 or C5:
    ///
    /// ```text
    /// P1 -> C1            (1 edge to a company with contracts)
    /// P2 -> C2 -> C1      (2 edges)
    /// P4 -> C4 -> C5      (2 edges)
    /// P3 -> C3 -> C4 -> C5 (3 edges: too far for *1..2)
    /// P5                  (owns nothing)
    /// ```
    fn owners() -> Snapshot {
        let k: Vec<String> = (1..=30).map(|i| format!("K{i:02}")).collect();
        let mut nodes: Vec<(NodeKind, &str)> = ["P1", "P2", "P3", "P4", "P5"]
            .iter()
            .map(|x| (NodeKind::Person, *x))
            .collect();
        nodes.extend(
            ["C1", "C2", "C3", "C4", "C5"]
                .iter()
                .map(|x| (NodeKind::Company, *x)),
        );
        nodes.extend(k.iter().map(|x| (NodeKind::Contract, x.as_str())));
        let mut edges: Vec<(EdgeKind, &str, &str, &str)> = [
            ("P1", "C1"),
            ("P2", "C2"),
            ("C2", "C1"),
            ("P3", "C3"),
            ("C3", "C4"),
            ("C4", "C5"),
            ("P4", "C4"),
        ]
        .iter()
        .map(|&(a, b)| (EdgeKind::Owns, a, b, ""))
        .collect();
        edges.extend(k.iter().enumerate().map(|(i, x)| {
            (
                EdgeKind::To,
                x.as_str(),
                if i < 15 { "C1" } else { "C5" },
                "",
            )
        }));
        testdata::snapshot(&nodes, &edges)
    }

    const QUERY: &str = "MATCH (r:Person)-[w:OWNS*1..2]->(c:Company)<-[to:TO]-(k:Contract)\n\
                         RETURN target = r, ref = k";

    /// The plan scans the 5 people, walks 1..2 ownership edges to `c`, then expands to the
    /// contracts. Computed backwards, `c` must be a party to some contract ({C1, C5}), and `r`
    /// must reach such a company in one or two edges: P1, P2 and P4 — not P3 (three edges)
    /// nor P5 (no edge). The set also holds the companies that could stand in `r`'s place
    /// (C2, C3, C4: the start scans people only, so they never matter), and the walk's
    /// per-depth sets say where a walk with 1 or 2 edges left may still go.
    #[test]
    fn a_pruning_set_keeps_exactly_the_nodes_that_can_complete_the_pattern() {
        let snap = owners();
        let c = compile(&testdata::rule(QUERY), &snap).expect("the rule compiles");
        let plan = &c.branches[0].plan;
        let slot = |v: &str| plan.node_slot[v];
        assert!(
            matches!(plan.start, Start::Nodes { slot: s, .. } if s == slot("r")),
            "the plan starts from the people: {}",
            super::super::explain(&c)
        );
        let g = G::new(&snap, None, exists);
        let n = needs(&g, plan, true);
        let r = n.slots[slot("r")].as_ref().expect("a set for r");
        assert_eq!(ids(&snap, r), set(&["C2", "C3", "C4", "P1", "P2", "P4"]));
        let c_set = n.slots[slot("c")].as_ref().expect("a set for c");
        assert_eq!(ids(&snap, c_set), set(&["C1", "C5"]));
        assert!(n.slots[slot("k")].is_none(), "nothing follows k");
        let within: Vec<BTreeSet<String>> = n.walks[0].iter().map(|b| ids(&snap, b)).collect();
        assert_eq!(
            within,
            vec![
                set(&["C2", "C4", "P1"]),
                set(&["C2", "C3", "C4", "P1", "P2", "P4"])
            ]
        );
    }

    /// `join_order` names the variables in the order the plan binds them: the people it starts
    /// from, the ownership walk, the company it reaches, then the contract edge and contract.
    #[test]
    fn the_join_order_is_the_plans() {
        let snap = owners();
        let c = compile(&testdata::rule(QUERY), &snap).expect("the rule compiles");
        assert_eq!(
            super::super::join_order(&c),
            vec![vec!["r", "w", "c", "to", "k"]],
            "{}",
            super::super::explain(&c)
        );
    }

    /// Pruning never changes findings: the same matches with and without the sets, and only
    /// the people the set keeps are flagged.
    #[test]
    fn pruning_loses_no_match() {
        let snap = owners();
        let rule = testdata::rule(QUERY);
        let findings = |pruning| {
            let c = compile(&rule, &snap).expect("the rule compiles");
            let opts = ExecOptions {
                pruning,
                ..ExecOptions::default()
            };
            run(&snap, &c, &opts).expect("the rule runs").findings
        };
        let pruned = findings(Pruning::Always);
        assert_eq!(pruned, findings(Pruning::Never));
        let targets: BTreeSet<String> = pruned.iter().map(|f| f.target.clone()).collect();
        assert_eq!(targets, set(&["P1", "P2", "P4"]));
        assert_eq!(
            pruned.len(),
            3 * 15,
            "each of P1, P2, P4 with the 15 contracts of its company"
        );
    }
}
