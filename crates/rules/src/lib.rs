//! # qinglian-rules
//!
//! Detection rules are data: one TOML file per rule in `queries/`, holding a query in a small
//! pattern language (a Cypher subset with bounded variable-length edges and temporal
//! predicates), severity grades, a score and a one-sentence explanation template. This crate
//! parses and type-checks rule files; the engine plans and runs them. A rule the language
//! cannot express names a Rust rule (`native = "…"`) registered in the engine.
//!
//! The language is documented in `docs/rules.md`; every error names the file, line and
//! column and says what was expected.

pub mod ast;
pub mod check;
pub mod lexer;
mod links;
pub mod native;
pub mod parser;
pub mod schema;

use ast::{Expr, Pos, Query};
pub use check::Var;
use check::{VarKind, Vars};
use serde::Deserialize;
use std::fmt;
use std::path::Path;

/// A rule file problem, located.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleError {
    /// The file (set once the error leaves the parser).
    pub file: String,
    /// Where.
    pub pos: Pos,
    /// What is wrong and what was expected.
    pub message: String,
}

impl RuleError {
    /// An error at a position of the current file.
    pub fn at(pos: Pos, message: impl Into<String>) -> RuleError {
        RuleError {
            file: String::new(),
            pos,
            message: message.into(),
        }
    }
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.pos.line, self.pos.col, self.message
        )
    }
}

impl std::error::Error for RuleError {}

/// Red, yellow, green: the colours of Chinese supervision platforms' early warning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth a look.
    Green,
    /// A minority or indirect link.
    Yellow,
    /// A controlling link.
    Red,
}

impl Severity {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Red => "red",
            Severity::Yellow => "yellow",
            Severity::Green => "green",
        }
    }

    /// Parses red / yellow / green.
    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "red" => Some(Severity::Red),
            "yellow" => Some(Severity::Yellow),
            "green" => Some(Severity::Green),
            _ => None,
        }
    }
}

/// What a rule runs.
#[derive(Clone, Debug)]
pub enum Body {
    /// A declarative query.
    Query {
        /// The parsed query.
        query: Query,
        /// Each branch's variables.
        branch_vars: Vec<Vars>,
        /// The union of the branches' variables.
        vars: Vars,
    },
    /// A rule written in Rust, registered in the engine under this name.
    Native {
        /// Registry name.
        name: String,
        /// Parameters from the file's `[params]` table.
        params: toml::Table,
    },
}

/// A checked rule.
#[derive(Clone, Debug)]
pub struct Rule {
    /// Unique id (the finding's `pattern`).
    pub id: String,
    /// One-line title.
    pub title: String,
    /// What it finds and why it is a red flag.
    pub summary: String,
    /// Where it came from: a path, or `built-in queries/<id>.toml`.
    pub source: String,
    /// The file's full text (kept for evidence bundles).
    pub text: String,
    /// Colour when no grade matches.
    pub severity: Severity,
    /// Grades, first match wins.
    pub grades: Vec<(Severity, Expr)>,
    /// Score expression (0-100), if any.
    pub score: Option<Expr>,
    /// One-sentence explanation with `{var}` / `{var.prop}` placeholders: either one for the
    /// whole rule, or one per `UNION` branch (`explain_branches`), so that a rule whose
    /// branches prove different links can say which link it found.
    pub explain: Vec<String>,
    /// The query or native rule.
    pub body: Body,
    /// The extra columns it may read: the standard ones and those its `[columns]` declares.
    pub columns: schema::Columns,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    id: String,
    title: String,
    #[serde(default)]
    summary: String,
    #[serde(default = "default_severity")]
    severity: toml::Spanned<String>,
    #[serde(default)]
    grade: Vec<GradeFile>,
    score: Option<toml::Spanned<String>>,
    explain: Option<toml::Spanned<String>>,
    explain_branches: Option<Vec<toml::Spanned<String>>>,
    query: Option<toml::Spanned<String>>,
    native: Option<String>,
    #[serde(default)]
    params: toml::Table,
    #[serde(default)]
    columns: std::collections::BTreeMap<String, toml::Spanned<String>>,
}

fn default_severity() -> toml::Spanned<String> {
    toml::Spanned::new(0..0, "yellow".to_owned())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GradeFile {
    level: toml::Spanned<String>,
    when: toml::Spanned<String>,
}

/// 1-based line and column of byte `offset` in `text`.
fn pos_of(text: &str, offset: usize) -> Pos {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() as u32 + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u32 + 1;
    Pos { line, col }
}

/// Where a spanned string's content starts: after its opening delimiter and, for a
/// multi-line string, the newline TOML trims.
fn content_origin(text: &str, span: std::ops::Range<usize>) -> Pos {
    let raw = &text[span.start.min(text.len())..span.end.min(text.len())];
    let mut skip = if raw.starts_with("'''") || raw.starts_with("\"\"\"") {
        3
    } else {
        1
    };
    if skip == 3 {
        if raw[3..].starts_with("\r\n") {
            skip += 2;
        } else if raw[3..].starts_with('\n') {
            skip += 1;
        }
    }
    pos_of(text, span.start + skip)
}

impl Rule {
    /// Parses and checks a rule file. `source` names it in errors.
    pub fn from_toml(text: &str, source: &str) -> Result<Rule, RuleError> {
        let located = |mut e: RuleError| {
            e.file = source.to_owned();
            e
        };
        let file: RuleFile = toml::from_str(text).map_err(|e| {
            let pos = e
                .span()
                .map_or(Pos { line: 1, col: 1 }, |s| pos_of(text, s.start));
            located(RuleError::at(
                pos,
                format!("invalid rule file: {}", e.message()),
            ))
        })?;
        let severity = Severity::parse(file.severity.get_ref()).ok_or_else(|| {
            located(RuleError::at(
                pos_of(text, file.severity.span().start),
                "severity must be red, yellow or green",
            ))
        })?;
        let mut columns = schema::Columns::standard();
        for (key, ty) in &file.columns {
            columns
                .declare(key, ty.get_ref())
                .map_err(|m| located(RuleError::at(pos_of(text, ty.span().start), m)))?;
        }
        let body = match (&file.query, &file.native) {
            (Some(q), None) => {
                let query = parser::parse_query(q.get_ref(), content_origin(text, q.span()))
                    .map_err(located)?;
                let (branch_vars, vars) =
                    check::check_query_with(&query, &columns).map_err(located)?;
                Body::Query {
                    query,
                    branch_vars,
                    vars,
                }
            }
            (None, Some(n)) => Body::Native {
                name: n.clone(),
                params: file.params.clone(),
            },
            _ => {
                return Err(located(RuleError::at(
                    Pos { line: 1, col: 1 },
                    "a rule needs exactly one of `query` or `native`",
                )))
            }
        };
        let vars = match &body {
            Body::Query { vars, .. } => Some(vars),
            Body::Native { .. } => None,
        };
        let mut grades = Vec::new();
        for g in &file.grade {
            let level = Severity::parse(g.level.get_ref()).ok_or_else(|| {
                located(RuleError::at(
                    pos_of(text, g.level.span().start),
                    "level must be red, yellow or green",
                ))
            })?;
            let e = parser::parse_expr(g.when.get_ref(), content_origin(text, g.when.span()))
                .map_err(located)?;
            if let Some(v) = vars {
                check::check_expr(&e, schema::Ty::Bool, v, &columns).map_err(located)?;
            }
            grades.push((level, e));
        }
        let score = match &file.score {
            Some(s) => {
                let e = parser::parse_expr(s.get_ref(), content_origin(text, s.span()))
                    .map_err(located)?;
                if let Some(v) = vars {
                    check::check_expr(&e, schema::Ty::Num, v, &columns).map_err(located)?;
                }
                Some(e)
            }
            None => None,
        };
        let explain = match (file.explain, file.explain_branches) {
            (Some(one), None) => {
                if let Some(v) = vars {
                    check_template(one.get_ref(), v, &columns)
                        .map_err(|m| located(RuleError::at(content_origin(text, one.span()), m)))?;
                }
                vec![one.into_inner()]
            }
            (None, Some(each)) => {
                let Body::Query { branch_vars, .. } = &body else {
                    return Err(located(RuleError::at(
                        Pos { line: 1, col: 1 },
                        "`explain_branches` needs a `query` with UNION branches; a native rule takes `explain`",
                    )));
                };
                if each.len() != branch_vars.len() {
                    let at = each
                        .first()
                        .map_or(Pos { line: 1, col: 1 }, |e| pos_of(text, e.span().start));
                    return Err(located(RuleError::at(
                        at,
                        format!(
                            "`explain_branches` has {} sentences but the query has {} branches",
                            each.len(),
                            branch_vars.len()
                        ),
                    )));
                }
                let mut out = Vec::with_capacity(each.len());
                for (e, v) in each.into_iter().zip(branch_vars) {
                    check_template(e.get_ref(), v, &columns)
                        .map_err(|m| located(RuleError::at(content_origin(text, e.span()), m)))?;
                    out.push(e.into_inner());
                }
                out
            }
            _ => {
                return Err(located(RuleError::at(
                    Pos { line: 1, col: 1 },
                    "a rule needs exactly one of `explain` or `explain_branches`",
                )))
            }
        };
        Ok(Rule {
            id: file.id,
            title: file.title,
            summary: file.summary,
            source: source.to_owned(),
            text: text.to_owned(),
            severity,
            grades,
            score,
            explain,
            body,
            columns,
        })
    }

    /// The query and each branch's variables, when the rule is declarative.
    pub fn query(&self) -> Option<(&Query, &[Vars])> {
        match &self.body {
            Body::Query {
                query, branch_vars, ..
            } => Some((query, branch_vars)),
            Body::Native { .. } => None,
        }
    }
}

/// Checks that every `{var}` / `{var.prop}` placeholder names a variable (and property).
fn check_template(t: &str, vars: &Vars, cols: &schema::Columns) -> Result<(), String> {
    let mut rest = t;
    while let Some(i) = rest.find('{') {
        let Some(j) = rest[i..].find('}') else {
            return Err("unclosed `{` in explain".into());
        };
        let inner = &rest[i + 1..i + j];
        let (v, prop) = inner
            .split_once('.')
            .map_or((inner, None), |(a, b)| (a, Some(b)));
        let var = vars
            .get(v)
            .ok_or_else(|| format!("explain mentions unknown variable `{v}`"))?;
        if let Some(p) = prop {
            let ok = match &var.kind {
                VarKind::Node(k) => check::node_prop(k, p, cols).is_some(),
                VarKind::Edge(t) => {
                    check::edge_prop(&t.iter().map(|x| x.kind).collect::<Vec<_>>(), p, cols)
                        .is_some()
                }
                VarKind::Path(..) => false,
            };
            if !ok {
                return Err(format!("explain mentions unknown property `{inner}`"));
            }
        }
        rest = &rest[i + j + 1..];
    }
    Ok(())
}

include!(concat!(env!("OUT_DIR"), "/builtin.rs"));

/// The built-in rules, checked.
pub fn builtins() -> Result<Vec<Rule>, RuleError> {
    BUILTIN
        .iter()
        .map(|(id, text)| Rule::from_toml(text, &format!("queries/{id}.toml")))
        .collect()
}

/// Every `*.toml` in `dir`, checked; all errors are returned, not just the first.
pub fn load_dir(dir: &Path) -> Result<Vec<Rule>, Vec<RuleError>> {
    let mut paths: Vec<_> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect(),
        Err(e) => {
            return Err(vec![RuleError {
                file: dir.display().to_string(),
                pos: Pos::default(),
                message: e.to_string(),
            }])
        }
    };
    paths.sort();
    let (mut rules, mut errors) = (Vec::new(), Vec::new());
    for p in paths {
        let name = p.display().to_string();
        match std::fs::read_to_string(&p) {
            Ok(text) => match Rule::from_toml(&text, &name) {
                Ok(r) => rules.push(r),
                Err(e) => errors.push(e),
            },
            Err(e) => errors.push(RuleError {
                file: name,
                pos: Pos::default(),
                message: e.to_string(),
            }),
        }
    }
    let mut ids: Vec<&str> = rules.iter().map(|r| r.id.as_str()).collect();
    ids.sort_unstable();
    if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
        errors.push(RuleError {
            file: dir.display().to_string(),
            pos: Pos::default(),
            message: format!("two files define rule `{}`", w[0]),
        });
    }
    if errors.is_empty() {
        Ok(rules)
    } else {
        Err(errors)
    }
}

/// Built-in rules overridden or extended by `extra` (same id replaces).
pub fn with_overrides(mut base: Vec<Rule>, extra: Vec<Rule>) -> Vec<Rule> {
    for r in extra {
        match base.iter_mut().find(|b| b.id == r.id) {
            Some(b) => *b = r,
            None => base.push(r),
        }
    }
    base
}
