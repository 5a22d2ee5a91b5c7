//! `qinglian stats`.

use super::DbArg;
use anyhow::Result;
use qinglian_model::{EdgeKind, NodeKind};
use std::process::ExitCode;

/// Counts of nodes and edges per kind, blacklist entries and merges.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub db: DbArg,
    /// Print JSON: {"nodes": {...}, "edges": {...}, "blacklist": n, "merges": n, ...}.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: &Args) -> Result<ExitCode> {
    let db = super::db::open(&a.db.db, false)?;
    let st = db.state();
    let c = &st.counts;
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
        println!("nodes:");
        for k in NodeKind::ALL {
            println!("  {:<12} {:>12}", k.as_str(), c.nodes[k.index()]);
        }
        println!("edges:");
        for k in EdgeKind::ALL {
            println!("  {:<12} {:>12}", k.as_str(), c.edges[k.index()]);
        }
        println!("blacklist entries: {}\nmerges: {}", c.blacklist, c.merges);
    }
    Ok(ExitCode::SUCCESS)
}
