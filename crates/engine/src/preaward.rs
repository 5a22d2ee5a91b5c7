//! Pre-award screening: before a contract is awarded, check a list of bidders against the
//! agency's officials and the tender's evaluators, against each other, and against the
//! blacklist — the checks of `relative_wins`/`self_dealing`/`evaluator_conflict`,
//! `bid_rigging` and `blacklisted_bidder`, asked of bidders that have not won anything yet.
//!
//! Bidders are few, so the search starts from them: the people who control each bidder (up to
//! three edges back, every one valid on the day), then whether such a person is, or is a
//! relative (one or two family hops) of, someone handling the procurement.

use crate::exec::EdgeRef;
use crate::findings::{Evidence, Finding};
use crate::snapshot::Snapshot;
use qinglian_model::{Date, EdgeKind, NodeKind, FAMILY};
use qinglian_rules::Severity;
use rustc_hash::FxHashMap;

/// What to screen.
#[derive(Clone, Debug, Default)]
pub struct Request {
    /// The tender (its agency, bidders, evaluators and publication day are taken from it).
    pub tender: Option<u32>,
    /// The agency running the procurement (when there is no tender yet).
    pub agency: Option<u32>,
    /// Bidders (companies).
    pub bidders: Vec<u32>,
    /// People handling it besides the agency's officials in office.
    pub officials: Vec<u32>,
    /// The day of the check (links must hold on it); default: the tender's publication.
    pub as_of: Option<i32>,
}

/// The outcome.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Every finding, canonical order.
    pub findings: Vec<Finding>,
    /// Highest colour, or `None`: clear.
    pub verdict: Option<Severity>,
    /// The agency checked.
    pub agency: Option<u32>,
    /// The bidders checked.
    pub bidders: Vec<u32>,
    /// The people checked (officials in office and those handling the tender).
    pub officials: Vec<u32>,
    /// The day the links were checked on.
    pub as_of: i32,
}

/// A chain of nodes and edges, as evidence items.
type Chain = Vec<(Option<u32>, Option<EdgeRef>)>;

/// Family hops and control edges searched: the built-in rules' bounds.
pub const FAMILY_HOPS: usize = 2;
/// Longest control chain (first an ownership or role, then company ownership).
pub const CONTROL_HOPS: usize = 3;

/// Runs the checks. `today` is used when neither `as_of` nor a tender gives a day.
pub fn screen(snap: &Snapshot, req: &Request, today: i32) -> Outcome {
    let ran = snap.edges(EdgeKind::Ran);
    let bid = snap.edges(EdgeKind::Bid);
    let handled = snap.edges(EdgeKind::Handled);
    let mut agency = req.agency;
    let mut bidders = req.bidders.clone();
    let mut officials = req.officials.clone();
    let mut as_of = req.as_of;
    if let Some(t) = req.tender {
        if agency.is_none() {
            agency = ran.inc(t).first().map(|&e| ran.src[e as usize]);
        }
        bidders.extend(bid.inc(t).iter().map(|&e| bid.src[e as usize]));
        for &e in handled.inc(t) {
            let role = snap.label_text(EdgeKind::Handled, handled.label(e as usize));
            if role == "evaluator" || role == "approver" {
                officials.push(handled.src[e as usize]);
            }
        }
        if as_of.is_none() {
            let d = snap.dates()[t as usize];
            if d != crate::snapshot::NO_DATE {
                as_of = Some(d);
            }
        }
    }
    let day = as_of.unwrap_or(today);
    if let Some(a) = agency {
        let pos = snap.edges(EdgeKind::Position);
        for &e in pos.inc(a) {
            if pos.interval(e as usize).contains(day) {
                officials.push(pos.src[e as usize]);
            }
        }
    }
    bidders.retain(|&b| snap.kind_of(b) == NodeKind::Company);
    bidders.sort_unstable();
    bidders.dedup();
    officials.retain(|&o| snap.kind_of(o) == NodeKind::Person);
    officials.sort_unstable();
    officials.dedup();

    let mut findings = Vec::new();
    let tref = req.tender.unwrap_or(u32::MAX);
    // People reachable from each official by 0..=2 family hops, with the hops taken.
    let mut near: FxHashMap<u32, Vec<(u32, Vec<EdgeRef>)>> = FxHashMap::default();
    for &o in &officials {
        for (p, path) in family(snap, o) {
            near.entry(p).or_default().push((o, path));
        }
    }
    // Per (official, bidder): hops, the chain as evidence items, whether the link controls.
    let mut best: FxHashMap<(u32, u32), (usize, Chain, bool)> = FxHashMap::default();
    for &b in &bidders {
        for (p, chain) in controllers(snap, b, day) {
            let Some(links) = near.get(&p) else { continue };
            for (o, fam) in links {
                let hops = fam.len() + chain.len();
                let mut items = vec![(Some(*o), None)];
                let mut cur = *o;
                for e in fam.iter().chain(chain.iter()) {
                    let v = snap.edges(e.kind());
                    let (s, d) = (v.src[e.idx as usize], v.dst[e.idx as usize]);
                    cur = if s == cur { d } else { s };
                    items.push((None, Some(*e)));
                    items.push((Some(cur), None));
                }
                let controlling = chain.len() == 1 && is_controlling(snap, chain[0]);
                let key = (*o, b);
                if best.get(&key).is_none_or(|x| hops < x.0) {
                    best.insert(key, (hops, items, controlling));
                }
            }
        }
    }
    let mut keys: Vec<_> = best.keys().copied().collect();
    keys.sort_unstable();
    for key in keys {
        let (hops, items, controlling) = &best[&key];
        let sev = if *controlling {
            Severity::Red
        } else {
            Severity::Yellow
        };
        let explanation = format!(
            "{} ({}), who handles this procurement, is linked to bidder {} ({}) through {} edge(s) holding on {}.",
            snap.name(key.0),
            snap.ext(key.0),
            snap.name(key.1),
            snap.ext(key.1),
            hops,
            Date(day)
        );
        let ev = Evidence::from_chain(
            snap,
            std::slice::from_ref(items),
            vec![format!("every edge holds on {}", Date(day))],
        );
        findings.push(Finding::new(
            snap,
            "official_link",
            sev,
            if *controlling { 90.0 } else { 70.0 },
            [key.0, key.1, u32::MAX, tref],
            explanation,
            ev,
        ));
    }
    findings.extend(bidder_pairs(snap, &bidders, tref));
    findings.extend(blacklisted(snap, &bidders, day, tref));
    findings.sort();
    let verdict = findings.iter().map(|f| f.severity).max();
    Outcome {
        findings,
        verdict,
        agency,
        bidders,
        officials,
        as_of: day,
    }
}

fn is_controlling(snap: &Snapshot, e: EdgeRef) -> bool {
    let v = snap.edges(e.kind());
    match e.kind() {
        EdgeKind::Owns => v.value(e.idx as usize).is_some_and(|s| s >= 50.0),
        EdgeKind::Role => snap.label_text(EdgeKind::Role, v.label(e.idx as usize)) == "legal_rep",
        _ => false,
    }
}

/// People within 0..=FAMILY_HOPS family hops of `o` (shortest hops first).
fn family(snap: &Snapshot, o: u32) -> Vec<(u32, Vec<EdgeRef>)> {
    let v = snap.edges(EdgeKind::Relation);
    let fam: Vec<bool> = snap
        .labels(EdgeKind::Relation)
        .iter()
        .map(|l| FAMILY.contains(&l.as_str()))
        .collect();
    let mut out: Vec<(u32, Vec<EdgeRef>)> = vec![(o, Vec::new())];
    let mut frontier = vec![(o, Vec::new())];
    for _ in 0..FAMILY_HOPS {
        let mut next = Vec::new();
        for (n, path) in &frontier {
            for ent in v.both(*n).unwrap_or(&[]) {
                if !fam.get(ent[1] as usize).copied().unwrap_or(false)
                    || out.iter().any(|(x, _)| *x == ent[0])
                {
                    continue;
                }
                let mut p: Vec<EdgeRef> = path.clone();
                p.push(EdgeRef {
                    kind: EdgeKind::Relation.index() as u8,
                    idx: ent[2] & !crate::snapshot::BOTH_HEAD,
                });
                out.push((ent[0], p.clone()));
                next.push((ent[0], p));
            }
        }
        frontier = next;
    }
    out
}

/// People controlling company `b` on `day` through 1..=CONTROL_HOPS edges, each chain from
/// the person to `b`.
fn controllers(snap: &Snapshot, b: u32, day: i32) -> Vec<(u32, Vec<EdgeRef>)> {
    let own = snap.edges(EdgeKind::Owns);
    let role = snap.edges(EdgeKind::Role);
    let mut out = Vec::new();
    let mut stack: Vec<(u32, Vec<EdgeRef>)> = vec![(b, Vec::new())];
    while let Some((c, chain)) = stack.pop() {
        if chain.len() >= CONTROL_HOPS {
            continue;
        }
        for ent in &own.in_ent[own.in_range(c)] {
            let e = ent[2] as usize;
            if !own.interval(e).contains(day) {
                continue;
            }
            let mut ch = vec![EdgeRef {
                kind: EdgeKind::Owns.index() as u8,
                idx: ent[2],
            }];
            ch.extend(chain.iter().copied());
            if snap.kind_of(ent[0]) == NodeKind::Person {
                out.push((ent[0], ch));
            } else if !chain
                .iter()
                .any(|x| x.idx == ent[2] && x.kind == EdgeKind::Owns.index() as u8)
            {
                stack.push((ent[0], ch));
            }
        }
        for ent in &role.in_ent[role.in_range(c)] {
            let e = ent[2] as usize;
            if snap.label_text(EdgeKind::Role, ent[1]) == "employee"
                || !role.interval(e).contains(day)
            {
                continue;
            }
            let mut ch = vec![EdgeRef {
                kind: EdgeKind::Role.index() as u8,
                idx: ent[2],
            }];
            ch.extend(chain.iter().copied());
            out.push((ent[0], ch));
        }
    }
    out
}

/// Pairs of bidders sharing a direct owner, a legal representative or director, a phone or an
/// address (the `bid_rigging` rule, any time).
fn bidder_pairs(snap: &Snapshot, bidders: &[u32], tref: u32) -> Vec<Finding> {
    let own = snap.edges(EdgeKind::Owns);
    let role = snap.edges(EdgeKind::Role);
    let owners = |c: u32| -> Vec<(u32, EdgeRef)> {
        own.in_ent[own.in_range(c)]
            .iter()
            .map(|e| {
                (
                    e[0],
                    EdgeRef {
                        kind: EdgeKind::Owns.index() as u8,
                        idx: e[2],
                    },
                )
            })
            .collect()
    };
    let directors = |c: u32| -> Vec<(u32, EdgeRef)> {
        role.in_ent[role.in_range(c)]
            .iter()
            .filter(|e| {
                matches!(
                    snap.label_text(EdgeKind::Role, e[1]),
                    "legal_rep" | "director"
                )
            })
            .map(|e| {
                (
                    e[0],
                    EdgeRef {
                        kind: EdgeKind::Role.index() as u8,
                        idx: e[2],
                    },
                )
            })
            .collect()
    };
    let mut out = Vec::new();
    let ranks = snap.ranks();
    for (i, &x) in bidders.iter().enumerate() {
        for &y in &bidders[i + 1..] {
            let (x, y) = if ranks[x as usize] < ranks[y as usize] {
                (x, y)
            } else {
                (y, x)
            };
            let mut items = None;
            let mut why = String::new();
            for (list_x, list_y, what) in [
                (owners(x), owners(y), "owner"),
                (
                    directors(x),
                    directors(y),
                    "legal representative or director",
                ),
            ] {
                if items.is_some() {
                    break;
                }
                if let Some((z, ex, ey)) = list_x.iter().find_map(|(z, ex)| {
                    list_y
                        .iter()
                        .find(|(w, _)| w == z)
                        .map(|(_, ey)| (*z, *ex, *ey))
                }) {
                    items = Some(vec![
                        (Some(x), None),
                        (None, Some(ex)),
                        (Some(z), None),
                        (None, Some(ey)),
                        (Some(y), None),
                    ]);
                    why = format!("share the {what} {} ({})", snap.name(z), snap.ext(z));
                }
            }
            let (ph, ad) = (snap.phones(), snap.addresses());
            if items.is_none() && ph[x as usize] != 0 && ph[x as usize] == ph[y as usize] {
                items = Some(vec![(Some(x), None), (Some(y), None)]);
                why = format!("share the phone {}", snap.code_text(0, ph[x as usize]));
            }
            if items.is_none() && ad[x as usize] != 0 && ad[x as usize] == ad[y as usize] {
                items = Some(vec![(Some(x), None), (Some(y), None)]);
                why = format!("share the address {}", snap.code_text(1, ad[x as usize]));
            }
            if let Some(items) = items {
                let red = items.len() > 2;
                let explanation = format!(
                    "Bidders {} ({}) and {} ({}) {why}.",
                    snap.name(x),
                    snap.ext(x),
                    snap.name(y),
                    snap.ext(y)
                );
                let ev = Evidence::from_chain(snap, &[items], vec![why.clone()]);
                out.push(Finding::new(
                    snap,
                    "bid_rigging",
                    if red { Severity::Red } else { Severity::Yellow },
                    70.0,
                    [u32::MAX, x, y, tref],
                    explanation,
                    ev,
                ));
            }
        }
    }
    out
}

/// Bidders listed on or before `day`, themselves or through an owner (a person owning them, a
/// company owning them directly or through one more company), ownership valid on `day`.
fn blacklisted(snap: &Snapshot, bidders: &[u32], day: i32, tref: u32) -> Vec<Finding> {
    let own = snap.edges(EdgeKind::Owns);
    let listed = snap.listed();
    let is_listed =
        |n: u32| listed[n as usize] != crate::snapshot::NO_DATE && listed[n as usize] <= day;
    let mut out = Vec::new();
    for &b in bidders {
        let mut hit: Option<Vec<(Option<u32>, Option<EdgeRef>)>> = None;
        if is_listed(b) {
            hit = Some(vec![(Some(b), None)]);
        }
        for ent in &own.in_ent[own.in_range(b)] {
            if hit.is_some() {
                break;
            }
            let e1 = EdgeRef {
                kind: EdgeKind::Owns.index() as u8,
                idx: ent[2],
            };
            if !own.interval(ent[2] as usize).contains(day) {
                continue;
            }
            if is_listed(ent[0]) {
                hit = Some(vec![
                    (Some(ent[0]), None),
                    (None, Some(e1)),
                    (Some(b), None),
                ]);
            } else if snap.kind_of(ent[0]) == NodeKind::Company {
                for ent2 in &own.in_ent[own.in_range(ent[0])] {
                    if own.interval(ent2[2] as usize).contains(day)
                        && is_listed(ent2[0])
                        && snap.kind_of(ent2[0]) == NodeKind::Company
                    {
                        let e2 = EdgeRef {
                            kind: EdgeKind::Owns.index() as u8,
                            idx: ent2[2],
                        };
                        hit = Some(vec![
                            (Some(ent2[0]), None),
                            (None, Some(e2)),
                            (Some(ent[0]), None),
                            (None, Some(e1)),
                            (Some(b), None),
                        ]);
                        break;
                    }
                }
            }
        }
        if let Some(items) = hit {
            let who = items[0].0.unwrap_or(b);
            let explanation = format!(
                "Bidder {} ({}) {} on the blacklist since {}.",
                snap.name(b),
                snap.ext(b),
                if who == b {
                    "is".to_owned()
                } else {
                    format!("is owned by {} ({}), who is", snap.name(who), snap.ext(who))
                },
                Date(listed[who as usize])
            );
            let ev = Evidence::from_chain(
                snap,
                &[items],
                vec![format!(
                    "listed {} on or before {}",
                    Date(listed[who as usize]),
                    Date(day)
                )],
            );
            out.push(Finding::new(
                snap,
                "blacklisted_bidder",
                Severity::Red,
                90.0,
                [u32::MAX, b, u32::MAX, tref],
                explanation,
                ev,
            ));
        }
    }
    out
}
