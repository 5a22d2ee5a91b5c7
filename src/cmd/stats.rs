//! `qinglian stats`.

use super::out::{Align, Table};
use super::DbArg;
use anyhow::Result;
use qinglian_model::{EdgeKind, NodeKind};
use std::process::ExitCode;

/// Counts of nodes and edges per kind, blacklist entries and merges.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub db: DbArg,
    /// Print JSON: {"nodes": {...}, "edges": {...}, "blacklist": n, "merges": n, ...}
    /// (docs/cli.md).
    #[arg(long)]
    pub json: bool,
    /// Count what the database knew after this load.
    #[arg(long, value_name = "LOAD")]
    pub known_at: Option<u32>,
}

pub fn run(a: &Args) -> Result<ExitCode> {
    // The current facts (or those known after a load) are the snapshot's: a fact loaded twice
    // is one, a retracted fact is gone. Merges count the rows resolved into another.
    let (db, snap) = super::db::snapshot_at(&a.db.db, a.known_at)?;
    let st = db.state();
    let mut c = st.counts.clone();
    c.nodes = snap.stats().nodes;
    c.edges = snap.stats().edges;
    c.blacklist = snap.stats().blacklist;
    if a.json {
        let nodes: serde_json::Map<String, serde_json::Value> = NodeKind::ALL
            .iter()
            .map(|k| (k.as_str().to_owned(), c.nodes[k.index()].into()))
            .collect();
        let edges: serde_json::Map<String, serde_json::Value> = EdgeKind::ALL
            .iter()
            .map(|k| (k.as_str().to_owned(), c.edges[k.index()].into()))
            .collect();
        let v = serde_json::json!({
            "nodes": nodes, "edges": edges, "blacklist": c.blacklist, "merges": c.merges,
            "loads": st.loads, "generation": st.generation,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!("loads: {}  (generation {})", st.loads, st.generation);
        let mut t = Table::new(&[Align::Left, Align::Right]).indent("  ");
        for k in NodeKind::ALL {
            t.row([k.as_str().to_owned(), c.nodes[k.index()].to_string()]);
        }
        let nodes = t.render();
        let mut t = Table::new(&[Align::Left, Align::Right]).indent("  ");
        for k in EdgeKind::ALL {
            t.row([k.as_str().to_owned(), c.edges[k.index()].to_string()]);
        }
        print!("nodes:\n{nodes}edges:\n{}", t.render());
        println!("blacklist entries: {}\nmerges: {}", c.blacklist, c.merges);
    }
    Ok(ExitCode::SUCCESS)
}
