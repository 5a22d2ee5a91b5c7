//! Small hand-made snapshots and rules for the executor's unit tests (compiled for tests only):
//! nodes and edges written straight into an in-memory store, so that a test states its graph
//! in a few lines and knows which plan and which pruning sets it must get.

use crate::snapshot::{self, Snapshot};
use qinglian_model::{
    Attrs, EdgeKind, EdgeRecord, FileId, Interval, NodeKind, NodeRecord, Provenance,
};
use qinglian_rules::Rule;
use qinglian_store::{GraphDb, MemStore};

/// A snapshot of `nodes` (kind, bundle id; the name is the id) and `edges` (kind, tail id,
/// head id, label), every edge valid at all times.
pub(crate) fn snapshot(
    nodes: &[(NodeKind, &str)],
    edges: &[(EdgeKind, &str, &str, &str)],
) -> Snapshot {
    let mut db = GraphDb::open(MemStore::new()).expect("an in-memory database");
    let mut w = db.begin_load("test", "test");
    let file: FileId = w.add_file("test.csv");
    let mut ids = std::collections::HashMap::new();
    for (line, &(kind, ext)) in nodes.iter().enumerate() {
        let id = w.alloc_node();
        ids.insert(ext, id);
        let rec = NodeRecord {
            id,
            kind,
            ext_id: ext.to_owned(),
            aliases: Vec::new(),
            name: ext.to_owned(),
            identifier: None,
            attrs: Attrs::empty(kind),
            props: Vec::new(),
            sources: vec![Provenance {
                file,
                line: line as u32 + 2,
            }],
        };
        w.put_node(&rec, true).expect("a node record");
    }
    for (line, &(kind, from, to, label)) in edges.iter().enumerate() {
        let end = |x: &str| *ids.get(x).unwrap_or_else(|| panic!("no node {x}"));
        let rec = EdgeRecord {
            kind,
            from: end(from),
            to: end(to),
            label: label.to_owned(),
            valid: Interval::ALWAYS,
            value: None,
            date: None,
            flag: None,
            props: Vec::new(),
            source: Provenance {
                file,
                line: line as u32 + 2,
            },
        };
        w.put_edge(&rec).expect("an edge record");
    }
    db.commit_load(w, Vec::new(), 0).expect("the load commits");
    snapshot::build(&db).expect("the snapshot builds")
}

/// A rule with this query (and a fixed title and explanation).
pub(crate) fn rule(query: &str) -> Rule {
    let text = format!(
        "id = \"t\"\ntitle = \"test\"\nseverity = \"red\"\nexplain = \"test\"\nquery = '''\n{query}\n'''\n"
    );
    Rule::from_toml(&text, "test.toml").unwrap_or_else(|e| panic!("the test rule checks: {e:?}"))
}
