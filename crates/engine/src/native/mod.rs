//! Rules written in Rust, for what the pattern language cannot say (aggregation, windows over
//! many rows). A rule file names one with `native = "…"`; its `[params]` table configures it.

use crate::exec::{EdgeRef, ExecOptions};
use crate::findings::{Evidence, Finding};
use crate::snapshot::Snapshot;
use qinglian_model::{Date, EdgeKind, NodeKind};
use qinglian_rules::native::SplitParams;
use qinglian_rules::{Rule, Severity};

/// A native rule: findings from the snapshot, its parameters and the options.
pub type NativeFn =
    fn(&Snapshot, &toml::Table, &ExecOptions, &Rule) -> Result<Vec<Finding>, String>;

/// The registry.
pub fn lookup(name: &str) -> Option<NativeFn> {
    match name {
        "split_contracts" => Some(split_contracts),
        _ => None,
    }
}

/// Names in the registry.
pub const NAMES: &[&str] = &["split_contracts"];

/// Checks a native rule's `[params]` against its typed parameters: an unknown (misspelt) key,
/// a value of the wrong type or out of range is an error naming it, never a silent default.
/// `qinglian rules check` and every compile of the rule run it.
pub fn check_params(name: &str, params: &toml::Table) -> Result<(), String> {
    match name {
        "split_contracts" => SplitParams::from_table(params).map(|_| ()),
        _ => Err(format!(
            "native rule `{name}` is not registered (known: {})",
            NAMES.join(", ")
        )),
    }
}

/// 拆分采购: contracts between one agency and one company, each below `threshold`, at least
/// `min_contracts` of them signed within `window_days`, that together exceed `threshold`.
/// One finding per run of such contracts (target: the company; ref: the run's first contract);
/// red when the total exceeds `red_multiple` times the threshold, else the rule's severity.
fn split_contracts(
    snap: &Snapshot,
    p: &toml::Table,
    opts: &ExecOptions,
    rule: &Rule,
) -> Result<Vec<Finding>, String> {
    let sp = SplitParams::from_table(p)?;
    let window = i32::try_from(sp.window_days).unwrap_or(i32::MAX);
    let (threshold, red_multiple) = (sp.threshold, sp.red_multiple);
    let min_n = sp.min_contracts as usize;
    let awarded = snap.edges(EdgeKind::Awarded);
    let to = snap.edges(EdgeKind::To);
    let (dates, amounts) = (snap.dates(), snap.amounts());
    // (agency, company, signed, contract, awarded edge, to edge) of every dated contract under
    // the threshold.
    let mut rows: Vec<(u32, u32, i32, u32, u32, u32)> = Vec::new();
    for k in snap.kind_range(NodeKind::Contract) {
        let (d, amt) = (dates[k as usize], amounts[k as usize]);
        if d == crate::snapshot::NO_DATE
            || amt.is_nan()
            || amt >= threshold
            || opts.as_of.is_some_and(|a| d > a)
        {
            continue;
        }
        let (Some(&ea), Some(et)) = (awarded.inc(k).first(), to.out(k).next()) else {
            continue;
        };
        rows.push((awarded.src[ea as usize], to.dst[et], d, k, ea, et as u32));
    }
    rows.sort_unstable();
    let mut out = Vec::new();
    let mut i = 0;
    while i < rows.len() {
        let (a, c, d0, ..) = rows[i];
        let mut j = i;
        let mut sum = 0.0;
        while j < rows.len() && rows[j].0 == a && rows[j].1 == c && rows[j].2 - d0 <= window {
            sum += amounts[rows[j].3 as usize];
            j += 1;
        }
        if j - i >= min_n && sum > threshold {
            let run = &rows[i..j];
            let mut chain = vec![(Some(a), None)];
            for r in run {
                chain.push((
                    None,
                    Some(EdgeRef {
                        kind: EdgeKind::Awarded.index() as u8,
                        idx: r.4,
                    }),
                ));
                chain.push((Some(r.3), None));
                chain.push((
                    None,
                    Some(EdgeRef {
                        kind: EdgeKind::To.index() as u8,
                        idx: r.5,
                    }),
                ));
                chain.push((Some(c), None));
            }
            let last = run[run.len() - 1].2;
            let windows = vec![format!(
                "{} contracts signed {}..{} ({} days, window {window}), each under {threshold}, total {sum}",
                run.len(),
                Date(d0),
                Date(last),
                last - d0
            )];
            let explanation = format!(
                "{} signed {} contracts with {} ({}) between {} and {}, each under {threshold} but {sum} in total.",
                snap.name(a),
                run.len(),
                snap.name(c),
                snap.ext(c),
                Date(d0),
                Date(last)
            );
            let ev = Evidence::from_chain(snap, &[chain], windows);
            let sev = if sum > red_multiple * threshold {
                Severity::Red
            } else {
                rule.severity
            };
            out.push(Finding::new(
                snap,
                &rule.id,
                sev,
                crate::exec::default_score(sev),
                [u32::MAX, c, u32::MAX, run[0].3],
                explanation,
                ev,
            ));
            i = j;
        } else {
            i += 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(t: &str) -> toml::Table {
        toml::from_str(t).expect("TOML")
    }

    #[test]
    fn misspelt_or_mistyped_parameters_are_errors() {
        assert!(check_params("split_contracts", &table("window_days = 30")).is_ok());
        let e = check_params("split_contracts", &table("window_dayz = 30")).expect_err("misspelt");
        assert!(e.contains("window_dayz"), "{e}");
        let e = check_params("split_contracts", &table("threshold = \"big\"")).expect_err("type");
        assert!(e.contains("threshold") || e.contains("invalid type"), "{e}");
        assert!(check_params("split_contracts", &table("threshold = -1.0")).is_err());
        assert!(check_params("nope", &table("")).is_err());
    }
}
