//! The executor's view of a snapshot (every column it reads, fetched once per query), the
//! bindings of a match in progress, and walking adjacency lists: the edges an edge pattern
//! (`ir::RelSpec`) may take from a node, in either direction, with label and as-of filters.
//! Both the executor (`run.rs`) and the pruning passes (`prune.rs`) read edges through here.

use super::ir::{Plan, RelSpec, TypeSpec};
use crate::snapshot::{EdgeView, Snapshot};
use qinglian_model::{EdgeKind, NodeKind};
use qinglian_rules::ast::Dir;

/// An edge: its kind and index within the kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct EdgeRef {
    /// `EdgeKind::index()`.
    pub kind: u8,
    /// Index in the kind's arrays.
    pub idx: u32,
}

impl EdgeRef {
    /// The edge kind.
    pub fn kind(self) -> EdgeKind {
        EdgeKind::ALL[self.kind as usize]
    }
}

/// Columns of a snapshot, borrowed once for a query.
pub(crate) struct G<'a> {
    pub snap: &'a Snapshot,
    pub ev: Vec<EdgeView<'a>>,
    pub dates: &'a [i32],
    pub deaths: &'a [i32],
    pub amounts: &'a [f64],
    pub phones: &'a [u32],
    pub addrs: &'a [u32],
    pub listed: &'a [i32],
    pub flags: &'a [u8],
    pub ranks: &'a [u32],
    /// Per edge kind, each label code's rank among the kind's label texts: a witness tie is
    /// broken by what an edge says, not by a code that depends on the order labels were met.
    pub label_ranks: Vec<Vec<u32>>,
    pub kind_start: [u32; NodeKind::COUNT + 1],
    /// Only data known on this day counts (see `ExecOptions::as_of`).
    pub as_of: Option<i32>,
    /// `has_edges` bitmaps per kind: [out, in].
    pub bits: Vec<[&'a [u64]; 2]>,
    /// Whether an `EXISTS` sub-plan has a match given the outer bindings: the executor's
    /// `run::exists`. Evaluating a condition (`expr.rs`) may run a sub-plan and running a plan
    /// evaluates conditions, so the evaluator is handed the runner instead of importing it.
    pub exists: fn(&G<'_>, &Plan, &Bind) -> bool,
}

impl<'a> G<'a> {
    /// The view of `snap` as of `as_of`, answering `EXISTS` with `exists`.
    pub(crate) fn new(
        snap: &'a Snapshot,
        as_of: Option<i32>,
        exists: fn(&G<'_>, &Plan, &Bind) -> bool,
    ) -> G<'a> {
        let mut kind_start = [0u32; NodeKind::COUNT + 1];
        for k in NodeKind::ALL {
            kind_start[k.index()] = snap.kind_range(*k).start;
            kind_start[k.index() + 1] = snap.kind_range(*k).end;
        }
        G {
            snap,
            ev: EdgeKind::ALL.iter().map(|k| snap.edges(*k)).collect(),
            dates: snap.dates(),
            deaths: snap.deaths(),
            amounts: snap.amounts(),
            phones: snap.phones(),
            addrs: snap.addresses(),
            listed: snap.listed(),
            flags: snap.flags(),
            ranks: snap.ranks(),
            label_ranks: EdgeKind::ALL
                .iter()
                .map(|k| text_ranks(snap.labels(*k)))
                .collect(),
            kind_start,
            as_of,
            bits: EdgeKind::ALL
                .iter()
                .map(|k| [snap.has_edges(*k, 0), snap.has_edges(*k, 1)])
                .collect(),
            exists,
        }
    }

    /// The rank of edge `e`'s label among its kind's label texts (0: none).
    #[inline]
    pub(crate) fn label_rank(&self, k: usize, e: usize) -> u32 {
        let code = self.ev[k].label(e) as usize;
        self.label_ranks[k].get(code).copied().unwrap_or(0)
    }

    /// Whether node `n` has an edge of kind `k` in direction `dir` (0 out, 1 in).
    #[inline]
    pub(crate) fn has(&self, k: usize, dir: usize, n: u32) -> bool {
        self.bits[k][dir]
            .get(n as usize / 64)
            .is_some_and(|w| w & (1 << (n % 64)) != 0)
    }

    /// The kind index of node `n` (ranges are contiguous).
    #[inline]
    pub(crate) fn kind_idx(&self, n: u32) -> usize {
        let mut k = 0;
        while k < NodeKind::COUNT - 1 && n >= self.kind_start[k + 1] {
            k += 1;
        }
        k
    }

    /// Whether an edge counts as of the query's date: it must have started.
    #[inline]
    pub(crate) fn edge_known(&self, kind: usize, e: usize) -> bool {
        match self.as_of {
            None => true,
            Some(d) => self.ev[kind].interval(e).start <= d,
        }
    }

    /// Whether a node counts as of the query's date: tenders, contracts and subsidies dated
    /// after it do not.
    #[inline]
    pub(crate) fn node_known(&self, n: u32) -> bool {
        match self.as_of {
            None => true,
            Some(d) => {
                self.kind_idx(n) < 3
                    || self.dates[n as usize] == crate::snapshot::NO_DATE
                    || self.dates[n as usize] <= d
            }
        }
    }
}

/// Which adjacency lists an expansion reads, and whether labels read inverted.
#[inline]
pub(crate) fn directions(dir: Dir, from_left: bool) -> (bool, bool) {
    match (dir, from_left) {
        (Dir::Out, true) | (Dir::In, false) => (true, false),
        (Dir::In, true) | (Dir::Out, false) => (false, true),
        (Dir::Both, _) => (true, true),
    }
}

/// Whether edge `e` of `t`'s kind passes `t`'s label filter (`inverted`: read from the
/// head's side of an undirected pattern, so RELATION and DECLARED labels read inverted) and
/// its value floor.
#[inline]
pub(crate) fn label_ok(g: &G<'_>, t: &TypeSpec, e: usize, inverted: bool) -> bool {
    if !value_ok(&g.ev[t.kind as usize], t, e) {
        return false;
    }
    if t.mask.is_none() {
        return true;
    }
    code_ok(g, t, g.ev[t.kind as usize].label(e), inverted)
}

/// Whether edge `e` reaches `t`'s floor (`SAME_AS{min p}`); true when it sets none.
#[inline]
fn value_ok(v: &EdgeView<'_>, t: &TypeSpec, e: usize) -> bool {
    t.min.is_none_or(|m| v.value(e).is_some_and(|x| x >= m))
}

/// Whether label code `code` passes `t`'s label filter, read inverted when `inverted`.
#[inline]
fn code_ok(g: &G<'_>, t: &TypeSpec, code: u32, inverted: bool) -> bool {
    let Some(mask) = &t.mask else { return true };
    let mut c = code;
    if inverted
        && matches!(
            EdgeKind::ALL[t.kind as usize],
            EdgeKind::Relation | EdgeKind::Declared
        )
    {
        c = g
            .snap
            .inverse_labels(EdgeKind::ALL[t.kind as usize])
            .get(c as usize)
            .copied()
            .unwrap_or(c);
    }
    mask.get(c as usize).copied().unwrap_or(false)
}

/// Calls `f(edge, far node)` for every edge an expansion may take from `cur`.
#[inline]
pub(crate) fn each_edge(
    g: &G<'_>,
    rel: &RelSpec,
    from_left: bool,
    cur: u32,
    mut f: impl FnMut(EdgeRef, u32) -> bool,
) -> bool {
    let (use_out, use_in) = directions(rel.dir, from_left);
    let both = rel.dir == Dir::Both;
    for t in &rel.types {
        let k = t.kind as usize;
        let v = &g.ev[k];
        // Labels read from the pattern's left node: an out-edge of the right node, or an
        // in-edge of the left node, is read inverted.
        if both {
            if let Some(ents) = v.both(cur) {
                for ent in ents {
                    let head = ent[2] & crate::snapshot::BOTH_HEAD != 0;
                    let e = (ent[2] & !crate::snapshot::BOTH_HEAD) as usize;
                    if code_ok(g, t, ent[1], if head { from_left } else { !from_left })
                        && g.edge_known(k, e)
                        && value_ok(v, t, e)
                        && !f(
                            EdgeRef {
                                kind: t.kind,
                                idx: e as u32,
                            },
                            ent[0],
                        )
                    {
                        return false;
                    }
                }
                continue;
            }
        }
        if use_out && g.has(k, 0, cur) {
            let r = v.out(cur);
            let base = r.start;
            for (j, ent) in v.out_ent[r].iter().enumerate() {
                let e = base + j;
                if code_ok(g, t, ent[1], both && !from_left)
                    && g.edge_known(k, e)
                    && value_ok(v, t, e)
                    && !f(
                        EdgeRef {
                            kind: t.kind,
                            idx: e as u32,
                        },
                        ent[0],
                    )
                {
                    return false;
                }
            }
        }
        if use_in && g.has(k, 1, cur) {
            for ent in &v.in_ent[v.in_range(cur)] {
                let e = ent[2] as usize;
                if code_ok(g, t, ent[1], both && from_left)
                    && g.edge_known(k, e)
                    && value_ok(v, t, e)
                    && !f(
                        EdgeRef {
                            kind: t.kind,
                            idx: e as u32,
                        },
                        ent[0],
                    )
                {
                    return false;
                }
            }
        }
    }
    true
}

/// The walks a variable-length step found from one node, kept so that the next binding walking
/// from the same node (start items come sorted by node) reuses them.
#[derive(Clone, Debug, Default)]
pub(crate) struct Walks {
    /// The node walked from, when the results may be reused.
    pub key: Option<u32>,
    /// End node of each walk.
    pub ends: Vec<u32>,
    /// Edges of each walk (in walking order), `offs[i]..offs[i + 1]`.
    pub edges: Vec<EdgeRef>,
    pub offs: Vec<u32>,
}

/// The bindings of a match in progress: node, edge and path slots. Paths live on one stack so
/// that a depth-first search extends and truncates them without allocating.
#[derive(Clone, Debug, Default)]
pub(crate) struct Bind {
    pub nodes: Vec<u32>,
    pub edges: Vec<EdgeRef>,
    /// (start, len) in `stack` per path slot.
    pub paths: Vec<(u32, u32)>,
    pub stack: Vec<EdgeRef>,
    /// Per step: the last walks, for reuse.
    pub memo: Vec<Walks>,
}

impl Bind {
    pub(crate) fn new(nodes: usize, edges: usize, paths: usize) -> Bind {
        Bind {
            nodes: vec![u32::MAX; nodes],
            edges: vec![EdgeRef::default(); edges],
            paths: vec![(0, 0); paths],
            stack: Vec::with_capacity(64),
            memo: Vec::new(),
        }
    }

    /// The edges of path slot `p`, in pattern (left to right) order.
    #[inline]
    pub(crate) fn path(&self, p: usize) -> &[EdgeRef] {
        let (s, l) = self.paths[p];
        &self.stack[s as usize..(s + l) as usize]
    }
}

/// Each text's rank in sorted order, by index.
fn text_ranks(texts: &[String]) -> Vec<u32> {
    let mut order: Vec<usize> = (0..texts.len()).collect();
    order.sort_by(|&a, &b| texts[a].cmp(&texts[b]));
    let mut rank = vec![0u32; texts.len()];
    for (r, &i) in order.iter().enumerate() {
        rank[i] = r as u32;
    }
    rank
}
