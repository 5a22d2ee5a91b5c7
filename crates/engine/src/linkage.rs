//! Candidate identity links: records that probably denote the same person or company, scored,
//! never merged.
//!
//! Real registers lack identifiers: a shareholder list names a person and a birth date, a
//! subsidy roll a company and an address. The load keeps such rows apart (only a valid resident
//! ID or credit code merges); this module says which of them probably are one, and how sure
//! that is, in the style of Fellegi and Sunter as Splink does it:
//!
//! * **Blocking.** Only records of one kind with the same normalised name are compared (a name
//!   variant is never a candidate: a documented limit). Two records whose valid identifiers
//!   differ are never a candidate: two 张伟 with different resident IDs are two people.
//! * **Comparisons.** A person: birth date (exact, same year, different, missing) and death date
//!   (agree, one missing, different). A company: address, phone (same, different, missing) and
//!   founding date (as birth).
//! * **u** (how often two random records agree at a level) is computed exactly from the data's
//!   value frequencies.
//! * **The name's weight** depends on how common it is: the prior share of matches among the
//!   pairs of a block, **π**, is estimated per class of block size (2, 3–4, 5–9, 10–49, 50 or
//!   more records with the name), so that two 张伟 prove less than two 欧阳靖雯. (A term
//!   frequency read off the data would count the duplicates themselves and make every rare name
//!   look common.)
//! * **m** (how often two records of one entity agree at a level) and π are estimated by
//!   expectation–maximisation over the blocked pairs, u held fixed, from fixed starting values,
//!   with one pseudo-pair of prior weight at those values, for a fixed number of rounds: the same
//!   data gives the same links.
//! * A pair's **probability** is the posterior `odds / (1 + odds)`, odds = `π/(1−π) · Π m/u`;
//!   its **match weight** `log2` of that odds.
//!
//! Judgements (`qinglian links confirm|reject`, kept with who and when) override the model:
//! a confirmed pair is certain, a rejected one is no candidate.

use crate::snapshot::{LinkEdges, LinkPair, Snapshot, NO_DATE};
use qinglian_model::{Date, NodeKind};
use qinglian_store::judgements::{Judgement, Verdict};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// One compared field: its name and levels.
struct Field {
    name: &'static str,
    levels: &'static [&'static str],
    how: How,
}

#[derive(Clone, Copy)]
enum How {
    /// A day: exact, same year, different, missing.
    Day,
    /// A death date: agree (both none, or equal), one missing, different.
    Death,
    /// A normalised code (phone, address): same, different, missing.
    Code,
}

const DAY: &[&str] = &["exact", "same_year", "different", "missing"];
const DEATH: &[&str] = &["agree", "one_missing", "different"];
const CODE: &[&str] = &["same", "different", "missing"];

const PERSON: &[Field] = &[
    Field {
        name: "birth_date",
        levels: DAY,
        how: How::Day,
    },
    Field {
        name: "death_date",
        levels: DEATH,
        how: How::Death,
    },
];

const COMPANY: &[Field] = &[
    Field {
        name: "address",
        levels: CODE,
        how: How::Code,
    },
    Field {
        name: "phone",
        levels: CODE,
        how: How::Code,
    },
    Field {
        name: "founded",
        levels: DAY,
        how: How::Day,
    },
];

/// Rounds of expectation–maximisation (the estimates settle well before).
const ROUNDS: usize = 40;

/// A value of a field for one record; `NONE` when missing.
const NONE: i64 = i64::MIN;

/// What the model estimated for one kind of record.
#[derive(Clone, Debug, Serialize)]
pub struct Params {
    /// `Person` or `Company`.
    pub kind: &'static str,
    /// Records compared (with a name).
    pub records: u64,
    /// Pairs sharing a name (and no conflicting identifier): the candidates scored.
    pub blocked_pairs: u64,
    /// Per class of block size: the smallest block of the class, its pairs, and the estimated
    /// share π of them that are matches.
    pub prior: Vec<PriorClass>,
    /// Expected matches among the blocked pairs.
    pub expected_matches: f64,
    /// Per field, per level: m and u.
    pub fields: Vec<FieldParams>,
}

/// The prior of one class of block sizes.
#[derive(Clone, Debug, Serialize)]
pub struct PriorClass {
    /// Records with the name, at least.
    pub from: u32,
    /// Pairs of blocks of this class.
    pub pairs: u64,
    /// Estimated share of those pairs that are matches.
    pub pi: f64,
}

/// Block-size classes: lower bounds.
const CLASSES: [u32; 5] = [2, 3, 5, 10, 50];

fn class_of(size: u32) -> usize {
    CLASSES.iter().rposition(|&c| size >= c).unwrap_or(0)
}

/// One field's estimates.
#[derive(Clone, Debug, Serialize)]
pub struct FieldParams {
    /// The field.
    pub field: &'static str,
    /// Its levels with m, u and the match weight `log2(m/u)`.
    pub levels: Vec<LevelParams>,
}

/// One level's estimates.
#[derive(Clone, Debug, Serialize)]
pub struct LevelParams {
    /// The level.
    pub level: &'static str,
    /// P(level | same entity), estimated.
    pub m: f64,
    /// P(level | two random records), from the data.
    pub u: f64,
    /// `log2(m / u)`.
    pub weight: f64,
}

/// A scored candidate: two records that probably are one.
#[derive(Clone, Debug, Serialize)]
pub struct Link {
    /// The record with the smaller bundle id.
    pub a: String,
    /// The other.
    pub b: String,
    /// `Person` or `Company`.
    pub kind: &'static str,
    /// The shared name.
    pub name: String,
    /// Records with that name (the rarer, the stronger).
    pub name_count: u32,
    /// Posterior probability that the two are one (1 when confirmed).
    pub probability: f64,
    /// `log2` of the posterior odds.
    pub weight: f64,
    /// The level of each compared field.
    pub levels: Vec<(&'static str, &'static str)>,
    /// `candidate`, or `confirmed` / `rejected` by an investigator's judgement.
    pub status: &'static str,
    /// The judgement in force, when there is one.
    pub judgement: Option<Judgement>,
}

/// The links and the estimates they came from.
#[derive(Clone, Debug, Serialize)]
pub struct Linkage {
    /// Estimates per kind.
    pub params: Vec<Params>,
    /// Candidates at or above the threshold asked, most probable first.
    pub links: Vec<Link>,
}

/// One record: its node, block key, identifier and field values.
struct Rec {
    node: u32,
    ident: String,
    values: [i64; 3],
}

/// The lowest probability at which a candidate becomes a `SAME_AS` edge: a rule's
/// `SAME_AS{min p}` below it finds no more links than at it.
pub const EDGE_FLOOR: f64 = 0.1;

/// Lays the candidate links (at least [`EDGE_FLOOR`] probable) over `snap` as `SAME_AS` edges,
/// with `judgements` applied: a confirmed pair is certain, a rejected one no edge. Does
/// nothing when links are attached already. Returns how many edges the snapshot has.
///
/// A caller whose rules cross links calls this after opening the snapshot and before
/// screening (`crate::screen` refuses such rules otherwise): the judgements live in the store,
/// and reading them at every screening is what makes a confirmation or a rejection change the
/// findings at once.
pub fn attach(snap: &Snapshot, judgements: &[Judgement]) -> usize {
    if let Some(l) = snap.links() {
        return l.len();
    }
    let mut linkage = candidates(snap, EDGE_FLOOR);
    apply(snap, &mut linkage, judgements, false);
    let pairs: Vec<LinkPair> = linkage
        .links
        .iter()
        .filter_map(|l| {
            Some(LinkPair {
                a: snap.lookup(&l.a)?,
                b: snap.lookup(&l.b)?,
                p: l.probability,
                confirmed: l.status == "confirmed",
            })
        })
        .collect();
    let edges = LinkEdges::new(snap.node_count(), &pairs, |n| snap.node_source(n));
    snap.attach_links(edges);
    snap.links().map_or(0, LinkEdges::len)
}

/// Scores every candidate pair of people and of companies; keeps those at or above `min`.
pub fn candidates(snap: &Snapshot, min: f64) -> Linkage {
    let mut params = Vec::new();
    let mut links = Vec::new();
    for (kind, fields) in [(NodeKind::Person, PERSON), (NodeKind::Company, COMPANY)] {
        let blocks = blocks(snap, kind);
        let (p, mut l) = score(snap, kind, fields, &blocks, min);
        params.push(p);
        links.append(&mut l);
    }
    links.sort_by(|x, y| {
        y.probability
            .total_cmp(&x.probability)
            .then_with(|| (&x.a, &x.b).cmp(&(&y.a, &y.b)))
    });
    Linkage { params, links }
}

/// Applies the investigators' judgements: a confirmed pair is certain (added when the model had
/// not proposed it), a rejected one is dropped — or kept marked `rejected` when `keep_rejected`.
pub fn apply(
    snap: &Snapshot,
    linkage: &mut Linkage,
    judgements: &[Judgement],
    keep_rejected: bool,
) {
    for j in judgements {
        let at = linkage.links.iter().position(|l| l.a == j.a && l.b == j.b);
        let link = match at {
            Some(i) => &mut linkage.links[i],
            None => {
                let (Some(x), Some(_)) = (snap.lookup(&j.a), snap.lookup(&j.b)) else {
                    continue;
                };
                linkage.links.push(Link {
                    a: j.a.clone(),
                    b: j.b.clone(),
                    kind: snap.kind_of(x).as_str(),
                    name: snap.name(x).to_owned(),
                    name_count: 0,
                    probability: 0.0,
                    weight: f64::NEG_INFINITY,
                    levels: Vec::new(),
                    status: "candidate",
                    judgement: None,
                });
                let last = linkage.links.len() - 1;
                &mut linkage.links[last]
            }
        };
        link.status = j.verdict.as_str();
        if j.verdict == Verdict::Confirmed {
            link.probability = 1.0;
        }
        link.judgement = Some(j.clone());
    }
    linkage
        .links
        .retain(|l| keep_rejected || l.status != "rejected");
    linkage.links.sort_by(|x, y| {
        y.probability
            .total_cmp(&x.probability)
            .then_with(|| (&x.a, &x.b).cmp(&(&y.a, &y.b)))
    });
}

/// Records of `kind` grouped by normalised name (ordered, so that the result never depends on
/// hashing).
fn blocks(snap: &Snapshot, kind: NodeKind) -> BTreeMap<String, Vec<Rec>> {
    let (dates, deaths) = (snap.dates(), snap.deaths());
    let (phones, addrs) = (snap.phones(), snap.addresses());
    let day = |d: i32| if d == NO_DATE { NONE } else { i64::from(d) };
    let code = |c: u32| if c == 0 { NONE } else { i64::from(c) };
    let mut out: BTreeMap<String, Vec<Rec>> = BTreeMap::new();
    for n in snap.kind_range(kind) {
        let key: String = snap
            .name(n)
            .chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_lowercase)
            .collect();
        if key.is_empty() {
            continue;
        }
        let i = n as usize;
        let values = match kind {
            NodeKind::Person => [day(dates[i]), day(deaths[i]), NONE],
            _ => [code(addrs[i]), code(phones[i]), day(dates[i])],
        };
        let ident = snap.identifier(n).to_owned();
        out.entry(key).or_default().push(Rec {
            node: n,
            ident,
            values,
        });
    }
    out
}

fn year(d: i64) -> i32 {
    Date(i32::try_from(d).unwrap_or(0)).ymd().0
}

/// The level of field `how` for values `a`, `b`.
fn level(how: How, a: i64, b: i64) -> usize {
    match how {
        How::Day if a == NONE || b == NONE => 3,
        How::Day if a == b => 0,
        How::Day if year(a) == year(b) => 1,
        How::Day => 2,
        How::Death if a == b => 0,
        How::Death if a == NONE || b == NONE => 1,
        How::Death => 2,
        How::Code if a == NONE || b == NONE => 2,
        How::Code if a == b => 0,
        How::Code => 1,
    }
}

/// u for every level of field `k`: how often two random records of the kind are at it.
fn u_levels(how: How, values: &[i64]) -> Vec<f64> {
    let n = values.len().max(1) as f64;
    let known: Vec<i64> = values.iter().copied().filter(|&v| v != NONE).collect();
    let kappa = known.len() as f64 / n;
    let sq = |keys: &mut dyn Iterator<Item = i64>| -> f64 {
        // Ordered: a float sum in hash order would differ in its last bits from run to run.
        let mut c: BTreeMap<i64, u64> = BTreeMap::new();
        let mut t = 0u64;
        for k in keys {
            *c.entry(k).or_default() += 1;
            t += 1;
        }
        let t = t.max(1) as f64;
        c.values().map(|&x| (x as f64 / t).powi(2)).sum()
    };
    let pe = sq(&mut known.iter().copied());
    let u = match how {
        How::Day => {
            let py = sq(&mut known.iter().map(|&d| i64::from(year(d))));
            let k2 = kappa * kappa;
            vec![k2 * pe, k2 * (py - pe), k2 * (1.0 - py), 1.0 - k2]
        }
        How::Death => {
            let q = kappa;
            vec![
                (1.0 - q).powi(2) + q * q * pe,
                2.0 * q * (1.0 - q),
                q * q * (1.0 - pe),
            ]
        }
        How::Code => {
            let k2 = kappa * kappa;
            vec![k2 * pe, k2 * (1.0 - pe), 1.0 - k2]
        }
    };
    u.into_iter().map(|x| x.max(1e-6)).collect()
}

/// Starting m: most matches agree exactly, few are missing or differ.
fn m_start(how: How) -> Vec<f64> {
    match how {
        How::Day => vec![0.85, 0.05, 0.02, 0.08],
        How::Death => vec![0.9, 0.08, 0.02],
        How::Code => vec![0.7, 0.2, 0.1],
    }
}

/// The pattern of levels of a pair as one number (mixed radix over the fields).
fn pattern(fields: &[Field], a: &Rec, b: &Rec) -> u32 {
    let mut p = 0u32;
    for (k, f) in fields.iter().enumerate() {
        p = p * f.levels.len() as u32 + level(f.how, a.values[k], b.values[k]) as u32;
    }
    p
}

fn unpack(fields: &[Field], mut p: u32) -> Vec<usize> {
    let mut out = vec![0; fields.len()];
    for (k, f) in fields.iter().enumerate().rev() {
        let r = f.levels.len() as u32;
        out[k] = (p % r) as usize;
        p /= r;
    }
    out
}

/// Whether two records may be one: not when both carry a valid identifier.
fn comparable(a: &Rec, b: &Rec) -> bool {
    a.ident.is_empty() || b.ident.is_empty()
}

/// The model for one kind: estimates, then the links at or above `min`.
fn score(
    snap: &Snapshot,
    kind: NodeKind,
    fields: &[Field],
    blocks: &BTreeMap<String, Vec<Rec>>,
    min: f64,
) -> (Params, Vec<Link>) {
    let records: u64 = blocks.values().map(|b| b.len() as u64).sum();
    // A level the data never shows (every company has an address) is neutral, not a miracle.
    let mut u = Vec::new();
    for (k, f) in fields.iter().enumerate() {
        let vals: Vec<i64> = blocks.values().flatten().map(|r| r.values[k]).collect();
        u.push(u_levels(f.how, &vals));
    }
    // Blocked pairs, counted per (size class, pattern): the EM runs on these counts.
    let mut groups: HashMap<(usize, u32), u64> = HashMap::new();
    for b in blocks.values().filter(|b| b.len() > 1) {
        let class = class_of(b.len() as u32);
        for (i, x) in b.iter().enumerate() {
            for y in &b[i + 1..] {
                if comparable(x, y) {
                    *groups.entry((class, pattern(fields, x, y))).or_default() += 1;
                }
            }
        }
    }
    let mut groups: Vec<((usize, u32), u64)> = groups.into_iter().collect();
    groups.sort_unstable();
    let blocked: u64 = groups.iter().map(|g| g.1).sum();
    let m0: Vec<Vec<f64>> = fields.iter().map(|f| m_start(f.how)).collect();
    let mut m = m0.clone();
    let mut pi = [0.3f64; CLASSES.len()];
    let mut expected = 0.0;
    let post = |pi: &[f64], m: &[Vec<f64>], class: usize, p: u32| -> f64 {
        let mut odds = pi[class] / (1.0 - pi[class]);
        for (k, l) in unpack(fields, p).into_iter().enumerate() {
            odds *= m[k][l] / u[k][l];
        }
        odds
    };
    for _ in 0..ROUNDS {
        // One pseudo-pair at the starting values keeps a level no match showed yet possible.
        let mut acc: Vec<Vec<f64>> = m0.clone();
        let mut d = 1.0;
        let mut per = [(0.0f64, 0u64); CLASSES.len()];
        for &((class, p), count) in &groups {
            let odds = post(&pi, &m, class, p);
            let w = count as f64 * odds / (1.0 + odds);
            d += w;
            per[class].0 += w;
            per[class].1 += count;
            for (k, l) in unpack(fields, p).into_iter().enumerate() {
                acc[k][l] += w;
            }
        }
        expected = d - 1.0;
        for (k, a) in acc.iter().enumerate() {
            m[k] = a.iter().map(|x| (x / d).max(1e-6)).collect();
        }
        for (c, &(w, n)) in per.iter().enumerate() {
            if n > 0 {
                pi[c] = (w / n as f64).clamp(1e-6, 1.0 - 1e-6);
            }
        }
    }
    let mut class_pairs = [0u64; CLASSES.len()];
    for &((class, _), count) in &groups {
        class_pairs[class] += count;
    }
    let kind_name = kind.as_str();
    let params = Params {
        kind: kind_name,
        records,
        blocked_pairs: blocked,
        prior: CLASSES
            .iter()
            .enumerate()
            .map(|(c, &from)| PriorClass {
                from,
                pairs: class_pairs[c],
                pi: pi[c],
            })
            .collect(),
        expected_matches: expected,
        fields: fields
            .iter()
            .enumerate()
            .map(|(k, f)| FieldParams {
                field: f.name,
                levels: f
                    .levels
                    .iter()
                    .enumerate()
                    .map(|(l, name)| LevelParams {
                        level: name,
                        m: m[k][l],
                        u: u[k][l],
                        weight: (m[k][l] / u[k][l]).log2(),
                    })
                    .collect(),
            })
            .collect(),
    };
    let mut links = Vec::new();
    for b in blocks.values().filter(|b| b.len() > 1) {
        let size = b.len() as u32;
        let class = class_of(size);
        for (i, x) in b.iter().enumerate() {
            for y in &b[i + 1..] {
                if !comparable(x, y) {
                    continue;
                }
                let p = pattern(fields, x, y);
                let odds = post(&pi, &m, class, p);
                let prob = odds / (1.0 + odds);
                if prob < min {
                    continue;
                }
                let (ea, eb) = (snap.ext(x.node), snap.ext(y.node));
                let (a, b2) = if ea <= eb { (ea, eb) } else { (eb, ea) };
                links.push(Link {
                    a: a.to_owned(),
                    b: b2.to_owned(),
                    kind: kind_name,
                    name: snap.name(x.node).to_owned(),
                    name_count: size,
                    probability: prob,
                    weight: odds.log2(),
                    levels: unpack(fields, p)
                        .into_iter()
                        .enumerate()
                        .map(|(k, l)| (fields[k].name, fields[k].levels[l]))
                        .collect(),
                    status: "candidate",
                    judgement: None,
                });
            }
        }
    }
    (params, links)
}
