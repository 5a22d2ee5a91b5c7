//! JSON and Graphviz DOT.
//!
//! JSON nodes read like a node anywhere else (`id`, `kind`, `name`, `source` as in findings and
//! `show`) plus every other column of the node table that has a value; edges are exactly the
//! edges of findings and `show` (which already carry every attribute). The document says whether
//! it is complete: `"truncated": false`, or `true` with `"truncation"` saying why.

use crate::table::{NodeTable, Selection, Val};
use qinglian_engine::describe::{edge_json, node_json};
use qinglian_engine::snapshot::Snapshot;
use serde_json::{json, Map, Value};
use std::io::{self, Write};

/// A cell as JSON: numbers, yes/no and lists as themselves, days as `YYYY-MM-DD`.
fn value(v: &Val) -> Value {
    match v {
        Val::Float(x) => json!(x),
        Val::Bool(b) => json!(b),
        Val::Int(i) => json!(i),
        Val::List(items) => json!(items),
        v => v.text().map_or(Value::Null, Value::String),
    }
}

/// Writes `{"nodes": [...], "edges": [...], "truncated": …}`, one node or edge per line.
pub fn json<W: Write>(w: &mut W, snap: &Snapshot, sel: &Selection) -> io::Result<()> {
    let nt = NodeTable::new(snap, &sel.nodes, &sel.node_kinds(snap));
    let own = ["id", "kind", "name", "source", "load"];
    write!(w, "{{\"nodes\":[")?;
    for (i, &n) in sel.nodes.iter().enumerate() {
        let mut obj: Map<String, Value> = match node_json(snap, n) {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        let row = nt.row(snap, n);
        for (c, v) in nt.columns().iter().zip(&row) {
            let empty = matches!(v, Val::Null) || matches!(v, Val::List(l) if l.is_empty());
            if !own.contains(&c.name.as_str()) && !empty {
                obj.insert(c.name.clone(), value(v));
            }
        }
        let sep = if i == 0 { "\n" } else { ",\n" };
        write!(w, "{sep}{}", Value::Object(obj))?;
    }
    write!(w, "\n],\"edges\":[")?;
    for (i, e) in sel.edges.iter().enumerate() {
        let sep = if i == 0 { "\n" } else { ",\n" };
        write!(w, "{sep}{}", edge_json(snap, e.kind(), e.idx as usize))?;
    }
    write!(
        w,
        "\n],\"truncated\":{}",
        if sel.truncated.is_some() {
            "true"
        } else {
            "false"
        }
    )?;
    if let Some(why) = &sel.truncated {
        write!(w, ",\"truncation\":{}", Value::String(why.clone()))?;
    }
    writeln!(w, "}}")
}

/// DOT through petgraph: the selection is built as a `petgraph::Graph` and printed with its
/// `Dot` formatter; a truncated selection starts with a comment saying so.
pub fn dot<W: Write>(w: &mut W, snap: &Snapshot, sel: &Selection) -> io::Result<()> {
    let mut g: petgraph::Graph<String, String> = petgraph::Graph::new();
    let mut idx = rustc_hash::FxHashMap::default();
    for &n in &sel.nodes {
        let label = format!("{} {} {}", snap.kind_of(n), snap.ext(n), snap.name(n));
        idx.insert(n, g.add_node(label));
    }
    for e in &sel.edges {
        let (a, b) = crate::table::ends(snap, *e);
        if let (Some(&x), Some(&y)) = (idx.get(&a), idx.get(&b)) {
            let v = snap.edges(e.kind());
            let label = snap.label_text(e.kind(), v.label(e.idx as usize));
            let k = e.kind().as_str();
            let text = if label.is_empty() {
                k.to_owned()
            } else {
                format!("{k}:{label}")
            };
            g.add_edge(x, y, text);
        }
    }
    if let Some(why) = &sel.truncated {
        writeln!(w, "// truncated: {}", why.replace('\n', " "))?;
    }
    write!(w, "{}", petgraph::dot::Dot::new(&g))
}
