//! Path search and neighbourhoods.
//!
//! [`Searcher::shortest`] finds the shortest evidence chains between two entities with a
//! bidirectional breadth-first search over undirected edges of the chosen kinds: each round
//! expands the smaller frontier by one full layer, so the first layer in which the two sides
//! meet gives the shortest length. Every path of that length (up to a limit) is returned, in a
//! deterministic order. The search is bounded by a hop limit, an optional "as of" date (edges
//! must hold on it), a node budget and a deadline checked inside the search loop.
//!
//! Complexity: O(b^(h/2)) nodes for branching factor b and path length h, instead of O(b^h)
//! for a one-sided search; memory is two distance arrays per searcher, reused across queries.

use crate::exec::EdgeRef;
use crate::snapshot::Snapshot;
use qinglian_model::EdgeKind;
use std::time::Instant;

/// Bounds of a path query.
#[derive(Clone, Debug)]
pub struct PathOptions {
    /// Longest path searched.
    pub max_hops: u32,
    /// Edges must hold on this day.
    pub as_of: Option<i32>,
    /// Edge kinds to follow (empty: all).
    pub kinds: Vec<EdgeKind>,
    /// Most paths returned.
    pub limit: usize,
    /// Most nodes visited before giving up (`truncated`).
    pub max_visits: usize,
    /// Give up (`truncated`) past this instant.
    pub deadline: Option<Instant>,
}

impl Default for PathOptions {
    fn default() -> Self {
        PathOptions {
            max_hops: 6,
            as_of: None,
            kinds: Vec::new(),
            limit: 10,
            max_visits: 5_000_000,
            deadline: None,
        }
    }
}

/// What a path query found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PathResult {
    /// Length of the shortest paths, if any within the bound.
    pub hops: Option<u32>,
    /// Shortest paths, each as its edges from `from` to `to` (at most `limit`).
    pub paths: Vec<Vec<EdgeRef>>,
    /// More shortest paths exist than were returned.
    pub more: bool,
    /// The search stopped at the node budget or the deadline before it could decide.
    pub truncated: bool,
    /// Nodes visited.
    pub visited: usize,
}

const UNSEEN: u8 = u8::MAX;

/// The visited marks of a search: two distance arrays with generation stamps, so that a query
/// costs only the nodes it visits. Separate from [`Searcher`] (and free of its lifetime) so that
/// a server can keep a few and hand them from request to request: on a 1M-node graph a fresh
/// one is 14 MB of pages to fault in and give back per path request.
#[derive(Debug, Default)]
pub struct Scratch {
    stamp: [Vec<u32>; 2],
    dist: [Vec<u8>; 2],
    gen: u32,
}

impl Scratch {
    /// Marks for `n` nodes. All zero, so the allocator hands out fresh zero pages (calloc)
    /// instead of writing 10 bytes per node up front; `dist` is only read where `stamp`
    /// equals the current generation (never 0), so its initial value does not matter.
    pub fn new(n: usize) -> Scratch {
        Scratch {
            stamp: [vec![0; n], vec![0; n]],
            dist: [vec![0; n], vec![0; n]],
            gen: 0,
        }
    }

    fn len(&self) -> usize {
        self.stamp[0].len()
    }
}

/// Bounded bidirectional search over a snapshot, with reusable marks.
#[derive(Debug)]
pub struct Searcher<'a> {
    snap: &'a Snapshot,
    s: Scratch,
}

impl<'a> Searcher<'a> {
    /// A searcher over a snapshot, with fresh marks.
    pub fn new(snap: &'a Snapshot) -> Searcher<'a> {
        Searcher {
            snap,
            s: Scratch::new(snap.node_count() as usize),
        }
    }

    /// A searcher reusing `scratch` (replaced when it was sized for another snapshot).
    pub fn with_scratch(snap: &'a Snapshot, scratch: Scratch) -> Searcher<'a> {
        let n = snap.node_count() as usize;
        let s = if scratch.len() == n {
            scratch
        } else {
            Scratch::new(n)
        };
        Searcher { snap, s }
    }

    /// Gives the marks back for the next search.
    pub fn into_scratch(self) -> Scratch {
        self.s
    }

    fn get(&self, side: usize, n: u32) -> u8 {
        if self.s.stamp[side][n as usize] == self.s.gen {
            self.s.dist[side][n as usize]
        } else {
            UNSEEN
        }
    }

    fn set(&mut self, side: usize, n: u32, d: u8) {
        self.s.stamp[side][n as usize] = self.s.gen;
        self.s.dist[side][n as usize] = d;
    }

    /// Calls `f(edge, neighbour)` for every usable edge at `n`.
    fn neighbours(&self, n: u32, opts: &PathOptions, mut f: impl FnMut(EdgeRef, u32)) {
        let kinds: &[EdgeKind] = if opts.kinds.is_empty() {
            EdgeKind::ALL
        } else {
            &opts.kinds
        };
        for k in kinds {
            let v = self.snap.edges(*k);
            let ok = |e: usize| opts.as_of.is_none_or(|d| v.interval(e).contains(d));
            let kind = k.index() as u8;
            if let Some(ents) = v.both(n) {
                for ent in ents {
                    let e = (ent[2] & !crate::snapshot::BOTH_HEAD) as usize;
                    if ok(e) {
                        f(
                            EdgeRef {
                                kind,
                                idx: e as u32,
                            },
                            ent[0],
                        );
                    }
                }
                continue;
            }
            for e in v.out(n) {
                if ok(e) {
                    f(
                        EdgeRef {
                            kind,
                            idx: e as u32,
                        },
                        v.dst[e],
                    );
                }
            }
            for ent in &v.in_ent[v.in_range(n)] {
                if ok(ent[2] as usize) {
                    f(EdgeRef { kind, idx: ent[2] }, ent[0]);
                }
            }
        }
    }

    /// Length of the shortest path only (what a batch of path queries needs).
    pub fn distance(&mut self, from: u32, to: u32, opts: &PathOptions) -> PathResult {
        self.search(from, to, opts, false)
    }

    /// Shortest paths between two nodes.
    pub fn shortest(&mut self, from: u32, to: u32, opts: &PathOptions) -> PathResult {
        self.search(from, to, opts, true)
    }

    fn search(&mut self, from: u32, to: u32, opts: &PathOptions, want_paths: bool) -> PathResult {
        self.s.gen = self.s.gen.wrapping_add(1);
        if self.s.gen == 0 {
            for s in &mut self.s.stamp {
                s.iter_mut().for_each(|x| *x = 0);
            }
            self.s.gen = 1;
        }
        let mut res = PathResult::default();
        if from == to {
            res.hops = Some(0);
            res.paths = vec![Vec::new()];
            return res;
        }
        let max = opts.max_hops.min(u32::from(UNSEEN) - 1);
        self.set(0, from, 0);
        self.set(1, to, 0);
        let mut frontier = [vec![from], vec![to]];
        let mut depth = [0u32; 2];
        let mut visited = 2usize;
        let mut best: Option<u32> = None;
        let mut meets: Vec<u32> = Vec::new();
        while depth[0] + depth[1] < max && best.is_none() {
            if frontier[0].is_empty() || frontier[1].is_empty() {
                break;
            }
            let side = if frontier[0].len() <= frontier[1].len() {
                0
            } else {
                1
            };
            let other = 1 - side;
            let d = depth[side] as u8 + 1;
            let mut next = Vec::new();
            let cur = std::mem::take(&mut frontier[side]);
            for (i, &n) in cur.iter().enumerate() {
                if i % 256 == 0 && opts.deadline.is_some_and(|t| Instant::now() > t) {
                    res.truncated = true;
                    res.visited = visited;
                    return res;
                }
                let mut found = Vec::new();
                self.neighbours(n, opts, |_, m| found.push(m));
                for m in found {
                    if self.get(side, m) != UNSEEN {
                        continue;
                    }
                    self.set(side, m, d);
                    visited += 1;
                    next.push(m);
                    let od = self.get(other, m);
                    if od != UNSEEN {
                        let len = u32::from(d) + u32::from(od);
                        if best.is_none_or(|b| len < b) {
                            best = Some(len);
                            meets.clear();
                        }
                        if best == Some(len) {
                            meets.push(m);
                        }
                    }
                }
                if visited > opts.max_visits {
                    res.truncated = true;
                    res.visited = visited;
                    return res;
                }
            }
            depth[side] += 1;
            frontier[side] = next;
        }
        res.visited = visited;
        let Some(len) = best.filter(|&l| l <= max) else {
            return res;
        };
        res.hops = Some(len);
        if !want_paths {
            return res;
        }
        meets.sort_unstable();
        meets.dedup();
        let mut paths = Vec::new();
        let ranks = self.snap.ranks();
        for &m in &meets {
            let heads = self.walk_back(0, m, opts, opts.limit + 1);
            let tails = self.walk_back(1, m, opts, opts.limit + 1);
            for h in &heads {
                for t in &tails {
                    let mut p: Vec<EdgeRef> = h.iter().rev().copied().collect();
                    p.extend(t.iter().copied());
                    paths.push(p);
                }
            }
        }
        // Deterministic order: by the bundle-id ranks of the nodes along each path.
        let node_seq = |p: &Vec<EdgeRef>| {
            let mut cur = from;
            let mut seq = vec![ranks[cur as usize]];
            for e in p {
                let v = self.snap.edges(e.kind());
                let (s, d) = (v.src[e.idx as usize], v.dst[e.idx as usize]);
                cur = if s == cur { d } else { s };
                seq.push(ranks[cur as usize]);
            }
            (seq, p.iter().map(|e| (e.kind, e.idx)).collect::<Vec<_>>())
        };
        paths.sort_by_cached_key(node_seq);
        paths.dedup();
        res.more = paths.len() > opts.limit;
        paths.truncate(opts.limit);
        res.paths = paths;
        res
    }

    /// Paths from node `m` back to this side's origin (distance 0), each as edges from `m`
    /// outwards.
    fn walk_back(
        &self,
        side: usize,
        m: u32,
        opts: &PathOptions,
        limit: usize,
    ) -> Vec<Vec<EdgeRef>> {
        let mut out = Vec::new();
        let mut stack: Vec<EdgeRef> = Vec::new();
        self.back(side, m, opts, limit, &mut stack, &mut out);
        out
    }

    fn back(
        &self,
        side: usize,
        n: u32,
        opts: &PathOptions,
        limit: usize,
        stack: &mut Vec<EdgeRef>,
        out: &mut Vec<Vec<EdgeRef>>,
    ) {
        if out.len() >= limit {
            return;
        }
        let d = self.get(side, n);
        if d == 0 {
            out.push(stack.clone());
            return;
        }
        let mut prev = Vec::new();
        self.neighbours(n, opts, |e, p| {
            if self.get(side, p) == d - 1 {
                prev.push((e, p));
            }
        });
        for (e, p) in prev {
            stack.push(e);
            self.back(side, p, opts, limit, stack, out);
            stack.pop();
        }
    }
}

/// The nodes within `hops` of `center` and the edges incident to nodes within `hops - 1`
/// (every kind, both directions): what a neighbourhood export holds.
pub fn neighbourhood(
    snap: &Snapshot,
    center: u32,
    hops: u32,
    as_of: Option<i32>,
    max_nodes: usize,
) -> (Vec<u32>, Vec<EdgeRef>, bool) {
    let opts = PathOptions {
        as_of,
        ..PathOptions::default()
    };
    let s = Searcher {
        snap,
        s: Scratch::default(),
    };
    let mut seen: rustc_hash::FxHashMap<u32, u32> = rustc_hash::FxHashMap::default();
    seen.insert(center, 0);
    let mut order = vec![center];
    let mut edges: rustc_hash::FxHashSet<EdgeRef> = rustc_hash::FxHashSet::default();
    let mut frontier = vec![center];
    let mut truncated = false;
    for d in 1..=hops {
        let mut next = Vec::new();
        for &n in &frontier {
            s.neighbours(n, &opts, |e, m| {
                edges.insert(e);
                if let std::collections::hash_map::Entry::Vacant(v) = seen.entry(m) {
                    v.insert(d);
                    order.push(m);
                    next.push(m);
                }
            });
            if order.len() > max_nodes {
                truncated = true;
                break;
            }
        }
        frontier = next;
        if truncated {
            break;
        }
    }
    let mut edges: Vec<EdgeRef> = edges.into_iter().collect();
    edges.sort_unstable();
    (order, edges, truncated)
}
