//! Evaluating compiled expressions (`ir::CExpr`) on a binding. Evaluation is three-valued
//! (SQL): a comparison with a missing value is unknown, and WHERE keeps only what is true.
//! `EXISTS` runs its sub-plan through `G::exists` (the executor's `run::exists`, handed in
//! when the view is made, since the executor itself evaluates conditions).

use super::graph::{Bind, EdgeRef, G};
use super::ir::{CExpr, CLit, ColAt, EdgeAt, EdgeProp, NodeProp, PathOrEdge};
use qinglian_model::{EdgeKind, NodeKind};
use qinglian_rules::ast::CmpOp;

/// A value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Val<'a> {
    Null,
    Bool(bool),
    Num(f64),
    Date(i32),
    Str(&'a str),
    /// Normalised phone (0) or address (1) code.
    Code(u8, u32),
    Node(u32),
}

fn lit(l: &CLit) -> Val<'_> {
    match l {
        CLit::Null => Val::Null,
        CLit::Bool(b) => Val::Bool(*b),
        CLit::Num(n) => Val::Num(*n),
        CLit::Str(s) => Val::Str(s),
        CLit::Date(d) => Val::Date(*d),
    }
}

const NO: i32 = crate::snapshot::NO_DATE;

fn date(d: i32) -> Val<'static> {
    if d == NO
        || d == qinglian_model::Interval::OPEN_START
        || d == qinglian_model::Interval::OPEN_END
    {
        Val::Null
    } else {
        Val::Date(d)
    }
}

impl<'a> G<'a> {
    /// The edges of a path or edge slot.
    pub(crate) fn edges_of<'b>(&self, b: &'b Bind, pe: PathOrEdge) -> &'b [EdgeRef] {
        match pe {
            PathOrEdge::Path(p) => b.path(p),
            PathOrEdge::Edge(e) => std::slice::from_ref(&b.edges[e]),
            PathOrEdge::Missing => &[],
        }
    }

    fn edge_at(&self, b: &Bind, at: EdgeAt) -> Option<EdgeRef> {
        match at {
            EdgeAt::Slot(e) => Some(b.edges[e]),
            EdgeAt::First(p) => b.path(p).first().copied(),
            EdgeAt::Last(p) => b.path(p).last().copied(),
        }
    }

    /// Whether an edge is a controlling link: ownership of 50 % or more, or legal
    /// representative.
    pub(crate) fn controlling(&self, e: EdgeRef) -> bool {
        let v = &self.ev[e.kind as usize];
        match EdgeKind::ALL[e.kind as usize] {
            EdgeKind::Owns => v.value(e.idx as usize).is_some_and(|s| s >= 50.0),
            EdgeKind::Role => {
                self.snap
                    .label_text(EdgeKind::Role, v.label(e.idx as usize))
                    == "legal_rep"
            }
            _ => false,
        }
    }

    /// Evaluates to a value.
    pub(crate) fn eval(&self, e: &'a CExpr, b: &Bind) -> Val<'a> {
        match e {
            CExpr::Lit(l) => lit(l),
            CExpr::Node(s) => Val::Node(b.nodes[*s]),
            CExpr::Missing => Val::Null,
            CExpr::NodeProp(s, p) => self.node_prop(b.nodes[*s], *p),
            CExpr::EdgeProp(at, p) => match self.edge_at(b, *at) {
                Some(er) => self.edge_prop(er, *p),
                None => Val::Null,
            },
            CExpr::Col(at, c) => {
                let key = match at {
                    ColAt::Node(s) => Some(u64::from(b.nodes[*s])),
                    ColAt::Edge(a) => self
                        .edge_at(b, *a)
                        .map(|e| super::columns::key(e.kind as usize, e.idx)),
                };
                key.and_then(|k| c.values.get(&k)).map_or(Val::Null, lit)
            }
            CExpr::Len(pe) => match pe {
                PathOrEdge::Missing => Val::Null,
                _ => Val::Num(self.edges_of(b, *pe).len() as f64),
            },
            CExpr::Arith(op, x, y) => match (self.eval(x, b), self.eval(y, b), op) {
                (Val::Num(p), Val::Num(q), '+') => Val::Num(p + q),
                (Val::Num(p), Val::Num(q), '-') => Val::Num(p - q),
                (Val::Num(p), Val::Num(q), '*') => Val::Num(p * q),
                (Val::Date(d), Val::Num(q), '+') => Val::Date(d + q as i32),
                (Val::Date(d), Val::Num(q), '-') => Val::Date(d - q as i32),
                _ => Val::Null,
            },
            other => match self.truth(other, b) {
                Some(t) => Val::Bool(t),
                None => Val::Null,
            },
        }
    }

    /// Evaluates a condition: `Some(true)`, `Some(false)` or unknown.
    pub(crate) fn truth(&self, e: &'a CExpr, b: &Bind) -> Option<bool> {
        match e {
            CExpr::Not(x) => self.truth(x, b).map(|t| !t),
            CExpr::And(v) => {
                let mut unknown = false;
                for x in v {
                    match self.truth(x, b) {
                        Some(false) => return Some(false),
                        None => unknown = true,
                        Some(true) => {}
                    }
                }
                if unknown {
                    None
                } else {
                    Some(true)
                }
            }
            CExpr::Or(v) => {
                let mut unknown = false;
                for x in v {
                    match self.truth(x, b) {
                        Some(true) => return Some(true),
                        None => unknown = true,
                        Some(false) => {}
                    }
                }
                if unknown {
                    None
                } else {
                    Some(false)
                }
            }
            CExpr::Cmp(op, x, y) => compare(*op, self.eval(x, b), self.eval(y, b), self),
            CExpr::During(d, pe) => match self.eval(d, b) {
                Val::Date(day) => match pe {
                    PathOrEdge::Missing => None,
                    _ => Some(self.edges_of(b, *pe).iter().all(|e| {
                        self.ev[e.kind as usize]
                            .interval(e.idx as usize)
                            .contains(day)
                    })),
                },
                _ => None,
            },
            CExpr::ValidAt(pe, d) => match (self.eval(d, b), pe) {
                (_, PathOrEdge::Missing) => None,
                (Val::Date(day), _) => Some(self.edges_of(b, *pe).iter().all(|e| {
                    self.ev[e.kind as usize]
                        .interval(e.idx as usize)
                        .contains(day)
                })),
                _ => None,
            },
            CExpr::Controlling(pe) => match pe {
                PathOrEdge::Missing => None,
                _ => Some(self.edges_of(b, *pe).iter().all(|e| self.controlling(*e))),
            },
            CExpr::Within {
                a,
                days,
                after,
                b: y,
            } => match (self.eval(a, b), self.eval(y, b)) {
                (Val::Date(p), Val::Date(q)) => Some(if *after {
                    q < p && p <= q + days
                } else {
                    q - days <= p && p < q
                }),
                _ => None,
            },
            CExpr::IsNull(x, want_null) => Some((self.eval(x, b) == Val::Null) == *want_null),
            CExpr::In(x, lits) => match self.eval(x, b) {
                Val::Null => None,
                v => Some(
                    lits.iter()
                        .any(|l| compare(CmpOp::Eq, v, lit(l), self) == Some(true)),
                ),
            },
            CExpr::KindTest(s, mask) => Some(mask[self.snap.kind_of(b.nodes[*s]).index()]),
            CExpr::Exists(plan) => Some((self.exists)(self, plan, b)),
            other => match self.eval(other, b) {
                Val::Bool(t) => Some(t),
                _ => None,
            },
        }
    }

    pub(crate) fn node_prop(&self, n: u32, p: NodeProp) -> Val<'a> {
        let i = n as usize;
        let kind = self.snap.kind_of(n);
        match p {
            NodeProp::Id => Val::Str(self.snap.ext(n)),
            NodeProp::Name => Val::Str(self.snap.name(n)),
            NodeProp::Kind => Val::Str(kind.as_str()),
            NodeProp::MainDate(k) if k == kind => date(self.dates[i]),
            NodeProp::Death if kind == NodeKind::Person => date(self.deaths[i]),
            NodeProp::Identifier(k) if k == kind => match self.snap.identifier(n) {
                "" => Val::Null,
                s => Val::Str(s),
            },
            NodeProp::Listed => date(self.listed[i]),
            NodeProp::Blacklisted => {
                Val::Bool(self.flags[i] & crate::snapshot::flag::BLACKLISTED != 0)
            }
            NodeProp::Official if kind == NodeKind::Person => {
                Val::Bool(self.flags[i] & crate::snapshot::flag::OFFICIAL != 0)
            }
            NodeProp::Amount if matches!(kind, NodeKind::Contract | NodeKind::Subsidy) => {
                num(self.amounts[i])
            }
            NodeProp::Budget if kind == NodeKind::Tender => num(self.amounts[i]),
            NodeProp::Phone if kind == NodeKind::Company => code(0, self.phones[i]),
            NodeProp::Address if kind == NodeKind::Company => code(1, self.addrs[i]),
            NodeProp::PhoneShared if kind == NodeKind::Company => self.shared(0, self.phones[i]),
            NodeProp::AddressShared if kind == NodeKind::Company => self.shared(1, self.addrs[i]),
            NodeProp::Title if kind == NodeKind::Tender => Val::Str(self.snap.name(n)),
            _ => Val::Null,
        }
    }

    /// How many companies have code `c` in column `tag` (phone 0, address 1): the size of the
    /// code's group in the snapshot's code index; null for no value.
    fn shared(&self, tag: usize, c: u32) -> Val<'a> {
        if c == 0 {
            Val::Null
        } else {
            Val::Num(self.snap.code_nodes(tag, c).len() as f64)
        }
    }

    fn edge_prop(&self, e: EdgeRef, p: EdgeProp) -> Val<'a> {
        let v = &self.ev[e.kind as usize];
        let i = e.idx as usize;
        let kind = EdgeKind::ALL[e.kind as usize];
        match p {
            EdgeProp::Start => date(v.interval(i).start),
            EdgeProp::End => date(v.interval(i).end),
            EdgeProp::Label => match self.snap.label_text(kind, v.label(i)) {
                "" => Val::Null,
                s => Val::Str(s),
            },
            EdgeProp::Kind => Val::Str(kind.as_str()),
            EdgeProp::Value => v.value(i).map_or(Val::Null, Val::Num),
            EdgeProp::Won => v.flag(i).map_or(Val::Null, Val::Bool),
            EdgeProp::Submitted => v.date(i).map_or(Val::Null, Val::Date),
        }
    }
}

fn num(x: f64) -> Val<'static> {
    if x.is_nan() {
        Val::Null
    } else {
        Val::Num(x)
    }
}

fn code(tag: u8, c: u32) -> Val<'static> {
    if c == 0 {
        Val::Null
    } else {
        Val::Code(tag, c)
    }
}

fn compare(op: CmpOp, a: Val<'_>, b: Val<'_>, g: &G<'_>) -> Option<bool> {
    use std::cmp::Ordering;
    let ord: Option<Ordering> = match (a, b) {
        (Val::Null, _) | (_, Val::Null) => return None,
        (Val::Num(x), Val::Num(y)) => x.partial_cmp(&y),
        (Val::Date(x), Val::Date(y)) => Some(x.cmp(&y)),
        (Val::Str(x), Val::Str(y)) => Some(x.cmp(y)),
        (Val::Bool(x), Val::Bool(y)) => Some(x.cmp(&y)),
        (Val::Code(t, x), Val::Code(u, y)) if t == u => {
            return match op {
                CmpOp::Eq => Some(x == y),
                CmpOp::Ne => Some(x != y),
                _ => None,
            }
        }
        (Val::Node(x), Val::Node(y)) if matches!(op, CmpOp::Eq | CmpOp::Ne) => {
            return Some((x == y) == (op == CmpOp::Eq))
        }
        // Nodes order like their bundle ids (rank), so `x < y` names each pair once.
        (Val::Node(x), Val::Node(y)) => Some(g.ranks[x as usize].cmp(&g.ranks[y as usize])),
        _ => None,
    };
    let o = ord?;
    Some(match op {
        CmpOp::Eq => o == Ordering::Equal,
        CmpOp::Ne => o != Ordering::Equal,
        CmpOp::Lt => o == Ordering::Less,
        CmpOp::Le => o != Ordering::Greater,
        CmpOp::Gt => o == Ordering::Greater,
        CmpOp::Ge => o != Ordering::Less,
    })
}
