//! GraphML (yEd, Gephi, networkx) and GEXF 1.3 (Gephi), every column of the node and edge
//! tables declared with its type.
//!
//! GEXF is written in dynamic mode: an edge whose validity is known gets a spell from its first
//! to its last day, so that Gephi's timeline shows who held which post or stake when. Neither
//! format has a day type, so days are written as `YYYY-MM-DD` text, which Gephi's timeline and
//! networkx both read. Whether the selection was cut short is stated in the file itself (a
//! graph attribute and description in GraphML, the meta description in GEXF).

use crate::table::{ends, Column, EdgeTable, NodeTable, Selection, Ty, Val};
use qinglian_engine::snapshot::Snapshot;
use quick_xml::escape::escape;
use std::io::{self, Write};

/// The type name both formats use (GraphML's and GEXF's numeric and boolean names agree).
fn xml_type(t: Ty) -> &'static str {
    match t {
        Ty::Float => "double",
        Ty::Bool => "boolean",
        Ty::Int => "long",
        Ty::Text | Ty::Date | Ty::List => "string",
    }
}

/// Columns written as data, with their positions: all but those the element's own XML
/// attributes already carry.
fn data_columns<'a>(cols: &'a [Column], skip: &[&str]) -> Vec<(usize, &'a Column)> {
    cols.iter()
        .enumerate()
        .filter(|(_, c)| !skip.contains(&c.name.as_str()))
        .collect()
}

fn text_of(row: &[Val], cols: &[Column], name: &str) -> String {
    cols.iter()
        .position(|c| c.name == name)
        .and_then(|i| row[i].text())
        .unwrap_or_default()
}

/// Writes GraphML.
pub fn graphml<W: Write>(w: &mut W, snap: &Snapshot, sel: &Selection) -> io::Result<()> {
    let nt = NodeTable::new(snap, &sel.nodes, &sel.node_kinds(snap));
    let et = EdgeTable::new(snap, &sel.edges, &sel.edge_kinds());
    let ncols = data_columns(nt.columns(), &["id"]);
    let ecols = data_columns(et.columns(), &["from", "to"]);
    writeln!(
        w,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\">"
    )?;
    writeln!(
        w,
        "  <key id=\"truncated\" for=\"graph\" attr.name=\"truncated\" attr.type=\"boolean\"/>"
    )?;
    for (i, c) in &ncols {
        writeln!(
            w,
            "  <key id=\"n{i}\" for=\"node\" attr.name=\"{}\" attr.type=\"{}\"/>",
            escape(&c.name),
            xml_type(c.ty)
        )?;
    }
    for (i, c) in &ecols {
        writeln!(
            w,
            "  <key id=\"e{i}\" for=\"edge\" attr.name=\"{}\" attr.type=\"{}\"/>",
            escape(&c.name),
            xml_type(c.ty)
        )?;
    }
    writeln!(w, "  <graph id=\"G\" edgedefault=\"directed\">")?;
    if let Some(why) = &sel.truncated {
        writeln!(w, "    <desc>truncated: {}</desc>", escape(why))?;
    }
    writeln!(
        w,
        "    <data key=\"truncated\">{}</data>",
        sel.truncated.is_some()
    )?;
    for &n in &sel.nodes {
        let row = nt.row(snap, n);
        write!(w, "    <node id=\"{}\">", escape(snap.ext(n)))?;
        for (i, _) in &ncols {
            if let Some(t) = row[*i].text() {
                write!(w, "<data key=\"n{i}\">{}</data>", escape(&t))?;
            }
        }
        writeln!(w, "</node>")?;
    }
    for e in &sel.edges {
        let row = et.row(snap, *e);
        let (a, b) = ends(snap, *e);
        write!(
            w,
            "    <edge id=\"{}\" source=\"{}\" target=\"{}\">",
            escape(text_of(&row, et.columns(), "edge")),
            escape(snap.ext(a)),
            escape(snap.ext(b))
        )?;
        for (i, _) in &ecols {
            if let Some(t) = row[*i].text() {
                write!(w, "<data key=\"e{i}\">{}</data>", escape(&t))?;
            }
        }
        writeln!(w, "</edge>")?;
    }
    writeln!(w, "  </graph>\n</graphml>")
}

fn gexf_attributes<W: Write>(w: &mut W, class: &str, cols: &[(usize, &Column)]) -> io::Result<()> {
    writeln!(w, "    <attributes class=\"{class}\">")?;
    for (i, c) in cols {
        writeln!(
            w,
            "      <attribute id=\"{i}\" title=\"{}\" type=\"{}\"/>",
            escape(&c.name),
            xml_type(c.ty)
        )?;
    }
    writeln!(w, "    </attributes>")
}

fn attvalues<W: Write>(w: &mut W, row: &[Val], cols: &[(usize, &Column)]) -> io::Result<()> {
    write!(w, "<attvalues>")?;
    for (i, _) in cols {
        if let Some(t) = row[*i].text() {
            write!(w, "<attvalue for=\"{i}\" value=\"{}\"/>", escape(&t))?;
        }
    }
    write!(w, "</attvalues>")
}

/// Writes GEXF 1.3, dynamic: edges with a known validity carry a spell.
pub fn gexf<W: Write>(w: &mut W, snap: &Snapshot, sel: &Selection) -> io::Result<()> {
    let nt = NodeTable::new(snap, &sel.nodes, &sel.node_kinds(snap));
    let et = EdgeTable::new(snap, &sel.edges, &sel.edge_kinds());
    let ncols = data_columns(nt.columns(), &["id", "name"]);
    let ecols = data_columns(et.columns(), &["edge", "from", "to", "label"]);
    let description = match &sel.truncated {
        Some(why) => format!("truncated: {why}"),
        None => "complete selection".to_owned(),
    };
    writeln!(
        w,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<gexf xmlns=\"http://gexf.net/1.3\" version=\"1.3\">\n  <meta>\n    <creator>Qinglian</creator>\n    <description>{}</description>\n  </meta>\n  <graph defaultedgetype=\"directed\" mode=\"dynamic\" timeformat=\"date\">",
        escape(&description)
    )?;
    gexf_attributes(w, "node", &ncols)?;
    gexf_attributes(w, "edge", &ecols)?;
    writeln!(w, "    <nodes>")?;
    for &n in &sel.nodes {
        let row = nt.row(snap, n);
        write!(
            w,
            "      <node id=\"{}\" label=\"{}\">",
            escape(snap.ext(n)),
            escape(snap.name(n))
        )?;
        attvalues(w, &row, &ncols)?;
        writeln!(w, "</node>")?;
    }
    writeln!(w, "    </nodes>\n    <edges>")?;
    for e in &sel.edges {
        let row = et.row(snap, *e);
        let (a, b) = ends(snap, *e);
        let cols = et.columns();
        write!(
            w,
            "      <edge id=\"{}\" source=\"{}\" target=\"{}\" label=\"{}\">",
            escape(text_of(&row, cols, "edge")),
            escape(snap.ext(a)),
            escape(snap.ext(b)),
            escape(text_of(&row, cols, "label"))
        )?;
        attvalues(w, &row, &ecols)?;
        let (start, end) = (text_of(&row, cols, "start"), text_of(&row, cols, "end"));
        if !start.is_empty() || !end.is_empty() {
            write!(w, "<spells><spell")?;
            if !start.is_empty() {
                write!(w, " start=\"{start}\"")?;
            }
            if !end.is_empty() {
                write!(w, " end=\"{end}\"")?;
            }
            write!(w, "/></spells>")?;
        }
        writeln!(w, "</edge>")?;
    }
    writeln!(w, "    </edges>\n  </graph>\n</gexf>")
}
