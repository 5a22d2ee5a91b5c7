//! `qinglian search`: who is this? People and companies by name, identifier or bundle id.

use super::out::{Align, Table};
use super::DbArg;
use anyhow::{bail, Result};
use qinglian_engine::search::{hit_json as hit, masked, search as find, MAX_QUERY_CHARS};
use qinglian_engine::snapshot::{Snapshot, NO_DATE};
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
    let (hits, truncated) = find(&snap, q, limit, |_, _| true);
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
