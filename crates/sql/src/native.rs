//! The SQL twins of the native rules: what the engine's Rust computes (`qinglian_engine`'s
//! `native` module), written once as SQL for both dialects. The parameters are read from the
//! rule file with the engine's own parser (`qinglian_rules::native`), so a changed threshold in
//! the file changes both executors.

use crate::{CompiledSql, Dialect, Needs, SqlError};
use qinglian_rules::native::SplitParams;
use qinglian_rules::{Rule, Severity};

/// Compiles native rule `name` of `rule`.
pub(crate) fn compile(
    rule: &Rule,
    name: &str,
    params: &toml::Table,
    d: Dialect,
) -> Result<CompiledSql, SqlError> {
    let sql = match name {
        "split_contracts" => split_contracts(rule, params, d)?,
        _ => {
            return Err(SqlError::Unsupported(format!(
                "native rule `{name}` has no SQL twin"
            )))
        }
    };
    Ok(CompiledSql {
        rule: rule.id.clone(),
        sql,
        needs: Needs::default(),
    })
}

/// A double literal.
fn num(x: f64) -> String {
    format!("CAST({x:?} AS DOUBLE)")
}

/// `split_contracts` (拆分采购): per agency and company, the dated contracts under the
/// threshold in (signed, contract id) order — the engine's order, contracts being numbered by
/// bundle id. From each contract, the run of those signed within the window; a run of enough
/// contracts over the threshold in total is a finding, and the scan goes on after its last
/// contract, else at the next contract. That scan is sequential: the qualifying runs of one
/// pair are folded, in order, keeping each that starts after the last one kept.
fn split_contracts(rule: &Rule, params: &toml::Table, d: Dialect) -> Result<String, SqlError> {
    let p = SplitParams::from_table(params).map_err(SqlError::Unsupported)?;
    let q = |c: &str| d.quote(c);
    let (from, to) = (q("from"), q("to"));
    let red = num(p.red_multiple * p.threshold);
    let colour = |total: &str| {
        format!(
            "CASE WHEN {total} > {red} THEN 'red' ELSE '{}' END",
            rule.severity.as_str()
        )
    };
    let score = |total: &str| {
        format!(
            "CAST(CASE WHEN {total} > {red} THEN {} ELSE {} END AS DOUBLE)",
            crate::default_score(Severity::Red),
            crate::default_score(rule.severity)
        )
    };
    let run = d.struct_of(&[("rn", "rn"), ("e", "e"), ("total", "total")]);
    let ordered = |v: &str| format!("flatten({})", d.ordered_list(v, "r.rn"));
    Ok(format!(
        "WITH c AS (
  SELECT a.{from} AS agency, t.{to} AS company, k.id AS contract, k.signed AS signed, k.amount AS amount,
    a.edge AS a_edge, a.{from} AS a_from, a.{to} AS a_to, a.source AS a_source,
    t.edge AS t_edge, t.{from} AS t_from, t.{to} AS t_to, t.source AS t_source,
    ROW_NUMBER() OVER (PARTITION BY k.id ORDER BY a.edge, t.edge) AS dup
  FROM n_Contract k JOIN e_AWARDED a ON a.{to} = k.id JOIN e_TO t ON t.{from} = k.id
  WHERE k.signed IS NOT NULL AND k.amount < {threshold}
), r AS (
  SELECT c.*, CAST(ROW_NUMBER() OVER (PARTITION BY agency, company ORDER BY signed, contract) AS BIGINT) AS rn
  FROM c WHERE dup = 1
), w AS (
  SELECT r1.agency, r1.company, r1.rn, CAST(MAX(r2.rn) AS BIGINT) AS e, SUM(r2.amount) AS total
  FROM r r1 JOIN r r2 ON r2.agency = r1.agency AND r2.company = r1.company AND r2.rn >= r1.rn
    AND r2.signed <= {until}
  GROUP BY r1.agency, r1.company, r1.rn
  HAVING COUNT(*) >= {min_n} AND SUM(r2.amount) > {threshold}
), g AS (
  SELECT agency, company, {fold} AS runs
  FROM w GROUP BY agency, company
), s AS (
  SELECT agency, company, x.rn AS rn, x.e AS e, x.total AS total
  FROM (SELECT agency, company, {explode}(runs) AS x FROM g) u
)
SELECT {id} AS pattern, '' AS official, s.company AS target, '' AS target2,
  min_by(r.contract, r.rn) AS ref, {colour} AS severity, {score} AS score,
  {nodes} AS nodes,
  {edge_ids} AS edge_ids, {edge_kinds} AS edge_kinds,
  {edge_from} AS edge_from, {edge_to} AS edge_to, {edge_sources} AS edge_sources
FROM s JOIN r ON r.agency = s.agency AND r.company = s.company AND r.rn >= s.rn AND r.rn <= s.e
GROUP BY s.agency, s.company, s.rn, s.total",
        threshold = num(p.threshold),
        until = d.add_days("r1.signed", i32::try_from(p.window_days).unwrap_or(i32::MAX)),
        min_n = p.min_contracts,
        fold = d.fold_runs(&d.ordered_list(&run, "rn")),
        explode = d.explode(),
        id = crate::expr::text_lit(&rule.id),
        colour = colour("s.total"),
        score = score("s.total"),
        nodes = d.concat_lists(
            &d.array(&["s.agency".into()]),
            &ordered(&d.array(&["r.contract".into(), "r.company".into()]))
        ),
        edge_ids = ordered(&d.array(&["r.a_edge".into(), "r.t_edge".into()])),
        edge_kinds = ordered(&d.array(&["'AWARDED'".into(), "'TO'".into()])),
        edge_from = ordered(&d.array(&["r.a_from".into(), "r.t_from".into()])),
        edge_to = ordered(&d.array(&["r.a_to".into(), "r.t_to".into()])),
        edge_sources = ordered(&d.array(&["r.a_source".into(), "r.t_source".into()])),
    ))
}
