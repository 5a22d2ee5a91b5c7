//! Running rules: compile each branch of a rule to a plan, run the plans over the snapshot in
//! parallel, keep one deterministic witness per finding, grade and score it, and assemble its
//! evidence.
//!
//! The files, each using only those listed before it (no file imports one listed after it):
//! `ir.rs` (plans and compiled expressions, as data), `graph.rs` (the snapshot as the executor
//! reads it; walking adjacency lists), `expr.rs` (evaluating conditions), `compile.rs`
//! (expressions to `CExpr`), `plan.rs` (cost model, order search, step emission), `prune.rs`
//! (pruning sets), `run.rs` (running a plan), `text.rs` (plans and windows in words), and this
//! file, which ties them together.

mod columns;
pub(crate) mod compile;
mod cost;
pub(crate) mod expr;
pub(crate) mod graph;
pub(crate) mod ir;
pub(crate) mod plan;
pub(crate) mod prune;
pub(crate) mod run;
#[cfg(test)]
mod testdata;
mod text;

pub use graph::EdgeRef;
pub use ir::Given;
pub use prune::Pruning;

use crate::findings::{Evidence, Finding, WeakLink};
use crate::snapshot::Snapshot;
use crate::EngineError;
use compile::Compile;
use expr::Val;
use graph::{Bind, G};
use ir::{CExpr, Plan};
use qinglian_model::EdgeKind;
use qinglian_rules::{Body, Rule, Severity};
use rustc_hash::FxHashMap;
use std::time::{Duration, Instant};
use text::show;

/// How a screening runs.
#[derive(Clone, Debug, Default)]
pub struct ExecOptions {
    /// Only what was known on this day counts: tenders, contracts and subsidies dated later,
    /// and edges starting later, are ignored.
    pub as_of: Option<i32>,
    /// Stop (and report `truncated`) past this instant.
    pub deadline: Option<Instant>,
    /// Whether to compute pruning sets (see `prune`). Findings never depend on it; the first
    /// run of a compiled rule fixes it for that compiled rule.
    pub pruning: Pruning,
}

/// A rule ready to run on one snapshot.
#[derive(Debug)]
pub struct Compiled {
    /// The rule.
    pub rule: Rule,
    branches: Vec<Branch>,
}

#[derive(Debug)]
struct Branch {
    plan: Plan,
    grades: Vec<(Severity, CExpr)>,
    score: Option<CExpr>,
    explain: Vec<Piece>,
}

#[derive(Debug)]
enum Piece {
    Text(String),
    Value(CExpr),
}

/// What a rule run produced.
#[derive(Debug)]
pub struct RuleRun {
    /// Findings in canonical order.
    pub findings: Vec<Finding>,
    /// The deadline cut the run short.
    pub truncated: bool,
    /// Wall time.
    pub elapsed: Duration,
}

/// Compiles a rule against a snapshot (plans depend on its statistics and label tables).
pub fn compile(rule: &Rule, snap: &Snapshot) -> Result<Compiled, EngineError> {
    compile_given(rule, snap, &Given::new())
}

/// Compiles a rule whose variables named in `given` range over the nodes given for them only
/// (each list sorted): the same plans, started from or checked against those nodes.
pub fn compile_given(rule: &Rule, snap: &Snapshot, given: &Given) -> Result<Compiled, EngineError> {
    let tag = |e: EngineError| match e {
        EngineError::Rule { message, .. } => EngineError::Rule {
            rule: rule.id.clone(),
            message,
        },
        other => other,
    };
    if let Body::Native { name, params } = &rule.body {
        crate::native::check_params(name, params).map_err(|message| EngineError::Rule {
            rule: rule.id.clone(),
            message,
        })?;
    }
    let mut branches = Vec::new();
    if let Some((query, vars)) = rule.query() {
        for (i, (b, v)) in query.branches.iter().zip(vars).enumerate() {
            let plan = plan::plan(b, (v, &rule.columns), snap, given).map_err(tag)?;
            let cx = plan::compiler(&plan, (v, &rule.columns), snap);
            let grades = rule
                .grades
                .iter()
                .map(|(s, e)| cx.expr(e).map(|c| (*s, c)))
                .collect::<Result<_, _>>()
                .map_err(tag)?;
            let score = rule
                .score
                .as_ref()
                .map(|e| cx.expr(e))
                .transpose()
                .map_err(tag)?;
            // One sentence for every branch, or one per branch (checked by the rules crate).
            let sentence = rule.explain.get(i).or(rule.explain.first());
            let explain = template(sentence.map_or("", String::as_str), &cx).map_err(tag)?;
            branches.push(Branch {
                plan,
                grades,
                score,
                explain,
            });
        }
    }
    Ok(Compiled {
        rule: rule.clone(),
        branches,
    })
}

/// Compiles `{var}` / `{var.prop}` placeholders.
fn template(t: &str, cx: &Compile<'_>) -> Result<Vec<Piece>, EngineError> {
    let mut out = Vec::new();
    let mut rest = t;
    while let Some(i) = rest.find('{') {
        out.push(Piece::Text(rest[..i].to_owned()));
        let j = rest[i..].find('}').map_or(rest.len(), |j| i + j);
        let inner = &rest[i + 1..j];
        let e = match inner.split_once('.') {
            Some((v, p)) => qinglian_rules::ast::Expr::Prop(
                Box::new(qinglian_rules::ast::Expr::Var(
                    v.to_owned(),
                    Default::default(),
                )),
                p.to_owned(),
                Default::default(),
            ),
            None => qinglian_rules::ast::Expr::Var(inner.to_owned(), Default::default()),
        };
        out.push(Piece::Value(cx.expr(&e)?));
        rest = &rest[(j + 1).min(rest.len())..];
    }
    out.push(Piece::Text(rest.to_owned()));
    Ok(out)
}

/// Runs one compiled rule.
pub fn run(snap: &Snapshot, c: &Compiled, opts: &ExecOptions) -> Result<RuleRun, EngineError> {
    let t0 = Instant::now();
    if let Body::Native { name, params } = &c.rule.body {
        let f = crate::native::lookup(name).ok_or_else(|| EngineError::Rule {
            rule: c.rule.id.clone(),
            message: format!("no native rule named `{name}` in this build"),
        })?;
        let mut findings = f(snap, params, opts, &c.rule).map_err(|m| EngineError::Rule {
            rule: c.rule.id.clone(),
            message: m,
        })?;
        findings.sort();
        return Ok(RuleRun {
            findings,
            truncated: false,
            elapsed: t0.elapsed(),
        });
    }
    let g = G::new(snap, opts.as_of, run::exists);
    let limits = run::Limits::new(opts.deadline);
    let mut best: FxHashMap<run::Key, run::Best> = FxHashMap::default();
    let mut truncated = false;
    for (i, b) in c.branches.iter().enumerate() {
        let grader = run::Grader {
            grades: &b.grades,
            default: c.rule.severity,
        };
        let (m, cut) = run::run_branch(&g, &b.plan, &grader, i, &limits, opts.pruning);
        truncated |= cut;
        for (k, v) in m {
            match best.get_mut(&k) {
                Some(cur) if cur.wit <= v.wit => {}
                Some(cur) => *cur = v,
                None => {
                    best.insert(k, v);
                }
            }
        }
    }
    let mut findings: Vec<Finding> = best
        .into_iter()
        .map(|(k, b)| finding(&g, c, k, &b))
        .collect();
    findings.sort();
    Ok(RuleRun {
        findings,
        truncated,
        elapsed: t0.elapsed(),
    })
}

fn finding(g: &G<'_>, c: &Compiled, key: run::Key, best: &run::Best) -> Finding {
    let br = &c.branches[best.branch];
    let b: &Bind = &best.bind;
    let severity = br
        .grades
        .iter()
        .find(|(_, e)| g.truth(e, b) == Some(true))
        .map_or(c.rule.severity, |(s, _)| *s);
    let score = match br.score.as_ref().map(|e| g.eval(e, b)) {
        Some(Val::Num(n)) => n.clamp(0.0, 100.0),
        _ => default_score(severity),
    };
    let explanation: String = br
        .explain
        .iter()
        .map(|p| match p {
            Piece::Text(t) => t.clone(),
            Piece::Value(e) => show(g, g.eval(e, b)),
        })
        .collect();
    let chain = run::chain_items(g, &br.plan, b);
    let evidence = Evidence::from_chain(g.snap, &chain, text::windows(g, &br.plan, b));
    let weakest = weakest_link(g, &chain);
    let (score, explanation) = match &weakest {
        None => (score, explanation),
        Some((w, sure)) => (
            score * sure,
            format!(
                "{explanation} (through {} identity link{}: the weakest, {} and {}, {} at p = {:.3})",
                w.crossed,
                if w.crossed == 1 { "" } else { "s" },
                w.a,
                w.b,
                w.status,
                w.probability
            ),
        ),
    };
    let mut f = Finding::new(
        g.snap,
        &c.rule.id,
        severity,
        score,
        key,
        explanation,
        evidence,
    );
    f.weakest_link = weakest.map(|(w, _)| w);
    f
}

/// The least probable identity link a witness crosses, and the product of all their
/// probabilities; `None` when it crosses none.
fn weakest_link(
    g: &G<'_>,
    chain: &[Vec<(Option<u32>, Option<EdgeRef>)>],
) -> Option<(WeakLink, f64)> {
    let mut links: Vec<EdgeRef> = chain
        .iter()
        .flatten()
        .filter_map(|(_, e)| *e)
        .filter(|e| e.kind() == EdgeKind::SameAs)
        .collect();
    links.sort();
    links.dedup();
    let v = &g.ev[EdgeKind::SameAs.index()];
    let p = |e: &EdgeRef| v.value(e.idx as usize).unwrap_or(0.0);
    let weakest = links.iter().min_by(|x, y| p(x).total_cmp(&p(y)))?;
    let i = weakest.idx as usize;
    let confirmed = g.snap.links().is_some_and(|l| l.confirmed(i));
    let link = WeakLink {
        a: g.snap.ext(v.src[i]).to_owned(),
        b: g.snap.ext(v.dst[i]).to_owned(),
        probability: p(weakest),
        status: if confirmed { "confirmed" } else { "candidate" },
        crossed: links.len() as u32,
    };
    Some((link, links.iter().map(p).product()))
}

/// Score when a rule sets none.
pub fn default_score(s: Severity) -> f64 {
    match s {
        Severity::Red => 80.0,
        Severity::Yellow => 50.0,
        Severity::Green => 20.0,
    }
}

/// Per branch, the pattern variables in the order its plan binds them: the start's, then each
/// step's (an edge or path, then the node it reaches). `compile-rules --db` lists a compiled
/// rule's tables in this order, so that Spark — which joins in the order it is given — walks
/// the rule the way this database's statistics say is cheap, and not as the rule is written.
pub fn join_order(c: &Compiled) -> Vec<Vec<String>> {
    c.branches.iter().map(|b| plan_order(&b.plan)).collect()
}

fn plan_order(p: &Plan) -> Vec<String> {
    let name = |m: &std::collections::BTreeMap<String, usize>, slot: usize| {
        m.iter().find(|(_, s)| **s == slot).map(|(n, _)| n.clone())
    };
    let (n, e, pa) = (&p.node_slot, &p.edge_slot, &p.path_slot);
    let mut out: Vec<Option<String>> = Vec::new();
    match &p.start {
        ir::Start::Nodes { slot, .. } | ir::Start::Given { slot, .. } => out.push(name(n, *slot)),
        ir::Start::Edges { a, b, edge, .. } => {
            out.extend([name(n, *a), name(e, *edge), name(n, *b)]);
        }
        ir::Start::Bound => {}
    }
    for s in &p.steps {
        match s {
            ir::Step::Expand { edge, to, .. } => out.extend([name(e, *edge), name(n, *to)]),
            ir::Step::Path { path, to, .. } => out.extend([name(pa, *path), name(n, *to)]),
            ir::Step::Code { to, .. } => out.push(name(n, *to)),
            ir::Step::Given { slot, .. } => out.push(name(n, *slot)),
            ir::Step::Filter(_) => {}
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    out.into_iter()
        .flatten()
        .filter(|v| seen.insert(v.clone()))
        .collect()
}

/// A plan in words, for `qinglian rules explain`.
pub fn explain(c: &Compiled) -> String {
    let mut out = String::new();
    if let Body::Native { name, params } = &c.rule.body {
        out.push_str(&format!("native rule `{name}` with parameters {params}\n"));
        return out;
    }
    for (i, b) in c.branches.iter().enumerate() {
        out.push_str(&format!(
            "branch {} (estimated {:.0} rows touched)\n",
            i + 1,
            b.plan.cost
        ));
        out.push_str(&text::plan_text(&b.plan));
    }
    out
}
