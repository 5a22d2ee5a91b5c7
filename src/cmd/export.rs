//! `qinglian export`: the whole graph, a neighbourhood or a finding's evidence, in every format
//! of `qinglian_export`; and [`emit`], which `subgraph` shares.

use super::DbArg;
use anyhow::{bail, Context, Result};
use qinglian_engine::exec::ExecOptions;
use qinglian_engine::paths::neighbourhood;
use qinglian_engine::snapshot::Snapshot;
use qinglian_export::history::{PastFact, TxTime};
use qinglian_export::{Format, Partition, Selection, Table};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Export formats.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ExportFormat {
    /// `{"nodes": [...], "edges": [...], "truncated": …}`, every attribute.
    Json,
    /// GraphML (yEd, Gephi, networkx), every attribute typed.
    Graphml,
    /// GEXF 1.3 (Gephi), dynamic: validity as spells for the timeline.
    Gexf,
    /// Gephi's spreadsheet tables (Id,Label,… and Source,Target,Type,…).
    Csv,
    /// Graphviz DOT.
    Dot,
    /// Parquet, one file per node and edge kind (a folder).
    Parquet,
    /// CSV files and the command for `neo4j-admin database import` (a folder).
    Neo4j,
    /// FollowTheMoney entities as JSON lines (Aleph, OpenSanctions, yente).
    Ftm,
}

impl ExportFormat {
    fn lib(self) -> Format {
        match self {
            ExportFormat::Json => Format::Json,
            ExportFormat::Graphml => Format::GraphMl,
            ExportFormat::Gexf => Format::Gexf,
            ExportFormat::Csv => Format::Csv,
            ExportFormat::Dot => Format::Dot,
            ExportFormat::Parquet => Format::Parquet,
            ExportFormat::Neo4j => Format::Neo4j,
            ExportFormat::Ftm => Format::Ftm,
        }
    }
}

/// The CSV table of a one-file CSV export.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum CsvTable {
    /// One row per node (Id,Label,…).
    Nodes,
    /// One row per edge (Source,Target,Type,Id,Label,…).
    Edges,
}

/// Export the whole graph, the neighbourhood of an entity, or a finding's evidence.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub db: DbArg,
    #[command(flatten)]
    pub known: super::KnownAt,
    /// Output format.
    #[arg(long, value_enum)]
    pub format: ExportFormat,
    /// Where to write: a file (json, graphml, gexf, dot, ftm; csv when it ends in .csv), or a folder
    /// (parquet, neo4j, csv otherwise). Standard output when omitted (one-file formats only).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Only the neighbourhood of this entity (bundle id, alias or identifier).
    #[arg(long, conflicts_with = "finding")]
    pub center: Option<String>,
    /// Radius of --center in hops.
    #[arg(long, default_value_t = 2, requires = "center")]
    pub hops: u32,
    /// Most nodes of a --center neighbourhood.
    #[arg(long, default_value_t = 10_000, requires = "center")]
    pub max_nodes: usize,
    /// Only edges that hold on this day (YYYY-MM-DD), with --center.
    #[arg(long, value_parser = super::rules::date_arg, requires = "center")]
    pub as_of: Option<String>,
    /// Only the evidence of this finding (its id, as `screen` prints it).
    #[arg(long)]
    pub finding: Option<String>,
    /// A folder of rule files that add to or override the built-in rules (with --finding).
    #[arg(long, requires = "finding")]
    pub rules: Option<PathBuf>,
    /// The CSV table written to standard output or to an --out ending in .csv.
    #[arg(long, value_enum, default_value_t = CsvTable::Edges)]
    pub table: CsvTable,
    /// Parquet only: split each kind into this many Hive partitions (`bucket=K/`) by the hash
    /// of the id (an edge: its tail's), for Spark and DuckDB (docs/formats.md).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub buckets: u32,
    /// Parquet only: split each kind into Hive partitions `part_region=R/` by the region of the
    /// agency each row belongs to (an agency's own; a tender's, contract's or subsidy's
    /// agency's; an edge's by its ends), rows of no region in Hive's null partition.
    #[arg(long, conflicts_with = "buckets")]
    pub by_region: bool,
    /// Parquet of the whole graph only: transaction time too — each edge's `asserted_at` and
    /// `changed_at` loads, and `history/<KIND>.parquet` with the facts a later load retracted
    /// or changed (docs/formats.md).
    #[arg(long, conflicts_with_all = ["center", "finding"])]
    pub history: bool,
}

pub fn run(a: &Args) -> Result<ExitCode> {
    let (db, snap) = super::db::snapshot_at(&a.db.db, a.known.known_at)?;
    if a.history && !matches!(a.format, ExportFormat::Parquet) {
        bail!("--history is written to Parquet only (--format parquet)");
    }
    let tx = if a.history {
        Some(tx_time(&db, a.known.known_at)?)
    } else {
        None
    };
    drop(db);
    let sel = if let Some(c) = &a.center {
        let c = super::graph::find(&snap, c)?;
        let as_of = super::rules::parse_date(&a.as_of)?;
        let (nodes, edges, cut) = neighbourhood(&snap, c, a.hops, as_of, a.max_nodes);
        let why = cut.then(|| format!("cut at --max-nodes {}", a.max_nodes));
        Selection::new(&snap, nodes, &edges, why)
    } else if let Some(id) = &a.finding {
        evidence(&snap, id, a.rules.as_ref())?
    } else {
        Selection::all(&snap)
    };
    emit(
        &snap,
        &sel,
        (
            a.format,
            if a.by_region {
                Partition::Region
            } else {
                Partition::Buckets(a.buckets)
            },
            tx.as_ref(),
        ),
        a.table,
        a.out.as_deref(),
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Transaction time from the store's log (up to `known_at`), in export terms: each current
/// fact's first and last-changed load by its kind and row, and every fact that no longer holds.
fn tx_time(
    db: &qinglian_store::GraphDb<qinglian_store::SledStore>,
    known_at: Option<u32>,
) -> Result<TxTime> {
    let log = super::db::Log::read(db, known_at)?;
    let mut tx = TxTime::default();
    for f in &log.facts.current {
        let key = (f.rec.kind, f.rec.source.file.0, f.rec.source.line);
        tx.current.insert(key, (f.asserted, f.changed));
    }
    for (r, what) in log.past() {
        let e = &r.fact.rec;
        let (file, load) = log.file(e.source.file.0);
        tx.past.push(PastFact {
            kind: e.kind,
            from: log.ext(e.from),
            to: log.ext(e.to),
            label: e.label.clone(),
            valid: e.valid,
            value: e.value,
            source: format!("{file}:{} (load {load})", e.source.line),
            load,
            asserted: r.fact.asserted,
            until: r.at,
            what,
        });
    }
    tx.past.sort_by_key(|p| p.until);
    Ok(tx)
}

/// The evidence of finding `id` on the current snapshot.
fn evidence(snap: &Snapshot, id: &str, rules: Option<&PathBuf>) -> Result<Selection> {
    let rules = super::rules::load_rules(rules)?;
    let all = super::rules::screen_all(snap, &rules, &[], &ExecOptions::default(), false)?;
    match all.iter().find(|f| f.id == id) {
        Some(f) => Ok(Selection::of_evidence(snap, &f.evidence)),
        None => bail!("no finding {id} on this data (`qinglian screen` lists the current ones)"),
    }
}

/// Writes a selection: folder formats (and CSV to a path not ending in .csv) into a folder
/// with a manifest, other formats to a file or standard output; the counts to standard error.
pub fn emit(
    snap: &Snapshot,
    sel: &Selection,
    (format, partition, tx): (ExportFormat, Partition, Option<&TxTime>),
    table: CsvTable,
    out: Option<&Path>,
) -> Result<()> {
    let f = format.lib();
    let table = match table {
        CsvTable::Nodes => Table::Nodes,
        CsvTable::Edges => Table::Edges,
    };
    let csv_file = out.is_some_and(|p| p.extension().is_some_and(|e| e == "csv"));
    let folder = f.is_folder() || (f == Format::Csv && out.is_some() && !csv_file);
    match out {
        Some(dir) if folder => {
            let files = qinglian_export::write_dir_partitioned(dir, snap, sel, f, (partition, tx))?;
            eprintln!(
                "wrote {} files and manifest.json to {}",
                files.len(),
                dir.display()
            );
        }
        None if folder => bail!(
            "--format {} writes a folder of files: give --out FOLDER",
            f.ext()
        ),
        Some(p) => {
            let file =
                std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?;
            let mut w = std::io::BufWriter::new(file);
            qinglian_export::write(&mut w, snap, sel, f, table)?;
            w.flush()
                .with_context(|| format!("writing {}", p.display()))?;
        }
        None => {
            let mut w = std::io::BufWriter::new(std::io::stdout().lock());
            qinglian_export::write(&mut w, snap, sel, f, table)?;
            w.flush()?;
        }
    }
    eprintln!(
        "{} nodes, {} edges{}",
        sel.nodes.len(),
        sel.edges.len(),
        sel.truncated
            .as_ref()
            .map(|w| format!(" (truncated: {w})"))
            .unwrap_or_default()
    );
    Ok(())
}
