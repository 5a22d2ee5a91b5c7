//! Findings: what a rule flags, with its evidence chain, in a canonical order; output as JSON
//! lines or CSV (the CLI draws tables by display width, src/cmd/out.rs); roll-ups per official and per tender.

use crate::describe::{EvidenceEdge, EvidenceNode};
use crate::exec::EdgeRef;
use crate::snapshot::Snapshot;
use qinglian_model::{EdgeKind, NodeKind};
use qinglian_rules::Severity;
use serde::Serialize;
use std::collections::BTreeMap;

/// The chain that proves a finding, typed (see [`crate::describe`] for why, and for how the
/// JSON of its parts is kept as it was).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Evidence {
    /// Every node of the chain, in order of first appearance: id, kind, name, source row,
    /// dates and blacklist entries.
    pub nodes: Vec<EvidenceNode>,
    /// Every edge of the chain in pattern order, each with its validity and source row.
    pub edges: Vec<EvidenceEdge>,
    /// The temporal conditions that made it count, with the values that satisfied them.
    pub windows: Vec<String>,
}

impl Evidence {
    /// Evidence from chain parts of nodes and edges.
    pub fn from_chain(
        snap: &Snapshot,
        chain: &[Vec<(Option<u32>, Option<EdgeRef>)>],
        windows: Vec<String>,
    ) -> Evidence {
        let mut nodes = Vec::new();
        let mut seen_nodes = Vec::new();
        let mut edges = Vec::new();
        let mut seen_edges = Vec::new();
        for part in chain {
            for (n, e) in part {
                if let Some(n) = n {
                    if !seen_nodes.contains(n) {
                        seen_nodes.push(*n);
                        nodes.push(EvidenceNode::of(snap, *n));
                    }
                }
                if let Some(e) = e {
                    if !seen_edges.contains(e) {
                        seen_edges.push(*e);
                        edges.push(EvidenceEdge::of(snap, e.kind(), e.idx as usize));
                    }
                }
            }
        }
        Evidence {
            nodes,
            edges,
            windows,
        }
    }
}

/// One flag.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Finding {
    /// Stable id: a hash of the rule and the key fields.
    pub id: String,
    /// The rule id.
    pub pattern: String,
    /// red / yellow / green.
    pub severity: Severity,
    /// 0-100.
    pub score: f64,
    /// The official's bundle id ("" when the rule names none).
    pub official: String,
    /// The official's name.
    pub official_name: String,
    /// The flagged company or person.
    pub target: String,
    /// Its name.
    pub target_name: String,
    /// The second bidder (bid rigging).
    pub target2: String,
    /// The contract, tender or subsidy.
    #[serde(rename = "ref")]
    pub ref_id: String,
    /// contract, tender or subsidy.
    pub ref_type: String,
    /// The agency that runs the tender, signed the contract or paid the subsidy ("" if none).
    pub agency: String,
    /// One sentence in plain words.
    pub explanation: String,
    /// The chain.
    pub evidence: Evidence,
    /// The least probable candidate identity link the chain crosses (`SAME_AS`), when it
    /// crosses any: the score is already multiplied by every crossed link's probability.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weakest_link: Option<WeakLink>,
}

/// A crossed identity link, as a finding shows it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct WeakLink {
    /// One record's bundle id.
    pub a: String,
    /// The other's.
    pub b: String,
    /// The probability that they denote one person or company.
    pub probability: f64,
    /// `candidate`, or `confirmed` by an investigator.
    pub status: &'static str,
    /// How many links the chain crosses in all.
    pub crossed: u32,
}

impl Finding {
    /// A finding for key node ids (`u32::MAX` = none).
    pub fn new(
        snap: &Snapshot,
        rule: &str,
        severity: Severity,
        score: f64,
        key: [u32; 4],
        explanation: String,
        evidence: Evidence,
    ) -> Finding {
        let ext = |n: u32| {
            if n == u32::MAX {
                String::new()
            } else {
                snap.ext(n).to_owned()
            }
        };
        let name = |n: u32| {
            if n == u32::MAX {
                String::new()
            } else {
                snap.name(n).to_owned()
            }
        };
        let ref_type = if key[3] == u32::MAX {
            String::new()
        } else {
            snap.kind_of(key[3]).as_str().to_ascii_lowercase()
        };
        let agency = if key[3] == u32::MAX {
            String::new()
        } else {
            agency_of(snap, key[3])
                .map(|a| snap.ext(a).to_owned())
                .unwrap_or_default()
        };
        let mut f = Finding {
            id: String::new(),
            pattern: rule.to_owned(),
            severity,
            score: (score * 10.0).round() / 10.0,
            official: ext(key[0]),
            official_name: name(key[0]),
            target: ext(key[1]),
            target_name: name(key[1]),
            target2: ext(key[2]),
            ref_id: ext(key[3]),
            ref_type,
            agency,
            explanation,
            evidence,
            weakest_link: None,
        };
        let (p, o, t, t2, r) = f.order_key();
        f.id = finding_id(p, o, t, t2, r);
        f
    }

    /// The canonical order: rule, official, target, target2, ref (bundle ids).
    pub fn order_key(&self) -> (&str, &str, &str, &str, &str) {
        (
            &self.pattern,
            &self.official,
            &self.target,
            &self.target2,
            &self.ref_id,
        )
    }
}

/// The stable id of the finding of rule `p` with key official `o`, target `t`, second target
/// `t2` and reference `r` (bundle ids): the same key gives the same id in every load, and in
/// findings computed elsewhere (`import`).
pub fn finding_id(p: &str, o: &str, t: &str, t2: &str, r: &str) -> String {
    let h = xxhash_rust::xxh3::xxh3_64(format!("{p}\u{1}{o}\u{1}{t}\u{1}{t2}\u{1}{r}").as_bytes());
    format!("{h:016x}")
}

/// Findings are equal as values (every field); their order is the canonical one — rule, then
/// official, target, second target and reference — which one key of one rule never shares
/// with another finding (the id, a hash of the same fields, breaks any tie).
impl Eq for Finding {}

impl PartialOrd for Finding {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Finding {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.order_key()
            .cmp(&other.order_key())
            .then_with(|| self.id.cmp(&other.id))
    }
}

/// Escapes a CSV cell that a spreadsheet would read as a formula.
pub fn csv_safe(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    }
}

/// Findings as CSV (evidence as compact JSON in the last column).
pub fn to_csv(findings: &[Finding]) -> String {
    let mut w = String::from("id,pattern,severity,score,official,official_name,target,target_name,target2,ref,ref_type,agency,explanation,evidence\n");
    for f in findings {
        let cells = [
            f.id.clone(),
            f.pattern.clone(),
            f.severity.as_str().to_owned(),
            f.score.to_string(),
            f.official.clone(),
            f.official_name.clone(),
            f.target.clone(),
            f.target_name.clone(),
            f.target2.clone(),
            f.ref_id.clone(),
            f.ref_type.clone(),
            f.agency.clone(),
            f.explanation.clone(),
            serde_json::to_string(&f.evidence).unwrap_or_default(),
        ];
        let line: Vec<String> = cells.iter().map(|c| quote(&csv_safe(c))).collect();
        w.push_str(&line.join(","));
        w.push('\n');
    }
    w
}

fn quote(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// What to roll findings up by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RollupBy {
    /// The official named by the finding.
    Official,
    /// The tender: the finding's tender, or the tender its contract came out of.
    Tender,
}

/// One row of a roll-up.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RiskRow {
    /// Bundle id.
    pub id: String,
    /// Name.
    pub name: String,
    /// The highest colour among its findings.
    pub colour: Severity,
    /// Findings.
    pub findings: usize,
    /// The highest score.
    pub max_score: f64,
    /// Findings per rule.
    pub by_rule: BTreeMap<String, usize>,
}

/// Rolls findings up per official or per tender, highest colour first, then by count.
pub fn rollup(snap: &Snapshot, findings: &[Finding], by: RollupBy) -> Vec<RiskRow> {
    let mut rows: BTreeMap<String, RiskRow> = BTreeMap::new();
    for f in findings {
        let id = match by {
            RollupBy::Official => f.official.clone(),
            RollupBy::Tender => match f.ref_type.as_str() {
                "tender" => f.ref_id.clone(),
                "contract" => snap
                    .lookup(&f.ref_id)
                    .and_then(|k| tender_of(snap, k))
                    .unwrap_or_default(),
                _ => String::new(),
            },
        };
        if id.is_empty() {
            continue;
        }
        let name = snap
            .lookup(&id)
            .map(|n| snap.name(n).to_owned())
            .unwrap_or_default();
        let r = rows.entry(id.clone()).or_insert(RiskRow {
            id,
            name,
            colour: Severity::Green,
            findings: 0,
            max_score: 0.0,
            by_rule: BTreeMap::new(),
        });
        r.colour = r.colour.max(f.severity);
        r.findings += 1;
        r.max_score = r.max_score.max(f.score);
        *r.by_rule.entry(f.pattern.clone()).or_default() += 1;
    }
    let mut v: Vec<RiskRow> = rows.into_values().collect();
    v.sort_by(|a, b| {
        b.colour
            .cmp(&a.colour)
            .then(b.findings.cmp(&a.findings))
            .then(a.id.cmp(&b.id))
    });
    v
}

/// The agency behind a tender (RAN), contract (AWARDED) or subsidy (PAID).
pub fn agency_of(snap: &Snapshot, n: u32) -> Option<u32> {
    let k = match snap.kind_of(n) {
        NodeKind::Tender => EdgeKind::Ran,
        NodeKind::Contract => EdgeKind::Awarded,
        NodeKind::Subsidy => EdgeKind::Paid,
        _ => return None,
    };
    let v = snap.edges(k);
    v.inc(n).first().map(|&e| v.src[e as usize])
}

fn tender_of(snap: &Snapshot, contract: u32) -> Option<String> {
    if snap.kind_of(contract) != NodeKind::Contract {
        return None;
    }
    let v = snap.edges(EdgeKind::Under);
    v.out(contract)
        .next()
        .map(|e| snap.ext(v.dst[e]).to_owned())
}
