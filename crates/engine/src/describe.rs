//! JSON descriptions of nodes, edges and entities, shared by `show`, findings, paths and the
//! API, so that every place cites sources the same way.

use crate::snapshot::Snapshot;
use qinglian_model::{Date, EdgeKind, Interval};
use serde_json::{json, Value};

/// `file:line (load N)` of a source row.
pub fn cite(snap: &Snapshot, file: u32, line: u32) -> String {
    match snap.file(file) {
        Some(f) => format!("{}:{line} (load {})", f.name, f.load),
        None => format!("file#{file}:{line}"),
    }
}

/// `{"file", "line", "load"}` of a source row.
pub fn source_json(snap: &Snapshot, file: u32, line: u32) -> Value {
    match snap.file(file) {
        Some(f) => json!({"file": f.name, "line": line, "load": f.load}),
        None => json!({"file": Value::Null, "line": line, "load": Value::Null}),
    }
}

/// A date as `YYYY-MM-DD`, or null.
pub fn date_json(d: i32) -> Value {
    if d == crate::snapshot::NO_DATE || d == Interval::OPEN_START || d == Interval::OPEN_END {
        Value::Null
    } else {
        Value::String(Date(d).to_string())
    }
}

/// `{"id", "kind", "name", "source"}`: the node and the row that first described it.
pub fn node_json(snap: &Snapshot, n: u32) -> Value {
    let (f, l) = snap.node_source(n);
    json!({"id": snap.ext(n), "kind": snap.kind_of(n).as_str(), "name": snap.name(n), "source": source_json(snap, f, l)})
}

/// A node for an evidence chain: with its dates and, when it is on the blacklist, every
/// listing with the row it came from, so that the facts a rule relied on are cited too.
pub fn evidence_node_json(snap: &Snapshot, n: u32) -> Value {
    let mut v = node_json(snap, n);
    let d = snap.dates()[n as usize];
    if d != crate::snapshot::NO_DATE {
        let key = match snap.kind_of(n) {
            qinglian_model::NodeKind::Person => "birth_date",
            qinglian_model::NodeKind::Company => "founded",
            qinglian_model::NodeKind::Tender => "published",
            qinglian_model::NodeKind::Contract => "signed",
            qinglian_model::NodeKind::Subsidy => "paid",
            qinglian_model::NodeKind::Agency => "date",
        };
        v[key] = date_json(d);
    }
    let death = snap.deaths()[n as usize];
    if death != crate::snapshot::NO_DATE {
        v["death_date"] = date_json(death);
    }
    if snap.flags()[n as usize] & crate::snapshot::flag::BLACKLISTED != 0 {
        if let Some(det) = snap.detail(n) {
            v["blacklist"] = det
                .blacklist
                .iter()
                .map(|b| {
                    json!({"reason": b.reason, "listed": b.listed.map(|d| d.to_string()), "list_source": b.list_source,
                           "source": source_json(snap, b.source.file.0, b.source.line)})
                })
                .collect::<Vec<_>>()
                .into();
        }
    }
    v
}

/// An edge: endpoints, kind, label, validity, value and source row.
pub fn edge_json(snap: &Snapshot, k: EdgeKind, e: usize) -> Value {
    let v = snap.edges(k);
    let iv = v.interval(e);
    let (f, l) = v.source(e);
    let mut o = json!({
        "from": snap.ext(v.src[e]),
        "to": snap.ext(v.dst[e]),
        "kind": k.as_str(),
        "valid": {"start": date_json(iv.start), "end": date_json(iv.end)},
        "source": source_json(snap, f, l),
    });
    let label = snap.label_text(k, v.label(e));
    if !label.is_empty() {
        o["label"] = label.into();
    }
    if let Some(x) = v.value(e) {
        o[if k == EdgeKind::Owns {
            "share_pct"
        } else {
            "amount"
        }] = x.into();
    }
    if let Some(d) = v.date(e) {
        o["submitted"] = date_json(d);
    }
    if let Some(w) = v.flag(e) {
        o["won"] = w.into();
    }
    let props = snap.edge_props(k, e);
    if !props.is_empty() {
        o["props"] = props
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect::<serde_json::Map<String, Value>>()
            .into();
    }
    o
}

/// An entity with its attributes and edges; at most `limit` edges per kind and direction,
/// after skipping `offset`, with totals so that a client can page.
pub fn entity(snap: &Snapshot, n: u32, limit: usize, offset: usize) -> Value {
    let mut o = node_json(snap, n);
    if let Some(d) = snap.detail(n) {
        o["identifier"] = d.identifier.clone().map_or(Value::Null, Value::String);
        o["attributes"] = d
            .attrs
            .fields()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), Value::String(v)))
            .collect::<serde_json::Map<_, _>>()
            .into();
        o["properties"] = d
            .props
            .iter()
            .cloned()
            .map(|(k, v)| (k, Value::String(v)))
            .collect::<serde_json::Map<_, _>>()
            .into();
        o["aliases"] = d.aliases.clone().into();
        o["sources"] = d
            .sources
            .iter()
            .map(|s| source_json(snap, s.file.0, s.line))
            .collect::<Vec<_>>()
            .into();
        o["blacklist"] = d
            .blacklist
            .iter()
            .map(|b| {
                json!({"reason": b.reason, "listed": b.listed.map(|d| d.to_string()), "list_source": b.list_source,
                       "source": source_json(snap, b.source.file.0, b.source.line)})
            })
            .collect::<Vec<_>>()
            .into();
    }
    let mut groups = Vec::new();
    for k in EdgeKind::ALL {
        let v = snap.edges(*k);
        let out: Vec<usize> = v.out(n).collect();
        let inc: Vec<usize> = v.inc(n).iter().map(|&e| e as usize).collect();
        for (dir, list) in [("out", out), ("in", inc)] {
            if list.is_empty() {
                continue;
            }
            let page: Vec<Value> = list
                .iter()
                .skip(offset)
                .take(limit)
                .map(|&e| edge_json(snap, *k, e))
                .collect();
            groups.push(json!({
                "kind": k.as_str(), "direction": dir, "total": list.len(), "offset": offset,
                "truncated": offset + page.len() < list.len(), "edges": page,
            }));
        }
    }
    o["edges"] = groups.into();
    o
}
