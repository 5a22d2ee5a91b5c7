//! The one screening entry point. The CLI's `screen`, the API's stored findings, the fixture
//! tests and the benches all run rules through [`screen`], so that every caller gets the same
//! findings, in the same canonical order, from the same compiled rule files.

use crate::exec::{self, ExecOptions};
use crate::findings::Finding;
use crate::snapshot::Snapshot;
use crate::EngineError;
use qinglian_rules::Rule;
use std::time::Duration;

/// How one rule's run went.
#[derive(Clone, Debug)]
pub struct RuleStat {
    /// The rule id.
    pub rule: String,
    /// Findings it raised.
    pub findings: usize,
    /// Compile and run time.
    pub elapsed: Duration,
    /// The deadline cut it short.
    pub truncated: bool,
}

/// What a screening produced.
#[derive(Clone, Debug)]
pub struct Screening {
    /// Every finding of every rule, in canonical order (`Ord for Finding`).
    pub findings: Vec<Finding>,
    /// One entry per rule, in the order the rules were given.
    pub per_rule: Vec<RuleStat>,
}

impl Screening {
    /// Whether any rule was cut short by the deadline.
    pub fn truncated(&self) -> bool {
        self.per_rule.iter().any(|r| r.truncated)
    }
}

/// Compiles each rule against `snap` and runs it; returns every finding in canonical order.
pub fn screen(
    snap: &Snapshot,
    rules: &[Rule],
    opts: &ExecOptions,
) -> Result<Screening, EngineError> {
    let mut findings = Vec::new();
    let mut per_rule = Vec::with_capacity(rules.len());
    for r in rules {
        if r.crosses_links() && snap.links().is_none() {
            return Err(EngineError::Rule {
                rule: r.id.clone(),
                message: "the rule crosses identity links (SAME_AS) but none were attached to \
                          the snapshot (qinglian_engine::linkage::attach)"
                    .into(),
            });
        }
        let t = std::time::Instant::now();
        let compiled = exec::compile(r, snap)?;
        let run = exec::run(snap, &compiled, opts)?;
        per_rule.push(RuleStat {
            rule: r.id.clone(),
            findings: run.findings.len(),
            elapsed: t.elapsed(),
            truncated: run.truncated,
        });
        findings.extend(run.findings);
    }
    findings.sort();
    Ok(Screening { findings, per_rule })
}
