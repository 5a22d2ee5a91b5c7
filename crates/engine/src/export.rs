//! Subgraph exports for Gephi, yEd and spreadsheets: JSON, GraphML, GEXF, CSV and DOT.
//!
//! Every text that came from a bundle is escaped for its format (XML entities; CSV quoting and
//! a leading apostrophe before `=`, `+`, `-`, `@` so that a spreadsheet never runs a cell as a
//! formula).

use crate::describe::{date_json, edge_json, node_json};
use crate::exec::EdgeRef;
use crate::findings::csv_safe;
use crate::snapshot::Snapshot;
use quick_xml::escape::escape;
use serde_json::json;
use std::fmt::Write;

/// Export formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `{"nodes": [...], "edges": [...]}`
    Json,
    /// GraphML (yEd, Gephi, networkx).
    GraphMl,
    /// GEXF 1.3 (Gephi).
    Gexf,
    /// One CSV row per edge, with both ends.
    Csv,
    /// Graphviz DOT.
    Dot,
}

impl Format {
    /// Parses json, graphml, gexf, csv, dot.
    pub fn parse(s: &str) -> Option<Format> {
        Some(match s {
            "json" => Format::Json,
            "graphml" => Format::GraphMl,
            "gexf" => Format::Gexf,
            "csv" => Format::Csv,
            "dot" => Format::Dot,
            _ => return None,
        })
    }

    /// MIME type.
    pub fn mime(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::GraphMl => "application/graphml+xml",
            Format::Gexf => "application/gexf+xml",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Dot => "text/vnd.graphviz",
        }
    }

    /// File extension.
    pub fn ext(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::GraphMl => "graphml",
            Format::Gexf => "gexf",
            Format::Csv => "csv",
            Format::Dot => "dot",
        }
    }
}

fn ends(snap: &Snapshot, e: EdgeRef) -> (u32, u32) {
    let v = snap.edges(e.kind());
    (v.src[e.idx as usize], v.dst[e.idx as usize])
}

/// Renders a subgraph. Edges whose ends are not both in `nodes` are left out.
pub fn render(snap: &Snapshot, nodes: &[u32], edges: &[EdgeRef], format: Format) -> String {
    let inside: rustc_hash::FxHashSet<u32> = nodes.iter().copied().collect();
    let edges: Vec<EdgeRef> = edges
        .iter()
        .copied()
        .filter(|e| {
            let (a, b) = ends(snap, *e);
            inside.contains(&a) && inside.contains(&b)
        })
        .collect();
    match format {
        Format::Json => json!({
            "nodes": nodes.iter().map(|&n| node_json(snap, n)).collect::<Vec<_>>(),
            "edges": edges.iter().map(|e| edge_json(snap, e.kind(), e.idx as usize)).collect::<Vec<_>>(),
        })
        .to_string(),
        Format::GraphMl => graphml(snap, nodes, &edges),
        Format::Gexf => gexf(snap, nodes, &edges),
        Format::Csv => csv(snap, &edges),
        Format::Dot => dot(snap, nodes, &edges),
    }
}

fn edge_fields(snap: &Snapshot, e: EdgeRef) -> (String, String, String, String, String) {
    let v = snap.edges(e.kind());
    let i = e.idx as usize;
    let iv = v.interval(i);
    let show = |d: i32| date_json(d).as_str().unwrap_or("").to_owned();
    let (f, l) = v.source(i);
    let src = crate::describe::cite(snap, f, l);
    (
        e.kind().as_str().to_owned(),
        snap.label_text(e.kind(), v.label(i)).to_owned(),
        show(iv.start),
        show(iv.end),
        src,
    )
}

fn graphml(snap: &Snapshot, nodes: &[u32], edges: &[EdgeRef]) -> String {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\">\n\
  <key id=\"kind\" for=\"node\" attr.name=\"kind\" attr.type=\"string\"/>\n\
  <key id=\"name\" for=\"node\" attr.name=\"name\" attr.type=\"string\"/>\n\
  <key id=\"ekind\" for=\"edge\" attr.name=\"kind\" attr.type=\"string\"/>\n\
  <key id=\"label\" for=\"edge\" attr.name=\"label\" attr.type=\"string\"/>\n\
  <key id=\"start\" for=\"edge\" attr.name=\"start\" attr.type=\"string\"/>\n\
  <key id=\"end\" for=\"edge\" attr.name=\"end\" attr.type=\"string\"/>\n\
  <key id=\"source\" for=\"edge\" attr.name=\"source\" attr.type=\"string\"/>\n\
  <graph id=\"G\" edgedefault=\"directed\">\n",
    );
    for &n in nodes {
        let _ = writeln!(
            s,
            "    <node id=\"{}\"><data key=\"kind\">{}</data><data key=\"name\">{}</data></node>",
            escape(snap.ext(n)),
            snap.kind_of(n),
            escape(snap.name(n))
        );
    }
    for (i, e) in edges.iter().enumerate() {
        let (a, b) = ends(snap, *e);
        let (k, label, st, en, src) = edge_fields(snap, *e);
        let _ = writeln!(
            s,
            "    <edge id=\"e{i}\" source=\"{}\" target=\"{}\"><data key=\"ekind\">{k}</data><data key=\"label\">{}</data><data key=\"start\">{st}</data><data key=\"end\">{en}</data><data key=\"source\">{}</data></edge>",
            escape(snap.ext(a)),
            escape(snap.ext(b)),
            escape(&label),
            escape(&src)
        );
    }
    s.push_str("  </graph>\n</graphml>\n");
    s
}

fn gexf(snap: &Snapshot, nodes: &[u32], edges: &[EdgeRef]) -> String {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<gexf xmlns=\"http://gexf.net/1.3\" version=\"1.3\">\n\
  <graph defaultedgetype=\"directed\" mode=\"static\">\n\
    <attributes class=\"node\"><attribute id=\"0\" title=\"kind\" type=\"string\"/></attributes>\n\
    <attributes class=\"edge\"><attribute id=\"0\" title=\"kind\" type=\"string\"/><attribute id=\"1\" title=\"start\" type=\"string\"/><attribute id=\"2\" title=\"end\" type=\"string\"/><attribute id=\"3\" title=\"source\" type=\"string\"/></attributes>\n\
    <nodes>\n",
    );
    for &n in nodes {
        let _ = writeln!(
            s,
            "      <node id=\"{}\" label=\"{}\"><attvalues><attvalue for=\"0\" value=\"{}\"/></attvalues></node>",
            escape(snap.ext(n)),
            escape(snap.name(n)),
            snap.kind_of(n)
        );
    }
    s.push_str("    </nodes>\n    <edges>\n");
    for (i, e) in edges.iter().enumerate() {
        let (a, b) = ends(snap, *e);
        let (k, label, st, en, src) = edge_fields(snap, *e);
        let _ = writeln!(
            s,
            "      <edge id=\"{i}\" source=\"{}\" target=\"{}\" label=\"{}\"><attvalues><attvalue for=\"0\" value=\"{k}\"/><attvalue for=\"1\" value=\"{st}\"/><attvalue for=\"2\" value=\"{en}\"/><attvalue for=\"3\" value=\"{}\"/></attvalues></edge>",
            escape(snap.ext(a)),
            escape(snap.ext(b)),
            escape(&label),
            escape(&src)
        );
    }
    s.push_str("    </edges>\n  </graph>\n</gexf>\n");
    s
}

fn csv(snap: &Snapshot, edges: &[EdgeRef]) -> String {
    let mut s =
        String::from("from,from_kind,from_name,to,to_kind,to_name,kind,label,start,end,source\n");
    let q = |x: &str| {
        let x = csv_safe(x);
        if x.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", x.replace('"', "\"\""))
        } else {
            x
        }
    };
    for e in edges {
        let (a, b) = ends(snap, *e);
        let (k, label, st, en, src) = edge_fields(snap, *e);
        let row = [
            q(snap.ext(a)),
            snap.kind_of(a).to_string(),
            q(snap.name(a)),
            q(snap.ext(b)),
            snap.kind_of(b).to_string(),
            q(snap.name(b)),
            k,
            q(&label),
            st,
            en,
            q(&src),
        ];
        s.push_str(&row.join(","));
        s.push('\n');
    }
    s
}

/// DOT through petgraph: the subgraph is built as a `petgraph::Graph` and printed with its
/// `Dot` formatter.
fn dot(snap: &Snapshot, nodes: &[u32], edges: &[EdgeRef]) -> String {
    let mut g: petgraph::Graph<String, String> = petgraph::Graph::new();
    let mut idx = rustc_hash::FxHashMap::default();
    for &n in nodes {
        idx.insert(
            n,
            g.add_node(format!(
                "{} {} {}",
                snap.kind_of(n),
                snap.ext(n),
                snap.name(n)
            )),
        );
    }
    for e in edges {
        let (a, b) = ends(snap, *e);
        if let (Some(&x), Some(&y)) = (idx.get(&a), idx.get(&b)) {
            let (k, label, ..) = edge_fields(snap, *e);
            g.add_edge(
                x,
                y,
                if label.is_empty() {
                    k
                } else {
                    format!("{k}:{label}")
                },
            );
        }
    }
    format!("{}", petgraph::dot::Dot::new(&g))
}
