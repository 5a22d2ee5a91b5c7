//! `qinglian show`.

use super::DbArg;
use anyhow::{Context, Result};
use qinglian_engine::snapshot::Snapshot;
use qinglian_model::{Date, EdgeKind};
use std::process::ExitCode;

/// Show an entity: its attributes, sources, blacklist entries and every edge with its
/// validity and source row.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Bundle id, alias, resident ID number or credit code.
    pub id: String,
    #[command(flatten)]
    pub db: DbArg,
    #[command(flatten)]
    pub known: super::KnownAt,
    /// At most this many edges per kind and direction.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Also list the entity's facts that no longer hold: retracted by a later load of their
    /// source, or changed by a later row (each with the load, and the row that stated it).
    #[arg(long)]
    pub history: bool,
}

pub fn run(a: &Args) -> Result<ExitCode> {
    let (db, snap) = super::db::snapshot_at(&a.db.db, a.known.known_at)?;
    let n = snap
        .lookup(&a.id)
        .or_else(|| snap.lookup_identifier(&a.id))
        .with_context(|| format!("no entity with id, alias or identifier {:?}", a.id))?;
    let mut v = qinglian_engine::describe::entity(&snap, n, a.limit, 0);
    let history = if a.history {
        history(&db, snap.ext(n), a.known.known_at)?
    } else {
        Vec::new()
    };
    if a.json {
        if a.history {
            v["history"] = serde_json::to_value(&history)?;
        }
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print_text(&snap, n, a.limit);
        if a.history {
            println!("history ({} facts that no longer hold):", history.len());
            for h in &history {
                println!(
                    "  {} {} -> {} [{}]: {} at load {} (stated at {}:{}, load {})",
                    h.kind, h.from, h.to, h.label, h.what, h.at, h.file, h.line, h.load
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A fact that no longer holds, as `show --history` prints it.
#[derive(serde::Serialize)]
struct Past {
    kind: String,
    from: String,
    to: String,
    label: String,
    /// `retracted` or `changed`.
    what: &'static str,
    /// The load that retracted or changed it.
    at: u32,
    file: String,
    line: u32,
    load: u32,
}

/// The facts of entity `ext` that a later load retracted or changed (up to `known_at`), in
/// load order: read from the store's log (`qinglian_store::facts`), not the snapshot.
fn history(
    db: &qinglian_store::GraphDb<qinglian_store::SledStore>,
    ext: &str,
    known_at: Option<u32>,
) -> Result<Vec<Past>> {
    let log = super::db::Log::read(db, known_at)?;
    let mut out: Vec<Past> = Vec::new();
    for (r, what) in log.past() {
        let e = &r.fact.rec;
        let (from, to) = (log.ext(e.from), log.ext(e.to));
        if from != ext && to != ext {
            continue;
        }
        let (file, load) = log.file(e.source.file.0);
        out.push(Past {
            kind: e.kind.to_string(),
            from,
            to,
            label: e.label.clone(),
            what,
            at: r.at,
            file,
            line: e.source.line,
            load,
        });
    }
    out.sort_by_key(|p| p.at);
    Ok(out)
}

fn print_text(snap: &Snapshot, n: u32, limit: usize) {
    let d = snap.detail(n);
    println!("{} {} — {}", snap.kind_of(n), snap.ext(n), snap.name(n));
    if let Some(d) = &d {
        if let Some(i) = &d.identifier {
            println!("  identifier: {i}");
        }
        for (k, v) in d.attrs.fields() {
            println!("  {k}: {v}");
        }
        for (k, v) in &d.props {
            println!("  {k}: {v}");
        }
        if !d.aliases.is_empty() {
            println!("  also known as: {}", d.aliases.join(", "));
        }
        for s in &d.sources {
            println!(
                "  source: {}",
                qinglian_engine::describe::cite(snap, s.file.0, s.line)
            );
        }
        for b in &d.blacklist {
            let listed = b
                .listed
                .map_or_else(|| "date unknown".to_owned(), |d| d.to_string());
            println!(
                "  BLACKLISTED {listed}: {} ({}) [{}]",
                b.reason,
                b.list_source,
                qinglian_engine::describe::cite(snap, b.source.file.0, b.source.line)
            );
        }
    }
    for k in EdgeKind::ALL {
        let ev = snap.edges(*k);
        for (dir, edges) in [
            ("->", ev.out(n).collect::<Vec<usize>>()),
            ("<-", ev.inc(n).iter().map(|&e| e as usize).collect()),
        ] {
            for (i, e) in edges.iter().enumerate() {
                if i == limit {
                    println!("  ... {} more {k} edges ({dir})", edges.len() - limit);
                    break;
                }
                let other = if dir == "->" { ev.dst[*e] } else { ev.src[*e] };
                let label = snap.label_text(*k, ev.label(*e));
                let iv = ev.interval(*e);
                let valid = if iv == qinglian_model::Interval::ALWAYS {
                    String::new()
                } else {
                    format!(" [{iv}]")
                };
                let value = ev.value(*e).map(|v| format!(" {v}")).unwrap_or_default();
                let (f, l) = ev.source(*e);
                println!(
                    "  {dir} {k}{}{value}{valid} {} {} — {}  ({})",
                    if label.is_empty() {
                        String::new()
                    } else {
                        format!(":{label}")
                    },
                    snap.kind_of(other),
                    snap.ext(other),
                    snap.name(other),
                    qinglian_engine::describe::cite(snap, f, l)
                );
            }
        }
    }
    let _ = Date::today();
}
