//! The statistical indicators, once every release is read: a fence from the quartiles (or the
//! configured threshold), and every ratio beyond it flagged. The quartiles and fences go to
//! `Meta`, as Cardinal reports them.

use crate::settings::Settings;
use crate::stats::{lower_fence, quantile, quartiles, upper_fence, Fraction};
use crate::{Gathered, Group, Output};
use std::collections::BTreeMap;

pub(crate) fn finish(s: &Settings, g: &Gathered, out: &mut Output) {
    if let Some(t) = s.r024 {
        r024(t, g, out);
    }
    if let Some(c) = &s.r025 {
        r025(c, g, out);
    }
    if let Some(c) = &s.r038 {
        let min_processes = c.minimum_contracting_processes.unwrap_or(2);
        r038(c.threshold, &g.disq_buyer, min_processes, Group::Buyer, out);
        r038(
            c.threshold,
            &g.disq_entity,
            min_processes,
            Group::ProcuringEntity,
            out,
        );
        let min_bids = c.minimum_submitted_bids.unwrap_or(2);
        r038(
            c.threshold,
            &g.disq_tenderer,
            min_bids,
            Group::Tenderer,
            out,
        );
    }
    if let Some(c) = &s.r048 {
        r048(c, g, out);
    }
    if let Some(t) = s.r058 {
        r058(t, g, out);
    }
}

/// A lower fence from the quartiles of `data`, or the threshold; with the first quartile (1 when
/// a threshold stands in: the guard `q1 > 0` then passes).
fn lower(code: &'static str, threshold: Option<f64>, data: &[f64], out: &mut Output) -> (f64, f64) {
    match threshold {
        Some(t) => (t, 1.0),
        None => {
            let (q1, q3) = quartiles(data);
            out.meta(code, "q1", q1);
            out.meta(code, "q3", q3);
            (lower_fence(q1, q3), q1)
        }
    }
}

/// An upper fence from the quartiles of `data` (Meta names prefixed by `prefix`), or the
/// threshold.
fn upper(
    code: &'static str,
    prefix: &str,
    threshold: Option<f64>,
    data: &[f64],
    out: &mut Output,
) -> f64 {
    let fence = match threshold {
        Some(t) => t,
        None => {
            let (q1, q3) = quartiles(data);
            out.meta(code, &format!("{prefix}q1"), q1);
            out.meta(code, &format!("{prefix}q3"), q3);
            upper_fence(q1, q3)
        }
    };
    out.meta(code, &format!("{prefix}upper_fence"), fence);
    fence
}

fn r024(threshold: Option<f64>, g: &Gathered, out: &mut Output) {
    let data: Vec<f64> = g.ratios.values().map(|(r, _)| *r).collect();
    let (fence, q1) = lower("R024", threshold, &data, out);
    out.meta("R024", "lower_fence", fence);
    if !(q1 > 0.0 && fence > 0.0) {
        return;
    }
    for (ocid, (ratio, pair)) in &g.ratios {
        if *ratio <= fence {
            out.set(Group::Ocid, ocid, "R024", *ratio);
            for t in pair {
                out.set(Group::Tenderer, t, "R024", 0.0);
            }
        }
    }
}

fn r025(c: &crate::settings::R025, g: &Gathered, out: &mut Output) {
    let counts: Vec<f64> = g.wins.values().map(|f| f.den as f64).collect();
    let bids_fence = quantile(&counts, c.percentile.unwrap_or(75) as f64 / 100.0);
    let data: Vec<f64> = g.wins.values().map(|f| f.value()).collect();
    let (fence, q1) = lower("R025", c.threshold, &data, out);
    out.meta("R025", "upper_fence", bids_fence);
    out.meta("R025", "lower_fence", fence);
    if !(q1 > 0.0 && fence > 0.0) {
        return;
    }
    for (t, f) in &g.wins {
        if f.den as f64 >= bids_fence && f.value() <= fence {
            out.set(Group::Tenderer, t, "R025", f.value());
        }
    }
}

fn r038(
    threshold: Option<f64>,
    fractions: &BTreeMap<String, Fraction>,
    minimum: u64,
    group: Group,
    out: &mut Output,
) {
    let ratios: Vec<(&String, f64)> = fractions
        .iter()
        .filter(|(_, f)| f.den >= minimum)
        .map(|(k, f)| (k, f.value()))
        .collect();
    if ratios.is_empty() {
        return;
    }
    let data: Vec<f64> = ratios.iter().map(|(_, r)| *r).collect();
    let prefix = format!("{}_", group.as_str());
    let fence = upper("R038", &prefix, threshold, &data, out);
    if fence > 0.0 {
        for (k, r) in ratios {
            if r >= fence {
                out.set(group, k, "R038", r);
            }
        }
    }
}

fn r048(c: &crate::settings::R048, g: &Gathered, out: &mut Output) {
    let min = c.minimum_contracting_processes.unwrap_or(20);
    let lengths: Vec<(&String, f64)> = g
        .classes
        .iter()
        .filter(|(_, (n, _))| *n >= min)
        .map(|(k, (_, codes))| (k, codes.len() as f64))
        .collect();
    let data: Vec<f64> = lengths.iter().map(|(_, l)| *l).collect();
    let fence = upper("R048", "", c.threshold.map(|t| t as f64), &data, out);
    // No guard on the fence here (Cardinal has none): a threshold of 0 flags every supplier.
    for (k, l) in lengths {
        if l >= fence {
            out.set(Group::Tenderer, k, "R048", l);
        }
    }
}

fn r058(threshold: Option<f64>, g: &Gathered, out: &mut Output) {
    let data: Vec<f64> = g.ratios.values().map(|(r, _)| *r).collect();
    let fence = upper("R058", "", threshold, &data, out);
    if fence > 0.0 {
        for (ocid, (ratio, pair)) in &g.ratios {
            if *ratio >= fence {
                out.set(Group::Ocid, ocid, "R058", *ratio);
                out.set(Group::Tenderer, &pair[0], "R058", 0.0);
            }
        }
    }
}
