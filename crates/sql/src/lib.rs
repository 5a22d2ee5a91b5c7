//! # qinglian-sql
//!
//! Rule files compiled to SQL, so that another engine — DuckDB embedded, Spark on a cluster —
//! runs the same rules over the Parquet export (`qinglian export --format parquet`) and gives
//! the same findings. The compiler reads the checked AST the engine's planner reads: a rule a
//! user adds compiles too, or the compiler says why not.
//!
//! How a rule becomes SQL: each `UNION` branch is unrolled into variants — one per choice of
//! node kind and variable-length edge length (`scope.rs`) — each a plain equi-join of the kind
//! tables `n_<Kind>` and `e_<KIND>` with the rule's conditions (`expr.rs`), `EXISTS` as a
//! correlated `EXISTS` per variant. An edge pattern of several types or directions is staged:
//! each hop reads the union of its choices (`hops.rs`), unless the rule reads a property of it
//! that the union does not carry; then that rule is unrolled per type and direction too. Every match yields its finding
//! key, its colour (the first grade that holds), its score and its witness — the evidence
//! chain and the engine's sort keys for it (`witness.rs`); a window keeps, per key, the match
//! the engine keeps, so colour, score and evidence are the engine's.
//!
//! Phones and addresses are compared as the normalised, placeholder-aware keys the snapshot
//! derives, and `listed`, `official` and `*_shared` read what it derives: the Parquet export
//! carries them (`qinglian_export::table::rule_columns`).
//!
//! Native rules have an SQL twin each (`native.rs`), reading the rule file's parameters with
//! the engine's parser; a native rule without one is refused, naming it.

mod expr;
mod hops;
mod native;
mod scope;
mod witness;

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

    /// The text type's name.
    pub(crate) fn text_type(self) -> &'static str {
        match self {
            Dialect::DuckDb => "VARCHAR",
            Dialect::Spark => "STRING",
        }
    }

    /// An array of texts (typed when empty, so that `UNION ALL` branches agree).
    pub(crate) fn array(self, items: &[String]) -> String {
        match (self, items.is_empty()) {
            (Dialect::DuckDb, true) => "CAST([] AS VARCHAR[])".into(),
            (Dialect::Spark, true) => "CAST(array() AS ARRAY<STRING>)".into(),
            (Dialect::DuckDb, false) => format!("[{}]", items.join(", ")),
            (Dialect::Spark, false) => format!("array({})", items.join(", ")),
        }
    }

    /// A struct of named expressions.
    pub(crate) fn struct_of(self, fields: &[(&str, &str)]) -> String {
        match self {
            Dialect::DuckDb => {
                let f: Vec<String> = fields.iter().map(|(n, e)| format!("{n} := {e}")).collect();
                format!("struct_pack({})", f.join(", "))
            }
            Dialect::Spark => {
                let f: Vec<String> = fields.iter().map(|(n, e)| format!("'{n}', {e}")).collect();
                format!("named_struct({})", f.join(", "))
            }
        }
    }

    /// The aggregate list of `value` over a group, ordered by `key` (Spark has no ordered
    /// `collect_list`: the pairs are sorted, then the values taken).
    pub(crate) fn ordered_list(self, value: &str, key: &str) -> String {
        match self {
            Dialect::DuckDb => format!("list({value} ORDER BY {key})"),
            Dialect::Spark => format!(
                "transform(array_sort(collect_list(named_struct('k', {key}, 'v', {value}))), x -> x.v)"
            ),
        }
    }

    /// Folds a list of runs (`rn`, `e`: first and last row; `total`), ordered by `rn`, into
    /// those a left-to-right scan keeps: each run that starts after the last kept one ends.
    pub(crate) fn fold_runs(self, runs: &str) -> String {
        match self {
            Dialect::DuckDb => format!(
                "list_reduce({runs}, lambda acc, x: CASE WHEN len(acc) = 0 THEN [x] WHEN x.rn > acc[-1].e THEN list_append(acc, x) ELSE acc END, CAST([] AS STRUCT(rn BIGINT, e BIGINT, total DOUBLE)[]))"
            ),
            // CASE, not OR: under ANSI mode `element_at(acc, -1)` of an empty array fails.
            Dialect::Spark => format!(
                "aggregate({runs}, CAST(array() AS ARRAY<STRUCT<rn: BIGINT, e: BIGINT, total: DOUBLE>>), (acc, x) -> CASE WHEN size(acc) = 0 THEN array(x) WHEN x.rn > element_at(acc, -1).e THEN concat(acc, array(x)) ELSE acc END)"
            ),
        }
    }

    /// The function that makes one row per element of a list.
    pub(crate) fn explode(self) -> &'static str {
        match self {
            Dialect::DuckDb => "unnest",
            Dialect::Spark => "explode",
        }
    }

    /// Two lists, one after the other.
    pub(crate) fn concat_lists(self, a: &str, b: &str) -> String {
        match self {
            Dialect::DuckDb => format!("list_concat({a}, {b})"),
            Dialect::Spark => format!("concat({a}, {b})"),
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
    /// One statement: per finding `pattern, official, target, target2, ref, severity, score`,
    /// the evidence nodes (`nodes`, ids in chain order) and edges (`edge_ids`, `edge_kinds`,
    /// `edge_from`, `edge_to`, `edge_sources`: arrays in chain order).
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

/// Compiles one rule: staged (an edge pattern of several types or directions reads their
/// union, `hops.rs`), or, when the rule reads something of such an edge that not every choice
/// has, unrolled into one variant per choice.
pub fn compile(rule: &Rule, d: Dialect) -> Result<CompiledSql, SqlError> {
    compile_ordered(rule, d, &[])
}

/// Compiles one rule as [`compile`] does, each branch's tables listed in a join order: per
/// branch, variable names in the order to join them (the engine's plan for a database,
/// `qinglian_engine::exec::join_order`). Spark joins in the order it reads, so the order
/// decides how large the intermediate results grow; the findings are the same in any order.
/// A branch without an order, or a variable not named, keeps the order the rule is written in.
pub fn compile_ordered(
    rule: &Rule,
    d: Dialect,
    order: &[Vec<String>],
) -> Result<CompiledSql, SqlError> {
    match &rule.body {
        Body::Query { .. } => {}
        Body::Native { name, params } => return native::compile(rule, name, params, d),
    }
    match compile_query(rule, d, true, order) {
        Err(SqlError::Unsupported(_)) => compile_query(rule, d, false, order),
        staged => staged,
    }
}

/// Compiles a query rule's branches, `staged` or not, into one statement.
fn compile_query(
    rule: &Rule,
    d: Dialect,
    staged: bool,
    order: &[Vec<String>],
) -> Result<CompiledSql, SqlError> {
    let Body::Query {
        query, branch_vars, ..
    } = &rule.body
    else {
        return Err(SqlError::Unsupported("a native rule as a query".into()));
    };
    let mut needs = Needs::default();
    let mut aliases = scope::Aliases::default();
    let mut selects = Vec::new();
    for (i, (b, vars)) in query.branches.iter().zip(branch_vars).enumerate() {
        let mut cx = expr::Cx {
            d,
            vars,
            cols: &rule.columns,
            staged,
            aliases: &mut aliases,
            needs: &mut needs,
        };
        let order = order.get(i).map(Vec::as_slice).unwrap_or(&[]);
        branch(rule, (b, order), &mut cx, &mut selects)?;
    }
    let sql = format!(
        "SELECT pattern, official, target, target2, ref,\n  CASE colour WHEN 0 THEN 'red' WHEN 1 THEN 'yellow' ELSE 'green' END AS severity,\n  score, nodes, edge_ids, edge_kinds, edge_from, edge_to, sources AS edge_sources\nFROM (\nSELECT m.*, ROW_NUMBER() OVER (PARTITION BY pattern, official, target, target2, ref\n  ORDER BY colour, edges, nodes, facts, sources) AS witness\nFROM (\n{}\n) m\n) w\nWHERE witness = 1",
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
    (b, order): (&Branch, &[String]),
    cx: &mut expr::Cx<'_>,
    out: &mut Vec<String>,
) -> Result<(), SqlError> {
    let variants = scope::expand(
        &b.patterns,
        cx.vars,
        &scope::Variant::default(),
        cx.d,
        cx.staged,
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
        let score = score(rule, &colour, cx, v)?;
        let w = witness::columns(&b.patterns, v, cx.d);
        out.push(format!(
            "SELECT {} AS pattern, {} AS official, {} AS target, {} AS target2, {} AS ref, {colour} AS colour, {score} AS score,\n  {} AS edges, {} AS nodes, {} AS facts, {} AS sources,\n  {} AS edge_ids, {} AS edge_kinds, {} AS edge_from, {} AS edge_to\nFROM {}\nWHERE {}",
            expr::text_lit(&rule.id),
            key("official"),
            key("target"),
            key("target2"),
            key("ref"),
            w.edges,
            w.nodes,
            w.facts,
            w.sources,
            w.edge_ids,
            w.edge_kinds,
            w.edge_from,
            w.edge_to,
            scope::ordered_from(&scope::prioritised(v, order)).join(", "),
            conds.join("\n  AND ")
        ));
    }
    Ok(())
}

/// The score of a match as the engine computes it (`exec/mod.rs`): the rule's score clamped to
/// 0–100, or, when it has none or it is unknown, the default of the match's colour.
fn score(
    rule: &Rule,
    colour: &str,
    cx: &mut expr::Cx<'_>,
    v: &scope::Variant,
) -> Result<String, SqlError> {
    let default = format!(
        "CASE {colour} WHEN 0 THEN {} WHEN 1 THEN {} ELSE {} END",
        default_score(Severity::Red),
        default_score(Severity::Yellow),
        default_score(Severity::Green)
    );
    Ok(match &rule.score {
        None => format!("CAST({default} AS DOUBLE)"),
        Some(e) => {
            let s = cx.expr(e, v)?;
            // Not GREATEST/LEAST: Spark's skip nulls, where the engine's unknown score is
            // the default.
            format!("CAST(CASE WHEN {s} IS NULL THEN {default} WHEN {s} < 0 THEN 0 WHEN {s} > 100 THEN 100 ELSE {s} END AS DOUBLE)")
        }
    })
}

/// The engine's score when a rule sets none (`qinglian_engine::exec::default_score`; this
/// crate does not depend on the engine).
fn default_score(s: Severity) -> u8 {
    match s {
        Severity::Red => 80,
        Severity::Yellow => 50,
        Severity::Green => 20,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builtin(id: &str) -> Rule {
        let rules = qinglian_rules::builtins().expect("built-in rules");
        rules.into_iter().find(|r| r.id == id).expect("rule exists")
    }

    fn variants(c: &CompiledSql) -> usize {
        c.sql.matches(" AS pattern,").count()
    }

    #[test]
    fn staged_hops_keep_one_variant_per_path_length() {
        let rule = builtin("evaluator_conflict");
        let staged = compile(&rule, Dialect::Spark).expect("compiles");
        let unrolled = compile_query(&rule, Dialect::Spark, false, &[]).expect("compiles");
        // RELATION*0..0 then OWNS|ROLE*1..3: 3; RELATION*1..2 either way, then the same: 6.
        assert_eq!(variants(&staged), 9);
        // Every type and direction unrolled: 14 + 6 * 14.
        assert_eq!(variants(&unrolled), 98);
        assert!(staged.sql.contains(" AS near"));
        assert!(!unrolled.sql.contains(" AS near"));
    }

    /// The FROM lists of a statement, derived tables left out (their aliases kept).
    fn from_lists(sql: &str) -> Vec<String> {
        let mut out = Vec::new();
        for part in sql.split("\nFROM ").skip(1) {
            let body = part.split("\nWHERE").next().unwrap_or("");
            let (mut depth, mut flat) = (0, String::new());
            for ch in body.chars() {
                match ch {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ if depth == 0 => flat.push(ch),
                    _ => {}
                }
            }
            out.push(flat.split_whitespace().collect::<Vec<_>>().join(" "));
        }
        out
    }

    #[test]
    fn a_join_order_lists_the_tables_in_that_order_where_the_joins_allow() {
        let rule = builtin("relative_wins");
        let plain = compile(&rule, Dialect::Spark).expect("compiles");
        assert_eq!(
            compile_ordered(&rule, Dialect::Spark, &[])
                .expect("compiles")
                .sql,
            plain.sql
        );
        let order: Vec<String> = ["o", "p", "a", "f", "r", "w", "c", "to", "k", "aw"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let ordered = compile_ordered(&rule, Dialect::Spark, &[order]).expect("compiles");
        let lists = from_lists(&ordered.sql);
        assert!(
            lists[2].starts_with("n_Person n1, e_POSITION e3, n_Agency n2, e9, n_Person n8, e12,")
                && lists[2].ends_with("n_Contract n4, e_AWARDED e5"),
            "{lists:?}"
        );
        assert!(from_lists(&plain.sql)[2].contains("e_AWARDED e5, n_Contract n4"));
        // An order that starts from a table joined to nothing yet is followed only as far as
        // the joins allow: the contract first, then only tables joined to what is placed.
        let odd: Vec<String> = ["k", "r", "o"].iter().map(|s| s.to_string()).collect();
        let odd = compile_ordered(&rule, Dialect::Spark, &[odd]).expect("compiles");
        let first = &from_lists(&odd.sql)[2];
        assert!(first.starts_with("n_Contract n4, "), "{first}");
        assert!(!first.starts_with("n_Contract n4, n_Person"), "{first}");
    }

    #[test]
    fn a_property_outside_the_union_columns_is_compiled_unrolled() {
        let rule = Rule::from_toml(
            r#"id = "won_either_way"
title = "A won bid, read from either end"
severity = "green"
explain = "{c.id} won {t.id}."
query = '''
MATCH (c:Company)-[b:BID]-(t:Tender)
WHERE b.won
RETURN target = c, ref = t
'''
"#,
            "test",
        )
        .expect("rule parses");
        let c = compile(&rule, Dialect::DuckDb).expect("compiles");
        assert!(!c.sql.contains(" AS near"), "{}", c.sql);
        assert_eq!(variants(&c), 2);
        assert!(matches!(
            compile_query(&rule, Dialect::DuckDb, true, &[]),
            Err(SqlError::Unsupported(_))
        ));
    }
}
