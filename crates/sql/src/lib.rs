//! # qinglian-sql
//!
//! Rule files compiled to SQL, so that another engine — DuckDB embedded, Spark on a cluster —
//! runs the same rules over the Parquet export (`qinglian export --format parquet`) and gives
//! the same findings. The compiler reads the checked AST the engine's planner reads: a rule a
//! user adds compiles too, or the compiler says why not.
//!
//! How a rule becomes SQL: each `UNION` branch is unrolled into variants — one per choice of
//! node kind, edge type, direction and variable-length edge length (`scope.rs`) — each a plain
//! equi-join of the kind tables `n_<Kind>` and `e_<KIND>` with the rule's conditions
//! (`expr.rs`), `EXISTS` as a correlated `EXISTS` per variant. Every match yields its finding
//! key and colour (the first grade that holds); a finding is a key, its colour the best of its
//! matches, as the engine's witness order puts colour first.
//!
//! Not yet (the compiler refuses such a rule, naming the reason): native rules, the normalised
//! phone and address joins and the `listed`, `official` and `*_shared` properties (the Parquet
//! export does not carry them), scores and evidence chains.

mod expr;
mod scope;

use qinglian_rules::ast::Branch;
use qinglian_rules::schema::Ty;
use qinglian_rules::{Body, Rule, Severity};
use std::collections::BTreeMap;

/// The SQL dialect to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// DuckDB.
    DuckDb,
    /// Spark SQL.
    Spark,
}

impl Dialect {
    /// Parses `duckdb` or `spark`.
    pub fn parse(s: &str) -> Option<Dialect> {
        match s {
            "duckdb" => Some(Dialect::DuckDb),
            "spark" => Some(Dialect::Spark),
            _ => None,
        }
    }

    /// A quoted identifier (`from`, `to`, `start` and `end` are reserved words).
    pub(crate) fn quote(self, name: &str) -> String {
        match self {
            Dialect::DuckDb => format!("\"{name}\""),
            Dialect::Spark => format!("`{name}`"),
        }
    }

    /// A date plus a constant number of days.
    pub(crate) fn add_days(self, date: &str, days: i32) -> String {
        self.add_days_expr(date, &days.to_string())
    }

    /// A date plus a number of days.
    pub(crate) fn add_days_expr(self, date: &str, days: &str) -> String {
        match self {
            Dialect::DuckDb => format!("({date} + CAST({days} AS INTEGER))"),
            Dialect::Spark => format!("date_add({date}, CAST({days} AS INT))"),
        }
    }
}

/// Why a rule did not compile.
#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    /// The rule uses something the compiler does not translate yet.
    #[error("not compiled to SQL yet: {0}")]
    Unsupported(String),
    /// Unrolling would write more joins than is reasonable.
    #[error("more than {0} join variants")]
    TooLarge(usize),
}

/// Extra columns a compiled rule reads, by table: a driver adds each one a table lacks as a
/// typed null, so that a bundle without the column answers as the engine does (null).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Needs(pub BTreeMap<String, BTreeMap<String, &'static str>>);

impl Needs {
    fn add(&mut self, table: String, col: &str, ty: Ty) {
        let t = match ty {
            Ty::Bool => "boolean",
            Ty::Num => "double",
            Ty::Date => "date",
            _ => "text",
        };
        self.0.entry(table).or_default().insert(col.to_owned(), t);
    }
}

/// A compiled rule.
#[derive(Clone, Debug)]
pub struct CompiledSql {
    /// The rule id.
    pub rule: String,
    /// One statement: `pattern, official, target, target2, ref, severity` per finding.
    pub sql: String,
    /// Extra columns it reads.
    pub needs: Needs,
}

impl CompiledSql {
    /// The statement with a header naming the rule and the extra columns (`-- needs: table.col
    /// type`), as `compile-rules` writes it and `qinglian_sql.py` reads it.
    pub fn file_text(&self) -> String {
        let mut out = format!("-- qinglian rule {}\n", self.rule);
        for (t, cols) in &self.needs.0 {
            for (c, ty) in cols {
                out.push_str(&format!("-- needs: {t}.{c} {ty}\n"));
            }
        }
        out.push_str(&self.sql);
        out.push('\n');
        out
    }
}

fn rank(s: Severity) -> u8 {
    match s {
        Severity::Red => 0,
        Severity::Yellow => 1,
        Severity::Green => 2,
    }
}

/// Compiles one rule.
pub fn compile(rule: &Rule, d: Dialect) -> Result<CompiledSql, SqlError> {
    let Body::Query {
        query, branch_vars, ..
    } = &rule.body
    else {
        return Err(SqlError::Unsupported("a native rule".into()));
    };
    let mut needs = Needs::default();
    let mut aliases = scope::Aliases::default();
    let mut selects = Vec::new();
    for (b, vars) in query.branches.iter().zip(branch_vars) {
        let mut cx = expr::Cx {
            d,
            vars,
            cols: &rule.columns,
            aliases: &mut aliases,
            needs: &mut needs,
        };
        branch(rule, b, &mut cx, &mut selects)?;
    }
    let sql = format!(
        "SELECT pattern, official, target, target2, ref,\n  CASE MIN(colour) WHEN 0 THEN 'red' WHEN 1 THEN 'yellow' ELSE 'green' END AS severity\nFROM (\n{}\n) m\nGROUP BY pattern, official, target, target2, ref",
        selects.join("\nUNION ALL\n")
    );
    Ok(CompiledSql {
        rule: rule.id.clone(),
        sql,
        needs,
    })
}

/// Every variant of one branch as a SELECT of key and colour.
fn branch(
    rule: &Rule,
    b: &Branch,
    cx: &mut expr::Cx<'_>,
    out: &mut Vec<String>,
) -> Result<(), SqlError> {
    if let Some(f) = &b.filter {
        if code_join(f) {
            return Err(SqlError::Unsupported(
                "a phone or address equality (normalised values are not in the Parquet export)"
                    .into(),
            ));
        }
    }
    let variants = scope::expand(
        &b.patterns,
        cx.vars,
        &scope::Variant::default(),
        cx.d,
        cx.aliases,
    )?;
    for v in &variants {
        let key = |name: &str| {
            b.returns
                .iter()
                .find(|r| r.name == name)
                .and_then(|r| scope::node_id(v, &r.var))
                .unwrap_or_else(|| "''".into())
        };
        let mut colour = String::from("CASE");
        for (s, g) in &rule.grades {
            colour.push_str(&format!(" WHEN {} THEN {}", cx.expr(g, v)?, rank(*s)));
        }
        colour.push_str(&format!(" ELSE {} END", rank(rule.severity)));
        if rule.grades.is_empty() {
            colour = rank(rule.severity).to_string();
        }
        let mut conds = v.joins.clone();
        if let Some(f) = &b.filter {
            conds.push(cx.expr(f, v)?);
        }
        if conds.is_empty() {
            conds.push("TRUE".into());
        }
        out.push(format!(
            "SELECT {} AS pattern, {} AS official, {} AS target, {} AS target2, {} AS ref, {colour} AS colour\nFROM {}\nWHERE {}",
            expr::text_lit(&rule.id),
            key("official"),
            key("target"),
            key("target2"),
            key("ref"),
            scope::ordered_from(v).join(", "),
            conds.join("\n  AND ")
        ));
    }
    Ok(())
}

/// Whether a condition compares phones or addresses (normalised, placeholder-aware values).
fn code_join(e: &qinglian_rules::ast::Expr) -> bool {
    use qinglian_rules::ast::Expr;
    match e {
        Expr::Cmp(_, a, b, _) => [a, b]
            .iter()
            .any(|x| matches!(&***x, Expr::Prop(_, p, _) if p == "phone" || p == "address")),
        Expr::Not(x) => code_join(x),
        Expr::And(v) | Expr::Or(v) => v.iter().any(code_join),
        _ => false,
    }
}
