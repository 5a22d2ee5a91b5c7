//! Crossing candidate identity links with a rule written without them.
//!
//! A rule file may cross links itself (`-[:SAME_AS?{min 0.9}]-`); a screening may also ask
//! every rule to (`qinglian screen --links 0.9`). Then each rule is rewritten here, not copied
//! by hand: wherever a person or company variable is reached by a second edge pattern, that
//! edge pattern reaches a fresh stand-in record instead, joined to the variable by an optional
//! link. In `relative_wins`,
//!
//! ```text
//! (c:Company)<-[:OWNS]-(r:Person)-[:RELATION*1..2]-(o)
//! ```
//!
//! becomes `(c)<-[:OWNS]-(r)-[:SAME_AS?{min 0.9}]-(_same1)-[:RELATION*1..2]-(…)`: the owner
//! and the official's relative may be two records of one person. Zero links is always allowed,
//! so a rewritten rule finds everything the rule finds, and more only through links.
//!
//! Limits (documented in `docs/linkage.md`): conditions on a variable read the record the
//! variable names, not its stand-ins; the nodes inside a variable-length edge and the
//! `EXISTS` of grades and scores are not rewritten (those of the `WHERE` clause are).

use crate::ast::{Branch, Dir, EdgeType, Expr, NodePat, PathPattern, RelPat};
use crate::check::{VarKind, Vars};
use crate::{check, Body, Rule, RuleError};
use qinglian_model::{EdgeKind, NodeKind};
use std::collections::BTreeSet;

impl Rule {
    /// Whether the rule's query crosses identity links anywhere (its patterns or an `EXISTS`).
    pub fn crosses_links(&self) -> bool {
        match &self.body {
            Body::Query { vars, .. } => vars.values().any(|v| match &v.kind {
                VarKind::Edge(ts) | VarKind::Path(ts, _, _) => {
                    ts.iter().any(|t| t.kind == EdgeKind::SameAs)
                }
                VarKind::Node(_) => false,
            }),
            Body::Native { .. } => false,
        }
    }

    /// The rule with an optional link of probability at least `min` at every second edge
    /// pattern reaching a person or company variable (see the module). A native rule is
    /// returned as it is.
    pub fn crossing_links(&self, min: f64) -> Result<Rule, RuleError> {
        let Body::Query {
            query, branch_vars, ..
        } = &self.body
        else {
            return Ok(self.clone());
        };
        let mut q = query.clone();
        let mut fresh = 0u32;
        for (b, vars) in q.branches.iter_mut().zip(branch_vars) {
            rewrite_branch(b, vars, min, &mut fresh);
        }
        let (branch_vars, vars) = check::check_query_with(&q, &self.columns).map_err(|mut e| {
            e.file = self.source.clone();
            e
        })?;
        let mut r = self.clone();
        r.source = format!("{}, crossing identity links at p ≥ {min}", self.source);
        r.body = Body::Query {
            query: q,
            branch_vars,
            vars,
        };
        Ok(r)
    }
}

/// Rewrites one branch's patterns (each node variable's first edge pattern keeps it; every
/// later one reaches a stand-in), then the patterns of its filter's `EXISTS`, where every
/// variable bound outside counts as reached already: `NOT EXISTS { (o)-[:DECLARED]->(c) }`
/// then also finds a declaration that names another record of the company.
fn rewrite_branch(b: &mut Branch, vars: &Vars, min: f64, fresh: &mut u32) {
    let mut seen: BTreeSet<String> = BTreeSet::new();
    rewrite_patterns(&mut b.patterns, &mut seen, vars, min, fresh);
    if let Some(f) = &mut b.filter {
        rewrite_exists(f, &seen, vars, min, fresh);
    }
}

/// Rewrites the `EXISTS` bodies inside `e`, given the variables reached outside them.
fn rewrite_exists(e: &mut Expr, seen: &BTreeSet<String>, vars: &Vars, min: f64, fresh: &mut u32) {
    match e {
        Expr::Exists(q, _) => {
            let mut inner = seen.clone();
            rewrite_patterns(&mut q.patterns, &mut inner, vars, min, fresh);
            if let Some(f) = &mut q.filter {
                rewrite_exists(f, &inner, vars, min, fresh);
            }
        }
        Expr::Not(x) => rewrite_exists(x, seen, vars, min, fresh),
        Expr::And(v) | Expr::Or(v) => v
            .iter_mut()
            .for_each(|x| rewrite_exists(x, seen, vars, min, fresh)),
        _ => {}
    }
}

/// Rewrites path patterns: a variable already in `seen` gets a stand-in at every edge pattern
/// that reaches it; the variables reached are added to `seen`.
fn rewrite_patterns(
    patterns: &mut [PathPattern],
    seen: &mut BTreeSet<String>,
    vars: &Vars,
    min: f64,
    fresh: &mut u32,
) {
    for p in patterns {
        if p.rels.is_empty() {
            continue;
        }
        let mut nodes = vec![p.nodes[0].clone()];
        let mut rels = Vec::new();
        for (i, r) in p.rels.iter().enumerate() {
            let left = &p.nodes[i];
            if !seen.insert(left.var.clone()) && linkable(vars, &left.var) {
                let stand_in = stand_in(left, vars, fresh);
                rels.push(link(left, min, fresh));
                nodes.push(stand_in);
            }
            let right = &p.nodes[i + 1];
            rels.push(r.clone());
            if !seen.insert(right.var.clone()) && linkable(vars, &right.var) {
                nodes.push(stand_in(right, vars, fresh));
                rels.push(link(right, min, fresh));
            }
            nodes.push(right.clone());
        }
        *p = PathPattern { nodes, rels };
    }
}

/// Whether a variable may denote a person or a company (what identity links join).
fn linkable(vars: &Vars, var: &str) -> bool {
    kinds(vars, var)
        .iter()
        .any(|k| matches!(k, NodeKind::Person | NodeKind::Company))
}

fn kinds(vars: &Vars, var: &str) -> Vec<NodeKind> {
    match vars.get(var).map(|v| &v.kind) {
        Some(VarKind::Node(k)) => k.clone(),
        _ => Vec::new(),
    }
}

/// A fresh node of the kinds `of` has: another record of the same person or company.
fn stand_in(of: &NodePat, vars: &Vars, fresh: &mut u32) -> NodePat {
    *fresh += 1;
    NodePat {
        var: format!("_same{fresh}"),
        kinds: kinds(vars, &of.var),
        pos: of.pos,
    }
}

/// `-[_linkN:SAME_AS?{min p}]-`.
fn link(at: &NodePat, min: f64, fresh: &mut u32) -> RelPat {
    *fresh += 1;
    RelPat {
        var: format!("_link{fresh}"),
        dir: Dir::Both,
        types: vec![EdgeType {
            kind: EdgeKind::SameAs,
            labels: Vec::new(),
            negated: false,
            min: Some(min),
        }],
        hops: Some((0, 1)),
        pos: at.pos,
    }
}

#[cfg(test)]
mod tests {
    use crate::ast::PathPattern;
    use crate::Rule;

    fn rule(query: &str) -> Rule {
        let text =
            format!("id = \"t\"\ntitle = \"t\"\nexplain = \"x\"\nquery = '''\n{query}\n'''\n");
        Rule::from_toml(&text, "t.toml").expect("rule")
    }

    fn shape(p: &PathPattern) -> String {
        let mut s = p.nodes[0].var.clone();
        for (r, n) in p.rels.iter().zip(&p.nodes[1..]) {
            let t = r.types[0].kind.as_str();
            s.push_str(&format!(" {t} {}", n.var));
        }
        s
    }

    #[test]
    fn second_edges_reach_stand_ins() {
        let r = rule(
            "MATCH (o:Person)-[:POSITION]->(a:Agency)-[:RAN]->(t:Tender)<-[:BID]-(c:Company)<-[:OWNS]-(x:Person),
                   (x)-[:RELATION]-(o)
             RETURN official = o, target = c, ref = t",
        );
        assert!(!r.crosses_links());
        let l = r.crossing_links(0.9).expect("rewrite");
        assert!(l.crosses_links());
        let (q, _) = l.query().expect("query");
        let p = &q.branches[0].patterns;
        // The agency and the tender are no records of a person or company: never linked.
        assert_eq!(
            shape(&p[0]),
            "o POSITION a RAN t BID c SAME_AS _same1 OWNS x"
        );
        assert_eq!(shape(&p[1]), "x SAME_AS _same3 RELATION _same5 SAME_AS o");
    }

    #[test]
    fn the_language_writes_optional_links() {
        let r = rule(
            "MATCH (c:Company)<-[:OWNS]-(x:Person)-[l:SAME_AS?{min 0.95}]-(y:Person)-[:RELATION]-(o:Person)
             RETURN official = o, target = c",
        );
        assert!(r.crosses_links());
        for bad in [
            "MATCH (x:Person)-[:SAME_AS?|OWNS]-(c) RETURN target = c",
            "MATCH (x:Person)-[:SAME_AS?*0..2]-(c) RETURN target = c",
            "MATCH (x:Person)-[:SAME_AS{min 1.5}]-(c) RETURN target = c",
            "MATCH (x:Person)-[:SAME_AS{max 0.5}]-(c) RETURN target = c",
        ] {
            let text =
                format!("id = \"t\"\ntitle = \"t\"\nexplain = \"x\"\nquery = '''\n{bad}\n'''\n");
            assert!(Rule::from_toml(&text, "t.toml").is_err(), "{bad}");
        }
    }
}
