//! The graph out: the whole graph, a neighbourhood or a finding's evidence, in the formats
//! investigators' tools read — JSON, GraphML (yEd, networkx), GEXF (Gephi, dynamic), Gephi's
//! CSV node and edge tables, DOT, Parquet (DuckDB, Spark, pandas), Neo4j's import CSV and
//! FollowTheMoney entities (Aleph, OpenSanctions).
//!
//! Every format writes the rows of [`table`], so every format keeps every attribute a node or
//! edge has (identifiers, dates, address, phone, status, blacklist entries, shares, bid amounts
//! and outcomes, extra columns, validity, source rows). Text that came from a bundle is escaped
//! for its format. Single-stream formats ([`write`]) go to a file, standard output or an HTTP
//! body; folder formats ([`write_dir`]) write one file per kind and a `manifest.json` naming
//! every file, its row count and its typed columns.

pub mod sheet;
pub mod table;

pub mod columnar;
mod ftm;
mod gephi;
pub mod history;
mod neo4j;
mod text;
mod xml;

pub use columnar::Partition;
pub use gephi::Table;
pub use table::Selection;

use qinglian_engine::exec::EdgeRef;
use qinglian_engine::snapshot::Snapshot;
use qinglian_model::{EdgeKind, NodeKind};
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};
use table::Column;

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Writing a file or stream failed.
    #[error("{path}: {source}")]
    Io {
        /// The file (empty for a stream).
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Writing a CSV file failed.
    #[error("{path}: {source}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: csv::Error,
    },
    /// The Parquet writer refused.
    #[error("parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    /// Arrow refused a batch.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    /// The format writes a folder, not a stream (or the other way round).
    #[error("{0}")]
    Usage(String),
    /// A report could not be rendered.
    #[error("render: {0}")]
    Render(String),
}

impl ExportError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> ExportError {
        ExportError::Io {
            path: path.to_owned(),
            source,
        }
    }

    pub(crate) fn csv(path: &Path, source: csv::Error) -> ExportError {
        ExportError::Csv {
            path: path.to_owned(),
            source,
        }
    }
}

/// Export formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `{"nodes": [...], "edges": [...], "truncated": …}`
    Json,
    /// GraphML (yEd, Gephi, networkx).
    GraphMl,
    /// GEXF 1.3, dynamic (Gephi).
    Gexf,
    /// Gephi's spreadsheet tables: a node table and an edge table.
    Csv,
    /// Graphviz DOT.
    Dot,
    /// Parquet, one file per node and edge kind.
    Parquet,
    /// `neo4j-admin database import` CSV files.
    Neo4j,
    /// FollowTheMoney entities, JSON lines.
    Ftm,
}

impl Format {
    /// The names [`Format::parse`] accepts.
    pub const NAMES: &'static str = "json, graphml, gexf, csv, dot, parquet, neo4j, ftm";

    /// Parses one of [`Format::NAMES`].
    pub fn parse(s: &str) -> Option<Format> {
        Some(match s {
            "json" => Format::Json,
            "graphml" => Format::GraphMl,
            "gexf" => Format::Gexf,
            "csv" => Format::Csv,
            "dot" => Format::Dot,
            "parquet" => Format::Parquet,
            "neo4j" => Format::Neo4j,
            "ftm" => Format::Ftm,
            _ => return None,
        })
    }

    /// Whether the format is a folder of files (Parquet, Neo4j); CSV is both: one table as a
    /// stream, the two tables as a folder.
    pub fn is_folder(self) -> bool {
        matches!(self, Format::Parquet | Format::Neo4j)
    }

    /// MIME type of the stream.
    pub fn mime(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::GraphMl => "application/graphml+xml",
            Format::Gexf => "application/gexf+xml",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Dot => "text/vnd.graphviz",
            Format::Ftm => "application/x-ndjson",
            Format::Parquet | Format::Neo4j => "application/octet-stream",
        }
    }

    /// File extension of the stream.
    pub fn ext(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::GraphMl => "graphml",
            Format::Gexf => "gexf",
            Format::Csv => "csv",
            Format::Dot => "dot",
            Format::Parquet => "parquet",
            Format::Neo4j => "neo4j",
            Format::Ftm => "ftm.jsonl",
        }
    }
}

/// A file a folder export wrote: its path under the folder, the kind it holds, its rows and
/// typed columns.
#[derive(Clone, Debug)]
pub struct FileEntry {
    /// Path relative to the folder, with `/`.
    pub path: String,
    /// Node or edge kind.
    pub kind: String,
    /// Rows written.
    pub rows: u64,
    /// Columns.
    pub columns: Vec<Column>,
}

impl FileEntry {
    pub(crate) fn new(path: String, kind: &str, rows: u64, columns: &[Column]) -> FileEntry {
        FileEntry {
            path,
            kind: kind.to_owned(),
            rows,
            columns: columns.to_vec(),
        }
    }
}

/// The selection's nodes grouped by kind, kinds in declaration order.
pub(crate) fn by_node_kind(snap: &Snapshot, nodes: &[u32]) -> Vec<(NodeKind, Vec<u32>)> {
    let mut groups: Vec<Vec<u32>> = vec![Vec::new(); NodeKind::COUNT];
    for &n in nodes {
        groups[snap.kind_of(n).index()].push(n);
    }
    NodeKind::ALL
        .iter()
        .copied()
        .zip(groups)
        .filter(|(_, g)| !g.is_empty())
        .collect()
}

/// The selection's edges grouped by kind, kinds in declaration order.
pub(crate) fn by_edge_kind(edges: &[EdgeRef]) -> Vec<(EdgeKind, Vec<EdgeRef>)> {
    let mut groups: Vec<Vec<EdgeRef>> = vec![Vec::new(); EdgeKind::COUNT];
    for e in edges {
        groups[e.kind as usize].push(*e);
    }
    EdgeKind::ALL
        .iter()
        .copied()
        .zip(groups)
        .filter(|(_, g)| !g.is_empty())
        .collect()
}

/// Writes a stream format (`table` picks the CSV table; other formats ignore it).
pub fn write<W: Write>(
    w: &mut W,
    snap: &Snapshot,
    sel: &Selection,
    format: Format,
    table: Table,
) -> Result<(), ExportError> {
    let io = |e| ExportError::io(Path::new(""), e);
    match format {
        Format::Json => text::json(w, snap, sel).map_err(io),
        Format::GraphMl => xml::graphml(w, snap, sel).map_err(io),
        Format::Gexf => xml::gexf(w, snap, sel).map_err(io),
        Format::Csv => gephi::write(w, snap, sel, table).map_err(io),
        Format::Dot => text::dot(w, snap, sel).map_err(io),
        Format::Ftm => ftm::write(w, snap, sel).map_err(io),
        Format::Parquet | Format::Neo4j => Err(ExportError::Usage(format!(
            "{} writes a folder of files: give a folder",
            format.ext()
        ))),
    }
}

/// A stream format into memory (for an HTTP body).
pub fn render(
    snap: &Snapshot,
    sel: &Selection,
    format: Format,
    table: Table,
) -> Result<Vec<u8>, ExportError> {
    let mut buf = Vec::new();
    write(&mut buf, snap, sel, format, table)?;
    Ok(buf)
}

/// Writes a folder format under `dir` (created if absent): Parquet, Neo4j, or CSV as
/// `nodes.csv` and `edges.csv`; then `manifest.json`. Returns the files written.
pub fn write_dir(
    dir: &Path,
    snap: &Snapshot,
    sel: &Selection,
    format: Format,
) -> Result<Vec<FileEntry>, ExportError> {
    write_dir_partitioned(dir, snap, sel, format, (Partition::Whole, None))
}

/// [`write_dir`], Parquet split into Hive partitions per kind ([`Partition`]: by the hash of
/// the id, or by agency region).
///
/// With `tx`, Parquet carries transaction time too ([`history`]): Parquet only.
pub fn write_dir_partitioned(
    dir: &Path,
    snap: &Snapshot,
    sel: &Selection,
    format: Format,
    (partition, tx): (Partition, Option<&history::TxTime>),
) -> Result<Vec<FileEntry>, ExportError> {
    std::fs::create_dir_all(dir).map_err(|e| ExportError::io(dir, e))?;
    let buckets = match partition {
        Partition::Buckets(k) => k.max(1),
        _ => 1,
    };
    let whole = buckets == 1 && partition != Partition::Region;
    if !whole && format != Format::Parquet {
        return Err(ExportError::Usage(format!(
            "partitions split Parquet files only, not {}",
            format.ext()
        )));
    }
    if tx.is_some() && format != Format::Parquet {
        return Err(ExportError::Usage(format!(
            "transaction time (--history) is written to Parquet only, not {}",
            format.ext()
        )));
    }
    let files = match format {
        Format::Parquet => columnar::write(dir, snap, (&sel.nodes, &sel.edges), partition, tx)?,
        Format::Neo4j => neo4j::write(dir, snap, &sel.nodes, &sel.edges)?,
        Format::Csv => csv_pair(dir, snap, sel)?,
        _ => {
            return Err(ExportError::Usage(format!(
                "{} is one file: give a file, not a folder",
                format.ext()
            )))
        }
    };
    let manifest = json!({
        "format": format.ext(),
        "generation": snap.generation().0,
        "buckets": buckets,
        "history": tx.is_some(),
        "partition": if partition == Partition::Region { "region" } else if whole { "none" } else { "bucket" },
        "truncated": sel.truncated.is_some(),
        "truncation": sel.truncated,
        "files": files.iter().map(|f| json!({
            "path": f.path,
            "kind": f.kind,
            "rows": f.rows,
            "columns": f.columns.iter().map(|c| json!({"name": c.name, "type": c.ty.as_str()})).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    });
    let path = dir.join("manifest.json");
    let text = serde_json::to_string_pretty(&manifest).unwrap_or_default();
    std::fs::write(&path, text + "\n").map_err(|e| ExportError::io(&path, e))?;
    Ok(files)
}

fn csv_pair(dir: &Path, snap: &Snapshot, sel: &Selection) -> Result<Vec<FileEntry>, ExportError> {
    let mut out = Vec::new();
    for (which, name) in [(Table::Nodes, "nodes.csv"), (Table::Edges, "edges.csv")] {
        let path = dir.join(name);
        let f = std::fs::File::create(&path).map_err(|e| ExportError::io(&path, e))?;
        let mut w = std::io::BufWriter::new(f);
        gephi::write(&mut w, snap, sel, which).map_err(|e| ExportError::io(&path, e))?;
        w.flush().map_err(|e| ExportError::io(&path, e))?;
        let (rows, columns) = match which {
            Table::Nodes => (
                sel.nodes.len(),
                table::NodeTable::new(snap, &sel.nodes, &sel.node_kinds(snap))
                    .columns()
                    .to_vec(),
            ),
            Table::Edges => (
                sel.edges.len(),
                table::EdgeTable::new(snap, &sel.edges, &sel.edge_kinds())
                    .columns()
                    .to_vec(),
            ),
        };
        out.push(FileEntry::new(
            name.to_owned(),
            "all",
            rows as u64,
            &columns,
        ));
    }
    Ok(out)
}
