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
    /// At most this many edges per kind and direction.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: &Args) -> Result<ExitCode> {
    let (_db, snap) = super::db::open_snapshot(&a.db.db)?;
    let n = snap
        .lookup(&a.id)
        .or_else(|| snap.lookup_identifier(&a.id))
        .with_context(|| format!("no entity with id, alias or identifier {:?}", a.id))?;
    let v = qinglian_engine::describe::entity(&snap, n, a.limit, 0);
    if a.json {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print_text(&snap, n, a.limit);
    }
    Ok(ExitCode::SUCCESS)
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
