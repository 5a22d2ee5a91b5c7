//! Findings computed elsewhere — the rules compiled to SQL and run on Spark or DuckDB
//! (`spark/qinglian_spark.py`) — brought back into the database they were computed from.
//!
//! The SQL side searches the whole graph; it writes for each finding only its key, colour,
//! score and evidence ids. Bringing one back means re-deriving it here with the engine
//! restricted to the nodes its key names (`exec::compile_given`: the planner starts from the
//! official, target, second target and reference the lines give, not from the whole graph),
//! so that names, dates, the explanation and the time windows come from the one renderer the
//! engine's own findings use, and comparing: colour, score, the evidence nodes in order, and
//! the evidence edges with their ends and source rows. A claim the database cannot back — a
//! node it does not hold, a key the engine does not derive, evidence that differs — is refused
//! with its line and the reason; nothing is taken on trust.
//!
//! Native rules (`split_contracts`) have no pattern to restrict: they run whole (they read
//! contracts alone and are cheap) and the claimed keys are picked from their findings.

use crate::exec::{self, ExecOptions, Given};
use crate::findings::{finding_id, Finding};
use crate::snapshot::Snapshot;
use crate::EngineError;
use qinglian_rules::Rule;
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The names of a finding's key fields, in [`Claim::key`] order (the RETURN names of a rule).
const KEY_NAMES: [&str; 4] = ["official", "target", "target2", "ref"];

/// One finding as a line of the SQL driver's output (or of `qinglian screen --format jsonl`)
/// claims it.
#[derive(Clone, Debug, PartialEq)]
pub struct Claim {
    /// The line it was read from (1-based).
    pub line: usize,
    /// The rule.
    pub pattern: String,
    /// Official, target, second target, reference (bundle ids; "" when none).
    pub key: [String; 4],
    /// The colour claimed.
    pub severity: String,
    /// The score claimed.
    pub score: f64,
    /// The evidence as compared: node ids in order, then edges (kind, from, to, file, line, load).
    evidence: Value,
}

impl Claim {
    /// The stable id the finding has (the engine's [`Finding::id`] of the same key).
    pub fn id(&self) -> String {
        let [o, t, t2, r] = &self.key;
        finding_id(&self.pattern, o, t, t2, r)
    }
}

#[derive(Deserialize)]
struct Line {
    pattern: String,
    #[serde(default)]
    official: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    target2: String,
    #[serde(rename = "ref", default)]
    ref_id: String,
    severity: String,
    score: f64,
    evidence: Value,
}

/// Parses one line. The error says which field is missing or malformed.
pub fn parse(line: usize, text: &str) -> Result<Claim, String> {
    let l: Line = serde_json::from_str(text).map_err(|e| format!("not a finding: {e}"))?;
    let evidence = comparable_evidence(&l.evidence)?;
    Ok(Claim {
        line,
        pattern: l.pattern,
        key: [l.official, l.target, l.target2, l.ref_id],
        severity: l.severity,
        score: l.score,
        evidence,
    })
}

/// The evidence as the two sides can both state it: node ids (the driver writes ids, the
/// engine objects with an `id`) and, per edge, kind, ends and source row.
fn comparable_evidence(ev: &Value) -> Result<Value, String> {
    let nodes = ev["nodes"]
        .as_array()
        .ok_or("`evidence.nodes` is not a list")?
        .iter()
        .map(|n| n.as_str().or_else(|| n["id"].as_str()).map(str::to_owned))
        .collect::<Option<Vec<String>>>()
        .ok_or("an evidence node has no id")?;
    let edges = ev["edges"]
        .as_array()
        .ok_or("`evidence.edges` is not a list")?
        .iter()
        .map(|e| {
            let s = &e["source"];
            let text = |v: &Value| v.as_str().map(str::to_owned);
            Some(serde_json::json!([
                text(&e["kind"])?,
                text(&e["from"])?,
                text(&e["to"])?,
                text(&s["file"])?,
                s["line"].as_u64()?,
                s["load"].as_u64()?
            ]))
        })
        .collect::<Option<Vec<Value>>>()
        .ok_or("an evidence edge lacks its kind, ends or source row (file, line, load)")?;
    Ok(serde_json::json!({"nodes": nodes, "edges": edges}))
}

/// What became of the claims of one import.
#[derive(Debug, Default)]
pub struct Checked {
    /// The engine's findings for the claims it confirmed, in canonical order.
    pub confirmed: Vec<Finding>,
    /// Claims refused: line and reason.
    pub refused: Vec<(usize, String)>,
    /// Findings the engine derives among the claimed keys' nodes that no line claims (a
    /// search the SQL side cut short, or rules that differ).
    pub unclaimed: Vec<Finding>,
}

/// Re-derives every claim with `rules` (each claim's rule must be one of them) and compares.
pub fn check(snap: &Snapshot, rules: &[Rule], claims: &[Claim]) -> Result<Checked, EngineError> {
    let mut out = Checked::default();
    let by_rule: BTreeMap<&str, &Rule> = rules.iter().map(|r| (r.id.as_str(), r)).collect();
    let mut grouped: BTreeMap<&str, Vec<&Claim>> = BTreeMap::new();
    for c in claims {
        if by_rule.contains_key(c.pattern.as_str()) {
            grouped.entry(c.pattern.as_str()).or_default().push(c);
        } else {
            out.refused
                .push((c.line, format!("no rule `{}` here", c.pattern)));
        }
    }
    for (rule, cs) in grouped {
        let keys: Vec<&[String; 4]> = cs.iter().map(|c| &c.key).collect();
        let derived = rederive(snap, by_rule[rule], &keys)?;
        let mut by_id: BTreeMap<&str, &Finding> =
            derived.iter().map(|f| (f.id.as_str(), f)).collect();
        let claimed: BTreeSet<String> = cs.iter().map(|c| c.id()).collect();
        for c in cs {
            match verdict(snap, c, by_id.remove(c.id().as_str()))? {
                Ok(f) => out.confirmed.push(f.clone()),
                Err(why) => out.refused.push((c.line, why)),
            }
        }
        out.unclaimed
            .extend(derived.iter().filter(|f| !claimed.contains(&f.id)).cloned());
    }
    out.confirmed.sort();
    out.confirmed.dedup_by(|a, b| a.id == b.id);
    out.refused.sort();
    Ok(out)
}

/// The engine's finding when it is the one claimed, or why not.
fn verdict<'f>(
    snap: &Snapshot,
    c: &Claim,
    derived: Option<&'f Finding>,
) -> Result<Result<&'f Finding, String>, EngineError> {
    let Some(f) = derived else {
        let nodes = c.evidence["nodes"].as_array().cloned().unwrap_or_default();
        let mut absent: Vec<&str> = c
            .key
            .iter()
            .map(String::as_str)
            .chain(nodes.iter().filter_map(Value::as_str))
            .filter(|id| !id.is_empty() && snap.lookup(id).is_none())
            .collect();
        absent.sort_unstable();
        absent.dedup();
        return Ok(Err(if absent.is_empty() {
            format!(
                "the engine does not find this {} finding on the database's current data",
                c.pattern
            )
        } else {
            format!("the database holds no {}", absent.join(", "))
        }));
    };
    let mut why = Vec::new();
    if f.severity.as_str() != c.severity {
        why.push(format!(
            "severity {} where the engine says {}",
            c.severity,
            f.severity.as_str()
        ));
    }
    if (f.score - c.score).abs() > 0.05 {
        why.push(format!(
            "score {} where the engine says {}",
            c.score, f.score
        ));
    }
    let ours = serde_json::to_value(&f.evidence)
        .map_err(|e| EngineError::Snapshot(format!("finding as JSON: {e}")))?;
    let ours = comparable_evidence(&ours).map_err(EngineError::Snapshot)?;
    if ours != c.evidence {
        why.push(format!(
            "evidence {} where the engine's is {}",
            c.evidence, ours
        ));
    }
    Ok(if why.is_empty() {
        Ok(f)
    } else {
        Err(why.join("; "))
    })
}

/// The findings of `rule` among the nodes `keys` name: its pattern run with each RETURN
/// variable restricted to the nodes given for that key field (a native rule runs whole).
pub fn rederive(
    snap: &Snapshot,
    rule: &Rule,
    keys: &[&[String; 4]],
) -> Result<Vec<Finding>, EngineError> {
    let mut given = Given::new();
    if let Some((query, _)) = rule.query() {
        for b in &query.branches {
            for r in &b.returns {
                let Some(i) = KEY_NAMES.iter().position(|n| *n == r.name) else {
                    continue;
                };
                given
                    .entry(r.var.clone())
                    .or_default()
                    .extend(keys.iter().filter_map(|k| snap.lookup(&k[i])));
            }
        }
    }
    for nodes in given.values_mut() {
        nodes.sort_unstable();
        nodes.dedup();
    }
    let c = exec::compile_given(rule, snap, &given)?;
    Ok(exec::run(snap, &c, &ExecOptions::default())?.findings)
}

/// The findings of an imported screening, derived again from their keys (`heads`: what the
/// findings store describes them by): what `qinglian serve` answers with when the current
/// load's screening was imported, instead of screening the whole graph. A finding the engine
/// no longer derives (the database is the one the import was confirmed on, so this is a bug
/// or a changed rule) is left out and counted.
pub fn restore(
    snap: &Snapshot,
    rules: &[Rule],
    heads: &[crate::lifecycle::Head],
) -> Result<(Vec<Finding>, usize), EngineError> {
    let mut out = Vec::new();
    let mut lost = 0;
    for rule in rules {
        let keys: Vec<[String; 4]> = heads
            .iter()
            .filter(|h| h.pattern == rule.id)
            .map(|h| {
                [
                    h.official.clone(),
                    h.target.clone(),
                    h.target2.clone(),
                    h.ref_id.clone(),
                ]
            })
            .collect();
        if keys.is_empty() {
            continue;
        }
        let wanted: BTreeSet<&str> = heads
            .iter()
            .filter(|h| h.pattern == rule.id)
            .map(|h| h.id.as_str())
            .collect();
        let refs: Vec<&[String; 4]> = keys.iter().collect();
        let found: Vec<Finding> = rederive(snap, rule, &refs)?
            .into_iter()
            .filter(|f| wanted.contains(f.id.as_str()))
            .collect();
        lost += wanted.len() - found.len();
        out.extend(found);
    }
    out.sort();
    Ok((out, lost))
}

/// The digest an import records of its file's bytes (XXH3-128, hex): which file a load's
/// screening came from, checkable later.
pub fn file_digest(bytes: &[u8]) -> String {
    format!("{:032x}", xxhash_rust::xxh3::xxh3_128(bytes))
}
