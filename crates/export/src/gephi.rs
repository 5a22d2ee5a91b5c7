//! Two CSV tables in the headers Gephi's spreadsheet import expects: a node table
//! (`Id,Label,…`) and an edge table (`Source,Target,Type,Id,Label,…`), each with every column.
//!
//! Text that came from a bundle is written the way the findings CSV writes it: quoted when
//! needed, and with a leading apostrophe before `=`, `+`, `-`, `@` so that a spreadsheet never
//! runs a cell as a formula. Numbers, days and yes/no are written as they are.

use crate::table::{Column, EdgeTable, NodeTable, Selection, Ty, Val};
use qinglian_engine::findings::csv_safe;
use qinglian_engine::snapshot::Snapshot;
use std::io::{self, Write};

/// Which of the two tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    /// One row per node.
    Nodes,
    /// One row per edge.
    Edges,
}

fn cell(v: &Val, ty: Ty) -> String {
    let t = v.text().unwrap_or_default();
    match ty {
        Ty::Text | Ty::List => csv_safe(&t),
        _ => t,
    }
}

/// Writes a header of `lead` names then every column not in `skip`, and one record per item
/// of `rows`: its lead cells, then its values of those columns.
fn table<W: Write>(
    w: W,
    lead: &[&str],
    cols: &[Column],
    skip: &[&str],
    rows: impl Iterator<Item = (Vec<String>, Vec<Val>)>,
) -> io::Result<()> {
    let mut out = csv::Writer::from_writer(w);
    let keep: Vec<usize> = (0..cols.len())
        .filter(|i| !skip.contains(&cols[*i].name.as_str()))
        .collect();
    let mut head: Vec<String> = lead.iter().map(|s| (*s).to_owned()).collect();
    head.extend(keep.iter().map(|&i| cols[i].name.clone()));
    out.write_record(&head)?;
    for (mut r, row) in rows {
        r.extend(keep.iter().map(|&i| cell(&row[i], cols[i].ty)));
        out.write_record(&r)?;
    }
    out.flush()
}

/// Writes one of the tables.
pub fn write<W: Write>(w: W, snap: &Snapshot, sel: &Selection, which: Table) -> io::Result<()> {
    match which {
        Table::Nodes => {
            let nt = NodeTable::new(snap, &sel.nodes, &sel.node_kinds(snap));
            let rows = sel.nodes.iter().map(|&n| {
                let lead = vec![csv_safe(snap.ext(n)), csv_safe(snap.name(n))];
                (lead, nt.row(snap, n))
            });
            table(w, &["Id", "Label"], nt.columns(), &["id", "name"], rows)
        }
        Table::Edges => {
            let et = EdgeTable::new(snap, &sel.edges, &sel.edge_kinds());
            let cols = et.columns();
            let at = |name: &str| cols.iter().position(|c| c.name == name);
            let lead_cols = [at("from"), at("to"), at("edge"), at("label")];
            let rows = sel.edges.iter().map(|e| {
                let row = et.row(snap, *e);
                let get = |i: Option<usize>| i.map_or(String::new(), |i| cell(&row[i], Ty::Text));
                let lead = vec![
                    get(lead_cols[0]),
                    get(lead_cols[1]),
                    "Directed".to_owned(),
                    get(lead_cols[2]),
                    get(lead_cols[3]),
                ];
                (lead, row)
            });
            let head = ["Source", "Target", "Type", "Id", "Label"];
            table(w, &head, cols, &["from", "to", "edge", "label"], rows)
        }
    }
}
