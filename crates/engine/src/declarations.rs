//! Declaration spot-checks (个人有关事项报告 抽样、比对). Zones draw a random sample of officials
//! every year and compare what each declared about personal matters with what the registers
//! show. Two parts:
//!
//! - [`sample`]: a reproducible, stratified random sample. The population is every official
//!   holding office on the day asked (or now: a position with an open end), in one stratum per
//!   (agency, rank) of that office, optionally only some agencies (with their sub-agencies) and
//!   ranks. Each official's draw key is the SHA-256 of `seed`, a newline and the official's
//!   bundle id, in hex; within a stratum the officials with the smallest keys are drawn. With a
//!   rate `r`, a stratum of `N` gives `ceil(r × N)`; with a count `n`, strata get `n × N / total`,
//!   rounded down, and the officials left go to the strata with the largest remainders (ties: the
//!   stratum order, agency then rank). Same seed, same data: same sample; an auditor re-draws it
//!   from the population list with any SHA-256 tool (`docs/declarations.md`).
//! - [`sheet`]: for one official, what was declared (`declarations.csv`) beside what the graph
//!   discovers: relatives (spouse and children must be declared; others are shown for context)
//!   and interests — the pattern of the `undeclared_interest` rule file without its declaration
//!   test, run for this official, so that the sheet and the rule never disagree on what an
//!   interest is. Each discovered item carries its evidence chain and whether it was declared,
//!   under-declared (declared, but as another relation) or not declared; each declaration whether
//!   the registers confirm it.

use crate::exec::graph::EdgeRef;
use crate::exec::{self, ExecOptions, Given};
use crate::findings::Evidence;
use crate::snapshot::Snapshot;
use crate::EngineError;
use qinglian_model::{EdgeKind, NodeKind};
use qinglian_rules::ast::Expr;
use qinglian_rules::{Body, Rule};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// How many to draw.
#[derive(Clone, Copy, Debug)]
pub enum Size {
    /// A share of each stratum, in (0, 1].
    Rate(f64),
    /// A total, spread over the strata in proportion.
    Count(usize),
}

/// What to draw from.
#[derive(Clone, Debug)]
pub struct SampleOptions {
    /// The seed (any text; the year and a notary's number, for example).
    pub seed: String,
    /// How many.
    pub size: Size,
    /// Only these agencies (bundle ids) and their sub-agencies; empty: all.
    pub agencies: Vec<String>,
    /// Only these ranks (position titles); empty: all.
    pub ranks: Vec<String>,
    /// Offices held on this day; `None`: offices held now (open end).
    pub as_of: Option<i32>,
}

/// One stratum.
#[derive(Clone, Debug, Serialize)]
pub struct Stratum {
    /// Agency bundle id.
    pub agency: String,
    /// Position title.
    pub rank: String,
    /// Officials in it.
    pub population: usize,
    /// Officials drawn.
    pub drawn: usize,
}

/// One drawn official.
#[derive(Clone, Debug, Serialize)]
pub struct Drawn {
    /// Bundle id.
    pub official: String,
    /// Name.
    pub name: String,
    /// The office's agency and title (the stratum).
    pub agency: String,
    /// Position title.
    pub rank: String,
    /// The draw key (hex SHA-256 of seed, newline, id).
    pub key: String,
}

/// A drawn sample.
#[derive(Clone, Debug, Serialize)]
pub struct Sample {
    /// The method, in words.
    pub method: String,
    /// The seed.
    pub seed: String,
    /// The day of the offices (`null`: now).
    pub as_of: Option<String>,
    /// Officials in the population.
    pub population: usize,
    /// The strata.
    pub strata: Vec<Stratum>,
    /// The drawn officials, by stratum, then key.
    pub officials: Vec<Drawn>,
}

/// The draw key of `id` under `seed`.
pub fn draw_key(seed: &str, id: &str) -> String {
    let mut h = Sha256::new();
    h.update(seed.as_bytes());
    h.update(b"\n");
    h.update(id.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Draws a sample (module note). Errors name what is wrong with the options.
pub fn sample(snap: &Snapshot, o: &SampleOptions) -> Result<Sample, String> {
    match o.size {
        Size::Rate(r) if !(r > 0.0 && r <= 1.0) => {
            return Err(format!("rate {r}: expected a share above 0 and at most 1"))
        }
        Size::Count(0) => return Err("count 0: draw at least one official".into()),
        _ => {}
    }
    let within = agencies_within(snap, &o.agencies)?;
    let mut strata: BTreeMap<(String, String), Vec<Drawn>> = BTreeMap::new();
    for (official, agency, rank) in offices(snap, o.as_of) {
        if within.as_ref().is_some_and(|w| !w.contains(&agency))
            || (!o.ranks.is_empty() && !o.ranks.contains(&rank))
        {
            continue;
        }
        let id = snap.ext(official).to_owned();
        let d = Drawn {
            key: draw_key(&o.seed, &id),
            official: id,
            name: snap.name(official).to_owned(),
            agency: snap.ext(agency).to_owned(),
            rank,
        };
        strata
            .entry((d.agency.clone(), d.rank.clone()))
            .or_default()
            .push(d);
    }
    let population: usize = strata.values().map(Vec::len).sum();
    let quotas = quotas(&strata, o.size, population);
    let mut out = Sample {
        method: METHOD.to_owned(),
        seed: o.seed.clone(),
        as_of: o.as_of.map(|d| qinglian_model::Date(d).to_string()),
        population,
        strata: Vec::new(),
        officials: Vec::new(),
    };
    for (((agency, rank), mut members), n) in strata.into_iter().zip(quotas) {
        members.sort_by(|a, b| a.key.cmp(&b.key));
        out.strata.push(Stratum {
            agency,
            rank,
            population: members.len(),
            drawn: n,
        });
        out.officials.extend(members.into_iter().take(n));
    }
    Ok(out)
}

/// The method as the sample states it.
const METHOD: &str = "stratified by (agency, rank) of the office held; within a stratum, the \
officials with the smallest SHA-256(seed + \"\\n\" + official id) in hex; rate r: ceil(r x N) per \
stratum; count n: floor(n x N / total) per stratum, the rest to the largest remainders (ties: \
stratum order)";

/// Each stratum's number drawn, in the strata's order.
fn quotas(strata: &BTreeMap<(String, String), Vec<Drawn>>, size: Size, total: usize) -> Vec<usize> {
    let sizes: Vec<usize> = strata.values().map(Vec::len).collect();
    match size {
        Size::Rate(r) => sizes
            .iter()
            .map(|&n| ((r * n as f64).ceil() as usize).min(n))
            .collect(),
        Size::Count(want) => {
            let want = want.min(total);
            if total == 0 {
                return sizes.iter().map(|_| 0).collect();
            }
            let mut q: Vec<usize> = sizes.iter().map(|&n| want * n / total).collect();
            let mut rest: Vec<(usize, usize)> = sizes
                .iter()
                .enumerate()
                .map(|(i, &n)| (want * n % total, i))
                .collect();
            // Largest remainder first; equal remainders in stratum order.
            rest.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            let mut left = want - q.iter().sum::<usize>();
            for (_, i) in rest {
                if left == 0 {
                    break;
                }
                if q[i] < sizes[i] {
                    q[i] += 1;
                    left -= 1;
                }
            }
            q
        }
    }
}

/// The agencies (snapshot ids) within the given ones, sub-agencies included; `None`: all.
fn agencies_within(snap: &Snapshot, ids: &[String]) -> Result<Option<BTreeSet<u32>>, String> {
    if ids.is_empty() {
        return Ok(None);
    }
    let mut roots = BTreeSet::new();
    for id in ids {
        match snap.lookup(id) {
            Some(n) if snap.kind_of(n) == NodeKind::Agency => {
                roots.insert(n);
            }
            _ => return Err(format!("no agency with id {id}")),
        }
    }
    let part_of = snap.edges(EdgeKind::PartOf);
    let mut out = BTreeSet::new();
    for a in snap.kind_range(NodeKind::Agency) {
        // Up the PART_OF chain (bounded: a cycle in the data ends the walk).
        let (mut cur, mut steps) = (a, 0);
        loop {
            if roots.contains(&cur) {
                out.insert(a);
                break;
            }
            let up = part_of.out(cur);
            if up.is_empty() {
                break;
            }
            cur = part_of.dst[up.start];
            steps += 1;
            if steps > 64 {
                break;
            }
        }
    }
    Ok(Some(out))
}

/// Every official's office on the day (or now): (official, agency, title), the latest-starting
/// office when several hold.
fn offices(snap: &Snapshot, as_of: Option<i32>) -> Vec<(u32, u32, String)> {
    let pos = snap.edges(EdgeKind::Position);
    let mut best: BTreeMap<u32, (i32, u32, String)> = BTreeMap::new();
    for e in 0..pos.len() {
        let iv = pos.interval(e);
        let holds = match as_of {
            Some(d) => iv.contains(d),
            None => iv.end == qinglian_model::Interval::OPEN_END,
        };
        if !holds {
            continue;
        }
        let (o, a) = (pos.src[e], pos.dst[e]);
        let title = snap.label_text(EdgeKind::Position, pos.label(e)).to_owned();
        let better = best
            .get(&o)
            .is_none_or(|cur| iv.start > cur.0 || (iv.start == cur.0 && a < cur.1));
        if better {
            best.insert(o, (iv.start, a, title));
        }
    }
    best.into_iter().map(|(o, (_, a, t))| (o, a, t)).collect()
}

/// What the graph shows about an official, item by item.
#[derive(Clone, Debug, Serialize)]
pub struct Item {
    /// `relative` or `interest`.
    pub kind: &'static str,
    /// The relative, or the company.
    pub subject: String,
    /// Its name.
    pub subject_name: String,
    /// A relative: what they are to the official. An interest: who holds it (`self`, or the
    /// relation of the relative who does) and how (`OWNS 30%`, `ROLE legal_rep`).
    pub relation: String,
    /// declared, under-declared, not declared, or not required (a relative the report does
    /// not ask about).
    pub status: &'static str,
    /// The relation the declaration gives, when there is one.
    pub declared_as: Option<String>,
    /// The chain, each edge with its source row.
    pub evidence: Evidence,
}

/// One declaration and whether the registers confirm it.
#[derive(Clone, Debug, Serialize)]
pub struct Declaration {
    /// The subject declared.
    pub subject: String,
    /// Its name.
    pub subject_name: String,
    /// The relation declared.
    pub relation: String,
    /// Whether a discovered item names the subject.
    pub confirmed: bool,
    /// The declaration's row.
    pub evidence: Evidence,
}

/// The comparison sheet of one official.
#[derive(Clone, Debug, Serialize)]
pub struct Sheet {
    /// Bundle id.
    pub official: String,
    /// Name.
    pub name: String,
    /// Offices: agency id, agency name, title, start, end.
    pub offices: Vec<Evidence>,
    /// What the official declared.
    pub declared: Vec<Declaration>,
    /// What the graph discovers.
    pub discovered: Vec<Item>,
    /// The rule file whose pattern defines an interest.
    pub interest_rule: String,
}

/// The comparison sheet of `official` (a person with a position), the interests as the rule
/// `interest_rule` of `rules` defines them (module note).
pub fn sheet(
    snap: &Snapshot,
    rules: &[Rule],
    interest_rule: &str,
    official: u32,
) -> Result<Sheet, EngineError> {
    let declared = declarations(snap, official);
    let mut discovered = relatives(snap, official, &declared);
    discovered.extend(interests(snap, rules, interest_rule, official, &declared)?);
    let named: BTreeSet<&str> = discovered.iter().map(|i| i.subject.as_str()).collect();
    let declared = declared
        .into_iter()
        .map(|(subject, relation, e)| Declaration {
            subject_name: snap.name(subject).to_owned(),
            confirmed: named.contains(snap.ext(subject)),
            subject: snap.ext(subject).to_owned(),
            relation,
            evidence: chain(snap, official, &[e]),
        })
        .collect();
    let pos = snap.edges(EdgeKind::Position);
    let offices = pos
        .out(official)
        .map(|e| chain(snap, official, &[edge(EdgeKind::Position, e)]))
        .collect();
    Ok(Sheet {
        official: snap.ext(official).to_owned(),
        name: snap.name(official).to_owned(),
        offices,
        declared,
        discovered,
        interest_rule: interest_rule.to_owned(),
    })
}

fn edge(k: EdgeKind, e: usize) -> EdgeRef {
    EdgeRef {
        kind: k.index() as u8,
        idx: e as u32,
    }
}

fn chain(snap: &Snapshot, from: u32, edges: &[EdgeRef]) -> Evidence {
    let mut part = vec![(Some(from), None)];
    for e in edges {
        let v = snap.edges(e.kind());
        part.push((Some(v.dst[e.idx as usize]), Some(*e)));
    }
    Evidence::from_chain(snap, &[part], Vec::new())
}

/// The official's declarations: (subject, relation, edge).
fn declarations(snap: &Snapshot, o: u32) -> Vec<(u32, String, EdgeRef)> {
    let d = snap.edges(EdgeKind::Declared);
    d.out(o)
        .map(|e| {
            let label = snap.label_text(EdgeKind::Declared, d.label(e)).to_owned();
            (d.dst[e], label, edge(EdgeKind::Declared, e))
        })
        .collect()
}

/// Relations the personal-matters report asks about.
const REQUIRED: [&str; 2] = ["spouse", "child"];

/// The official's relatives, each read from the official's side.
fn relatives(snap: &Snapshot, o: u32, declared: &[(u32, String, EdgeRef)]) -> Vec<Item> {
    let rel = snap.edges(EdgeKind::Relation);
    let inverse = snap.inverse_labels(EdgeKind::Relation);
    let out = rel.out(o).map(|e| (rel.dst[e], rel.label(e), e));
    let inc = rel.inc(o).iter().map(|&e| {
        let e = e as usize;
        let code = rel.label(e);
        (
            rel.src[e],
            inverse.get(code as usize).copied().unwrap_or(code),
            e,
        )
    });
    let mut items: Vec<Item> = out
        .chain(inc)
        .filter(|(r, _, _)| *r != o)
        .map(|(r, code, e)| {
            let relation = snap.label_text(EdgeKind::Relation, code).to_owned();
            let declared_as = declared.iter().find(|d| d.0 == r).map(|d| d.1.clone());
            let status = match (&declared_as, REQUIRED.contains(&relation.as_str())) {
                (Some(d), _) if *d == relation => "declared",
                (Some(_), _) => "under-declared",
                (None, true) => "not declared",
                (None, false) => "not required",
            };
            Item {
                kind: "relative",
                subject: snap.ext(r).to_owned(),
                subject_name: snap.name(r).to_owned(),
                relation,
                status,
                declared_as,
                evidence: chain(snap, o, &[edge(EdgeKind::Relation, e)]),
            }
        })
        .collect();
    items.sort_by(|a, b| a.subject.cmp(&b.subject).then(a.relation.cmp(&b.relation)));
    items.dedup_by(|a, b| a.subject == b.subject && a.relation == b.relation);
    items
}

/// Interests as rule `id` defines them, declared or not: its query without the conditions
/// that test a DECLARED edge, run with its `official` bound to `o`.
fn interests(
    snap: &Snapshot,
    rules: &[Rule],
    id: &str,
    o: u32,
    declared: &[(u32, String, EdgeRef)],
) -> Result<Vec<Item>, EngineError> {
    let rule = rules
        .iter()
        .find(|r| r.id == id)
        .ok_or_else(|| EngineError::Rule {
            rule: id.to_owned(),
            message: "no such rule: the sheet takes its definition of an interest from it".into(),
        })?;
    let (derived, official_var) = without_declaration_test(rule)?;
    let mut given = Given::new();
    given.insert(official_var, vec![o]);
    let c = exec::compile_given(&derived, snap, &given)?;
    let run = exec::run(snap, &c, &ExecOptions::default())?;
    Ok(run
        .findings
        .into_iter()
        .filter_map(|f| {
            let company = snap.lookup(&f.target)?;
            let declared_as = declared
                .iter()
                .find(|d| d.0 == company)
                .map(|d| d.1.clone());
            Some(Item {
                kind: "interest",
                subject: f.target.clone(),
                subject_name: f.target_name.clone(),
                relation: holding(&f.evidence, &f.official, &f.target),
                status: if declared_as.is_some() {
                    "declared"
                } else {
                    "not declared"
                },
                declared_as,
                evidence: f.evidence,
            })
        })
        .collect())
}

/// Who holds the interest and how, from the chain: `self: OWNS 30%`, `spouse: ROLE legal_rep`.
fn holding(ev: &Evidence, official: &str, company: &str) -> String {
    let Some(last) = ev.edges.iter().find(|e| e.to == company) else {
        return String::new();
    };
    let how = match (last.kind, last.value) {
        (EdgeKind::Owns, Some(v)) => format!("OWNS {v}%"),
        (k, _) if last.label.is_empty() => k.to_string(),
        (k, _) => format!("{k} {}", last.label),
    };
    let who = if last.from == official {
        "self".to_owned()
    } else {
        ev.edges
            .iter()
            .find(|e| e.kind == EdgeKind::Relation)
            .map_or_else(|| "relative".to_owned(), |e| e.label.clone())
    };
    format!("{who}: {how}")
}

/// The rule without its declaration test, and the variable its `official` returns.
fn without_declaration_test(rule: &Rule) -> Result<(Rule, String), EngineError> {
    let bad = |m: &str| EngineError::Rule {
        rule: rule.id.clone(),
        message: m.to_owned(),
    };
    let Body::Query { query, .. } = &rule.body else {
        return Err(bad("a native rule cannot define an interest"));
    };
    let mut q = query.clone();
    let mut official = None;
    for b in &mut q.branches {
        official = official.or_else(|| {
            b.returns
                .iter()
                .find(|r| r.name == "official")
                .map(|r| r.var.clone())
        });
        b.filter = b.filter.take().and_then(strip_declared);
    }
    let official = official.ok_or_else(|| bad("the rule returns no official"))?;
    let (branch_vars, vars) =
        qinglian_rules::check::check_query_with(&q, &rule.columns).map_err(|e| bad(&e.message))?;
    let mut r = rule.clone();
    r.body = Body::Query {
        query: q,
        branch_vars,
        vars,
    };
    r.grades.clear();
    Ok((r, official))
}

/// The filter without its conjuncts that test a DECLARED edge.
fn strip_declared(e: Expr) -> Option<Expr> {
    match e {
        Expr::And(v) => {
            let kept: Vec<Expr> = v.into_iter().filter_map(strip_declared).collect();
            match kept.len() {
                0 => None,
                1 => kept.into_iter().next(),
                _ => Some(Expr::And(kept)),
            }
        }
        e if tests_declared(&e) => None,
        e => Some(e),
    }
}

fn tests_declared(e: &Expr) -> bool {
    match e {
        Expr::Not(x) => tests_declared(x),
        Expr::Exists(q, _) => q.patterns.iter().any(|p| {
            p.rels
                .iter()
                .any(|r| r.types.iter().any(|t| t.kind == EdgeKind::Declared))
        }),
        _ => false,
    }
}
