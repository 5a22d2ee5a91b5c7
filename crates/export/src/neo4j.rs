//! CSV files for `neo4j-admin database import full`: one node file per kind with an id space of
//! its own (`id:ID(Person)`, `:LABEL`), one relationship file per edge kind and pair of end kinds
//! (`:START_ID(Person)`, `:END_ID(Company)`, `:TYPE`), every other column with its typed header
//! (`:double`, `:boolean`, `:date`, `:long`, `:string[]`), and `import.sh` with the command.
//!
//! Id spaces per kind because bundle ids are unique within a kind's file, not across files.
//! List items are separated by U+001F (the unit separator, given to the importer with
//! `--array-delimiter`), which no bundle text contains, so that an alias or a blacklist reason
//! with a `;` in it stays one item.

use crate::table::{Column, EdgeTable, NodeTable, Ty, Val};
use crate::{ExportError, FileEntry};
use qinglian_engine::exec::EdgeRef;
use qinglian_engine::snapshot::Snapshot;
use qinglian_model::{EdgeKind, NodeKind};
use std::path::Path;

/// The array delimiter, as written in the files and as named to `neo4j-admin`.
const ARRAY_SEP: char = '\u{1f}';
const ARRAY_SEP_ARG: &str = "U+001F";

fn suffix(t: Ty) -> &'static str {
    match t {
        Ty::Text => ":string",
        Ty::Float => ":double",
        Ty::Bool => ":boolean",
        Ty::Date => ":date",
        Ty::Int => ":long",
        Ty::List => ":string[]",
    }
}

fn cell(v: &Val) -> String {
    match v {
        Val::List(items) => items
            .iter()
            .map(|s| s.replace(ARRAY_SEP, " "))
            .collect::<Vec<_>>()
            .join(&ARRAY_SEP.to_string()),
        v => v.text().unwrap_or_default(),
    }
}

/// Writes a CSV file: the header, then the rows.
fn write_csv(
    path: &Path,
    head: &[String],
    rows: impl Iterator<Item = Vec<String>>,
) -> Result<(), ExportError> {
    let f = std::fs::File::create(path).map_err(|e| ExportError::io(path, e))?;
    let mut w = csv::Writer::from_writer(f);
    w.write_record(head)
        .map_err(|e| ExportError::csv(path, e))?;
    for r in rows {
        w.write_record(&r).map_err(|e| ExportError::csv(path, e))?;
    }
    w.flush().map_err(|e| ExportError::io(path, e))
}

fn node_file(
    dir: &Path,
    snap: &Snapshot,
    kind: NodeKind,
    members: &[u32],
) -> Result<FileEntry, ExportError> {
    let t = NodeTable::new(snap, members, &[kind]);
    let rel = format!("nodes/{kind}.csv");
    let head: Vec<String> = t
        .columns()
        .iter()
        .map(|c| match c.name.as_str() {
            "id" => format!("id:ID({kind})"),
            "kind" => ":LABEL".to_owned(),
            n => format!("{n}{}", suffix(c.ty)),
        })
        .collect();
    let rows = members
        .iter()
        .map(|&n| t.row(snap, n).iter().map(cell).collect());
    write_csv(&dir.join(&rel), &head, rows)?;
    Ok(FileEntry::new(
        rel,
        kind.as_str(),
        members.len() as u64,
        t.columns(),
    ))
}

/// The columns of a relationship file: the ends and the type as Neo4j names them, then the
/// edge's own properties (its kind and ends' kinds are in the header already).
fn rel_head(cols: &[Column], from: NodeKind, to: NodeKind) -> (Vec<String>, Vec<usize>) {
    let mut head = vec![
        format!(":START_ID({from})"),
        format!(":END_ID({to})"),
        ":TYPE".to_owned(),
    ];
    let mut keep = Vec::new();
    for (i, c) in cols.iter().enumerate() {
        if !["from", "to", "kind", "from_kind", "to_kind"].contains(&c.name.as_str()) {
            head.push(format!("{}{}", c.name, suffix(c.ty)));
            keep.push(i);
        }
    }
    (head, keep)
}

fn rel_file(
    dir: &Path,
    snap: &Snapshot,
    kind: EdgeKind,
    (from, to): (NodeKind, NodeKind),
    members: &[EdgeRef],
) -> Result<FileEntry, ExportError> {
    let t = EdgeTable::new(snap, members, &[kind]);
    let rel = format!("relationships/{kind}__{from}__{to}.csv");
    let (head, keep) = rel_head(t.columns(), from, to);
    let rows = members.iter().map(|e| {
        let row = t.row(snap, *e);
        let (a, b) = crate::table::ends(snap, *e);
        let mut r = vec![
            snap.ext(a).to_owned(),
            snap.ext(b).to_owned(),
            kind.as_str().to_owned(),
        ];
        r.extend(keep.iter().map(|&i| cell(&row[i])));
        r
    });
    write_csv(&dir.join(&rel), &head, rows)?;
    Ok(FileEntry::new(
        rel,
        kind.as_str(),
        members.len() as u64,
        t.columns(),
    ))
}

/// Writes the node and relationship files and `import.sh` under `dir`.
pub fn write(
    dir: &Path,
    snap: &Snapshot,
    nodes: &[u32],
    edges: &[EdgeRef],
) -> Result<Vec<FileEntry>, ExportError> {
    for sub in ["nodes", "relationships"] {
        let d = dir.join(sub);
        std::fs::create_dir_all(&d).map_err(|e| ExportError::io(&d, e))?;
    }
    let mut out = Vec::new();
    for (kind, members) in crate::by_node_kind(snap, nodes) {
        out.push(node_file(dir, snap, kind, &members)?);
    }
    let mut rels = Vec::new();
    for (kind, members) in crate::by_edge_kind(edges) {
        let mut by_ends: std::collections::BTreeMap<(NodeKind, NodeKind), Vec<EdgeRef>> =
            std::collections::BTreeMap::new();
        for e in members {
            let (a, b) = crate::table::ends(snap, e);
            by_ends
                .entry((snap.kind_of(a), snap.kind_of(b)))
                .or_default()
                .push(e);
        }
        for (pair, es) in by_ends {
            let entry = rel_file(dir, snap, kind, pair, &es)?;
            rels.push(entry.path.clone());
            out.push(entry);
        }
    }
    let script = import_script(&out, &rels);
    let path = dir.join("import.sh");
    std::fs::write(&path, script).map_err(|e| ExportError::io(&path, e))?;
    Ok(out)
}

/// The `neo4j-admin` command that imports these files into a database named `qinglian`.
fn import_script(files: &[FileEntry], rels: &[String]) -> String {
    let mut s = String::from(
        "#!/bin/sh\n# Imports this folder into a new Neo4j database named qinglian (Neo4j 5).\n\
         # Run from this folder with neo4j-admin on the PATH and the database stopped.\n\
         set -e\ncd \"$(dirname \"$0\")\"\nneo4j-admin database import full",
    );
    for f in files.iter().filter(|f| f.path.starts_with("nodes/")) {
        s.push_str(&format!(" \\\n  --nodes={}", f.path));
    }
    for r in rels {
        s.push_str(&format!(" \\\n  --relationships={r}"));
    }
    s.push_str(&format!(
        " \\\n  --array-delimiter={ARRAY_SEP_ARG} --multiline-fields=true --overwrite-destination=true \\\n  qinglian\n"
    ));
    s
}
