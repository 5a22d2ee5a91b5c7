//! `qinglian search`: who is this? People and companies by name, identifier or bundle id.

use super::out::{Align, Table};
use super::DbArg;
use anyhow::{bail, Result};
use qinglian_engine::describe::{date_json, node_json};
use qinglian_engine::snapshot::{flag, Snapshot, NO_DATE};
use qinglian_model::{Date, EdgeKind, NodeKind};
use serde_json::{json, Value};
use std::process::ExitCode;

/// Find entities by name (or the start of one), resident ID number, credit code or bundle id,
/// as the API's `GET /v1/entities` does: exact identifiers first, then bundle ids, exact
/// names, name prefixes. People who share a name are listed apart, with their birth year,
/// masked ID number and positions.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A name (吴紫育, or the start of one: 吴紫), a resident ID number, a credit code or a
    /// bundle id.
    pub text: String,
    #[command(flatten)]
    pub db: DbArg,
    /// Most results.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub limit: u32,
    /// Print JSON (docs/cli.md).
    #[arg(long)]
    pub json: bool,
}

/// Longest search text, as in the API.
const MAX_QUERY_CHARS: usize = 256;

pub fn run(a: &Args) -> Result<ExitCode> {
    let q = a.text.trim();
    if q.is_empty() {
        bail!("nothing to search for: give a name, an identifier or an id");
    }
    if q.chars().count() > MAX_QUERY_CHARS {
        bail!("the search text is longer than {MAX_QUERY_CHARS} characters");
    }
    let (_db, snap) = super::db::open_snapshot(&a.db.db)?;
    let limit = a.limit as usize;
    let (hits, truncated) = search(&snap, q, limit);
    if a.json {
        let results: Vec<Value> = hits.iter().map(|&(n, how)| hit(&snap, n, how)).collect();
        let v = json!({"query": q, "results": results, "truncated": truncated});
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print_text(&snap, &hits);
        eprintln!(
            "{} result{}{}",
            hits.len(),
            if hits.len() == 1 { "" } else { "s" },
            if truncated {
                " (more match; --limit N)"
            } else {
                ""
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Exact identifier, bundle id (or alias), exact name, name prefix; each node once, at most
/// `limit`, and whether more matched.
pub fn search(snap: &Snapshot, q: &str, limit: usize) -> (Vec<(u32, &'static str)>, bool) {
    let mut hits: Vec<(u32, &'static str)> = Vec::new();
    if let Some(n) = snap.lookup_identifier(q) {
        hits.push((n, "identifier"));
    }
    if let Some(n) = snap.lookup(q) {
        hits.push((n, "id"));
    }
    // Names are stored normalised (NFKC, single spaces); so is the query.
    let name = qinglian_model::normalize::name(q);
    for n in snap.search_name(&name, true, limit + 1) {
        hits.push((n, "name"));
    }
    for n in snap.search_name(&name, false, limit + 1) {
        hits.push((n, "name_prefix"));
    }
    let mut seen = Vec::new();
    hits.retain(|&(n, _)| {
        if seen.contains(&n) {
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

/// The resident ID number with its middle eight digits hidden (region and check digits
/// stay), as the API shows it.
fn masked(ident: &str) -> Option<String> {
    (ident.len() == 18 && ident.is_ascii())
        .then(|| format!("{}********{}", &ident[..6], &ident[14..]))
}

/// One result as the API's `GET /v1/entities` gives it.
fn hit(snap: &Snapshot, n: u32, how: &str) -> Value {
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

/// One row per result: match, kind, id, name, born, identifier, positions.
fn print_text(snap: &Snapshot, hits: &[(u32, &str)]) {
    let mut t = Table::new(&[Align::Left; 7]);
    t.row([
        "match",
        "kind",
        "id",
        "name",
        "born",
        "identifier",
        "positions",
    ]);
    for &(n, how) in hits {
        let kind = snap.kind_of(n);
        let d = snap.dates()[n as usize];
        let (born, ident, positions) = match kind {
            NodeKind::Person => {
                let pos = snap.edges(EdgeKind::Position);
                let held: Vec<String> = pos
                    .out(n)
                    .map(|e| {
                        format!(
                            "{} {} {} [{}]",
                            snap.label_text(EdgeKind::Position, pos.label(e)),
                            snap.ext(pos.dst[e]),
                            snap.name(pos.dst[e]),
                            pos.interval(e)
                        )
                    })
                    .collect();
                (
                    if d == NO_DATE {
                        String::new()
                    } else {
                        Date(d).ymd().0.to_string()
                    },
                    masked(snap.identifier(n)).unwrap_or_default(),
                    held.join("; "),
                )
            }
            NodeKind::Company => (String::new(), snap.identifier(n).to_owned(), String::new()),
            _ => (String::new(), String::new(), String::new()),
        };
        t.row([
            how.to_owned(),
            kind.as_str().to_owned(),
            snap.ext(n).to_owned(),
            snap.name(n).to_owned(),
            born,
            ident,
            positions,
        ]);
    }
    if hits.is_empty() {
        return;
    }
    t.print();
}
