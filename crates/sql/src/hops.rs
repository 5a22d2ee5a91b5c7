//! Staged hops: one derived table per edge pattern with several types or directions, instead
//! of one variant per choice.
//!
//! Why: unrolling `(r)-[w:OWNS|ROLE*1..3]->(c)` per type gives 2 + 4 + 8 = 14 variants, and
//! with a `RELATION*1..2` read either way before it, `evaluator_conflict` had 98 — each a full
//! join of its own, which Spark plans, schedules and scans separately. The 1M cluster run spent
//! 72 % of its time in the two rules with the most variants. A hop that reads the union of its
//! choices — every row with the same columns, the ends it is walked from (`near`) and to
//! (`far`) beside the ends it is stored with — keeps one variant per path length: 9 for
//! `evaluator_conflict`. Each union branch applies its type's label filter and minimum, so the
//! union holds exactly the rows the unrolled variants joined.
//!
//! Columns: `near`, `far`, `edge` (ids are unique across kinds: `KIND#n`), `from`, `to`,
//! `start`, `end`, `label` (as stored: the witness's facts), `rlabel` (as read from the
//! pattern's left node: `parent` read from the head is `child`), `source`, `kix` (the kind's
//! index, two digits, as the witness orders kinds), `kname`, `val` (a share or an amount),
//! `ctl` (whether the edge alone controls: `controlling`).

use crate::scope::{controls, label_filter, read_label, value_column, Hop};
use crate::Dialect;

/// The derived table of every hop choice, parenthesised, ready for an alias.
pub(crate) fn table(choices: &[Hop<'_>], d: Dialect) -> String {
    let parts: Vec<String> = choices.iter().map(|h| branch(h, d)).collect();
    format!("(\n  {}\n)", parts.join("\n  UNION ALL\n  "))
}

/// One choice's rows with the union's columns.
fn branch(&(t, inverted): &Hop<'_>, d: Dialect) -> String {
    let q = |c: &str| format!("x.{}", d.quote(c));
    let (near, far) = if inverted {
        (q("to"), q("from"))
    } else {
        (q("from"), q("to"))
    };
    let rlabel = read_label("x", t.kind, inverted);
    let ctl = controls("x", t.kind);
    let val = format!("x.{}", value_column(t.kind));
    let mut conds: Vec<String> = label_filter("x", t, inverted).into_iter().collect();
    if let Some(m) = t.min {
        conds.push(format!("{val} >= {m}"));
    }
    let filter = if conds.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conds.join(" AND "))
    };
    format!(
        "SELECT {near} AS near, {far} AS far, x.edge, {from}, {to}, {start}, {end}, x.label, {rlabel} AS rlabel, x.source, '{kix:02}' AS kix, '{kind}' AS kname, CAST({val} AS DOUBLE) AS val, {ctl} AS ctl FROM e_{kind} x{filter}",
        from = q("from"),
        to = q("to"),
        start = q("start"),
        end = q("end"),
        kix = t.kind.index(),
        kind = t.kind,
    )
}
