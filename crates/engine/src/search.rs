//! Who is this? Entities by resident ID number or credit code, bundle id, name or the start of
//! a name — the one search the CLI's `qinglian search` and the API's `GET /v1/entities` share,
//! so that both find the same people in the same order and describe them the same way.

use crate::describe::{date_json, node_json};
use crate::snapshot::{flag, Snapshot, NO_DATE};
use qinglian_model::{Date, EdgeKind, NodeKind};
use serde_json::{json, Value};

/// Longest search text, in characters.
pub const MAX_QUERY_CHARS: usize = 256;

/// Exact identifier, bundle id (or alias), exact name, name prefix; each node once, those
/// `keep` accepts (given the node and how it matched), at most `limit`, and whether more
/// matched. Names are compared normalised (NFKC, single spaces), as they are stored.
pub fn search(
    snap: &Snapshot,
    q: &str,
    limit: usize,
    keep: impl Fn(u32, &str) -> bool,
) -> (Vec<(u32, &'static str)>, bool) {
    let mut hits: Vec<(u32, &'static str)> = Vec::new();
    if let Some(n) = snap.lookup_identifier(q) {
        hits.push((n, "identifier"));
    }
    if let Some(n) = snap.lookup(q) {
        hits.push((n, "id"));
    }
    let name = qinglian_model::normalize::name(q);
    for n in snap.search_name(&name, true, limit + 1) {
        hits.push((n, "name"));
    }
    for n in snap.search_name(&name, false, limit + 1) {
        hits.push((n, "name_prefix"));
    }
    let mut seen = Vec::new();
    hits.retain(|&(n, how)| {
        if seen.contains(&n) || !keep(n, how) {
            false
        } else {
            seen.push(n);
            true
        }
    });
    let truncated = hits.len() > limit;
    hits.truncate(limit);
    (hits, truncated)
}

/// A resident ID number with its middle eight digits hidden (region and check digits stay).
pub fn masked(ident: &str) -> Option<String> {
    (ident.len() == 18 && ident.is_ascii())
        .then(|| format!("{}********{}", &ident[..6], &ident[14..]))
}

/// One result: the node with how it matched and, for people, what tells same-name people
/// apart (birth year, masked ID number, whether an official, positions with agency, title and
/// term); for companies the credit code.
pub fn hit_json(snap: &Snapshot, n: u32, how: &str) -> Value {
    let mut v = node_json(snap, n);
    v["match"] = how.into();
    let kind = snap.kind_of(n);
    let d = snap.dates()[n as usize];
    if kind == NodeKind::Person {
        if d != NO_DATE {
            v["birth_year"] = Date(d).ymd().0.into();
        }
        if let Some(m) = masked(snap.identifier(n)) {
            v["identifier_masked"] = m.into();
        }
        v["official"] = (snap.flags()[n as usize] & flag::OFFICIAL != 0).into();
        let pos = snap.edges(EdgeKind::Position);
        v["positions"] = pos
            .out(n)
            .map(|e| {
                let iv = pos.interval(e);
                json!({
                    "agency": snap.ext(pos.dst[e]),
                    "agency_name": snap.name(pos.dst[e]),
                    "title": snap.label_text(EdgeKind::Position, pos.label(e)),
                    "start": date_json(iv.start),
                    "end": date_json(iv.end),
                })
            })
            .collect::<Vec<_>>()
            .into();
    } else if kind == NodeKind::Company {
        v["credit_code"] = snap.identifier(n).into();
    }
    v
}
