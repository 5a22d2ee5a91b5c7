//! The witness of a match as SQL columns: the evidence chain (nodes and edges in pattern order)
//! and the sort keys by which the engine keeps one witness per finding (`exec/run.rs`
//! `WitKey`: colour, fewest edges, the nodes' bundle ids along the chain, then what the edges
//! say — kind, validity interval, label — then their source rows). A window over the variants
//! keeps the first row per key in that order, so the SQL reports the same evidence and, from
//! it, the same score as the engine.

use crate::scope::{Bound, EdgeBind, Variant};
use crate::Dialect;
use qinglian_rules::ast::PathPattern;

/// An element of the chain as SQL.
enum Item {
    /// The node's bundle id.
    Node(String),
    Edge(EdgeBind),
}

/// The witness columns of one variant, each an SQL expression.
pub(crate) struct Witness {
    /// How many edges (a constant per variant).
    pub edges: usize,
    /// The nodes' ids along the chain (the engine compares their bundle-id ranks: the same
    /// order, as ids are compared byte by byte on both sides).
    pub nodes: String,
    /// Per edge, `kind index (2 digits) · start · end · label` as one text: fixed-width fields
    /// and the label last, so that comparing the texts compares the engine's tuples.
    pub facts: String,
    /// Per edge, its source row (`file:line (load N)`); the engine compares (file, line)
    /// numbers. Only reached between edges equal in kind, ends, interval and label, which keyed
    /// facts make one edge.
    pub sources: String,
    /// Per edge, its id, kind, ends as stored, for the evidence.
    pub edge_ids: String,
    pub edge_kinds: String,
    pub edge_from: String,
    pub edge_to: String,
}

/// The chain of `patterns` in variant `v`, as the engine's `chain_items` walks it: each
/// pattern's nodes and edges in order, a path's hops each followed by its far end (so the node
/// after a path, the same, is not repeated).
fn chain(patterns: &[PathPattern], v: &Variant, d: Dialect) -> Vec<Item> {
    let mut out = Vec::new();
    for p in patterns {
        let mut after_path = false;
        for (i, n) in p.nodes.iter().enumerate() {
            if !after_path {
                if let Some(Bound::Node { alias, .. }) = v.vars.get(&n.var) {
                    out.push(Item::Node(format!("{alias}.id")));
                }
            }
            after_path = false;
            let Some(r) = p.rels.get(i) else { continue };
            match v.vars.get(&r.var) {
                Some(Bound::Edge(e)) => out.push(Item::Edge(e.clone())),
                Some(Bound::Path(hops)) => {
                    for h in hops {
                        out.push(Item::Edge(h.clone()));
                        out.push(Item::Node(h.far(d)));
                    }
                    after_path = true;
                }
                _ => {}
            }
        }
    }
    out
}

/// The witness columns of variant `v` of a branch matching `patterns`.
pub(crate) fn columns(patterns: &[PathPattern], v: &Variant, d: Dialect) -> Witness {
    let items = chain(patterns, v, d);
    let nodes: Vec<String> = items
        .iter()
        .filter_map(|i| match i {
            Item::Node(id) => Some(id.clone()),
            Item::Edge(_) => None,
        })
        .collect();
    let edges: Vec<&EdgeBind> = items
        .iter()
        .filter_map(|i| match i {
            Item::Edge(e) => Some(e),
            Item::Node(_) => None,
        })
        .collect();
    let text = d.text_type();
    let col = |e: &EdgeBind, c: &str| format!("{}.{}", e.alias, d.quote(c));
    let each =
        |f: &dyn Fn(&EdgeBind) -> String| d.array(&edges.iter().map(|e| f(e)).collect::<Vec<_>>());
    Witness {
        edges: edges.len(),
        nodes: d.array(&nodes),
        facts: each(&|e| {
            format!(
                "concat({}, COALESCE(CAST({} AS {text}), '0000-00-00'), COALESCE(CAST({} AS {text}), '9999-99-99'), COALESCE({}, ''))",
                e.kind_index(),
                col(e, "start"),
                col(e, "end"),
                col(e, "label"),
            )
        }),
        sources: each(&|e| format!("COALESCE({}, '')", col(e, "source"))),
        edge_ids: each(&|e| col(e, "edge")),
        edge_kinds: each(&|e| e.kind_name()),
        edge_from: each(&|e| col(e, "from")),
        edge_to: each(&|e| col(e, "to")),
    }
}
