//! `qinglian path`, `qinglian subgraph`, `qinglian merges`, `qinglian loads`.

use super::out::{self, Align, Table};
use super::DbArg;
use anyhow::{Context, Result};
use qinglian_engine::describe::{cite, edge_json, node_json};
use qinglian_engine::paths::{neighbourhood, PathOptions, Searcher};
use qinglian_engine::snapshot::Snapshot;
use qinglian_model::EdgeKind;
use std::path::PathBuf;
use std::process::ExitCode;

/// Shortest evidence chains between two entities.
#[derive(Debug, clap::Args)]
pub struct PathArgs {
    /// From: bundle id, alias, resident ID number or credit code.
    pub from: String,
    /// To.
    pub to: String,
    #[command(flatten)]
    pub db: DbArg,
    #[command(flatten)]
    pub known: super::KnownAt,
    /// Longest chain searched.
    #[arg(long, default_value_t = 6)]
    pub max_hops: u32,
    /// Only edges that hold on this day (YYYY-MM-DD).
    #[arg(long, value_parser = super::rules::date_arg)]
    pub as_of: Option<String>,
    /// Edge kinds to follow, comma-separated (default: all), e.g. RELATION,OWNS,ROLE.
    #[arg(long, value_delimiter = ',', value_parser = edge_kind_arg)]
    pub kinds: Vec<EdgeKind>,
    /// Most chains printed.
    #[arg(long, default_value_t = 10)]
    pub limit: usize,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// An edge kind named on the command line, any case (`--kinds relation,owns`).
fn edge_kind_arg(s: &str) -> Result<EdgeKind, String> {
    EdgeKind::parse(&s.trim().to_ascii_uppercase()).ok_or_else(|| {
        format!(
            "unknown edge kind; expected one of {}",
            EdgeKind::ALL
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

/// Export the neighbourhood of an entity.
#[derive(Debug, clap::Args)]
pub struct SubgraphArgs {
    /// The centre: bundle id, alias or identifier.
    pub center: String,
    #[command(flatten)]
    pub db: DbArg,
    #[command(flatten)]
    pub known: super::KnownAt,
    /// Radius in hops.
    #[arg(long, default_value_t = 2)]
    pub hops: u32,
    /// Output format (parquet and neo4j write a folder: give --out).
    #[arg(long, value_enum, default_value_t = super::export::ExportFormat::Json)]
    pub format: super::export::ExportFormat,
    /// The CSV table written to standard output or to an --out ending in .csv (another --out
    /// gets both tables).
    #[arg(long, value_enum, default_value_t = super::export::CsvTable::Edges)]
    pub table: super::export::CsvTable,
    /// Only edges that hold on this day (YYYY-MM-DD).
    #[arg(long, value_parser = super::rules::date_arg)]
    pub as_of: Option<String>,
    /// Most nodes exported.
    #[arg(long, default_value_t = 10_000)]
    pub max_nodes: usize,
    /// Write here instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// List recorded merges (rows resolved to one entity).
#[derive(Debug, clap::Args)]
pub struct MergesArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// Print JSON lines.
    #[arg(long)]
    pub json: bool,
}

/// List committed loads with their per-file counts.
#[derive(Debug, clap::Args)]
pub struct LoadsArgs {
    #[command(flatten)]
    pub db: DbArg,
}

/// Finds a node by id, alias or identifier.
pub fn find(snap: &Snapshot, id: &str) -> Result<u32> {
    snap.lookup(id)
        .or_else(|| snap.lookup_identifier(id))
        .with_context(|| format!("no entity with id, alias or identifier {id:?}"))
}

pub fn path(a: &PathArgs) -> Result<ExitCode> {
    let (_db, snap) = super::db::snapshot_at(&a.db.db, a.known.known_at)?;
    let (from, to) = (find(&snap, &a.from)?, find(&snap, &a.to)?);
    let as_of = super::rules::parse_date(&a.as_of)?;
    let opts = PathOptions {
        max_hops: a.max_hops,
        as_of,
        kinds: a.kinds.clone(),
        limit: a.limit,
        ..PathOptions::default()
    };
    let t = std::time::Instant::now();
    let res = Searcher::new(&snap).shortest(from, to, &opts);
    let when = a
        .as_of
        .as_deref()
        .map(|d| format!(" as of {d}"))
        .unwrap_or_default();
    if a.json {
        let paths: Vec<serde_json::Value> = res
            .paths
            .iter()
            .map(|p| {
                serde_json::json!({
                    "hops": p.len(),
                    "edges": p.iter().map(|e| edge_json(&snap, e.kind(), e.idx as usize)).collect::<Vec<_>>(),
                })
            })
            .collect();
        let v = serde_json::json!({
            "from": node_json(&snap, from), "to": node_json(&snap, to), "max_hops": a.max_hops, "as_of": a.as_of,
            "hops": res.hops, "paths": paths, "more": res.more, "truncated": res.truncated, "visited": res.visited,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    match res.hops {
        None if res.truncated => println!(
            "search stopped at its budget after {} nodes: no answer within {} hops{when}",
            res.visited, a.max_hops
        ),
        None => println!(
            "no chain between {} and {} within {} hops{when}",
            snap.ext(from),
            snap.ext(to),
            a.max_hops
        ),
        Some(h) => {
            println!(
                "{} shortest chain(s) of {h} hop(s){when}{}:",
                res.paths.len(),
                if res.more {
                    " (more exist; --limit)"
                } else {
                    ""
                }
            );
            for (i, p) in res.paths.iter().enumerate() {
                println!("{}.", i + 1);
                let mut cur = from;
                println!(
                    "   {} {} {}",
                    snap.kind_of(cur),
                    snap.ext(cur),
                    snap.name(cur)
                );
                for e in p {
                    let v = snap.edges(e.kind());
                    let i = e.idx as usize;
                    let (s, d) = (v.src[i], v.dst[i]);
                    let (next, arrow) = if s == cur { (d, "->") } else { (s, "<-") };
                    let label = snap.label_text(e.kind(), v.label(i));
                    let (f, l) = v.source(i);
                    println!(
                        "     {arrow} {}{} [{}] ({})",
                        e.kind(),
                        if label.is_empty() {
                            String::new()
                        } else {
                            format!(":{label}")
                        },
                        v.interval(i),
                        cite(&snap, f, l)
                    );
                    println!(
                        "   {} {} {}",
                        snap.kind_of(next),
                        snap.ext(next),
                        snap.name(next)
                    );
                    cur = next;
                }
            }
        }
    }
    eprintln!(
        "{} nodes visited in {:.1} ms",
        res.visited,
        t.elapsed().as_secs_f64() * 1e3
    );
    Ok(ExitCode::SUCCESS)
}

pub fn subgraph(a: &SubgraphArgs) -> Result<ExitCode> {
    let (_db, snap) = super::db::snapshot_at(&a.db.db, a.known.known_at)?;
    let c = find(&snap, &a.center)?;
    let (nodes, edges, truncated) = neighbourhood(
        &snap,
        c,
        a.hops,
        super::rules::parse_date(&a.as_of)?,
        a.max_nodes,
    );
    let why = truncated.then(|| format!("cut at --max-nodes {}", a.max_nodes));
    let sel = qinglian_export::Selection::new(&snap, nodes, &edges, why);
    super::export::emit(
        &snap,
        &sel,
        (a.format, qinglian_export::Partition::Whole, None),
        a.table,
        a.out.as_deref(),
    )?;
    Ok(ExitCode::SUCCESS)
}

pub fn merges(a: &MergesArgs) -> Result<ExitCode> {
    let db = super::db::open(&a.db.db, false)?;
    let files: std::collections::HashMap<u32, (String, u32)> = db
        .files()?
        .into_iter()
        .map(|f| (f.id.0, (f.name, f.load)))
        .collect();
    let cite = |p: qinglian_model::Provenance| {
        files.get(&p.file.0).map_or_else(
            || format!("?:{}", p.line),
            |(n, l)| format!("{n}:{} (load {l})", p.line),
        )
    };
    let ms = db.merge_records()?;
    for m in &ms {
        if a.json {
            println!(
                "{}",
                serde_json::json!({"kept": m.kept_ext, "merged": m.merged_ext, "key": m.key.as_str(), "value": m.value,
                    "kept_source": cite(m.kept), "merged_source": cite(m.merged), "note": m.note})
            );
        } else {
            println!(
                "{} <- {}  same {} {}  [{} / {}]{}",
                m.kept_ext,
                m.merged_ext,
                m.key.as_str(),
                m.value,
                cite(m.kept),
                cite(m.merged),
                if m.note.is_empty() {
                    String::new()
                } else {
                    format!("  {}", m.note)
                }
            );
        }
    }
    if !a.json {
        eprintln!("{} merge(s)", ms.len());
    }
    Ok(ExitCode::SUCCESS)
}

pub fn loads(a: &LoadsArgs) -> Result<ExitCode> {
    let db = super::db::open(&a.db.db, false)?;
    for l in db.loads()? {
        println!(
            "load #{} {} at {}, {} warnings, bundle sha256 {}",
            l.number,
            l.bundle,
            out::unix_secs(l.unix_time),
            l.warnings,
            l.bundle_hash
        );
        let mut t = Table::new(&[
            Align::Left,
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Right,
        ])
        .indent("  ");
        t.row(["file", "read", "loaded", "merged", "warned"]);
        for f in &l.files {
            t.row([
                f.name.clone(),
                f.read.to_string(),
                f.loaded.to_string(),
                f.merged.to_string(),
                f.warned.to_string(),
            ]);
        }
        t.print();
    }
    Ok(ExitCode::SUCCESS)
}
