//! Parquet: one file per node kind (`nodes/Person.parquet` …) and per edge kind
//! (`edges/OWNS.parquet` …), typed columns (days as Parquet `DATE`, amounts as `DOUBLE`, yes/no
//! as `BOOLEAN`, lists as `LIST<STRING>`), validity and source rows included, Snappy-compressed.
//!
//! One file per kind, not one wide table, because that is how Spark, DuckDB and the SQL the
//! rules compile to join them: each kind has its own columns, and a reader scans only the kinds
//! a query names. Rows are written in batches so that a whole province's graph never sits in
//! memory as Arrow arrays at once.

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
use qinglian_model::{EdgeKind, NodeKind};
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

/// Where a kind's rows go: one file per kind, or with `buckets` > 1 one file per non-empty
/// bucket in Hive layout (`nodes/Person/bucket=3/part-0.parquet`), which DuckDB
/// (`hive_partitioning`), pyarrow datasets and Spark read as a `bucket` column.
fn files_of<T: Copy>(
    side: &str,
    kind: &str,
    members: &[T],
    buckets: u32,
    id_of: impl Fn(T) -> String,
) -> Vec<(String, Vec<T>)> {
    if buckets <= 1 {
        return vec![(format!("{side}/{kind}.parquet"), members.to_vec())];
    }
    let mut by: std::collections::BTreeMap<u32, Vec<T>> = std::collections::BTreeMap::new();
    for &m in members {
        by.entry(bucket(&id_of(m), buckets)).or_default().push(m);
    }
    if by.is_empty() {
        // An empty kind is one empty partition: a folder without files is no table to Spark.
        by.insert(0, Vec::new());
    }
    by.into_iter()
        .map(|(b, v)| (format!("{side}/{kind}/bucket={b}/part-0.parquet"), v))
        .collect()
}

fn create_parent(path: &Path) -> Result<(), ExportError> {
    match path.parent() {
        Some(d) => std::fs::create_dir_all(d).map_err(|e| ExportError::io(d, e)),
        None => Ok(()),
    }
}

/// Writes the selection's nodes and edges under `dir` (`nodes/`, `edges/`): a file per kind,
/// or, with `buckets` > 1, per kind and bucket of the node's id (an edge: its tail's id).
/// Every kind gets its table, empty when the selection has none of it, so that a reader that
/// joins every kind — the rules compiled to SQL — finds each one, typed, on any bundle.
pub fn write(
    dir: &Path,
    snap: &Snapshot,
    (nodes, edges): (&[u32], &[EdgeRef]),
    buckets: u32,
) -> Result<Vec<FileEntry>, ExportError> {
    let mut out = Vec::new();
    let mut node_groups = vec![Vec::new(); NodeKind::COUNT];
    for (kind, members) in crate::by_node_kind(snap, nodes) {
        node_groups[kind.index()] = members;
    }
    for (&kind, members) in NodeKind::ALL.iter().zip(node_groups) {
        let t = NodeTable::with_rule_columns(snap, &members, &[kind]);
        for (rel, part) in files_of("nodes", kind.as_str(), &members, buckets, |n| {
            snap.ext(n).to_owned()
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
        let tails = snap.edges(kind);
        for (rel, part) in files_of("edges", kind.as_str(), &members, buckets, |e| {
            snap.ext(tails.src[e.idx as usize]).to_owned()
        }) {
            let path = dir.join(&rel);
            create_parent(&path)?;
            let rows = write_file(&path, t.columns(), part.iter().map(|e| t.row(snap, *e)))?;
            out.push(FileEntry::new(rel, kind.as_str(), rows, t.columns()));
        }
    }
    Ok(out)
}
