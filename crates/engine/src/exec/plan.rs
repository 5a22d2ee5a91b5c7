//! Planning a rule branch: slots for variables, a start (a scan of a node kind or of an edge
//! kind), an order of expansions chosen by estimated cost, and each filter placed at the
//! first step where all its variables are bound. `valid_at(path, date)` whose date is known
//! before the path is expanded is pushed into the expansion and checked edge by edge.

use super::compile::{node_kinds, Compile, Outer};
use super::cost::{count, far_kinds, label_fraction, reads_forward, type_specs, Cond, Rel, Search};
use super::ir::{
    kinds_mask, CExpr, ChainItem, Given, KindMask, Plan, RelSpec, Start, Step, RETURN_NAMES,
};
use crate::snapshot::Snapshot;
use crate::EngineError;
use qinglian_model::NodeKind;
use qinglian_rules::ast::{Branch, Dir, Expr, PathPattern, SubQuery};
use qinglian_rules::check::Vars;
use qinglian_rules::schema::Columns;
use std::collections::BTreeMap;

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

/// The variables of a branch numbered into slots, the pattern order kept for evidence, and
/// every edge pattern as a [`Rel`] between two node slots: what the order search and the step
/// emission work on.
#[derive(Default)]
struct Layout<'q> {
    node_slot: BTreeMap<String, usize>,
    edge_slot: BTreeMap<String, usize>,
    path_slot: BTreeMap<String, usize>,
    /// For an EXISTS body: (outer slot, inner slot) per outer variable the body mentions.
    outer_nodes: Vec<(usize, usize)>,
    outer_edges: Vec<(usize, usize)>,
    outer_paths: Vec<(usize, usize)>,
    /// Pattern order, for evidence.
    chain: Vec<Vec<ChainItem>>,
    /// The edge patterns, then the code joins (see [`conditions`]), then the given nodes.
    rels: Vec<Rel<'q>>,
    /// Per given variable: its node slot and the nodes given for it (sorted).
    given: Vec<(usize, Vec<u32>)>,
}

impl<'q> Layout<'q> {
    /// Gives the outer variables an EXISTS body mentions the body's first slots, and records
    /// where each is copied from: a sub-plan starts with them bound.
    fn bind_outer(&mut self, patterns: &[PathPattern], filter: Option<&Expr>, o: &Outer<'_>) {
        let mut mentioned = Vec::new();
        for p in patterns {
            mentioned.extend(p.nodes.iter().map(|n| n.var.clone()));
            mentioned.extend(p.rels.iter().map(|r| r.var.clone()));
        }
        if let Some(f) = filter {
            free_vars(f, &mut mentioned);
        }
        for v in &mentioned {
            if let Some(&s) = o.plan_nodes.get(v) {
                if !self.node_slot.contains_key(v) {
                    let i = self.node_slot.len();
                    self.node_slot.insert(v.clone(), i);
                    self.outer_nodes.push((s, i));
                }
            } else if let Some(&s) = o.plan_edges.get(v) {
                if !self.edge_slot.contains_key(v) {
                    let i = self.edge_slot.len();
                    self.edge_slot.insert(v.clone(), i);
                    self.outer_edges.push((s, i));
                }
            } else if let Some(&s) = o.plan_paths.get(v) {
                if !self.path_slot.contains_key(v) {
                    let i = self.path_slot.len();
                    self.path_slot.insert(v.clone(), i);
                    self.outer_paths.push((s, i));
                }
            }
        }
    }

    /// Makes a [`Rel`] of every variable the caller gave nodes for (a variable the branch
    /// does not have is ignored: another branch of the rule may have it).
    fn add_given(&mut self, given: &Given) {
        for (var, nodes) in given {
            let Some(&slot) = self.node_slot.get(var) else {
                continue;
            };
            self.rels.push(Rel {
                a: slot,
                b: slot,
                var: "",
                types: &[],
                dir: Dir::Both,
                hops: None,
                code: None,
                given: Some(self.given.len()),
            });
            self.given.push((slot, nodes.clone()));
        }
    }

    /// The index in `rels` of given variable `j`.
    fn given_rel(&self, j: usize) -> Option<usize> {
        self.rels.iter().position(|r| r.given == Some(j))
    }

    /// Numbers the patterns' own variables (a name seen again, in another pattern or the outer
    /// query, keeps its slot: that is how patterns join), records each pattern's order for the
    /// evidence chain, and makes a [`Rel`] of every edge pattern.
    fn add_patterns(&mut self, patterns: &'q [PathPattern]) {
        for p in patterns {
            let mut chain = Vec::new();
            for (i, n) in p.nodes.iter().enumerate() {
                let len = self.node_slot.len();
                let s = *self.node_slot.entry(n.var.clone()).or_insert(len);
                chain.push(ChainItem::Node(s));
                if i < p.rels.len() {
                    let r = &p.rels[i];
                    let next = &p.nodes[i + 1];
                    let len = self.node_slot.len();
                    let b = *self.node_slot.entry(next.var.clone()).or_insert(len);
                    match r.hops {
                        None => {
                            let len = self.edge_slot.len();
                            let e = *self.edge_slot.entry(r.var.clone()).or_insert(len);
                            chain.push(ChainItem::Edge(e));
                        }
                        Some(_) => {
                            let len = self.path_slot.len();
                            let e = *self.path_slot.entry(r.var.clone()).or_insert(len);
                            chain.push(ChainItem::Path(e));
                        }
                    }
                    self.rels.push(Rel {
                        a: s,
                        b,
                        var: &r.var,
                        types: &r.types,
                        dir: r.dir,
                        hops: r.hops,
                        code: None,
                        given: None,
                    });
                }
            }
            self.chain.push(chain);
        }
    }
}

/// Per node slot, the kinds the rule checker inferred for its variable: what a start scans,
/// what the cost model counts, and the filter an expansion applies to the node it reaches.
fn kind_masks(node_slot: &BTreeMap<String, usize>, vars: &Vars) -> Vec<KindMask> {
    let mut masks = vec![[true; NodeKind::COUNT]; node_slot.len()];
    for (name, &s) in node_slot {
        masks[s] = kinds_mask(&node_kinds(vars, name));
    }
    masks
}

/// The WHERE clause's conjuncts, each with the variables it needs: a conjunct is placed at the
/// first step where all of them are bound, and the cost model applies its selectivity there.
/// Each `x.phone = y.phone` / `x.address = y.address` also becomes a [`Rel`] through the code
/// index, which the order search may choose like an edge (the condition stays a filter too).
fn conditions<'q>(filter: Option<&'q Expr>, lay: &mut Layout<'q>) -> Vec<Cond<'q>> {
    let mut conj = Vec::new();
    if let Some(f) = filter {
        flatten(f, &mut conj);
    }
    for c in &conj {
        if let Some((x, y, tag)) = code_join(c) {
            if let (Some(&a), Some(&b)) = (lay.node_slot.get(x), lay.node_slot.get(y)) {
                lay.rels.push(Rel {
                    a,
                    b,
                    var: "",
                    types: &[],
                    dir: Dir::Both,
                    hops: None,
                    code: Some(tag),
                    given: None,
                });
            }
        }
    }
    let all_bound: Vec<String> = lay
        .node_slot
        .keys()
        .chain(lay.edge_slot.keys())
        .chain(lay.path_slot.keys())
        .cloned()
        .collect();
    conj.into_iter()
        .map(|e| {
            let mut v = Vec::new();
            free_vars(e, &mut v);
            v.retain(|x| all_bound.contains(x));
            v.sort();
            v.dedup();
            Cond { expr: e, vars: v }
        })
        .collect()
}

/// A start the order search tries.
enum Cand {
    /// Every node of a slot's kinds.
    Node(usize),
    /// Every edge of a single-edge pattern.
    Edge(usize),
    /// The nodes given for a variable (index into [`Layout::given`]).
    Given(usize),
    /// The outer match (EXISTS bodies).
    Bound,
}

/// The starts worth trying, each with the rows it reads: every node slot whose kinds are known
/// (all nodes of those kinds) and every single-edge pattern (all edges of its types that pass
/// its label filter); an EXISTS body starts from the outer match only.
fn candidates(
    lay: &Layout<'_>,
    masks: &[KindMask],
    sub: bool,
    snap: &Snapshot,
) -> Vec<(Cand, f64)> {
    let mut cands: Vec<(Cand, f64)> = Vec::new();
    if sub {
        cands.push((Cand::Bound, 1.0));
    } else {
        for (s, m) in masks.iter().enumerate() {
            if *m != [true; NodeKind::COUNT] {
                cands.push((Cand::Node(s), count(snap, m)));
            }
        }
        for (i, r) in lay.rels.iter().enumerate() {
            if r.hops.is_none() && r.code.is_none() && r.given.is_none() {
                let specs = type_specs(r.types, snap);
                let rows: f64 = specs
                    .iter()
                    .map(|t| snap.stats().edges[t.kind as usize] as f64 * label_fraction(snap, t))
                    .sum();
                cands.push((Cand::Edge(i), rows));
            }
        }
        for (j, (_, nodes)) in lay.given.iter().enumerate() {
            cands.push((Cand::Given(j), nodes.len() as f64));
        }
    }
    cands
}

/// The [`Start`] of a candidate, with the node slots it binds and the rels it consumes.
fn begin(
    cand: &Cand,
    lay: &Layout<'_>,
    masks: &[KindMask],
    snap: &Snapshot,
) -> (Start, Vec<bool>, Vec<bool>) {
    let mut bound = vec![false; lay.node_slot.len()];
    let mut done = vec![false; lay.rels.len()];
    let start = match *cand {
        Cand::Node(s) => {
            bound[s] = true;
            Start::Nodes {
                slot: s,
                kinds: masks[s],
            }
        }
        Cand::Edge(i) => {
            let r = &lay.rels[i];
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
                edge: lay.edge_slot[r.var],
                a_kinds: masks[r.a],
                b_kinds: masks[r.b],
            }
        }
        Cand::Bound => {
            for &(_, i) in &lay.outer_nodes {
                bound[i] = true;
            }
            Start::Bound
        }
        Cand::Given(j) => {
            let (slot, nodes) = &lay.given[j];
            bound[*slot] = true;
            if let Some(i) = lay.given_rel(j) {
                done[i] = true;
            }
            Start::Given {
                slot: *slot,
                nodes: nodes.clone(),
            }
        }
    };
    (start, bound, done)
}

/// The cheapest plan under the cost model: for every candidate start, every connected order of
/// the remaining rels (patterns have a handful of edges, so the search is small; branch and
/// bound against the best cost so far). Returns its estimated cost, start and order.
fn choose(
    lay: &Layout<'_>,
    masks: &[KindMask],
    conds: &[Cond<'_>],
    snap: &Snapshot,
    outer: Option<&Outer<'_>>,
) -> Result<(f64, Start, Vec<usize>), EngineError> {
    let ctx = Search {
        rels: &lay.rels,
        masks,
        conds,
        snap,
        node_slot: &lay.node_slot,
        given: &lay.given,
        outer,
    };
    let mut best: Option<(f64, Start, Vec<usize>)> = None;
    for (cand, rows0) in candidates(lay, masks, outer.is_some(), snap) {
        let (start, mut bound, mut done) = begin(&cand, lay, masks, snap);
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
                best = Some((cost, start, order));
            }
        }
    }
    best.ok_or_else(|| EngineError::Rule {
        rule: String::new(),
        message:
            "no way to plan this pattern: every part must connect to a node whose kind is known"
                .into(),
    })
}

/// Whether rel `r` is a check once `bound`: a single edge whose two ends are both bound.
fn is_check(r: &Rel<'_>, bound: &[bool]) -> bool {
    r.hops.is_none() && r.code.is_none() && bound[r.a] && bound[r.b]
        || r.given.is_some() && bound[r.a]
}

/// The chosen order with every check moved to the first point where its two ends are bound.
/// A check touches one short adjacency list and is usually far more selective than the
/// conditions that became evaluable at the same point (in relative_wins, "this agency awarded
/// this contract" keeps 1 binding in 5,000; the date window keeps 1 in 4), so it runs first.
fn checks_first(order: &[usize], rels: &[Rel<'_>], bound: &[bool], done: &[bool]) -> Vec<usize> {
    let mut b = bound.to_vec();
    let mut placed = vec![false; rels.len()];
    let mut out = Vec::with_capacity(order.len());
    let push_checks = |b: &[bool], placed: &mut Vec<bool>, out: &mut Vec<usize>| {
        for &j in order {
            if !placed[j] && !done[j] && is_check(&rels[j], b) {
                placed[j] = true;
                out.push(j);
            }
        }
    };
    push_checks(&b, &mut placed, &mut out);
    for &i in order {
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
}

/// Step emission in progress: which node slots are bound, which rels are done and which
/// conditions are placed so far, and the steps emitted.
struct Emit<'a, 'q> {
    lay: &'a Layout<'q>,
    masks: &'a [KindMask],
    conds: &'a [Cond<'q>],
    cx: &'a Compile<'a>,
    snap: &'a Snapshot,
    bound: Vec<bool>,
    done: Vec<bool>,
    applied: Vec<bool>,
    steps: Vec<Step>,
}

impl Emit<'_, '_> {
    /// Binds what `start` binds (an edge start also consumes its rel).
    fn begin(&mut self, start: &Start) {
        match start {
            Start::Nodes { slot, .. } => self.bound[*slot] = true,
            Start::Edges { a, b, edge, .. } => {
                self.bound[*a] = true;
                self.bound[*b] = true;
                if let Some(i) =
                    self.lay.rels.iter().position(|r| {
                        r.hops.is_none() && self.lay.edge_slot.get(r.var) == Some(edge)
                    })
                {
                    self.done[i] = true;
                }
            }
            Start::Bound => {
                for &(_, i) in &self.lay.outer_nodes {
                    self.bound[i] = true;
                }
            }
            Start::Given { slot, .. } => {
                self.bound[*slot] = true;
                let j = self.lay.given.iter().position(|(s, _)| s == slot);
                if let Some(i) = j.and_then(|j| self.lay.given_rel(j)) {
                    self.done[i] = true;
                }
            }
        }
    }

    /// Whether variable `v` has a value at this point of the plan.
    fn bound_now(&self, v: &str) -> bool {
        if let Some(&s) = self.lay.node_slot.get(v) {
            return self.bound[s];
        }
        if let Some(i) = self.lay.rels.iter().position(|r| r.var == v) {
            return self.done[i];
        }
        self.lay.edge_slot.contains_key(v) || self.lay.path_slot.contains_key(v)
    }

    /// Places, in WHERE order, every condition not yet placed whose variables are all bound.
    fn filters(&mut self) -> Result<(), EngineError> {
        for (j, c) in self.conds.iter().enumerate() {
            if !self.applied[j] && c.vars.iter().all(|v| self.bound_now(v)) {
                self.applied[j] = true;
                self.steps.push(Step::Filter(self.cx.expr(c.expr)?));
            }
        }
        Ok(())
    }

    /// Whether position `k` of `order` is a check that can run now: conditions that became
    /// evaluable wait until after it (see [`checks_first`]).
    fn check_next(&self, order: &[usize], k: usize) -> bool {
        order
            .get(k)
            .is_some_and(|&j| !self.done[j] && is_check(&self.lay.rels[j], &self.bound))
    }

    /// `valid_at(path, date)` on `r`'s path whose date is known before the walk: checked edge
    /// by edge while walking (so the walk prunes early), and no longer placed as a filter.
    fn valid_at(&mut self, r: &Rel<'_>) -> Result<Option<CExpr>, EngineError> {
        let mut valid_at = None;
        for (j, c) in self.conds.iter().enumerate() {
            if self.applied[j] {
                continue;
            }
            if let Expr::Call(f, args, _) = c.expr {
                if f == "valid_at" && args.len() == 2 {
                    if let Expr::Var(v, _) = &args[0] {
                        let mut dv = Vec::new();
                        args[1].vars(&mut dv);
                        if v == r.var && dv.iter().all(|x| self.bound_now(x)) {
                            valid_at = Some(self.cx.expr(&args[1])?);
                            // Checked edge by edge while walking: no filter after.
                            self.applied[j] = true;
                        }
                    }
                }
            }
        }
        Ok(valid_at)
    }

    /// Emits the step of rel `i`, read from the side [`reads_forward`] picks, and binds its
    /// far end.
    fn step(&mut self, i: usize) -> Result<(), EngineError> {
        let lay = self.lay;
        let r = &lay.rels[i];
        let forward = reads_forward(r, &self.bound, self.masks, self.snap);
        let (from, to) = if forward { (r.a, r.b) } else { (r.b, r.a) };
        if let Some(j) = r.given {
            self.steps.push(Step::Given {
                slot: r.a,
                nodes: lay.given[j].1.clone(),
                to_bound: self.bound[r.a],
            });
        } else if let Some(tag) = r.code {
            self.steps.push(Step::Code {
                from,
                to,
                tag,
                to_bound: self.bound[to],
                to_kinds: self.masks[to],
            });
        } else {
            let specs = type_specs(r.types, self.snap);
            let far = far_kinds(&specs, r.dir, forward);
            let to_kinds = self.masks[to];
            // No kind test where every node the edge can reach has an allowed kind.
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
                None => self.steps.push(Step::Expand {
                    rel,
                    from,
                    to,
                    from_left: forward,
                    to_bound: self.bound[to],
                    edge: lay.edge_slot[r.var],
                    to_kinds: check_kinds,
                }),
                Some((lo, hi)) => {
                    let valid_at = self.valid_at(r)?;
                    self.steps.push(Step::Path {
                        rel,
                        from,
                        to,
                        from_left: forward,
                        to_bound: self.bound[to],
                        path: lay.path_slot[r.var],
                        lo,
                        hi,
                        valid_at,
                        to_kinds: check_kinds,
                    });
                }
            }
        }
        self.bound[to] = true;
        self.done[i] = true;
        Ok(())
    }
}

/// The steps of the chosen start and order: each rel in turn (checks as early as they can
/// run), each condition right after the step that binds its last variable.
fn emit(
    lay: &Layout<'_>,
    masks: &[KindMask],
    conds: &[Cond<'_>],
    start: &Start,
    order: &[usize],
    cx: &Compile<'_>,
    snap: &Snapshot,
) -> Result<Vec<Step>, EngineError> {
    let mut e = Emit {
        lay,
        masks,
        conds,
        cx,
        snap,
        bound: vec![false; lay.node_slot.len()],
        done: vec![false; lay.rels.len()],
        applied: vec![false; conds.len()],
        steps: Vec::new(),
    };
    e.begin(start);
    let order = checks_first(order, &lay.rels, &e.bound, &e.done);
    if !e.check_next(&order, 0) {
        e.filters()?;
    }
    for (pos, &i) in order.iter().enumerate() {
        e.step(i)?;
        if !e.check_next(&order, pos + 1) {
            e.filters()?;
        }
    }
    Ok(e.steps)
}

/// Node slots of the RETURN items, in [`RETURN_NAMES`] order: the finding key.
fn return_slots(
    returns: &[qinglian_rules::ast::ReturnItem],
    node_slot: &BTreeMap<String, usize>,
) -> [Option<usize>; 4] {
    let mut ret = [None; 4];
    for r in returns {
        if let Some(i) = RETURN_NAMES.iter().position(|n| *n == r.name) {
            ret[i] = node_slot.get(&r.var).copied();
        }
    }
    ret
}

/// Plans a branch (or an EXISTS body, when `outer` is given): numbers the variables, collects
/// the conditions, chooses the cheapest start and order, and emits the steps.
pub(crate) fn plan_branch<'q>(
    patterns: &'q [PathPattern],
    filter: Option<&'q Expr>,
    returns: &[qinglian_rules::ast::ReturnItem],
    (vars, cols): (&Vars, &Columns),
    snap: &Snapshot,
    outer: Option<&Outer<'_>>,
    given: &Given,
) -> Result<Plan, EngineError> {
    let mut lay = Layout::default();
    // Outer variables first, so that a sub-plan can copy them in.
    if let Some(o) = outer {
        lay.bind_outer(patterns, filter, o);
    }
    lay.add_patterns(patterns);
    let masks = kind_masks(&lay.node_slot, vars);
    let conds = conditions(filter, &mut lay);
    lay.add_given(given);
    let (cost, start, order) = choose(&lay, &masks, &conds, snap, outer)?;
    let cx = Compile {
        node: &lay.node_slot,
        edge: &lay.edge_slot,
        path: &lay.path_slot,
        vars,
        cols,
        snap,
        plan_exists,
    };
    let steps = emit(&lay, &masks, &conds, &start, &order, &cx, snap)?;
    // Pushed conditions stay in the WHERE list for describing windows.
    let conditions = conds
        .iter()
        .map(|c| cx.expr(c.expr))
        .collect::<Result<Vec<_>, _>>()?;
    let returns = return_slots(returns, &lay.node_slot);
    let Layout {
        node_slot,
        edge_slot,
        path_slot,
        outer_nodes,
        outer_edges,
        outer_paths,
        chain,
        ..
    } = lay;
    Ok(Plan {
        n_nodes: node_slot.len(),
        n_edges: edge_slot.len(),
        n_paths: path_slot.len(),
        node_slot,
        edge_slot,
        path_slot,
        start,
        steps,
        returns,
        chain,
        outer_nodes,
        outer_edges,
        outer_paths,
        cost,
        conditions,
        need: std::sync::OnceLock::new(),
    })
}

/// Plans a whole branch, with the nodes a caller gave for some of its variables.
pub(crate) fn plan(
    b: &Branch,
    vars: (&Vars, &Columns),
    snap: &Snapshot,
    given: &Given,
) -> Result<Plan, EngineError> {
    plan_branch(
        &b.patterns,
        b.filter.as_ref(),
        &b.returns,
        vars,
        snap,
        None,
        given,
    )
}

/// Plans an EXISTS body over the outer query's bindings (the compiler's `plan_exists`).
pub(crate) fn plan_exists(
    q: &SubQuery,
    vars: &Vars,
    snap: &Snapshot,
    outer: &Outer<'_>,
) -> Result<Plan, EngineError> {
    plan_branch(
        &q.patterns,
        q.filter.as_ref(),
        &[],
        (vars, outer.cols),
        snap,
        Some(outer),
        &Given::new(),
    )
}

/// A compiler for expressions over `plan`'s variables: grades, score, explanation.
pub(crate) fn compiler<'p>(
    plan: &'p Plan,
    (vars, cols): (&'p Vars, &'p Columns),
    snap: &'p Snapshot,
) -> Compile<'p> {
    Compile {
        node: &plan.node_slot,
        edge: &plan.edge_slot,
        path: &plan.path_slot,
        vars,
        cols,
        snap,
        plan_exists,
    }
}

#[cfg(test)]
mod tests {
    use super::super::{compile, testdata};
    use super::{Plan, Start};
    use crate::snapshot::Snapshot;
    use qinglian_model::{EdgeKind, NodeKind};

    /// The variable a node slot holds.
    fn var(plan: &Plan, slot: usize) -> &str {
        plan.node_slot
            .iter()
            .find(|(_, s)| **s == slot)
            .map_or("?", |(v, _)| v.as_str())
    }

    /// What the plan of `query` on `snap` starts from: `node a` or `edge pd`.
    fn start(query: &str, snap: &Snapshot) -> String {
        let c = compile(&testdata::rule(query), snap).expect("the rule compiles");
        let plan = &c.branches[0].plan;
        match &plan.start {
            Start::Nodes { slot, .. } => format!("node {}", var(plan, *slot)),
            Start::Edges { edge, .. } => {
                let name = plan.edge_slot.iter().find(|(_, s)| *s == edge);
                format!("edge {}", name.map_or("?", |(v, _)| v.as_str()))
            }
            Start::Bound => "bound".into(),
            Start::Given { slot, .. } => format!("given {}", var(plan, *slot)),
        }
    }

    /// `people` people and `agencies` agencies; person i holds office at agency i mod
    /// `agencies`.
    fn offices(people: usize, agencies: usize) -> Snapshot {
        let p: Vec<String> = (0..people).map(|i| format!("P{i:03}")).collect();
        let a: Vec<String> = (0..agencies).map(|i| format!("A{i:03}")).collect();
        let mut nodes: Vec<(NodeKind, &str)> =
            p.iter().map(|x| (NodeKind::Person, x.as_str())).collect();
        nodes.extend(a.iter().map(|x| (NodeKind::Agency, x.as_str())));
        let edges: Vec<(EdgeKind, &str, &str, &str)> = p
            .iter()
            .enumerate()
            .map(|(i, x)| {
                (
                    EdgeKind::Position,
                    x.as_str(),
                    a[i % agencies].as_str(),
                    "director",
                )
            })
            .collect();
        testdata::snapshot(&nodes, &edges)
    }

    /// A one-edge walk has no edge start: the planner scans one end or the other, and the end
    /// with fewer nodes costs fewer rows (2 x nodes + edges): with 2 agencies and 40 officials
    /// it starts from the agencies, with 40 agencies and 3 officials from the officials.
    #[test]
    fn a_walk_starts_from_the_end_with_fewer_nodes() {
        let q = "MATCH (o:Person)-[p:POSITION*1..1]->(a:Agency)\nRETURN official = o, target = a";
        assert_eq!(start(q, &offices(40, 2)), "node a");
        assert_eq!(start(q, &offices(3, 40)), "node o");
    }

    /// 20 agencies, 20 subsidies and 20 people, but only 2 PAID edges (and 10 TO edges): the 2
    /// PAID edges are the fewest rows any start reads, and each leads to one TO edge at most.
    #[test]
    fn a_chain_starts_from_its_rarest_edge() {
        let ids = |p: &str| (0..20).map(|i| format!("{p}{i:02}")).collect::<Vec<_>>();
        let (a, s, p) = (ids("A"), ids("S"), ids("P"));
        let mut nodes: Vec<(NodeKind, &str)> = Vec::new();
        nodes.extend(a.iter().map(|x| (NodeKind::Agency, x.as_str())));
        nodes.extend(s.iter().map(|x| (NodeKind::Subsidy, x.as_str())));
        nodes.extend(p.iter().map(|x| (NodeKind::Person, x.as_str())));
        let mut edges: Vec<(EdgeKind, &str, &str, &str)> = vec![
            (EdgeKind::Paid, a[0].as_str(), s[0].as_str(), ""),
            (EdgeKind::Paid, a[1].as_str(), s[1].as_str(), ""),
        ];
        edges.extend((0..10).map(|i| (EdgeKind::To, s[i].as_str(), p[i].as_str(), "")));
        let snap = testdata::snapshot(&nodes, &edges);
        let q = "MATCH (a:Agency)-[pd:PAID]->(s:Subsidy)-[to:TO]->(p:Person)\n\
                 RETURN target = p, ref = s";
        assert_eq!(start(q, &snap), "edge pd");
    }

    /// Nodes given for a variable are the cheapest start (two agencies of forty), and a second
    /// given variable that the pattern binds is checked against its nodes, not scanned: the
    /// matches are exactly the given pairs that hold office there.
    #[test]
    fn given_nodes_start_the_plan_and_check_the_rest() {
        use super::super::{compile_given, run, ExecOptions, Given};
        let snap = offices(40, 40);
        let q = "MATCH (o:Person)-[p:POSITION]->(a:Agency)\nRETURN official = o, target = a";
        let node = |id: &str| snap.lookup(id).expect("node");
        let mut given = Given::new();
        given.insert("a".into(), vec![node("A003"), node("A007")]);
        given.insert("o".into(), vec![node("P003"), node("P004"), node("P007")]);
        let c = compile_given(&testdata::rule(q), &snap, &given).expect("compiles");
        let plan = &c.branches[0].plan;
        assert!(
            matches!(plan.start, Start::Given { .. }),
            "{:?}",
            plan.start
        );
        assert!(
            plan.steps
                .iter()
                .any(|s| matches!(s, super::Step::Given { to_bound: true, .. })),
            "{:?}",
            plan.steps
        );
        let found: Vec<(String, String)> = run(&snap, &c, &ExecOptions::default())
            .expect("runs")
            .findings
            .iter()
            .map(|f| (f.official.clone(), f.target.clone()))
            .collect();
        assert_eq!(
            found,
            [
                ("P003".into(), "A003".into()),
                ("P007".into(), "A007".into())
            ]
        );
    }
}
