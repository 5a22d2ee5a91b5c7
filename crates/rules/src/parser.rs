//! Recursive-descent parser for the query language (grammar in `docs/rules.md`).

use crate::ast::*;
use crate::lexer::{lex, Tok, Token};
use crate::RuleError;
use qinglian_model::{Date, EdgeKind, NodeKind};

/// Longest variable-length edge a rule may ask for.
pub const MAX_HOPS: u32 = 6;

/// Parses a query whose first character sits at `origin` in its file.
pub fn parse_query(src: &str, origin: Pos) -> Result<Query, RuleError> {
    let mut p = Parser {
        toks: lex(src, origin)?,
        i: 0,
        anon: 0,
    };
    let q = p.query()?;
    p.expect_end()?;
    Ok(q)
}

/// Parses a lone expression (severity grades, scores).
pub fn parse_expr(src: &str, origin: Pos) -> Result<Expr, RuleError> {
    let mut p = Parser {
        toks: lex(src, origin)?,
        i: 0,
        anon: 0,
    };
    let e = p.expr()?;
    p.expect_end()?;
    Ok(e)
}

struct Parser {
    toks: Vec<Token>,
    i: usize,
    anon: u32,
}

impl Parser {
    fn peek(&self) -> &Token {
        &self.toks[self.i.min(self.toks.len() - 1)]
    }

    fn peek_at(&self, k: usize) -> &Tok {
        &self.toks[(self.i + k).min(self.toks.len() - 1)].tok
    }

    fn pos(&self) -> Pos {
        self.peek().pos
    }

    fn bump(&mut self) -> Token {
        let t = self.peek().clone();
        self.i += 1;
        t
    }

    fn err<T>(&self, expected: &str) -> Result<T, RuleError> {
        let t = self.peek();
        Err(RuleError::at(
            t.pos,
            format!("expected {expected}, found {}", t.tok.describe()),
        ))
    }

    fn is_punct(&self, p: &str) -> bool {
        matches!(&self.peek().tok, Tok::Punct(q) if *q == p)
    }

    fn eat_punct(&mut self, p: &str) -> bool {
        if self.is_punct(p) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect_punct(&mut self, p: &str) -> Result<(), RuleError> {
        if self.eat_punct(p) {
            Ok(())
        } else {
            self.err(&format!("`{p}`"))
        }
    }

    fn is_kw(&self, kw: &str) -> bool {
        matches!(&self.peek().tok, Tok::Ident(s) if s.eq_ignore_ascii_case(kw))
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.is_kw(kw) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect_kw(&mut self, kw: &str) -> Result<(), RuleError> {
        if self.eat_kw(kw) {
            Ok(())
        } else {
            self.err(kw)
        }
    }

    fn expect_end(&self) -> Result<(), RuleError> {
        if matches!(self.peek().tok, Tok::End) {
            Ok(())
        } else {
            self.err("the end of the query")
        }
    }

    fn ident(&mut self, what: &str) -> Result<(String, Pos), RuleError> {
        match self.peek().tok.clone() {
            Tok::Ident(s) if !is_reserved(&s) => {
                let pos = self.bump().pos;
                Ok((s, pos))
            }
            _ => self.err(what),
        }
    }

    fn query(&mut self) -> Result<Query, RuleError> {
        let mut branches = vec![self.branch()?];
        while self.eat_kw("UNION") {
            branches.push(self.branch()?);
        }
        Ok(Query { branches })
    }

    fn branch(&mut self) -> Result<Branch, RuleError> {
        self.expect_kw("MATCH")?;
        let patterns = self.patterns()?;
        let filter = if self.eat_kw("WHERE") {
            Some(self.expr()?)
        } else {
            None
        };
        self.expect_kw("RETURN")?;
        let mut returns = Vec::new();
        loop {
            let (name, pos) = self.ident("a return name (official, target, target2 or ref)")?;
            self.expect_punct("=")?;
            let (var, _) = self.ident("a node variable")?;
            returns.push(ReturnItem { name, var, pos });
            if !self.eat_punct(",") {
                break;
            }
        }
        Ok(Branch {
            patterns,
            filter,
            returns,
        })
    }

    fn patterns(&mut self) -> Result<Vec<PathPattern>, RuleError> {
        let mut v = vec![self.pattern()?];
        while self.eat_punct(",") {
            v.push(self.pattern()?);
        }
        Ok(v)
    }

    fn pattern(&mut self) -> Result<PathPattern, RuleError> {
        let mut nodes = vec![self.node()?];
        let mut rels = Vec::new();
        while self.is_punct("-") || self.is_punct("<-") {
            rels.push(self.rel()?);
            nodes.push(self.node()?);
        }
        Ok(PathPattern { nodes, rels })
    }

    fn node(&mut self) -> Result<NodePat, RuleError> {
        let pos = self.pos();
        if !self.eat_punct("(") {
            return self.err("`(` to start a node pattern");
        }
        let var = match &self.peek().tok {
            Tok::Ident(s) if !is_reserved(s) => self.ident("a variable")?.0,
            _ => {
                self.anon += 1;
                format!("_n{}", self.anon)
            }
        };
        let mut kinds = Vec::new();
        if self.eat_punct(":") {
            kinds = self.node_kinds()?;
        }
        self.expect_punct(")")?;
        Ok(NodePat { var, kinds, pos })
    }

    fn node_kinds(&mut self) -> Result<Vec<NodeKind>, RuleError> {
        let mut kinds = Vec::new();
        loop {
            let pos = self.pos();
            let (name, _) = self.ident("a node kind")?;
            match NodeKind::parse(&name) {
                Some(k) => kinds.push(k),
                None => {
                    let all: Vec<&str> = NodeKind::ALL.iter().map(|k| k.as_str()).collect();
                    return Err(RuleError::at(
                        pos,
                        format!(
                            "unknown node kind `{name}`; expected one of {}",
                            all.join(", ")
                        ),
                    ));
                }
            }
            if !self.eat_punct("|") {
                return Ok(kinds);
            }
        }
    }

    fn rel(&mut self) -> Result<RelPat, RuleError> {
        let pos = self.pos();
        let incoming = self.eat_punct("<-");
        if !incoming {
            self.expect_punct("-")?;
        }
        self.expect_punct("[")?;
        let var = match &self.peek().tok {
            Tok::Ident(s) if !is_reserved(s) => self.ident("a variable")?.0,
            _ => {
                self.anon += 1;
                format!("_e{}", self.anon)
            }
        };
        if !self.eat_punct(":") {
            return self
                .err("`:` and an edge type (edge patterns name their types, e.g. `-[:OWNS]->`)");
        }
        let mut types = Vec::new();
        let mut optional = None;
        loop {
            let at = self.pos();
            let (t, opt) = self.edge_type()?;
            types.push(t);
            if opt {
                optional = Some(at);
            }
            if !self.eat_punct("|") {
                break;
            }
        }
        let mut hops = None;
        if let Some(at) = optional {
            if types.len() > 1 || self.is_punct("*") {
                return Err(RuleError::at(
                    at,
                    "`SAME_AS?` (an optional identity link) stands alone: no other type, no `*` bounds",
                ));
            }
            hops = Some((0, 1));
        }
        if self.is_punct("*") {
            let star = self.bump().pos;
            let lo = match self.peek().tok {
                Tok::Int(n) => {
                    self.i += 1;
                    n
                }
                _ => {
                    return Err(RuleError::at(
                        star,
                        "unbounded variable-length edge: write the bounds, e.g. `*1..3`",
                    ))
                }
            };
            let hi = if self.eat_punct("..") {
                match self.peek().tok {
                    Tok::Int(n) => {
                        self.i += 1;
                        n
                    }
                    _ => return Err(RuleError::at(self.pos(), format!("unbounded variable-length edge: expected an upper bound after `*{lo}..`"))),
                }
            } else {
                lo
            };
            if lo < 0 || hi < lo {
                return Err(RuleError::at(
                    star,
                    format!("hop bounds {lo}..{hi} are not a range"),
                ));
            }
            if hi > i64::from(MAX_HOPS) {
                return Err(RuleError::at(
                    star,
                    format!("at most {MAX_HOPS} hops are allowed, found {hi}"),
                ));
            }
            hops = Some((lo as u32, hi as u32));
        }
        self.expect_punct("]")?;
        let dir = if incoming {
            self.expect_punct("-")?;
            Dir::In
        } else if self.eat_punct("->") {
            Dir::Out
        } else if self.eat_punct("-") {
            Dir::Both
        } else {
            return self.err("`->` or `-` to close the edge pattern");
        };
        Ok(RelPat {
            var,
            dir,
            types,
            hops,
            pos,
        })
    }

    fn edge_type(&mut self) -> Result<(EdgeType, bool), RuleError> {
        let pos = self.pos();
        let (name, _) = self.ident("an edge type")?;
        let Some(kind) = EdgeKind::parse(&name) else {
            let all: Vec<&str> = EdgeKind::ALL.iter().map(|k| k.as_str()).collect();
            return Err(RuleError::at(
                pos,
                format!(
                    "unknown edge type `{name}`; expected one of {}",
                    all.join(", ")
                ),
            ));
        };
        if kind == EdgeKind::SameAs {
            return self.link_type(kind);
        }
        let mut labels = Vec::new();
        let mut negated = false;
        if self.eat_punct("{") {
            negated = self.eat_punct("!");
            loop {
                labels.push(self.ident("a label")?.0);
                if !self.eat_punct("|") {
                    break;
                }
            }
            self.expect_punct("}")?;
        }
        Ok((
            EdgeType {
                kind,
                labels,
                negated,
                min: None,
            },
            false,
        ))
    }

    /// The rest of a `SAME_AS` type: `?` (the link is optional: zero or one of it) and
    /// `{min p}` (only links at least this probable). Returns the type and whether `?` was
    /// written.
    fn link_type(&mut self, kind: EdgeKind) -> Result<(EdgeType, bool), RuleError> {
        let optional = self.eat_punct("?");
        let mut min = None;
        if self.eat_punct("{") {
            let (word, at) = self.ident("`min`")?;
            if word != "min" {
                return Err(RuleError::at(
                    at,
                    format!(
                        "SAME_AS takes `{{min p}}` (the lowest link probability), found `{word}`"
                    ),
                ));
            }
            let at = self.pos();
            let p = match self.peek().tok {
                Tok::Num(x) => x,
                Tok::Int(i) => i as f64,
                _ => return self.err("a probability between 0 and 1"),
            };
            self.i += 1;
            if !(0.0..=1.0).contains(&p) {
                return Err(RuleError::at(
                    at,
                    format!("`min {p}`: a link probability is between 0 and 1"),
                ));
            }
            min = Some(p);
            self.expect_punct("}")?;
        }
        Ok((
            EdgeType {
                kind,
                labels: Vec::new(),
                negated: false,
                min,
            },
            optional,
        ))
    }

    pub(crate) fn expr(&mut self) -> Result<Expr, RuleError> {
        let mut v = vec![self.and()?];
        while self.eat_kw("OR") {
            v.push(self.and()?);
        }
        Ok(if v.len() == 1 {
            v.remove(0)
        } else {
            Expr::Or(v)
        })
    }

    fn and(&mut self) -> Result<Expr, RuleError> {
        let mut v = vec![self.not()?];
        while self.eat_kw("AND") {
            v.push(self.not()?);
        }
        Ok(if v.len() == 1 {
            v.remove(0)
        } else {
            Expr::And(v)
        })
    }

    fn not(&mut self) -> Result<Expr, RuleError> {
        if self.eat_kw("NOT") {
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.predicate()
    }

    fn predicate(&mut self) -> Result<Expr, RuleError> {
        let a = self.additive()?;
        let pos = self.pos();
        let op = match &self.peek().tok {
            Tok::Punct("=") => Some(CmpOp::Eq),
            Tok::Punct("<>") | Tok::Punct("!=") => Some(CmpOp::Ne),
            Tok::Punct("<") => Some(CmpOp::Lt),
            Tok::Punct("<=") => Some(CmpOp::Le),
            Tok::Punct(">") => Some(CmpOp::Gt),
            Tok::Punct(">=") => Some(CmpOp::Ge),
            _ => None,
        };
        if let Some(op) = op {
            self.i += 1;
            let b = self.additive()?;
            return Ok(Expr::Cmp(op, Box::new(a), Box::new(b), pos));
        }
        if self.eat_kw("DURING") {
            return Ok(Expr::During(Box::new(a), Box::new(self.additive()?), pos));
        }
        if self.eat_kw("AFTER") {
            return Ok(Expr::Cmp(
                CmpOp::Gt,
                Box::new(a),
                Box::new(self.additive()?),
                pos,
            ));
        }
        if self.eat_kw("BEFORE") {
            return Ok(Expr::Cmp(
                CmpOp::Lt,
                Box::new(a),
                Box::new(self.additive()?),
                pos,
            ));
        }
        if self.eat_kw("IS") {
            let not = self.eat_kw("NOT");
            self.expect_kw("NULL")?;
            return Ok(Expr::IsNull(Box::new(a), !not, pos));
        }
        if self.eat_kw("IN") {
            self.expect_punct("[")?;
            let mut lits = Vec::new();
            if !self.is_punct("]") {
                loop {
                    match self.primary()? {
                        Expr::Lit(l, _) => lits.push(l),
                        other => {
                            return Err(RuleError::at(
                                other.pos(),
                                "expected a literal in the IN list",
                            ))
                        }
                    }
                    if !self.eat_punct(",") {
                        break;
                    }
                }
            }
            self.expect_punct("]")?;
            return Ok(Expr::In(Box::new(a), lits, pos));
        }
        if self.eat_kw("WITHIN") {
            let days = match self.peek().tok {
                Tok::Int(n) => {
                    self.i += 1;
                    i32::try_from(n).map_err(|_| RuleError::at(pos, "too many days"))?
                }
                _ => return self.err("a whole number of days after WITHIN"),
            };
            self.expect_kw("DAYS")?;
            let after = if self.eat_kw("AFTER") {
                true
            } else if self.eat_kw("BEFORE") {
                false
            } else {
                return self.err("AFTER or BEFORE");
            };
            let b = self.additive()?;
            return Ok(Expr::Within {
                a: Box::new(a),
                days,
                after,
                b: Box::new(b),
                pos,
            });
        }
        Ok(a)
    }

    fn additive(&mut self) -> Result<Expr, RuleError> {
        let mut a = self.term()?;
        loop {
            let pos = self.pos();
            let op = if self.eat_punct("+") {
                '+'
            } else if self.eat_punct("-") {
                '-'
            } else {
                return Ok(a);
            };
            let b = self.term()?;
            a = Expr::Arith(op, Box::new(a), Box::new(b), pos);
        }
    }

    fn term(&mut self) -> Result<Expr, RuleError> {
        let mut a = self.postfix()?;
        loop {
            let pos = self.pos();
            if !self.eat_punct("*") {
                return Ok(a);
            }
            let b = self.postfix()?;
            a = Expr::Arith('*', Box::new(a), Box::new(b), pos);
        }
    }

    fn postfix(&mut self) -> Result<Expr, RuleError> {
        let mut e = self.primary()?;
        while self.eat_punct(".") {
            let (name, pos) = self.ident("a property name")?;
            e = Expr::Prop(Box::new(e), name, pos);
        }
        Ok(e)
    }

    fn primary(&mut self) -> Result<Expr, RuleError> {
        let t = self.peek().clone();
        match t.tok {
            Tok::Int(n) => {
                self.i += 1;
                Ok(Expr::Lit(Lit::Num(n as f64), t.pos))
            }
            Tok::Num(n) => {
                self.i += 1;
                Ok(Expr::Lit(Lit::Num(n), t.pos))
            }
            Tok::Str(s) => {
                self.i += 1;
                Ok(Expr::Lit(Lit::Str(s), t.pos))
            }
            Tok::Punct("-") if matches!(self.peek_at(1), Tok::Int(_) | Tok::Num(_)) => {
                self.i += 1;
                match self.bump().tok {
                    Tok::Int(n) => Ok(Expr::Lit(Lit::Num(-(n as f64)), t.pos)),
                    Tok::Num(n) => Ok(Expr::Lit(Lit::Num(-n), t.pos)),
                    _ => self.err("a number"),
                }
            }
            Tok::Punct("(") => {
                self.i += 1;
                let e = self.expr()?;
                self.expect_punct(")")?;
                Ok(e)
            }
            Tok::Ident(ref s)
                if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") =>
            {
                self.i += 1;
                Ok(Expr::Lit(Lit::Bool(s.eq_ignore_ascii_case("true")), t.pos))
            }
            Tok::Ident(ref s) if s.eq_ignore_ascii_case("null") => {
                self.i += 1;
                Ok(Expr::Lit(Lit::Null, t.pos))
            }
            Tok::Ident(ref s) if s.eq_ignore_ascii_case("EXISTS") => {
                self.i += 1;
                self.expect_punct("{")?;
                let patterns = self.patterns()?;
                let filter = if self.eat_kw("WHERE") {
                    Some(self.expr()?)
                } else {
                    None
                };
                self.expect_punct("}")?;
                Ok(Expr::Exists(Box::new(SubQuery { patterns, filter }), t.pos))
            }
            Tok::Ident(ref s) if !is_reserved(s) => {
                self.i += 1;
                if self.is_punct("(") {
                    self.i += 1;
                    if s == "date" {
                        let lit = self.bump();
                        let Tok::Str(text) = lit.tok else {
                            return Err(RuleError::at(lit.pos, "expected a date as 'YYYY-MM-DD'"));
                        };
                        let d = Date::parse(&text)
                            .map_err(|e| RuleError::at(lit.pos, e.to_string()))?;
                        self.expect_punct(")")?;
                        return Ok(Expr::Lit(Lit::Date(d.0), t.pos));
                    }
                    let mut args = Vec::new();
                    if !self.is_punct(")") {
                        loop {
                            args.push(self.expr()?);
                            if !self.eat_punct(",") {
                                break;
                            }
                        }
                    }
                    self.expect_punct(")")?;
                    return Ok(Expr::Call(s.to_ascii_lowercase(), args, t.pos));
                }
                if self.is_punct(":") {
                    self.i += 1;
                    let kinds = self.node_kinds()?;
                    return Ok(Expr::KindTest(s.clone(), kinds, t.pos));
                }
                Ok(Expr::Var(s.clone(), t.pos))
            }
            _ => self.err("an expression"),
        }
    }
}

fn is_reserved(s: &str) -> bool {
    const KW: &[&str] = &[
        "MATCH", "WHERE", "RETURN", "AND", "OR", "NOT", "EXISTS", "DURING", "WITHIN", "DAYS",
        "AFTER", "BEFORE", "IS", "NULL", "IN", "TRUE", "FALSE", "UNION",
    ];
    KW.iter().any(|k| k.eq_ignore_ascii_case(s))
}
