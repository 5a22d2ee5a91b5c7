//! Rules asked before an award: a bid stands for the award it asks for.
//!
//! A pre-award check asks the same question as batch screening, before the contract exists. For
//! every rule whose pattern contains an award, `(a:Agency)-[:AWARDED]->(k:Contract)-[:TO]->(c)`,
//! [`before_award`] derives the rule in which the award is the bid that would become it,
//! `(a)-[:RAN]->(k:Tender)<-[:BID]-(c)`, and the award's date `k.signed` is the tender's
//! publication `k.published` (the day the links must hold on, as the hand-written pre-award
//! check used). Everything else — relations, hop bounds, label filters, conditions, grades,
//! scores — is the rule file's own, so an edit of the file changes both answers. Rules about a
//! tender already (bid rigging, blacklisted bidders, evaluators) are asked as they are; rules
//! about neither (subsidies, declarations) do not apply before an award.
//!
//! The rewrite is generic: it names edge and node kinds, never a rule.

use qinglian_model::{EdgeKind, NodeKind};
use qinglian_rules::ast::{Branch, Dir, EdgeType, Expr, PathPattern, SubQuery};
use qinglian_rules::{Body, Rule};

/// How a rule is asked before an award.
#[derive(Clone, Debug)]
pub enum PreAward {
    /// The rule, with awards read as bids (its findings reference the tender).
    Derived(Rule),
    /// The rule as it is: it already references a tender.
    AsIs(Rule),
}

impl PreAward {
    /// The rule to run.
    pub fn rule(&self) -> &Rule {
        match self {
            PreAward::Derived(r) | PreAward::AsIs(r) => r,
        }
    }
}

/// The pre-award form of `rule`, or `None` when it says nothing about a tender or an award.
pub fn before_award(rule: &Rule) -> Option<PreAward> {
    let Body::Query { query, .. } = &rule.body else {
        return None;
    };
    let mut q = query.clone();
    let mut contracts = Vec::new();
    for b in &mut q.branches {
        for p in &mut b.patterns {
            contracts.extend(award_to_bid(p));
        }
    }
    if contracts.is_empty() {
        return returns_tender(rule).then(|| PreAward::AsIs(rule.clone()));
    }
    contracts.sort();
    contracts.dedup();
    for b in &mut q.branches {
        rewrite_branch(b, &contracts);
    }
    let (branch_vars, vars) = qinglian_rules::check::check_query_with(&q, &rule.columns).ok()?;
    let mut r = rule.clone();
    r.body = Body::Query {
        query: q,
        branch_vars,
        vars,
    };
    for (_, g) in &mut r.grades {
        rewrite_expr(g, &contracts);
    }
    if let Some(s) = &mut r.score {
        rewrite_expr(s, &contracts);
    }
    let k = &contracts[0];
    r.explain = r
        .explain
        .iter()
        .map(|t| {
            let mut t = t.clone();
            for k in &contracts {
                t = t.replace(&format!("{{{k}.signed}}"), &format!("{{{k}.published}}"));
            }
            format!("Before the award of tender {{{k}.id}} (published {{{k}.published}}), if this bidder wins: {t}")
        })
        .collect();
    r.source = format!("{} (asked before the award)", r.source);
    Some(PreAward::Derived(r))
}

/// Whether every branch returns a Tender as `ref`.
fn returns_tender(rule: &Rule) -> bool {
    let Some((q, _)) = rule.query() else {
        return false;
    };
    q.branches.iter().all(|b| {
        let Some(r) = b.returns.iter().find(|r| r.name == "ref") else {
            return false;
        };
        b.patterns.iter().any(|p| {
            p.nodes
                .iter()
                .any(|n| n.var == r.var && n.kinds == [NodeKind::Tender])
        })
    })
}

fn single(types: &[EdgeType], kind: EdgeKind) -> bool {
    types.len() == 1 && types[0].kind == kind && types[0].labels.is_empty()
}

/// Turns each `(a)-[:AWARDED]->(k:Contract)-[:TO]->(c)` of a pattern into
/// `(a)-[:RAN]->(k:Tender)<-[:BID]-(c)`; returns the contract variables it turned into tenders.
fn award_to_bid(p: &mut PathPattern) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..p.rels.len().saturating_sub(1) {
        let (aw, to) = (&p.rels[i], &p.rels[i + 1]);
        let chain = aw.dir == Dir::Out
            && to.dir == Dir::Out
            && aw.hops.is_none()
            && to.hops.is_none()
            && single(&aw.types, EdgeKind::Awarded)
            && single(&to.types, EdgeKind::To)
            && p.nodes[i + 1].kinds == [NodeKind::Contract];
        if !chain {
            continue;
        }
        p.rels[i].types = vec![EdgeType {
            kind: EdgeKind::Ran,
            labels: Vec::new(),
            negated: false,
            min: None,
        }];
        p.rels[i + 1].types = vec![EdgeType {
            kind: EdgeKind::Bid,
            labels: Vec::new(),
            negated: false,
            min: None,
        }];
        p.rels[i + 1].dir = Dir::In;
        p.nodes[i + 1].kinds = vec![NodeKind::Tender];
        out.push(p.nodes[i + 1].var.clone());
    }
    out
}

fn rewrite_branch(b: &mut Branch, contracts: &[String]) {
    if let Some(f) = &mut b.filter {
        rewrite_expr(f, contracts);
    }
}

/// `k.signed` → `k.published` for every contract variable turned into a tender.
fn rewrite_expr(e: &mut Expr, contracts: &[String]) {
    match e {
        Expr::Prop(base, prop, _) => {
            if let Expr::Var(v, _) = &**base {
                if prop == "signed" && contracts.contains(v) {
                    *prop = "published".into();
                }
            }
            rewrite_expr(base, contracts);
        }
        Expr::Lit(..) | Expr::Var(..) | Expr::KindTest(..) => {}
        Expr::Call(_, args, _) => args.iter_mut().for_each(|a| rewrite_expr(a, contracts)),
        Expr::Not(x) | Expr::IsNull(x, _, _) | Expr::In(x, _, _) => rewrite_expr(x, contracts),
        Expr::And(v) | Expr::Or(v) => v.iter_mut().for_each(|a| rewrite_expr(a, contracts)),
        Expr::Cmp(_, a, b, _) | Expr::During(a, b, _) | Expr::Arith(_, a, b, _) => {
            rewrite_expr(a, contracts);
            rewrite_expr(b, contracts);
        }
        Expr::Within { a, b, .. } => {
            rewrite_expr(a, contracts);
            rewrite_expr(b, contracts);
        }
        Expr::Exists(q, _) => rewrite_sub(q, contracts),
    }
}

fn rewrite_sub(q: &mut SubQuery, contracts: &[String]) {
    if let Some(f) = &mut q.filter {
        rewrite_expr(f, contracts);
    }
}

/// Every rule's pre-award form, where it has one.
pub fn pre_award_rules(rules: &[Rule]) -> Vec<PreAward> {
    rules.iter().filter_map(before_award).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builtin(id: &str) -> Rule {
        qinglian_rules::builtins()
            .expect("rules")
            .into_iter()
            .find(|r| r.id == id)
            .expect("rule")
    }

    #[test]
    fn awards_become_bids_and_tender_rules_stay() {
        let Some(PreAward::Derived(r)) = before_award(&builtin("relative_wins")) else {
            panic!("relative_wins has an award");
        };
        let (q, _) = r.query().expect("query");
        let p = &q.branches[0].patterns[0];
        assert_eq!(p.nodes[2].kinds, [NodeKind::Tender]);
        assert_eq!(p.rels[1].types[0].kind, EdgeKind::Ran);
        assert_eq!(p.rels[2].types[0].kind, EdgeKind::Bid);
        assert_eq!(p.rels[2].dir, Dir::In);
        assert!(r.explain[0].contains("{k.published}") && !r.explain[0].contains("signed}"));
        assert!(matches!(
            before_award(&builtin("bid_rigging")),
            Some(PreAward::AsIs(_))
        ));
        assert!(before_award(&builtin("deceased_recipient")).is_none());
        assert!(before_award(&builtin("split_contracts")).is_none());
    }
}
