//! The syntax tree of a rule query.

use qinglian_model::{EdgeKind, NodeKind};

/// A position in a rule file: 1-based line and column (in characters).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pos {
    /// Line.
    pub line: u32,
    /// Column.
    pub col: u32,
}

/// One or more branches joined by UNION; every branch returns the same names, and a finding
/// proved by several branches keeps one witness.
#[derive(Clone, Debug)]
pub struct Query {
    /// The branches.
    pub branches: Vec<Branch>,
}

/// `MATCH patterns [WHERE expr] RETURN items`.
#[derive(Clone, Debug)]
pub struct Branch {
    /// Comma-separated path patterns; shared variables join them.
    pub patterns: Vec<PathPattern>,
    /// The filter.
    pub filter: Option<Expr>,
    /// What identifies a finding: official, target, target2, ref.
    pub returns: Vec<ReturnItem>,
}

/// `(a)-[..]->(b)<-[..]-(c)...`
#[derive(Clone, Debug)]
pub struct PathPattern {
    /// The nodes, in order.
    pub nodes: Vec<NodePat>,
    /// `rels[i]` joins `nodes[i]` and `nodes[i + 1]`.
    pub rels: Vec<RelPat>,
}

/// `(var:Kind|Kind)`
#[derive(Clone, Debug)]
pub struct NodePat {
    /// Variable (anonymous nodes get a generated `_n…` name).
    pub var: String,
    /// Allowed kinds; empty = any.
    pub kinds: Vec<NodeKind>,
    /// Where it was written.
    pub pos: Pos,
}

/// Direction of an edge pattern, as written left to right.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    /// `-[..]->`
    Out,
    /// `<-[..]-`
    In,
    /// `-[..]-` (either way)
    Both,
}

/// An edge kind with an optional label filter: `ROLE{legal_rep|director}`, `ROLE{!employee}`;
/// or, for the candidate identity links, a floor on their probability: `SAME_AS{min 0.9}`.
#[derive(Clone, Debug, PartialEq)]
pub struct EdgeType {
    /// The kind.
    pub kind: EdgeKind,
    /// Labels listed in braces.
    pub labels: Vec<String>,
    /// `{!a|b}`: every label except those listed.
    pub negated: bool,
    /// `{min p}`: only edges whose value is at least `p` (SAME_AS: the link's probability).
    pub min: Option<f64>,
}

/// `-[var:TYPE|TYPE*lo..hi]->`
#[derive(Clone, Debug)]
pub struct RelPat {
    /// Variable (anonymous edges get a generated `_e…` name).
    pub var: String,
    /// Direction.
    pub dir: Dir,
    /// Allowed types; at least one.
    pub types: Vec<EdgeType>,
    /// Hop bounds for a variable-length edge; `None` for exactly one edge.
    pub hops: Option<(u32, u32)>,
    /// Where it was written.
    pub pos: Pos,
}

/// `name = var` in RETURN.
#[derive(Clone, Debug)]
pub struct ReturnItem {
    /// official, target, target2 or ref.
    pub name: String,
    /// The node variable.
    pub var: String,
    /// Where it was written.
    pub pos: Pos,
}

/// Comparison operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl CmpOp {
    /// The operator as written in the language (and in SQL).
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "<>",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// A literal.
#[derive(Clone, Debug, PartialEq)]
pub enum Lit {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A number.
    Num(f64),
    /// `'text'`
    Str(String),
    /// `date('2020-01-01')`
    Date(i32),
}

/// An expression.
#[derive(Clone, Debug)]
pub enum Expr {
    /// A literal.
    Lit(Lit, Pos),
    /// A variable (node, edge or path).
    Var(String, Pos),
    /// `e.prop`
    Prop(Box<Expr>, String, Pos),
    /// `f(args)`: len, first, last, valid_at, hops.
    Call(String, Vec<Expr>, Pos),
    /// `NOT e`
    Not(Box<Expr>),
    /// `a AND b AND ...`
    And(Vec<Expr>),
    /// `a OR b OR ...`
    Or(Vec<Expr>),
    /// `a op b`
    Cmp(CmpOp, Box<Expr>, Box<Expr>, Pos),
    /// `date DURING edge`: the edge's interval contains the date.
    During(Box<Expr>, Box<Expr>, Pos),
    /// `a WITHIN n DAYS AFTER b` (b < a <= b + n) or `... BEFORE b` (b - n <= a < b).
    Within {
        a: Box<Expr>,
        days: i32,
        after: bool,
        b: Box<Expr>,
        pos: Pos,
    },
    /// `e IS NULL` / `e IS NOT NULL`
    IsNull(Box<Expr>, bool, Pos),
    /// `e IN ['a', 'b']`
    In(Box<Expr>, Vec<Lit>, Pos),
    /// `EXISTS { patterns [WHERE expr] }`
    Exists(Box<SubQuery>, Pos),
    /// `var:Kind|Kind`
    KindTest(String, Vec<NodeKind>, Pos),
    /// `a + b`, `a - b`, `a * b` (numbers; a date plus or minus days).
    Arith(char, Box<Expr>, Box<Expr>, Pos),
}

/// The body of EXISTS.
#[derive(Clone, Debug)]
pub struct SubQuery {
    /// Patterns; variables bound outside are shared.
    pub patterns: Vec<PathPattern>,
    /// Filter.
    pub filter: Option<Expr>,
}

impl Expr {
    /// Where the expression starts (best effort).
    pub fn pos(&self) -> Pos {
        match self {
            Expr::Prop(base, _, _) => base.pos(),
            Expr::Lit(_, p) | Expr::Var(_, p) | Expr::Call(_, _, p) => *p,
            Expr::Cmp(_, a, _, _) | Expr::Arith(_, a, _, _) | Expr::During(a, _, _) => a.pos(),
            Expr::IsNull(a, _, _) | Expr::In(a, _, _) => a.pos(),
            Expr::Exists(_, p) => *p,
            Expr::Within { a, .. } => a.pos(),
            Expr::KindTest(_, _, p) => *p,
            Expr::Not(e) => e.pos(),
            Expr::And(v) | Expr::Or(v) => v.first().map_or_else(Pos::default, Expr::pos),
        }
    }

    /// Variables the expression reads (EXISTS bodies: only variables bound outside them are
    /// reported by the checker; here every variable mentioned).
    pub fn vars(&self, out: &mut Vec<String>) {
        match self {
            Expr::Lit(..) => {}
            Expr::Var(v, _) | Expr::KindTest(v, _, _) => out.push(v.clone()),
            Expr::Prop(e, _, _) | Expr::Not(e) | Expr::IsNull(e, _, _) | Expr::In(e, _, _) => {
                e.vars(out);
            }
            Expr::Call(_, args, _) => args.iter().for_each(|a| a.vars(out)),
            Expr::And(v) | Expr::Or(v) => v.iter().for_each(|a| a.vars(out)),
            Expr::Cmp(_, a, b, _) | Expr::During(a, b, _) | Expr::Arith(_, a, b, _) => {
                a.vars(out);
                b.vars(out);
            }
            Expr::Within { a, b, .. } => {
                a.vars(out);
                b.vars(out);
            }
            Expr::Exists(q, _) => {
                for p in &q.patterns {
                    p.nodes.iter().for_each(|n| out.push(n.var.clone()));
                    p.rels.iter().for_each(|r| out.push(r.var.clone()));
                }
                if let Some(f) = &q.filter {
                    f.vars(out);
                }
            }
        }
    }
}
