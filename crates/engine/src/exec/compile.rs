//! Compiling rule expressions against a plan's slots: variables become slot numbers,
//! properties the columns that hold them (`NodeProp`, `EdgeProp`), kind tests masks, and an
//! `EXISTS` body a sub-plan over the outer query's bindings. The planner uses it for the
//! conditions it places; `mod.rs` for grades, scores and explanation templates.

use super::ir::{kinds_mask, CExpr, CLit, ColAt, EdgeAt, EdgeProp, NodeProp, PathOrEdge, Plan};
use crate::snapshot::Snapshot;
use crate::EngineError;
use qinglian_model::{EdgeKind, NodeKind};
use qinglian_rules::ast::{Expr, Lit, SubQuery};
use qinglian_rules::check::{VarKind, Vars};
use qinglian_rules::schema::{Columns, Owner};
use std::collections::BTreeMap;

/// Everything known about the outer query when planning an EXISTS body.
pub(crate) struct Outer<'p> {
    pub plan_nodes: &'p BTreeMap<String, usize>,
    pub plan_edges: &'p BTreeMap<String, usize>,
    pub plan_paths: &'p BTreeMap<String, usize>,
    pub cols: &'p Columns,
}

/// The node kinds the rule checker inferred for variable `name` (empty: unknown).
pub(crate) fn node_kinds(vars: &Vars, name: &str) -> Vec<NodeKind> {
    match vars.get(name).map(|v| &v.kind) {
        Some(VarKind::Node(k)) => k.clone(),
        _ => Vec::new(),
    }
}

/// Plans an `EXISTS` body against the outer query's slots: the planner's `plan::plan_exists`.
pub(crate) type PlanExists =
    fn(&SubQuery, &Vars, &Snapshot, &Outer<'_>) -> Result<Plan, EngineError>;

/// Compiles expressions against slot maps.
pub(crate) struct Compile<'p> {
    pub node: &'p BTreeMap<String, usize>,
    pub edge: &'p BTreeMap<String, usize>,
    pub path: &'p BTreeMap<String, usize>,
    pub vars: &'p Vars,
    /// The extra columns the rule may read.
    pub cols: &'p Columns,
    pub snap: &'p Snapshot,
    /// Plans `EXISTS` bodies. The planner compiles the conditions it places with this
    /// compiler, so it hands itself in here rather than being imported.
    pub plan_exists: PlanExists,
}

impl Compile<'_> {
    fn path_or_edge(&self, e: &Expr) -> PathOrEdge {
        match e {
            Expr::Var(v, _) => {
                if let Some(&p) = self.path.get(v) {
                    PathOrEdge::Path(p)
                } else if let Some(&s) = self.edge.get(v) {
                    PathOrEdge::Edge(s)
                } else {
                    PathOrEdge::Missing
                }
            }
            _ => PathOrEdge::Missing,
        }
    }

    pub(crate) fn expr(&self, e: &Expr) -> Result<CExpr, EngineError> {
        Ok(match e {
            Expr::Lit(l, _) => CExpr::Lit(match l {
                Lit::Null => CLit::Null,
                Lit::Bool(b) => CLit::Bool(*b),
                Lit::Num(n) => CLit::Num(*n),
                Lit::Str(s) => CLit::Str(s.clone()),
                Lit::Date(d) => CLit::Date(*d),
            }),
            Expr::Var(v, _) => match self.node.get(v) {
                Some(&s) => CExpr::Node(s),
                None => CExpr::Missing,
            },
            Expr::Prop(base, name, _) => self.prop(base, name),
            Expr::Call(f, args, _) => match f.as_str() {
                "len" => CExpr::Len(self.path_or_edge(&args[0])),
                "valid_at" => {
                    CExpr::ValidAt(self.path_or_edge(&args[0]), Box::new(self.expr(&args[1])?))
                }
                "controlling" => CExpr::Controlling(self.path_or_edge(&args[0])),
                other => {
                    return Err(EngineError::Rule {
                        rule: String::new(),
                        message: format!("{other}() cannot be used as a value"),
                    })
                }
            },
            Expr::Not(x) => CExpr::Not(Box::new(self.expr(x)?)),
            Expr::And(v) => CExpr::And(v.iter().map(|x| self.expr(x)).collect::<Result<_, _>>()?),
            Expr::Or(v) => CExpr::Or(v.iter().map(|x| self.expr(x)).collect::<Result<_, _>>()?),
            Expr::Cmp(op, a, b, _) => {
                CExpr::Cmp(*op, Box::new(self.expr(a)?), Box::new(self.expr(b)?))
            }
            Expr::During(a, b, _) => CExpr::During(Box::new(self.expr(a)?), self.path_or_edge(b)),
            Expr::Within {
                a, days, after, b, ..
            } => CExpr::Within {
                a: Box::new(self.expr(a)?),
                days: *days,
                after: *after,
                b: Box::new(self.expr(b)?),
            },
            Expr::IsNull(a, n, _) => CExpr::IsNull(Box::new(self.is_null_operand(a)?), *n),
            Expr::In(a, lits, _) => CExpr::In(
                Box::new(self.expr(a)?),
                lits.iter()
                    .map(|l| match l {
                        Lit::Null => CLit::Null,
                        Lit::Bool(b) => CLit::Bool(*b),
                        Lit::Num(n) => CLit::Num(*n),
                        Lit::Str(s) => CLit::Str(s.clone()),
                        Lit::Date(d) => CLit::Date(*d),
                    })
                    .collect(),
            ),
            Expr::KindTest(v, kinds, _) => match self.node.get(v) {
                Some(&s) => CExpr::KindTest(s, kinds_mask(kinds)),
                None => CExpr::Lit(CLit::Null),
            },
            Expr::Arith(op, a, b, _) => {
                CExpr::Arith(*op, Box::new(self.expr(a)?), Box::new(self.expr(b)?))
            }
            Expr::Exists(q, _) => {
                let outer = Outer {
                    plan_nodes: self.node,
                    plan_edges: self.edge,
                    plan_paths: self.path,
                    cols: self.cols,
                };
                let sub = (self.plan_exists)(q, self.vars, self.snap, &outer)?;
                CExpr::Exists(Box::new(sub))
            }
        })
    }

    /// `v IS NULL` on a node variable tests whether the matched branch binds it.
    fn is_null_operand(&self, e: &Expr) -> Result<CExpr, EngineError> {
        if let Expr::Var(v, _) = e {
            if self.node.contains_key(v) {
                return Ok(CExpr::Lit(CLit::Bool(true)));
            }
            if self.edge.contains_key(v) || self.path.contains_key(v) {
                return Ok(CExpr::Lit(CLit::Bool(true)));
            }
            return Ok(CExpr::Missing);
        }
        self.expr(e)
    }

    fn prop(&self, base: &Expr, name: &str) -> CExpr {
        match base {
            Expr::Var(v, _) => {
                if let Some(&s) = self.node.get(v) {
                    let kinds = node_kinds(self.vars, v);
                    return match node_prop(&kinds, name) {
                        Some(p) => CExpr::NodeProp(s, p),
                        None => {
                            let all = if kinds.is_empty() {
                                NodeKind::ALL
                            } else {
                                &kinds
                            };
                            let owners: Vec<Owner> = all.iter().map(|k| Owner::Node(*k)).collect();
                            self.column(ColAt::Node(s), &owners, name)
                        }
                    };
                }
                if let Some(&s) = self.edge.get(v) {
                    return self.edge_prop_at(EdgeAt::Slot(s), v, name);
                }
                CExpr::Missing
            }
            Expr::Call(f, args, _) if f == "first" || f == "last" => {
                let v = match &args[0] {
                    Expr::Var(v, _) => v.as_str(),
                    _ => "",
                };
                match self.path_or_edge(&args[0]) {
                    PathOrEdge::Path(p) => {
                        let at = if f == "first" {
                            EdgeAt::First(p)
                        } else {
                            EdgeAt::Last(p)
                        };
                        self.edge_prop_at(at, v, name)
                    }
                    PathOrEdge::Edge(s) => self.edge_prop_at(EdgeAt::Slot(s), v, name),
                    PathOrEdge::Missing => CExpr::Missing,
                }
            }
            _ => CExpr::Lit(CLit::Null),
        }
    }

    /// Property `name` of the edge at `at` (of edge or path variable `var`): from the
    /// catalog, else an extra column of the variable's edge kinds.
    fn edge_prop_at(&self, at: EdgeAt, var: &str, name: &str) -> CExpr {
        if let Some(p) = edge_prop(name) {
            return CExpr::EdgeProp(at, p);
        }
        // A variable of an EXISTS in a grade or score is not among the rule's variables (the
        // checker typed it and let it go): every edge kind with the column then, which is
        // exact all the same, since a column's values are keyed by edge kind and index.
        let owners: Vec<Owner> = match self.vars.get(var).map(|x| &x.kind) {
            Some(VarKind::Edge(t)) | Some(VarKind::Path(t, ..)) => {
                t.iter().map(|t| Owner::Edge(t.kind)).collect()
            }
            _ => EdgeKind::ALL.iter().map(|k| Owner::Edge(*k)).collect(),
        };
        self.column(ColAt::Edge(at), &owners, name)
    }

    /// An extra column, read now; null when none of the owners has it.
    fn column(&self, at: ColAt, owners: &[Owner], name: &str) -> CExpr {
        match super::columns::read(self.snap, self.cols, owners, name) {
            Some(c) => CExpr::Col(at, c),
            None => CExpr::Lit(CLit::Null),
        }
    }
}

fn node_prop(kinds: &[NodeKind], name: &str) -> Option<NodeProp> {
    let main = |k: NodeKind| {
        if kinds.is_empty() || kinds.contains(&k) {
            Some(NodeProp::MainDate(k))
        } else {
            None
        }
    };
    Some(match name {
        "id" => NodeProp::Id,
        "name" => NodeProp::Name,
        "kind" => NodeProp::Kind,
        "birth_date" => return main(NodeKind::Person),
        "founded" => return main(NodeKind::Company),
        "published" => return main(NodeKind::Tender),
        "signed" => return main(NodeKind::Contract),
        "paid" => return main(NodeKind::Subsidy),
        "death_date" => NodeProp::Death,
        "id_number" => NodeProp::Identifier(NodeKind::Person),
        "credit_code" => NodeProp::Identifier(NodeKind::Company),
        "listed" => NodeProp::Listed,
        "blacklisted" => NodeProp::Blacklisted,
        "official" => NodeProp::Official,
        "amount" => NodeProp::Amount,
        "budget" => NodeProp::Budget,
        "phone" => NodeProp::Phone,
        "address" => NodeProp::Address,
        "phone_shared" => NodeProp::PhoneShared,
        "address_shared" => NodeProp::AddressShared,
        "title" => NodeProp::Title,
        _ => return None,
    })
}

fn edge_prop(name: &str) -> Option<EdgeProp> {
    Some(match name {
        "start" => EdgeProp::Start,
        "end" => EdgeProp::End,
        "label" | "relation" | "role" | "title" => EdgeProp::Label,
        "kind" => EdgeProp::Kind,
        "share_pct" | "amount" | "probability" => EdgeProp::Value,
        "won" => EdgeProp::Won,
        "submitted" => EdgeProp::Submitted,
        _ => return None,
    })
}
