//! A procurement the data does not hold yet: the pre-award rules asked of the agency, bidders
//! and people a caller names, on a day the caller names.
//!
//! [`crate::hypothesis`] turns every rule about an award into a rule about a tender's bids, so
//! a tender in the data is checked by the same plans as batch screening. A procurement officer
//! often checks earlier — an agency and the companies that asked for the documents, before the
//! tender is registered — or asks about a tender with a colleague who is not in the data as
//! its evaluator, or on another day. [`without_tender`] takes the tender out of the pre-award
//! rule: each edge that reaches the tender names a *role* — `RAN` the agency, `BID` a bidder,
//! `HANDLED` a person handling it — and the variable at its other end is bound to the nodes
//! the caller gives for that role (`exec::compile_given`: the planner starts from them or
//! checks against them). The tender's publication day becomes the day asked, its id the
//! caller's label. Everything else — relations, hop bounds, label filters, conditions, grades,
//! scores — is the rule file's own, so an edit of a rule file reaches this answer too.
//!
//! A rule that uses the tender any other way (another property, another edge kind, inside an
//! `EXISTS`) cannot be asked without it; [`ask`] lists such rules in [`Answer::skipped`] with
//! the reason instead of guessing.

use crate::exec::{self, ExecOptions, Given};
use crate::findings::Finding;
use crate::hypothesis::PreAward;
use crate::snapshot::Snapshot;
use crate::EngineError;
use qinglian_model::{EdgeKind, NodeKind};
use qinglian_rules::ast::{Branch, EdgeType, Expr, Lit, PathPattern};
use qinglian_rules::{Body, Rule};
use std::collections::BTreeMap;

/// What a variable next to the tender stands for.
#[derive(Clone, Debug, PartialEq)]
pub enum Role {
    /// The agency running the procurement (`RAN`).
    Agency,
    /// A bidder (`BID`).
    Bidder,
    /// A person handling it (`HANDLED`), with the rule's filter on the handling role, which
    /// people taken from a tender in the data must pass.
    Handler(EdgeType),
}

/// A rule with the tender taken out, and the role of each variable that touched it.
#[derive(Clone, Debug)]
pub struct Asked {
    /// The rule to run.
    pub rule: Rule,
    /// Variable → role.
    pub roles: BTreeMap<String, Role>,
}

/// The procurement asked about.
#[derive(Clone, Debug, Default)]
pub struct Proposal {
    /// The agency (at most one is expected; every one given is checked).
    pub agencies: Vec<u32>,
    /// The bidders.
    pub bidders: Vec<u32>,
    /// People handling it, with the handling role each has (`None`: named by the caller, who
    /// vouches that they handle it; such a person passes any role filter).
    pub handlers: Vec<(u32, Option<String>)>,
    /// The day links must hold on.
    pub day: i32,
    /// How the explanation names the tender.
    pub label: String,
}

impl Proposal {
    /// What a tender in the data contributes: its agency (`RAN`), bidders (`BID`), the people
    /// handling it with their roles (`HANDLED`), and its publication day (`today` when it has
    /// none); labelled with its id.
    pub fn of_tender(snap: &Snapshot, t: u32, today: i32) -> Proposal {
        let (ran, bid, handled) = (
            snap.edges(EdgeKind::Ran),
            snap.edges(EdgeKind::Bid),
            snap.edges(EdgeKind::Handled),
        );
        let published = snap.dates()[t as usize];
        let mut p = Proposal {
            agencies: ran.inc(t).iter().map(|&e| ran.src[e as usize]).collect(),
            bidders: bid.inc(t).iter().map(|&e| bid.src[e as usize]).collect(),
            handlers: handled
                .inc(t)
                .iter()
                .map(|&e| {
                    let role = snap.label_text(EdgeKind::Handled, handled.label(e as usize));
                    (handled.src[e as usize], Some(role.to_owned()))
                })
                .collect(),
            day: if published == crate::snapshot::NO_DATE {
                today
            } else {
                published
            },
            label: snap.ext(t).to_owned(),
        };
        p.normalize();
        p
    }

    /// Sorts and deduplicates the node lists.
    pub fn normalize(&mut self) {
        for v in [&mut self.agencies, &mut self.bidders] {
            v.sort_unstable();
            v.dedup();
        }
        self.handlers.sort();
        self.handlers.dedup();
    }
}

/// The answer.
#[derive(Clone, Debug)]
pub struct Answer {
    /// Findings, canonical order.
    pub findings: Vec<Finding>,
    /// The rules asked.
    pub rules: Vec<String>,
    /// Rules that could not be asked without a tender, with the reason.
    pub skipped: Vec<(String, String)>,
}

/// Asks every pre-award rule about `p`.
pub fn ask(snap: &Snapshot, rules: &[PreAward], p: &Proposal) -> Result<Answer, EngineError> {
    let mut findings = Vec::new();
    let mut asked = Vec::new();
    let mut skipped = Vec::new();
    for r in rules {
        let a = match without_tender(r.rule(), p.day, &p.label) {
            Ok(a) => a,
            Err(why) => {
                skipped.push((r.rule().id.clone(), why));
                continue;
            }
        };
        let given = bind(&a.roles, p);
        let c = exec::compile_given(&a.rule, snap, &given)?;
        findings.extend(exec::run(snap, &c, &ExecOptions::default())?.findings);
        asked.push(a.rule.id.clone());
    }
    findings.sort();
    Ok(Answer {
        findings,
        rules: asked,
        skipped,
    })
}

/// The nodes of each role variable: the proposal's agencies, bidders, and the handlers whose
/// role passes the rule's filter.
fn bind(roles: &BTreeMap<String, Role>, p: &Proposal) -> Given {
    let mut given = Given::new();
    for (var, role) in roles {
        let mut nodes: Vec<u32> = match role {
            Role::Agency => p.agencies.clone(),
            Role::Bidder => p.bidders.clone(),
            Role::Handler(t) => p
                .handlers
                .iter()
                .filter(|(_, role)| role.as_deref().is_none_or(|r| label_passes(t, r)))
                .map(|(n, _)| *n)
                .collect(),
        };
        nodes.sort_unstable();
        nodes.dedup();
        given.insert(var.clone(), nodes);
    }
    given
}

fn label_passes(t: &EdgeType, label: &str) -> bool {
    t.labels.is_empty() || t.labels.iter().any(|l| l == label) != t.negated
}

/// The role an edge next to the tender gives the node at its other end.
fn role_of(types: &[EdgeType]) -> Result<Role, String> {
    let [t] = types else {
        return Err("an edge to the tender allows several kinds".into());
    };
    match t.kind {
        EdgeKind::Ran => Ok(Role::Agency),
        EdgeKind::Bid => Ok(Role::Bidder),
        EdgeKind::Handled => Ok(Role::Handler(t.clone())),
        k => Err(format!(
            "the pattern reaches the tender by a {} edge",
            k.as_str()
        )),
    }
}

/// The tender variables of a query: node variables of kind Tender only.
fn tender_vars(branches: &[Branch]) -> Vec<String> {
    let mut out: Vec<String> = branches
        .iter()
        .flat_map(|b| &b.patterns)
        .flat_map(|p| &p.nodes)
        .filter(|n| n.kinds == [NodeKind::Tender])
        .map(|n| n.var.clone())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// What taking the tender out of a branch found: the roles, and the edge variables removed
/// with the role each touched.
#[derive(Default)]
struct Cut {
    roles: BTreeMap<String, Role>,
    edges: BTreeMap<String, Role>,
}

/// Splits every pattern of `b` at the tender variables; records the roles.
fn cut_branch(b: &mut Branch, tenders: &[String], cut: &mut Cut) -> Result<(), String> {
    let mut out = Vec::new();
    for p in std::mem::take(&mut b.patterns) {
        let mut cur = PathPattern {
            nodes: Vec::new(),
            rels: Vec::new(),
        };
        for (i, n) in p.nodes.iter().enumerate() {
            if !tenders.contains(&n.var) {
                cur.nodes.push(n.clone());
                if let Some(r) = p.rels.get(i) {
                    if !tenders.contains(&p.nodes[i + 1].var) {
                        cur.rels.push(r.clone());
                    }
                }
                continue;
            }
            // The tender: each neighbour on the path gets the role of the edge between them.
            for (r, other) in [(i.checked_sub(1), i.checked_sub(1)), (Some(i), Some(i + 1))] {
                let (Some(r), Some(other)) = (r.and_then(|r| p.rels.get(r)), other) else {
                    continue;
                };
                let Some(o) = p.nodes.get(other) else {
                    continue;
                };
                if r.hops.is_some() {
                    return Err("a variable-length edge reaches the tender".into());
                }
                let role = role_of(&r.types)?;
                if cut.roles.get(&o.var).is_some_and(|x| *x != role) {
                    return Err(format!("`{}` has two roles next to the tender", o.var));
                }
                cut.roles.insert(o.var.clone(), role.clone());
                cut.edges.insert(r.var.clone(), role);
            }
            if !cur.nodes.is_empty() {
                out.push(std::mem::replace(
                    &mut cur,
                    PathPattern {
                        nodes: Vec::new(),
                        rels: Vec::new(),
                    },
                ));
            }
        }
        if !cur.nodes.is_empty() {
            out.push(cur);
        }
    }
    b.patterns = out;
    b.returns.retain(|r| !tenders.contains(&r.var));
    Ok(())
}

/// The tender's properties a rule may use without it, as literals.
fn tender_prop(prop: &str, day: i32, label: &str) -> Option<Lit> {
    match prop {
        "published" => Some(Lit::Date(day)),
        "id" | "title" => Some(Lit::Str(label.to_owned())),
        _ => None,
    }
}

/// Replaces the tender's properties by literals; refuses any other use of a removed variable.
fn rewrite(
    e: &mut Expr,
    tenders: &[String],
    cut: &Cut,
    day: i32,
    label: &str,
) -> Result<(), String> {
    let removed = |v: &str| tenders.iter().any(|t| t == v) || cut.edges.contains_key(v);
    match e {
        Expr::Prop(base, prop, pos) => {
            if let Expr::Var(v, _) = &**base {
                if tenders.contains(v) {
                    let lit = tender_prop(prop, day, label)
                        .ok_or_else(|| format!("uses the tender's `{prop}`"))?;
                    *e = Expr::Lit(lit, *pos);
                    return Ok(());
                }
                if removed(v) {
                    return Err(format!("uses the edge `{v}` to the tender"));
                }
            }
            rewrite(base, tenders, cut, day, label)
        }
        Expr::Var(v, _) | Expr::KindTest(v, _, _) => {
            if removed(v) {
                Err(format!("uses `{v}` itself"))
            } else {
                Ok(())
            }
        }
        Expr::Lit(..) => Ok(()),
        Expr::Call(_, args, _) => args
            .iter_mut()
            .try_for_each(|a| rewrite(a, tenders, cut, day, label)),
        Expr::Not(x) | Expr::IsNull(x, _, _) | Expr::In(x, _, _) => {
            rewrite(x, tenders, cut, day, label)
        }
        Expr::And(v) | Expr::Or(v) => v
            .iter_mut()
            .try_for_each(|a| rewrite(a, tenders, cut, day, label)),
        Expr::Cmp(_, a, b, _) | Expr::During(a, b, _) | Expr::Arith(_, a, b, _) => {
            rewrite(a, tenders, cut, day, label)?;
            rewrite(b, tenders, cut, day, label)
        }
        Expr::Within { a, b, .. } => {
            rewrite(a, tenders, cut, day, label)?;
            rewrite(b, tenders, cut, day, label)
        }
        Expr::Exists(q, _) => {
            let mut inner = Vec::new();
            for p in &q.patterns {
                inner.extend(p.nodes.iter().map(|n| n.var.clone()));
                inner.extend(p.rels.iter().map(|r| r.var.clone()));
            }
            if let Some(f) = &q.filter {
                f.vars(&mut inner);
            }
            match inner.iter().find(|v| removed(v)) {
                Some(v) => Err(format!("mentions `{v}` inside EXISTS")),
                None => Ok(()),
            }
        }
    }
}

/// The explanation with the tender's placeholders filled in and the removed edges named by
/// their role.
fn explain_text(t: &str, tenders: &[String], cut: &Cut, day: i32, label: &str) -> String {
    let mut t = t.to_owned();
    for k in tenders {
        for prop in ["published", "id", "title"] {
            let lit = match tender_prop(prop, day, label) {
                Some(Lit::Date(d)) => qinglian_model::Date(d).to_string(),
                Some(Lit::Str(s)) => s,
                _ => continue,
            };
            t = t.replace(&format!("{{{k}.{prop}}}"), &lit);
        }
    }
    for (e, role) in &cut.edges {
        let word = match role {
            Role::Agency => "agency",
            Role::Bidder => "bidder",
            Role::Handler(_) => "handler",
        };
        let pat = format!("{{{e}.");
        while let Some(i) = t.find(&pat) {
            let j = t[i..].find('}').map_or(t.len(), |j| i + j + 1);
            t.replace_range(i..j, word);
        }
    }
    t
}

/// The pre-award rule `rule` with its tender taken out (see the module text), or why it cannot
/// be asked without one.
pub fn without_tender(rule: &Rule, day: i32, label: &str) -> Result<Asked, String> {
    let Body::Query { query, .. } = &rule.body else {
        return Err("a native rule".into());
    };
    let tenders = tender_vars(&query.branches);
    if tenders.is_empty() {
        return Err("its pattern has no tender".into());
    }
    if query
        .branches
        .iter()
        .any(|b| tender_vars(std::slice::from_ref(b)).is_empty())
    {
        return Err("a UNION branch has no tender".into());
    }
    let mut q = query.clone();
    let mut cut = Cut::default();
    for b in &mut q.branches {
        cut_branch(b, &tenders, &mut cut)?;
    }
    for b in &mut q.branches {
        if let Some(f) = &mut b.filter {
            rewrite(f, &tenders, &cut, day, label)?;
        }
    }
    let (branch_vars, vars) =
        qinglian_rules::check::check_query_with(&q, &rule.columns).map_err(|e| e.to_string())?;
    let mut r = rule.clone();
    r.body = Body::Query {
        query: q,
        branch_vars,
        vars,
    };
    for (_, g) in &mut r.grades {
        rewrite(g, &tenders, &cut, day, label)?;
    }
    if let Some(s) = &mut r.score {
        rewrite(s, &tenders, &cut, day, label)?;
    }
    r.explain = r
        .explain
        .iter()
        .map(|t| explain_text(t, &tenders, &cut, day, label))
        .collect();
    r.source = format!(
        "{} (asked of the given agency, bidders and people)",
        r.source
    );
    Ok(Asked {
        rule: r,
        roles: cut.roles,
    })
}
