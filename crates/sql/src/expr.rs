//! Rule expressions as SQL over one variant's bindings. SQL's three-valued logic is the
//! engine's (`exec/expr.rs`: a comparison with null is unknown, `NOT unknown` is unknown, a
//! filter keeps only true), so conditions translate one to one.

use crate::scope::{self, Bound, EdgeBind, Shape, Variant};
use crate::{Dialect, Needs, SqlError};
use qinglian_model::{EdgeKind, NodeKind};
use qinglian_rules::ast::{CmpOp, Expr, Lit};
use qinglian_rules::check::Vars;
use qinglian_rules::schema::{Columns, Owner, Ty};

/// What an expression is compiled against.
pub(crate) struct Cx<'a> {
    pub d: Dialect,
    pub vars: &'a Vars,
    pub cols: &'a Columns,
    /// Whether edge patterns of several choices read their union (`hops.rs`).
    pub staged: bool,
    pub aliases: &'a mut scope::Aliases,
    pub needs: &'a mut Needs,
}

/// A quoted text literal.
pub(crate) fn text_lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn lit(l: &Lit) -> String {
    match l {
        Lit::Null => "NULL".into(),
        Lit::Bool(b) => if *b { "TRUE" } else { "FALSE" }.into(),
        Lit::Num(n) => format!("{n}"),
        Lit::Str(s) => text_lit(s),
        Lit::Date(d) => format!("DATE '{}'", qinglian_model::Date(*d)),
    }
}

impl Cx<'_> {
    /// `e` as SQL in variant `v`.
    pub(crate) fn expr(&mut self, e: &Expr, v: &Variant) -> Result<String, SqlError> {
        Ok(match e {
            Expr::Lit(l, _) => lit(l),
            Expr::Var(name, _) => match v.vars.get(name) {
                Some(Bound::Node { alias, .. }) => format!("{alias}.id"),
                None => "NULL".into(),
                Some(_) => return Err(SqlError::Unsupported(format!("`{name}` as a value"))),
            },
            Expr::Prop(base, p, _) => self.prop(base, p, v)?,
            Expr::Call(f, args, _) => self.call(f, args, v)?,
            Expr::Not(x) => format!("(NOT {})", self.expr(x, v)?),
            Expr::And(xs) => self.join(xs, " AND ", v)?,
            Expr::Or(xs) => self.join(xs, " OR ", v)?,
            Expr::Cmp(op, a, b, _) => match (code_tag(a), code_tag(b)) {
                (None, None) => self.compare(*op, a, b, v)?,
                // A phone or address is a normalised key: equal or not to another of the same
                // kind, and nothing else (the engine's `compare` on codes).
                (Some(x), Some(y)) if x == y && matches!(op, CmpOp::Eq | CmpOp::Ne) => {
                    self.compare(*op, a, b, v)?
                }
                _ => "CAST(NULL AS BOOLEAN)".into(),
            },
            Expr::During(day, edge, _) => {
                let day = self.expr(day, v)?;
                self.valid_at(edge, &day, v)?
            }
            Expr::Within {
                a, days, after, b, ..
            } => {
                let (p, q) = (self.expr(a, v)?, self.expr(b, v)?);
                if *after {
                    format!("({q} < {p} AND {p} <= {})", self.d.add_days(&q, *days))
                } else {
                    format!("({} <= {p} AND {p} < {q})", self.d.add_days(&q, -days))
                }
            }
            Expr::IsNull(x, null, _) => {
                let not = if *null { "" } else { "NOT " };
                format!("({} IS {not}NULL)", self.expr(x, v)?)
            }
            Expr::In(x, lits, _) => {
                let list: Vec<String> = lits.iter().map(lit).collect();
                format!("({} IN ({}))", self.expr(x, v)?, list.join(", "))
            }
            Expr::KindTest(var, kinds, _) => match v.vars.get(var) {
                Some(Bound::Node { kind, .. }) => if kinds.contains(kind) {
                    "TRUE"
                } else {
                    "FALSE"
                }
                .into(),
                _ => "NULL".into(),
            },
            Expr::Arith(op, a, b, _) => {
                let (x, y) = (self.expr(a, v)?, self.expr(b, v)?);
                match (op, self.is_date(a, v)) {
                    ('+', true) => self.d.add_days_expr(&x, &y),
                    ('-', true) => self.d.add_days_expr(&x, &format!("(-{y})")),
                    _ => format!("({x} {op} {y})"),
                }
            }
            Expr::Exists(q, _) => {
                let variants =
                    scope::expand(&q.patterns, self.vars, v, self.d, self.staged, self.aliases)?;
                let mut any = Vec::new();
                for w in &variants {
                    let mut conds = w.joins.clone();
                    if let Some(f) = &q.filter {
                        conds.push(self.expr(f, w)?);
                    }
                    if conds.is_empty() {
                        conds.push("TRUE".into());
                    }
                    if w.from.is_empty() {
                        any.push(format!("({})", conds.join(" AND ")));
                    } else {
                        any.push(format!(
                            "EXISTS (SELECT 1 FROM {} WHERE {})",
                            scope::ordered_from(w).join(", "),
                            conds.join(" AND ")
                        ));
                    }
                }
                if any.is_empty() {
                    "FALSE".into()
                } else {
                    format!("({})", any.join(" OR "))
                }
            }
        })
    }

    fn join(&mut self, xs: &[Expr], sep: &str, v: &Variant) -> Result<String, SqlError> {
        let parts = xs
            .iter()
            .map(|x| self.expr(x, v))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(format!("({})", parts.join(sep)))
    }

    /// Whether `e` is a date (for `+`/`-` of days).
    fn is_date(&self, e: &Expr, v: &Variant) -> bool {
        match e {
            Expr::Lit(Lit::Date(_), _) => true,
            Expr::Prop(base, p, _) => match &**base {
                Expr::Var(name, _) => match v.vars.get(name) {
                    Some(Bound::Node { kind, .. }) => {
                        node_ty(*kind, p, self.cols) == Some(Ty::Date)
                    }
                    Some(Bound::Edge(b)) => match b.shape {
                        Shape::Table { kind, .. } => edge_ty(kind, p, self.cols) == Some(Ty::Date),
                        Shape::Union => matches!(p.as_str(), "start" | "end"),
                    },
                    _ => false,
                },
                _ => false,
            },
            Expr::Arith(_, a, _, _) => self.is_date(a, v),
            _ => false,
        }
    }

    fn edges<'v>(&self, e: &Expr, v: &'v Variant) -> Result<Option<Vec<&'v EdgeBind>>, SqlError> {
        let Expr::Var(name, _) = e else {
            return Err(SqlError::Unsupported("an edge expression".into()));
        };
        Ok(match v.vars.get(name) {
            Some(Bound::Edge(b)) => Some(vec![b]),
            Some(Bound::Path(p)) => Some(p.iter().collect()),
            _ => None,
        })
    }

    /// Every edge of `edge` (an edge or path variable) holds on `day`: `[start, end]`, an
    /// unknown start or an open end bounding nothing.
    fn valid_at(&mut self, edge: &Expr, day: &str, v: &Variant) -> Result<String, SqlError> {
        let Some(es) = self.edges(edge, v)? else {
            return Ok("NULL".into());
        };
        let (s, t) = (self.d.quote("start"), self.d.quote("end"));
        let mut parts = vec![format!("({day} IS NOT NULL)")];
        for b in es {
            let a = &b.alias;
            parts.push(format!(
                "({a}.{s} IS NULL OR {a}.{s} <= {day}) AND ({a}.{t} IS NULL OR {day} <= {a}.{t})"
            ));
        }
        // A null day makes the engine's answer unknown, not false.
        Ok(format!(
            "(CASE WHEN {day} IS NULL THEN NULL ELSE ({}) END)",
            parts.join(" AND ")
        ))
    }

    fn call(&mut self, f: &str, args: &[Expr], v: &Variant) -> Result<String, SqlError> {
        match f {
            "len" => Ok(match self.edges(&args[0], v)? {
                Some(es) => es.len().to_string(),
                None => "NULL".into(),
            }),
            "valid_at" => {
                let day = self.expr(&args[1], v)?;
                self.valid_at(&args[0], &day, v)
            }
            "controlling" => {
                let Some(es) = self.edges(&args[0], v)? else {
                    return Ok("NULL".into());
                };
                let parts: Vec<String> = es
                    .iter()
                    .map(|b| match b.shape {
                        Shape::Table { kind, .. } => scope::controls(&b.alias, kind),
                        Shape::Union => format!("{}.ctl", b.alias),
                    })
                    .collect();
                if parts.is_empty() {
                    // Every edge of none controls: the engine's `all` over a zero-length path.
                    return Ok("TRUE".into());
                }
                Ok(format!("({})", parts.join(" AND ")))
            }
            other => Err(SqlError::Unsupported(format!("{other}() as a value"))),
        }
    }

    /// `base.p`: a node's or an edge's property, or `first(path).p` / `last(path).p`.
    fn compare(&mut self, op: CmpOp, a: &Expr, b: &Expr, v: &Variant) -> Result<String, SqlError> {
        Ok(format!(
            "({} {} {})",
            self.expr(a, v)?,
            op.symbol(),
            self.expr(b, v)?
        ))
    }

    fn prop(&mut self, base: &Expr, p: &str, v: &Variant) -> Result<String, SqlError> {
        let edge = match base {
            Expr::Var(name, _) => match v.vars.get(name) {
                Some(Bound::Node { alias, kind }) => return self.node_prop(alias, *kind, p),
                Some(Bound::Edge(b)) => Some(b.clone()),
                Some(Bound::Path(_)) => {
                    return Err(SqlError::Unsupported("a property of a path".into()))
                }
                None => None,
            },
            Expr::Call(f, args, _) if f == "first" || f == "last" => {
                match self.edges(&args[0], v)? {
                    Some(es) if f == "first" => es.first().map(|b| (*b).clone()),
                    Some(es) => es.last().map(|b| (*b).clone()),
                    None => None,
                }
            }
            _ => return Err(SqlError::Unsupported("a property of an expression".into())),
        };
        match edge {
            Some(b) => self.edge_prop(&b, p),
            None => Ok("NULL".into()),
        }
    }

    fn node_prop(&mut self, alias: &str, k: NodeKind, p: &str) -> Result<String, SqlError> {
        let col = match p {
            "id" | "name" | "kind" => p,
            "id_number" | "credit_code" => "identifier",
            // Derived by the snapshot, exported for the rules (`export::table::rule_columns`).
            "phone" | "address" if k == NodeKind::Company => {
                return Ok(format!("{alias}.{}_key", p));
            }
            "listed" | "official" | "phone_shared" | "address_shared"
                if qinglian_rules::schema::node_prop(&[k], p).is_some() =>
            {
                p
            }
            _ if qinglian_rules::schema::node_prop(&[k], p).is_some() => p,
            _ => match self.cols.get([Owner::Node(k)], p) {
                Some(ty) => {
                    self.needs.add(format!("n_{k}"), p, ty);
                    p
                }
                // The checker accepted it for another kind of the variable: none here.
                None => return Ok("NULL".into()),
            },
        };
        Ok(format!("{alias}.{}", self.d.quote(col)))
    }

    fn edge_prop(&mut self, b: &EdgeBind, p: &str) -> Result<String, SqlError> {
        let a = &b.alias;
        let (kind, inverted) = match b.shape {
            Shape::Table { kind, inverted } => (kind, inverted),
            Shape::Union => return union_prop(a, p, self.d),
        };
        Ok(match p {
            "start" | "end" | "won" | "submitted" => format!("{a}.{}", self.d.quote(p)),
            "kind" => text_lit(kind.as_str()),
            "label" | "relation" | "role" | "title" => scope::read_label(a, kind, inverted),
            "share_pct" | "amount" | "probability" => {
                format!("{a}.{}", scope::value_column(kind))
            }
            _ => match self.cols.get([Owner::Edge(kind)], p) {
                Some(ty) => {
                    self.needs.add(format!("e_{kind}"), p, ty);
                    format!("{a}.{}", self.d.quote(p))
                }
                None => "NULL".into(),
            },
        })
    }
}

/// A property of a staged hop (`hops.rs`): what every choice has. Anything else — a bid's
/// date, an extra column — is refused, and the rule is compiled unrolled instead.
fn union_prop(a: &str, p: &str, d: Dialect) -> Result<String, SqlError> {
    Ok(match p {
        "start" | "end" => format!("{a}.{}", d.quote(p)),
        "kind" => format!("{a}.kname"),
        "label" | "relation" | "role" | "title" => format!("{a}.rlabel"),
        "share_pct" | "amount" | "probability" => format!("{a}.val"),
        _ => {
            return Err(SqlError::Unsupported(format!(
                "`{p}` of an edge of several types or directions"
            )))
        }
    })
}

fn node_ty(k: NodeKind, p: &str, cols: &Columns) -> Option<Ty> {
    qinglian_rules::schema::node_prop(&[k], p).or_else(|| cols.get([Owner::Node(k)], p))
}

fn edge_ty(k: EdgeKind, p: &str, cols: &Columns) -> Option<Ty> {
    match p {
        "start" | "end" | "submitted" => Some(Ty::Date),
        _ => cols.get([Owner::Edge(k)], p),
    }
}

/// Whether `e` is a phone or an address property (a normalised key, compared only for
/// equality with another of the same).
fn code_tag(e: &Expr) -> Option<&str> {
    match e {
        Expr::Prop(_, p, _) if p == "phone" || p == "address" => Some(p),
        _ => None,
    }
}
