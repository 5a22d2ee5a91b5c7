//! Type checking: every variable has one role (node, edge or path) and compatible kinds,
//! every property exists for its variable's kinds, every expression has a sensible type.

use crate::ast::*;
use crate::schema::{self, Columns, Owner, Ty};
use crate::RuleError;
use qinglian_model::{EdgeKind, NodeKind};
use std::collections::BTreeMap;

/// What a variable stands for.
#[derive(Clone, Debug, PartialEq)]
pub enum VarKind {
    /// A node of one of these kinds (never empty after checking: inferred from edges).
    Node(Vec<NodeKind>),
    /// One edge of one of these types.
    Edge(Vec<EdgeType>),
    /// A variable-length edge.
    Path(Vec<EdgeType>, u32, u32),
}

/// A checked variable.
#[derive(Clone, Debug)]
pub struct Var {
    /// Its role.
    pub kind: VarKind,
    /// First mention.
    pub pos: Pos,
    /// Bound in an EXISTS body only.
    pub local: bool,
}

/// Variables of a query (outer and EXISTS-local), by name.
pub type Vars = BTreeMap<String, Var>;

/// Checks a query: each branch on its own, then that they agree on their return names and on
/// the roles of variables they share. Returns each branch's variables, and their union (what
/// grades, scores and the explanation may use; a variable a branch lacks is null there).
pub fn check_query(q: &Query) -> Result<(Vec<Vars>, Vars), RuleError> {
    check_query_with(q, &Columns::standard())
}

/// [`check_query`] with a rule file's declared columns besides the standard ones.
pub fn check_query_with(q: &Query, cols: &Columns) -> Result<(Vec<Vars>, Vars), RuleError> {
    let mut per = Vec::new();
    let mut union = Vars::new();
    let names = |b: &Branch| {
        let mut v: Vec<String> = b.returns.iter().map(|r| r.name.clone()).collect();
        v.sort();
        v
    };
    for b in &q.branches {
        let vars = check_branch(b, cols)?;
        if names(b) != names(&q.branches[0]) {
            let pos = b.returns.first().map_or_else(Pos::default, |r| r.pos);
            return Err(RuleError::at(
                pos,
                format!(
                    "every UNION branch must return the same names ({})",
                    names(&q.branches[0]).join(", ")
                ),
            ));
        }
        for (k, v) in &vars {
            match union.get(k) {
                Some(u) if std::mem::discriminant(&u.kind) != std::mem::discriminant(&v.kind) => {
                    return Err(RuleError::at(
                        v.pos,
                        format!("`{k}` is a different kind of variable in another branch"),
                    ));
                }
                Some(_) => {}
                None => {
                    union.insert(k.clone(), v.clone());
                }
            }
        }
        per.push(vars);
    }
    Ok((per, union))
}

/// Checks one branch and returns its variables.
pub fn check_branch(q: &Branch, cols: &Columns) -> Result<Vars, RuleError> {
    let mut vars = Vars::new();
    declare(&q.patterns, &mut vars, false)?;
    infer_kinds(&q.patterns, &mut vars);
    if let Some(f) = &q.filter {
        expect(f, Ty::Bool, &mut vars, cols)?;
    }
    let mut seen = Vec::new();
    for r in &q.returns {
        if !["official", "target", "target2", "ref"].contains(&r.name.as_str()) {
            return Err(RuleError::at(
                r.pos,
                format!(
                    "unknown return name `{}`; expected official, target, target2 or ref",
                    r.name
                ),
            ));
        }
        if seen.contains(&r.name) {
            return Err(RuleError::at(
                r.pos,
                format!("`{}` is returned twice", r.name),
            ));
        }
        seen.push(r.name.clone());
        match vars.get(&r.var).map(|v| &v.kind) {
            Some(VarKind::Node(_)) => {}
            Some(_) => {
                return Err(RuleError::at(
                    r.pos,
                    format!("`{}` must be a node variable", r.var),
                ))
            }
            None => {
                return Err(RuleError::at(
                    r.pos,
                    format!("`{}` is not a variable of the pattern", r.var),
                ))
            }
        }
    }
    if !seen.iter().any(|n| n == "target") {
        return Err(RuleError::at(
            q.returns.first().map_or_else(Pos::default, |r| r.pos),
            "RETURN must name a `target`",
        ));
    }
    Ok(vars)
}

/// Checks an expression (a grade or a score) against an already checked query's variables.
pub fn check_expr(e: &Expr, want: Ty, vars: &Vars, cols: &Columns) -> Result<(), RuleError> {
    let mut v = vars.clone();
    expect(e, want, &mut v, cols)
}

fn declare(patterns: &[PathPattern], vars: &mut Vars, local: bool) -> Result<(), RuleError> {
    for p in patterns {
        for n in &p.nodes {
            let kinds = n.kinds.clone();
            match vars.get_mut(&n.var) {
                None => {
                    vars.insert(
                        n.var.clone(),
                        Var {
                            kind: VarKind::Node(kinds),
                            pos: n.pos,
                            local,
                        },
                    );
                }
                Some(Var {
                    kind: VarKind::Node(have),
                    ..
                }) => {
                    if !kinds.is_empty() {
                        if have.is_empty() {
                            *have = kinds;
                        } else {
                            let both: Vec<NodeKind> =
                                have.iter().copied().filter(|k| kinds.contains(k)).collect();
                            if both.is_empty() {
                                return Err(RuleError::at(
                                    n.pos,
                                    format!(
                                        "`{}` cannot be both {:?} and {:?}",
                                        n.var, have, kinds
                                    ),
                                ));
                            }
                            *have = both;
                        }
                    }
                }
                Some(_) => {
                    return Err(RuleError::at(
                        n.pos,
                        format!("`{}` is already an edge variable", n.var),
                    ))
                }
            }
        }
        for r in &p.rels {
            for t in &r.types {
                check_labels(t, r.pos)?;
            }
            let kind = match r.hops {
                None => VarKind::Edge(r.types.clone()),
                Some((lo, hi)) => VarKind::Path(r.types.clone(), lo, hi),
            };
            if vars.contains_key(&r.var) {
                return Err(RuleError::at(
                    r.pos,
                    format!(
                        "`{}` is already bound; an edge variable may appear once",
                        r.var
                    ),
                ));
            }
            vars.insert(
                r.var.clone(),
                Var {
                    kind,
                    pos: r.pos,
                    local,
                },
            );
        }
    }
    Ok(())
}

fn check_labels(t: &EdgeType, pos: Pos) -> Result<(), RuleError> {
    if let Some(known) = schema::labels(t.kind) {
        for l in &t.labels {
            if !known.contains(&l.as_str()) {
                return Err(RuleError::at(
                    pos,
                    format!(
                        "unknown {} label `{l}`; expected one of {}",
                        t.kind,
                        known.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Narrows node variables without kinds to what their edges allow.
fn infer_kinds(patterns: &[PathPattern], vars: &mut Vars) {
    for _ in 0..3 {
        for p in patterns {
            for (i, r) in p.rels.iter().enumerate() {
                let (a, b) = (&p.nodes[i].var, &p.nodes[i + 1].var);
                let from: Vec<NodeKind> = r
                    .types
                    .iter()
                    .flat_map(|t| t.kind.from_kinds().iter().copied())
                    .collect();
                let to: Vec<NodeKind> = r
                    .types
                    .iter()
                    .flat_map(|t| t.kind.to_kinds().iter().copied())
                    .collect();
                let both: Vec<NodeKind> = from.iter().chain(&to).copied().collect();
                // For a variable-length edge, the far end of the last hop bounds the end node.
                let mixed: Vec<NodeKind> = to.iter().chain(&from).copied().collect();
                let zero = r.hops.is_some_and(|(lo, _)| lo == 0);
                let (ka, kb) = match (r.dir, r.hops) {
                    // A zero-length path makes both ends the same node: no narrowing.
                    _ if zero => (NodeKind::ALL.to_vec(), NodeKind::ALL.to_vec()),
                    (Dir::Out, None) => (from, to),
                    (Dir::In, None) => (to, from),
                    (Dir::Out, Some(_)) => (from, mixed),
                    (Dir::In, Some(_)) => (mixed, from),
                    (Dir::Both, _) => (both.clone(), both),
                };
                narrow(vars, a, &ka);
                narrow(vars, b, &kb);
            }
        }
    }
}

fn narrow(vars: &mut Vars, v: &str, allowed: &[NodeKind]) {
    if let Some(Var {
        kind: VarKind::Node(have),
        ..
    }) = vars.get_mut(v)
    {
        let mut set: Vec<NodeKind> = if have.is_empty() {
            allowed.to_vec()
        } else {
            have.iter()
                .copied()
                .filter(|k| allowed.contains(k))
                .collect()
        };
        set.sort();
        set.dedup();
        if !set.is_empty() {
            *have = set;
        }
    }
}

fn expect(e: &Expr, want: Ty, vars: &mut Vars, cols: &Columns) -> Result<(), RuleError> {
    let got = ty(e, vars, cols)?;
    if got == want || got == Ty::Null {
        Ok(())
    } else {
        Err(RuleError::at(
            e.pos(),
            format!("expected {}, found {}", want.name(), got.name()),
        ))
    }
}

fn ty(e: &Expr, vars: &mut Vars, cols: &Columns) -> Result<Ty, RuleError> {
    Ok(match e {
        Expr::Lit(l, _) => match l {
            Lit::Null => Ty::Null,
            Lit::Bool(_) => Ty::Bool,
            Lit::Num(_) => Ty::Num,
            Lit::Str(_) => Ty::Str,
            Lit::Date(_) => Ty::Date,
        },
        Expr::Var(v, p) => match vars.get(v).map(|x| &x.kind) {
            Some(VarKind::Node(_)) => Ty::Node,
            Some(VarKind::Edge(_)) => Ty::Edge,
            Some(VarKind::Path(..)) => Ty::Path,
            None => return Err(RuleError::at(*p, format!("unknown variable `{v}`"))),
        },
        Expr::Prop(base, name, p) => prop_ty(base, name, *p, vars, cols)?,
        Expr::Call(f, args, p) => call_ty(f, args, *p, vars, cols)?,
        Expr::Not(a) => {
            expect(a, Ty::Bool, vars, cols)?;
            Ty::Bool
        }
        Expr::And(v) | Expr::Or(v) => {
            for a in v {
                expect(a, Ty::Bool, vars, cols)?;
            }
            Ty::Bool
        }
        Expr::Cmp(op, a, b, p) => {
            let (ta, tb) = (ty(a, vars, cols)?, ty(b, vars, cols)?);
            let ok = ta == tb || ta == Ty::Null || tb == Ty::Null;
            if !ok {
                return Err(RuleError::at(
                    *p,
                    format!("cannot compare {} with {}", ta.name(), tb.name()),
                ));
            }
            if matches!(ta, Ty::Edge | Ty::Path | Ty::Bool) && !matches!(op, CmpOp::Eq | CmpOp::Ne)
            {
                return Err(RuleError::at(
                    *p,
                    format!("{} can only be compared with = or <>", ta.name()),
                ));
            }
            Ty::Bool
        }
        Expr::During(a, b, p) => {
            expect(a, Ty::Date, vars, cols)?;
            let tb = ty(b, vars, cols)?;
            if !matches!(tb, Ty::Edge | Ty::Path) {
                return Err(RuleError::at(
                    *p,
                    format!(
                        "DURING needs an edge (or path) on its right, found {}",
                        tb.name()
                    ),
                ));
            }
            Ty::Bool
        }
        Expr::Within { a, b, .. } => {
            expect(a, Ty::Date, vars, cols)?;
            expect(b, Ty::Date, vars, cols)?;
            Ty::Bool
        }
        Expr::IsNull(a, _, _) => {
            ty(a, vars, cols)?;
            Ty::Bool
        }
        Expr::In(a, lits, p) => {
            let ta = ty(a, vars, cols)?;
            if !matches!(ta, Ty::Str | Ty::Num | Ty::Null) {
                return Err(RuleError::at(
                    *p,
                    format!("IN needs text or a number on its left, found {}", ta.name()),
                ));
            }
            let _ = lits;
            Ty::Bool
        }
        Expr::Exists(q, _) => {
            let mut inner = vars.clone();
            declare(&q.patterns, &mut inner, true)?;
            infer_kinds(&q.patterns, &mut inner);
            if let Some(f) = &q.filter {
                expect(f, Ty::Bool, &mut inner, cols)?;
            }
            // Keep what EXISTS learnt about its own variables, for the planner.
            for (k, v) in inner {
                vars.entry(k).or_insert(v);
            }
            Ty::Bool
        }
        Expr::KindTest(v, _, p) => match vars.get(v).map(|x| &x.kind) {
            Some(VarKind::Node(_)) => Ty::Bool,
            _ => return Err(RuleError::at(*p, format!("`{v}` is not a node variable"))),
        },
        Expr::Arith(op, a, b, p) => {
            let (ta, tb) = (ty(a, vars, cols)?, ty(b, vars, cols)?);
            match (op, ta, tb) {
                (_, Ty::Num, Ty::Num) => Ty::Num,
                ('+' | '-', Ty::Date, Ty::Num) => Ty::Date,
                _ => {
                    return Err(RuleError::at(
                        *p,
                        format!("cannot compute {} {op} {}", ta.name(), tb.name()),
                    ))
                }
            }
        }
    })
}

fn prop_ty(
    base: &Expr,
    name: &str,
    p: Pos,
    vars: &mut Vars,
    cols: &Columns,
) -> Result<Ty, RuleError> {
    let edge_kinds = |types: &[EdgeType]| types.iter().map(|t| t.kind).collect::<Vec<EdgeKind>>();
    let (what, found) = match base {
        Expr::Var(v, vp) => match vars.get(v).map(|x| x.kind.clone()) {
            Some(VarKind::Node(kinds)) => (format!("{kinds:?}"), node_prop(&kinds, name, cols)),
            Some(VarKind::Edge(types)) => {
                let ks = edge_kinds(&types);
                (format!("{ks:?}"), edge_prop(&ks, name, cols))
            }
            Some(VarKind::Path(..)) => {
                return Err(RuleError::at(
                    p,
                    format!("`{v}` is a path: use first({v}).{name} or last({v}).{name}"),
                ));
            }
            None => return Err(RuleError::at(*vp, format!("unknown variable `{v}`"))),
        },
        Expr::Call(f, args, _) if f == "first" || f == "last" => {
            let types = match args.first() {
                Some(Expr::Var(v, _)) => match vars.get(v).map(|x| x.kind.clone()) {
                    Some(VarKind::Path(types, ..)) | Some(VarKind::Edge(types)) => types,
                    _ => return Err(RuleError::at(p, format!("{f}() needs a path variable"))),
                },
                _ => return Err(RuleError::at(p, format!("{f}() needs a path variable"))),
            };
            let ks = edge_kinds(&types);
            (format!("{ks:?}"), edge_prop(&ks, name, cols))
        }
        other => {
            return Err(RuleError::at(
                other.pos(),
                "properties can be read from variables and first()/last() only",
            ))
        }
    };
    found.ok_or_else(|| RuleError::at(p, format!("no property `{name}` on {what}")))
}

fn call_ty(
    f: &str,
    args: &[Expr],
    p: Pos,
    vars: &mut Vars,
    cols: &Columns,
) -> Result<Ty, RuleError> {
    let arity = |n: usize| {
        if args.len() == n {
            Ok(())
        } else {
            Err(RuleError::at(
                p,
                format!("{f}() takes {n} argument(s), found {}", args.len()),
            ))
        }
    };
    match f {
        "len" => {
            arity(1)?;
            if !matches!(ty(&args[0], vars, cols)?, Ty::Path | Ty::Edge) {
                return Err(RuleError::at(p, "len() needs a path or edge variable"));
            }
            Ok(Ty::Num)
        }
        "first" | "last" => {
            arity(1)?;
            if !matches!(ty(&args[0], vars, cols)?, Ty::Path | Ty::Edge) {
                return Err(RuleError::at(p, format!("{f}() needs a path variable")));
            }
            Ok(Ty::Edge)
        }
        "valid_at" => {
            arity(2)?;
            if !matches!(ty(&args[0], vars, cols)?, Ty::Path | Ty::Edge) {
                return Err(RuleError::at(
                    args[0].pos(),
                    "valid_at() needs a path or edge variable first",
                ));
            }
            expect(&args[1], Ty::Date, vars, cols)?;
            Ok(Ty::Bool)
        }
        "controlling" => {
            // A path whose every edge is a controlling link: ownership of at least 50 %, or a
            // legal representative role.
            arity(1)?;
            if !matches!(ty(&args[0], vars, cols)?, Ty::Path | Ty::Edge) {
                return Err(RuleError::at(
                    p,
                    "controlling() needs a path or edge variable",
                ));
            }
            Ok(Ty::Bool)
        }
        other => Err(RuleError::at(
            p,
            format!(
                "unknown function `{other}`; expected len, first, last, valid_at or controlling"
            ),
        )),
    }
}

/// A node property: from the catalog, else a column of one of the kinds (any kind when the
/// variable's kinds are open).
pub fn node_prop(kinds: &[NodeKind], name: &str, cols: &Columns) -> Option<Ty> {
    let all = if kinds.is_empty() {
        NodeKind::ALL
    } else {
        kinds
    };
    schema::node_prop(kinds, name).or_else(|| cols.get(all.iter().map(|k| Owner::Node(*k)), name))
}

/// An edge property: from the catalog, else a column of one of the kinds.
pub fn edge_prop(kinds: &[EdgeKind], name: &str, cols: &Columns) -> Option<Ty> {
    schema::edge_prop(kinds, name).or_else(|| cols.get(kinds.iter().map(|k| Owner::Edge(*k)), name))
}
