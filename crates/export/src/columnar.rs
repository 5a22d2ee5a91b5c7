//! Parquet: one file per node kind (`nodes/Person.parquet` …) and per edge kind
//! (`edges/OWNS.parquet` …), typed columns (days as Parquet `DATE`, amounts as `DOUBLE`, yes/no
//! as `BOOLEAN`, lists as `LIST<STRING>`), validity and source rows included, Snappy-compressed.
//!
//! One file per kind, not one wide table, because that is how Spark, DuckDB and the SQL the
//! rules compile to join them: each kind has its own columns, and a reader scans only the kinds
//! a query names. Rows are written in batches so that a whole province's graph never sits in
//! memory as Arrow arrays at once.

use crate::history::{self, TxTime};
use crate::table::{Column, EdgeTable, NodeTable, Ty, Val};
use crate::{ExportError, FileEntry};
use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::{
    ArrayRef, BooleanArray, Date32Array, Float64Array, Int64Array, RecordBatch, StringArray,
};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use qinglian_engine::exec::EdgeRef;
use qinglian_engine::snapshot::Snapshot;
use qinglian_model::{Attrs, EdgeKind, NodeKind};
use std::path::Path;
use std::sync::Arc;

/// Rows per record batch.
const BATCH: usize = 65_536;

fn data_type(t: Ty) -> DataType {
    match t {
        Ty::Text => DataType::Utf8,
        Ty::Float => DataType::Float64,
        Ty::Bool => DataType::Boolean,
        Ty::Date => DataType::Date32,
        Ty::Int => DataType::Int64,
        Ty::List => DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
    }
}

fn schema(cols: &[Column]) -> Arc<Schema> {
    Arc::new(Schema::new(
        cols.iter()
            .map(|c| Field::new(&c.name, data_type(c.ty), true))
            .collect::<Vec<_>>(),
    ))
}

/// One column of a batch as an Arrow array. A value of another type than the column's
/// (which the tables never produce) is written as null.
fn array(ty: Ty, vals: &[Val]) -> ArrayRef {
    match ty {
        Ty::Text => Arc::new(
            vals.iter()
                .map(|v| match v {
                    Val::Text(s) => Some(s.as_str()),
                    _ => None,
                })
                .collect::<StringArray>(),
        ),
        Ty::Float => Arc::new(
            vals.iter()
                .map(|v| match v {
                    Val::Float(x) => Some(*x),
                    _ => None,
                })
                .collect::<Float64Array>(),
        ),
        Ty::Bool => Arc::new(
            vals.iter()
                .map(|v| match v {
                    Val::Bool(b) => Some(*b),
                    _ => None,
                })
                .collect::<BooleanArray>(),
        ),
        Ty::Date => Arc::new(
            vals.iter()
                .map(|v| match v {
                    Val::Date(d) => Some(*d),
                    _ => None,
                })
                .collect::<Date32Array>(),
        ),
        Ty::Int => Arc::new(
            vals.iter()
                .map(|v| match v {
                    Val::Int(i) => Some(*i),
                    _ => None,
                })
                .collect::<Int64Array>(),
        ),
        Ty::List => {
            let mut b = ListBuilder::new(StringBuilder::new());
            for v in vals {
                if let Val::List(items) = v {
                    for s in items {
                        b.values().append_value(s);
                    }
                    b.append(true);
                } else {
                    b.append(false);
                }
            }
            Arc::new(b.finish())
        }
    }
}

/// Writes `rows` (each one value per column of `cols`) to a Parquet file.
fn write_file(
    path: &Path,
    cols: &[Column],
    rows: impl Iterator<Item = Vec<Val>>,
) -> Result<u64, ExportError> {
    let schema = schema(cols);
    let file = std::fs::File::create(path).map_err(|e| ExportError::io(path, e))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let mut w = ArrowWriter::try_new(file, schema.clone(), Some(props))?;
    let mut columns: Vec<Vec<Val>> = vec![Vec::with_capacity(BATCH); cols.len()];
    let mut count = 0u64;
    let flush = |columns: &mut Vec<Vec<Val>>,
                 w: &mut ArrowWriter<std::fs::File>|
     -> Result<(), ExportError> {
        if columns.first().is_none_or(Vec::is_empty) {
            return Ok(());
        }
        let arrays = cols
            .iter()
            .zip(columns.iter_mut())
            .map(|(c, v)| {
                let a = array(c.ty, v);
                v.clear();
                a
            })
            .collect();
        w.write(&RecordBatch::try_new(schema.clone(), arrays)?)?;
        Ok(())
    };
    for row in rows {
        for (c, v) in columns.iter_mut().zip(row) {
            c.push(v);
        }
        count += 1;
        if count.is_multiple_of(BATCH as u64) {
            flush(&mut columns, &mut w)?;
        }
    }
    flush(&mut columns, &mut w)?;
    w.close()?;
    Ok(count)
}

/// The bucket of bundle id `id` among `n`: the first eight hex digits of its SHA-256, as a
/// number, modulo `n`. Spark SQL computes the same with
/// `pmod(conv(substr(sha2(id, 256), 1, 8), 16, 10), n)`, so a cluster can place other data in
/// the same buckets.
pub fn bucket(id: &str, n: u32) -> u32 {
    use sha2::Digest;
    let h = sha2::Sha256::digest(id.as_bytes());
    u32::from_be_bytes([h[0], h[1], h[2], h[3]]) % n.max(1)
}

/// How each kind's rows are split into files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Partition {
    /// One file per kind.
    Whole,
    /// `bucket=K` by [`bucket`] of the row's id (an edge: its tail's), among this many.
    Buckets(u32),
    /// `part_region=R` by the region of the agency a row belongs to: an agency's own; a
    /// tender's, contract's or subsidy's agency's; an edge's tail's, else its head's. Rows of
    /// no region (people, companies, family ties) go to Hive's null partition.
    Region,
}

/// Hive's name of the partition holding rows with no value (read back as null by Spark,
/// DuckDB and pyarrow).
const NULL_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

/// A partition value as a path segment, escaped as Hive escapes it (Spark unescapes it).
fn hive_escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        if c.is_control() || "\"#%'*/:=?\\{[]^".contains(c) {
            let mut b = [0; 4];
            for byte in c.encode_utf8(&mut b).bytes() {
                out.push_str(&format!("%{byte:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Each node's region partition: `part_region=…` by the agency each belongs to.
fn node_regions(snap: &Snapshot) -> Vec<Option<String>> {
    let region = |a: u32| match snap.detail(a).map(|d| d.attrs) {
        Some(Attrs::Agency { region: Some(r) }) if !r.is_empty() => Some(hive_escape(&r)),
        _ => None,
    };
    let agencies: std::collections::HashMap<u32, Option<String>> = (0..snap.node_count())
        .filter(|&n| snap.kind_of(n) == NodeKind::Agency)
        .map(|a| (a, region(a)))
        .collect();
    (0..snap.node_count())
        .map(|n| {
            let a = match snap.kind_of(n) {
                NodeKind::Agency => Some(n),
                _ => qinglian_engine::findings::agency_of(snap, n),
            };
            a.and_then(|a| agencies.get(&a).cloned().flatten())
        })
        .collect()
}

impl Partition {
    /// The partition of a row: a number to order by and the folder name; `tail` is the node
    /// whose id buckets it, `ends` the nodes whose region places it, first found first.
    fn of(
        self,
        snap: &Snapshot,
        regions: &[Option<String>],
        tail: u32,
        ends: [u32; 2],
    ) -> (u32, String) {
        match self {
            Partition::Whole => (0, String::new()),
            Partition::Buckets(k) => {
                let b = bucket(snap.ext(tail), k);
                (b, format!("bucket={b}"))
            }
            Partition::Region => {
                let r = ends
                    .iter()
                    .find_map(|&n| regions.get(n as usize).and_then(Option::as_deref));
                (0, format!("part_region={}", r.unwrap_or(NULL_PARTITION)))
            }
        }
    }

    /// Where an empty kind's one (empty) file goes: a folder without files is no table to Spark.
    fn empty(self) -> String {
        match self {
            Partition::Whole => String::new(),
            Partition::Buckets(_) => "bucket=0".into(),
            Partition::Region => format!("part_region={NULL_PARTITION}"),
        }
    }
}

/// Where a kind's rows go: one file per kind, or one file per non-empty partition in Hive
/// layout (`nodes/Person/bucket=3/part-0.parquet`), which DuckDB (`hive_partitioning`),
/// pyarrow datasets and Spark read as a column.
fn files_of<T: Copy>(
    side: &str,
    kind: &str,
    members: &[T],
    partition: Partition,
    part: impl Fn(T) -> (u32, String),
) -> Vec<(String, Vec<T>)> {
    if partition == Partition::Whole {
        return vec![(format!("{side}/{kind}.parquet"), members.to_vec())];
    }
    let mut by: std::collections::BTreeMap<(u32, String), Vec<T>> =
        std::collections::BTreeMap::new();
    for &m in members {
        by.entry(part(m)).or_default().push(m);
    }
    if by.is_empty() {
        by.insert((0, partition.empty()), Vec::new());
    }
    by.into_iter()
        .map(|((_, p), v)| (format!("{side}/{kind}/{p}/part-0.parquet"), v))
        .collect()
}

fn create_parent(path: &Path) -> Result<(), ExportError> {
    match path.parent() {
        Some(d) => std::fs::create_dir_all(d).map_err(|e| ExportError::io(d, e)),
        None => Ok(()),
    }
}

/// Writes the selection's nodes and edges under `dir` (`nodes/`, `edges/`): a file per kind,
/// or per kind and [`Partition`]. Every kind gets its table, empty when the selection has none
/// of it, so that a reader that joins every kind — the rules compiled to SQL — finds each one,
/// typed, on any bundle.
///
/// With `tx` (transaction time, [`crate::history`]), every edge row gains `asserted_at` and
/// `changed_at`, and `history/<KIND>.parquet` holds, for every kind, the facts that no longer
/// hold.
pub fn write(
    dir: &Path,
    snap: &Snapshot,
    (nodes, edges): (&[u32], &[EdgeRef]),
    partition: Partition,
    tx: Option<&TxTime>,
) -> Result<Vec<FileEntry>, ExportError> {
    let partition = match partition {
        Partition::Buckets(k) if k <= 1 => Partition::Whole,
        p => p,
    };
    let regions = if partition == Partition::Region {
        node_regions(snap)
    } else {
        Vec::new()
    };
    let mut out = Vec::new();
    let mut node_groups = vec![Vec::new(); NodeKind::COUNT];
    for (kind, members) in crate::by_node_kind(snap, nodes) {
        node_groups[kind.index()] = members;
    }
    for (&kind, members) in NodeKind::ALL.iter().zip(node_groups) {
        let t = NodeTable::with_rule_columns(snap, &members, &[kind]);
        for (rel, part) in files_of("nodes", kind.as_str(), &members, partition, |n| {
            partition.of(snap, &regions, n, [n, n])
        }) {
            let path = dir.join(&rel);
            create_parent(&path)?;
            let rows = write_file(&path, t.columns(), part.iter().map(|&n| t.row(snap, n)))?;
            out.push(FileEntry::new(rel, kind.as_str(), rows, t.columns()));
        }
    }
    let mut edge_groups = vec![Vec::new(); EdgeKind::COUNT];
    for (kind, members) in crate::by_edge_kind(edges) {
        edge_groups[kind.index()] = members;
    }
    for (&kind, members) in EdgeKind::ALL.iter().zip(edge_groups) {
        let t = EdgeTable::new(snap, &members, &[kind]);
        let mut cols = t.columns().to_vec();
        if tx.is_some() {
            cols.extend(history::current_columns());
        }
        let row = |e: &EdgeRef| {
            let mut r = t.row(snap, *e);
            if let Some(tx) = tx {
                let (f, l) = snap.edges(kind).source(e.idx as usize);
                r.extend(tx.of_edge(kind, f, l));
            }
            r
        };
        let tails = snap.edges(kind);
        for (rel, part) in files_of("edges", kind.as_str(), &members, partition, |e| {
            let (a, b) = (tails.src[e.idx as usize], tails.dst[e.idx as usize]);
            partition.of(snap, &regions, a, [a, b])
        }) {
            let path = dir.join(&rel);
            create_parent(&path)?;
            let rows = write_file(&path, &cols, part.iter().map(row))?;
            out.push(FileEntry::new(rel, kind.as_str(), rows, &cols));
        }
    }
    if let Some(tx) = tx {
        out.extend(write_history(dir, tx)?);
    }
    Ok(out)
}

/// `history/<KIND>.parquet` for every kind: the facts of that kind that no longer hold.
fn write_history(dir: &Path, tx: &TxTime) -> Result<Vec<FileEntry>, ExportError> {
    let cols = history::columns();
    let mut out = Vec::new();
    for &kind in EdgeKind::ALL.iter() {
        let rel = format!("history/{}.parquet", kind.as_str());
        let path = dir.join(&rel);
        create_parent(&path)?;
        let past = tx.past.iter().filter(|p| p.kind == kind).map(history::row);
        let rows = write_file(&path, &cols, past)?;
        out.push(FileEntry::new(rel, kind.as_str(), rows, &cols));
    }
    Ok(out)
}
