//! JSON descriptions of nodes, edges and entities, shared by `show`, findings, paths and the
//! API, so that every place cites sources the same way.
//!
//! The evidence chain of a finding is typed — [`EvidenceNode`], [`EvidenceEdge`], with
//! [`Source`], [`Validity`] and [`Listing`] — rather than made of JSON values, so that code
//! reading a chain (the API's evidence bundle, tests) reads named fields checked by the
//! compiler instead of looking keys up by string. Their JSON is what investigators and archived
//! findings already hold (the values `serde_json::json!` used to build), so it must not change
//! by a byte: every struct that derives `Serialize` lists its fields in the alphabetical order
//! of their JSON keys (the order of `json!`'s sorted maps), a field that was left out when
//! empty is skipped when empty, and one written as null stays null. Where the key depends on
//! the kind (a node's main date, an edge's number) the struct holds one field and serializes
//! through a private mirror with one optional field per possible key. [`edge_json`] is the JSON
//! of an [`EvidenceEdge`], so an edge reads the same in a finding, an entity page and a path;
//! the tests below keep the old `json!` builders as the oracle.

use crate::snapshot::Snapshot;
use qinglian_model::{BlacklistRecord, Date, EdgeKind, Interval, NodeKind};
use serde::{Serialize, Serializer};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// `file:line (load N)` of a source row.
pub fn cite(snap: &Snapshot, file: u32, line: u32) -> String {
    match snap.file(file) {
        Some(f) => format!("{}:{line} (load {})", f.name, f.load),
        None => format!("file#{file}:{line}"),
    }
}

/// `{"file", "line", "load"}` of a source row (see [`Source`]).
pub fn source_json(snap: &Snapshot, file: u32, line: u32) -> Value {
    to_json(&Source::of(snap, file, line))
}

/// A date as `YYYY-MM-DD`, or null.
pub fn date_json(d: i32) -> Value {
    if d == crate::snapshot::NO_DATE || d == Interval::OPEN_START || d == Interval::OPEN_END {
        Value::Null
    } else {
        Value::String(Date(d).to_string())
    }
}

/// A typed description as a JSON value. Serializing these types into a `Value` cannot fail
/// (every map key is a string, no `Serialize` impl here returns an error), so the null is
/// never seen.
fn to_json<T: Serialize>(t: &T) -> Value {
    serde_json::to_value(t).unwrap_or(Value::Null)
}

/// `{"id", "kind", "name", "source"}`: the node and the row that first described it.
pub fn node_json(snap: &Snapshot, n: u32) -> Value {
    let (f, l) = snap.node_source(n);
    json!({"id": snap.ext(n), "kind": snap.kind_of(n).as_str(), "name": snap.name(n), "source": source_json(snap, f, l)})
}

/// An edge: endpoints, kind, label, validity, value and source row (see [`EvidenceEdge`]).
pub fn edge_json(snap: &Snapshot, k: EdgeKind, e: usize) -> Value {
    to_json(&EvidenceEdge::of(snap, k, e))
}

/// Where a fact came from: the file of its row, the row's line and the load that read the
/// file. `file` and `load` are null (not absent) when the snapshot's file table has no such
/// file; the line is still cited.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Source {
    /// The file's name in the bundle.
    pub file: Option<String>,
    /// 1-based line of the row.
    pub line: u32,
    /// The load that read the file.
    pub load: Option<u32>,
}

impl Source {
    /// The source of row `line` of file `file` (an index into the snapshot's file table).
    pub fn of(snap: &Snapshot, file: u32, line: u32) -> Source {
        let f = snap.file(file);
        Source {
            file: f.map(|f| f.name.clone()),
            line,
            load: f.map(|f| f.load),
        }
    }
}

/// Serializes a day the way [`date_json`] writes one: `YYYY-MM-DD`, or null for none and
/// for the sentinels of an unknown start or an open end (a snapshot stores days as `i32`
/// with sentinels; the typed fields keep that day, the JSON never shows the sentinel).
fn day<S: Serializer>(d: &Option<Date>, s: S) -> Result<S::Ok, S::Error> {
    match d.filter(|d| d.0 != Interval::OPEN_START && d.0 != Interval::OPEN_END) {
        Some(d) => s.collect_str(&d),
        None => s.serialize_none(),
    }
}

/// When an edge holds. Both ends are always written, null when unknown (start) or open (end),
/// so that a reader sees "no limit" rather than a missing field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Validity {
    /// Last day on which the edge holds; `None` while it is open.
    #[serde(serialize_with = "day")]
    pub end: Option<Date>,
    /// First day on which the edge holds; `None` when unknown.
    #[serde(serialize_with = "day")]
    pub start: Option<Date>,
}

impl From<Interval> for Validity {
    fn from(iv: Interval) -> Validity {
        Validity {
            end: iv.end_date(),
            start: iv.start_date(),
        }
    }
}

/// One blacklist entry of a node, with the row it came from: a rule that relied on the
/// listing cites it like any other fact.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Listing {
    /// Who listed it.
    pub list_source: String,
    /// When it was listed; null when the row gives no date. Written as the day it is: the
    /// listing keeps no sentinel to hide.
    #[serde(serialize_with = "listed_day")]
    pub listed: Option<Date>,
    /// Why it was listed.
    pub reason: String,
    /// The row of `blacklist.csv`.
    pub source: Source,
}

fn listed_day<S: Serializer>(d: &Option<Date>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.collect_str(d),
        None => s.serialize_none(),
    }
}

impl Listing {
    /// The listing of a blacklist record.
    pub fn of(snap: &Snapshot, b: &BlacklistRecord) -> Listing {
        Listing {
            list_source: b.list_source.clone(),
            listed: b.listed,
            reason: b.reason.clone(),
            source: Source::of(snap, b.source.file.0, b.source.line),
        }
    }
}

/// A node of an evidence chain: what [`node_json`] says of it, plus the facts about the node
/// itself that a rule may have relied on — its dates and its blacklist entries — each
/// citable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvidenceNode {
    /// Bundle id.
    pub id: String,
    /// Its kind.
    pub kind: NodeKind,
    /// Its name.
    pub name: String,
    /// The row that first described it.
    pub source: Source,
    /// The kind's main date, when known. One field rather than one per kind, as a node has
    /// exactly one; written under the kind's key — `birth_date` (person), `founded`
    /// (company), `published` (tender), `signed` (contract), `paid` (subsidy), `date`
    /// (agency, which has none today) — and absent when unknown.
    pub date: Option<Date>,
    /// A person's death date; absent when none is known.
    pub death_date: Option<Date>,
    /// Every blacklist entry; absent when the node is not listed (a listed node always has
    /// at least one entry).
    pub blacklist: Vec<Listing>,
}

impl EvidenceNode {
    /// Node `n` of the snapshot.
    pub fn of(snap: &Snapshot, n: u32) -> EvidenceNode {
        let (f, l) = snap.node_source(n);
        let known = |d: i32| (d != crate::snapshot::NO_DATE).then_some(Date(d));
        let blacklist = if snap.flags()[n as usize] & crate::snapshot::flag::BLACKLISTED != 0 {
            snap.detail(n)
                .map(|det| det.blacklist.iter().map(|b| Listing::of(snap, b)).collect())
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        EvidenceNode {
            id: snap.ext(n).to_owned(),
            kind: snap.kind_of(n),
            name: snap.name(n).to_owned(),
            source: Source::of(snap, f, l),
            date: known(snap.dates()[n as usize]),
            death_date: known(snap.deaths()[n as usize]),
            blacklist,
        }
    }
}

/// The JSON shape of an [`EvidenceNode`]: one optional field per possible main-date key, in
/// the alphabetical order of all keys.
#[derive(Serialize)]
struct NodeJson<'a> {
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "day")]
    birth_date: Option<Date>,
    #[serde(skip_serializing_if = "<[Listing]>::is_empty")]
    blacklist: &'a [Listing],
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "day")]
    date: Option<Date>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "day")]
    death_date: Option<Date>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "day")]
    founded: Option<Date>,
    id: &'a str,
    kind: &'static str,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "day")]
    paid: Option<Date>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "day")]
    published: Option<Date>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "day")]
    signed: Option<Date>,
    source: &'a Source,
}

impl Serialize for EvidenceNode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let main = |k: NodeKind| if self.kind == k { self.date } else { None };
        NodeJson {
            birth_date: main(NodeKind::Person),
            blacklist: &self.blacklist,
            date: main(NodeKind::Agency),
            death_date: self.death_date,
            founded: main(NodeKind::Company),
            id: &self.id,
            kind: self.kind.as_str(),
            name: &self.name,
            paid: main(NodeKind::Subsidy),
            published: main(NodeKind::Tender),
            signed: main(NodeKind::Contract),
            source: &self.source,
        }
        .serialize(s)
    }
}

/// An edge of an evidence chain (and of every other edge description: [`edge_json`] is its
/// JSON): endpoints, kind, validity and source row, plus what the kind carries.
#[derive(Clone, Debug, PartialEq)]
pub struct EvidenceEdge {
    /// Bundle id of the source node.
    pub from: String,
    /// Bundle id of the target node.
    pub to: String,
    /// The edge kind.
    pub kind: EdgeKind,
    /// The label (relation, role, position title ...); empty when the edge has none, and
    /// then absent from the JSON.
    pub label: String,
    /// When it holds.
    pub valid: Validity,
    /// The edge's number: a share in percent for OWNS (written `share_pct`), an amount for
    /// every other kind (written `amount`); absent when none.
    pub value: Option<f64>,
    /// When a bid was submitted (BID only); absent when unknown.
    pub submitted: Option<Date>,
    /// Whether a bid won (BID only); absent when unknown.
    pub won: Option<bool>,
    /// Extra columns of the row, by column name; absent when there are none.
    pub props: BTreeMap<String, String>,
    /// The row.
    pub source: Source,
}

impl EvidenceEdge {
    /// Edge `e` of kind `k`.
    pub fn of(snap: &Snapshot, k: EdgeKind, e: usize) -> EvidenceEdge {
        let v = snap.edges(k);
        let (f, l) = v.source(e);
        EvidenceEdge {
            from: snap.ext(v.src[e]).to_owned(),
            to: snap.ext(v.dst[e]).to_owned(),
            kind: k,
            label: if k == EdgeKind::SameAs {
                // A link's label says whether an investigator confirmed it.
                let confirmed = snap.links().is_some_and(|l| l.confirmed(e));
                if confirmed { "confirmed" } else { "candidate" }.to_owned()
            } else {
                snap.label_text(k, v.label(e)).to_owned()
            },
            valid: v.interval(e).into(),
            value: v.value(e),
            submitted: v.date(e).map(Date),
            won: v.flag(e),
            // A column named twice keeps its last value.
            props: snap.edge_props(k, e).into_iter().collect(),
            source: Source::of(snap, f, l),
        }
    }
}

/// The JSON shape of an [`EvidenceEdge`]: its value under `amount` or `share_pct`, in the
/// alphabetical order of all keys.
#[derive(Serialize)]
struct EdgeJson<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    amount: Option<f64>,
    from: &'a str,
    kind: &'static str,
    #[serde(skip_serializing_if = "str::is_empty")]
    label: &'a str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    props: &'a BTreeMap<String, String>,
    /// A `SAME_AS` link's probability.
    #[serde(skip_serializing_if = "Option::is_none")]
    probability: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    share_pct: Option<f64>,
    source: &'a Source,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "day")]
    submitted: Option<Date>,
    to: &'a str,
    valid: Validity,
    #[serde(skip_serializing_if = "Option::is_none")]
    won: Option<bool>,
}

impl Serialize for EvidenceEdge {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let owns = self.kind == EdgeKind::Owns;
        let link = self.kind == EdgeKind::SameAs;
        EdgeJson {
            amount: self.value.filter(|_| !owns && !link),
            from: &self.from,
            kind: self.kind.as_str(),
            label: &self.label,
            props: &self.props,
            probability: self.value.filter(|_| link),
            share_pct: self.value.filter(|_| owns),
            source: &self.source,
            submitted: self.submitted,
            to: &self.to,
            valid: self.valid,
            won: self.won,
        }
        .serialize(s)
    }
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
            .map(|b| to_json(&Listing::of(snap, b)))
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

#[cfg(test)]
mod tests {
    //! The typed evidence must serialize to the very bytes the `json!`-built values it replaced
    //! did: the old builders are kept here, verbatim, as the oracle, and every node and edge
    //! of a hand-made snapshot that holds every case (each kind's main date, deaths, listings
    //! with and without a date, a file missing from the file table, extra columns with a
    //! repeated name, values, bids, sentinel days, an infinite value) is compared.

    use super::*;
    use crate::snapshot;
    use qinglian_model::{Attrs, EdgeRecord, FileId, NodeRecord, Provenance};
    use qinglian_store::{GraphDb, MemStore};

    fn old_source_json(snap: &Snapshot, file: u32, line: u32) -> Value {
        match snap.file(file) {
            Some(f) => json!({"file": f.name, "line": line, "load": f.load}),
            None => json!({"file": Value::Null, "line": line, "load": Value::Null}),
        }
    }

    fn old_listing(snap: &Snapshot, b: &BlacklistRecord) -> Value {
        json!({"reason": b.reason, "listed": b.listed.map(|d| d.to_string()), "list_source": b.list_source,
               "source": old_source_json(snap, b.source.file.0, b.source.line)})
    }

    fn old_node(snap: &Snapshot, n: u32) -> Value {
        let (f, l) = snap.node_source(n);
        let mut v = json!({"id": snap.ext(n), "kind": snap.kind_of(n).as_str(), "name": snap.name(n), "source": old_source_json(snap, f, l)});
        let d = snap.dates()[n as usize];
        if d != crate::snapshot::NO_DATE {
            let key = match snap.kind_of(n) {
                NodeKind::Person => "birth_date",
                NodeKind::Company => "founded",
                NodeKind::Tender => "published",
                NodeKind::Contract => "signed",
                NodeKind::Subsidy => "paid",
                NodeKind::Agency => "date",
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
                    .map(|b| old_listing(snap, b))
                    .collect::<Vec<_>>()
                    .into();
            }
        }
        v
    }

    fn old_edge(snap: &Snapshot, k: EdgeKind, e: usize) -> Value {
        let v = snap.edges(k);
        let iv = v.interval(e);
        let (f, l) = v.source(e);
        let mut o = json!({
            "from": snap.ext(v.src[e]),
            "to": snap.ext(v.dst[e]),
            "kind": k.as_str(),
            "valid": {"start": date_json(iv.start), "end": date_json(iv.end)},
            "source": old_source_json(snap, f, l),
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

    fn day(s: &str) -> Option<Date> {
        Some(Date::parse(s).expect("a test date"))
    }

    /// Every case the evidence JSON distinguishes, in one snapshot.
    fn every_case() -> Snapshot {
        let mut db = GraphDb::open(MemStore::new()).expect("an in-memory database");
        let mut w = db.begin_load("test", "test");
        let file = w.add_file("rows.csv");
        let nowhere = FileId(99);
        let far = Some(Date(Interval::OPEN_END));
        let nodes = [
            (
                "P1",
                Attrs::Person {
                    birth_date: day("1960-01-02"),
                    death_date: day("2020-05-06"),
                },
            ),
            (
                "P2",
                Attrs::Person {
                    birth_date: None,
                    death_date: None,
                },
            ),
            (
                "P3",
                Attrs::Person {
                    birth_date: far,
                    death_date: far,
                },
            ),
            ("A1", Attrs::Agency { region: None }),
            (
                "C1",
                Attrs::Company {
                    address: None,
                    phone: None,
                    founded: day("2001-03-04"),
                    status: None,
                },
            ),
            (
                "T1",
                Attrs::Tender {
                    title: None,
                    budget: Some(1.0),
                    published: day("2019-07-08"),
                },
            ),
            (
                "K1",
                Attrs::Contract {
                    amount: Some(2.5),
                    signed: day("2019-09-10"),
                },
            ),
            (
                "S1",
                Attrs::Subsidy {
                    amount: None,
                    paid: day("2021-11-12"),
                },
            ),
        ];
        let mut ids = std::collections::HashMap::new();
        for (line, (ext, attrs)) in nodes.into_iter().enumerate() {
            let id = w.alloc_node();
            ids.insert(ext, id);
            let kind = match attrs {
                Attrs::Person { .. } => NodeKind::Person,
                Attrs::Agency { .. } => NodeKind::Agency,
                Attrs::Company { .. } => NodeKind::Company,
                Attrs::Tender { .. } => NodeKind::Tender,
                Attrs::Contract { .. } => NodeKind::Contract,
                Attrs::Subsidy { .. } => NodeKind::Subsidy,
            };
            let rec = NodeRecord {
                id,
                kind,
                ext_id: ext.to_owned(),
                aliases: Vec::new(),
                name: format!("name \"{ext}\""),
                identifier: None,
                attrs,
                props: Vec::new(),
                sources: vec![Provenance {
                    file: if ext == "P2" { nowhere } else { file },
                    line: line as u32 + 2,
                }],
            };
            w.put_node(&rec, true).expect("a node record");
        }
        let listings = [("P1", day("2015-01-01")), ("P1", None), ("C1", far)];
        for (line, (ext, listed)) in listings.into_iter().enumerate() {
            let rec = BlacklistRecord {
                node: ids[ext],
                reason: "bribery, \"twice\"".to_owned(),
                listed,
                list_source: "court".to_owned(),
                props: Vec::new(),
                source: Provenance {
                    file,
                    line: line as u32 + 2,
                },
            };
            w.put_blacklist(&rec).expect("a blacklist record");
        }
        let iv = |s: i32, e: i32| Interval { start: s, end: e };
        let d = |s: &str| day(s).map_or(0, |d| d.0);
        let props = vec![
            ("note".to_owned(), "x".to_owned()),
            ("a".to_owned(), "1".to_owned()),
            ("note".to_owned(), "y".to_owned()),
        ];
        let edge = |kind, from: &str, to: &str, label: &str, valid| EdgeRecord {
            kind,
            from: ids[from],
            to: ids[to],
            label: label.to_owned(),
            valid,
            value: None,
            date: None,
            flag: None,
            props: Vec::new(),
            source: Provenance { file, line: 0 },
        };
        let always = Interval::ALWAYS;
        let edges = [
            EdgeRecord {
                value: Some(51.5),
                props,
                ..edge(
                    EdgeKind::Owns,
                    "P1",
                    "C1",
                    "",
                    iv(d("2010-01-01"), Interval::OPEN_END),
                )
            },
            EdgeRecord {
                source: Provenance {
                    file: nowhere,
                    line: 0,
                },
                ..edge(EdgeKind::Owns, "P2", "C1", "", always)
            },
            // Three bids on three lots: one fact each (`model::facts`), every case kept.
            EdgeRecord {
                value: Some(1e6),
                date: day("2019-07-20"),
                flag: Some(true),
                props: vec![("lot".into(), "1".into())],
                ..edge(EdgeKind::Bid, "C1", "T1", "", always)
            },
            EdgeRecord {
                value: Some(f64::INFINITY),
                date: far,
                flag: Some(false),
                props: vec![("lot".into(), "2".into())],
                ..edge(EdgeKind::Bid, "C1", "T1", "", always)
            },
            EdgeRecord {
                value: Some(30.0),
                props: vec![("lot".into(), "3".into())],
                ..edge(EdgeKind::Bid, "C1", "T1", "", always)
            },
            edge(
                EdgeKind::Role,
                "P1",
                "C1",
                "legal_rep",
                iv(Interval::OPEN_END, Interval::OPEN_START),
            ),
            edge(
                EdgeKind::Role,
                "P3",
                "C1",
                "director",
                iv(Interval::OPEN_START, d("2022-02-02")),
            ),
            EdgeRecord {
                value: Some(2.5),
                ..edge(EdgeKind::Awarded, "A1", "K1", "", always)
            },
            edge(EdgeKind::Paid, "A1", "S1", "", always),
        ];
        for (line, mut rec) in edges.into_iter().enumerate() {
            rec.source.line = line as u32 + 2;
            w.put_edge(&rec).expect("an edge record");
        }
        db.commit_load(w, Vec::new(), 0).expect("the load commits");
        snapshot::build(&db).expect("the snapshot builds")
    }

    #[test]
    fn typed_evidence_writes_the_old_bytes() {
        let snap = every_case();
        let mut all = String::new();
        for n in 0..snap.node_count() {
            let typed = serde_json::to_string(&EvidenceNode::of(&snap, n)).expect("json");
            let old = serde_json::to_string(&old_node(&snap, n)).expect("json");
            assert_eq!(typed, old, "node {}", snap.ext(n));
            all.push_str(&typed);
            if let Some(det) = snap.detail(n) {
                for b in &det.blacklist {
                    assert_eq!(to_json(&Listing::of(&snap, b)), old_listing(&snap, b));
                }
            }
        }
        for &k in EdgeKind::ALL {
            for e in 0..snap.edges(k).len() {
                let typed = serde_json::to_string(&EvidenceEdge::of(&snap, k, e)).expect("json");
                let old = serde_json::to_string(&old_edge(&snap, k, e)).expect("json");
                assert_eq!(typed, old, "{} edge {e}", k.as_str());
                assert_eq!(edge_json(&snap, k, e), old_edge(&snap, k, e));
                all.push_str(&typed);
            }
        }
        // The snapshot did hold every case.
        for key in [
            "\"birth_date\":\"1960-01-02\"",
            "\"birth_date\":null",
            "\"death_date\":\"2020-05-06\"",
            "\"death_date\":null",
            "\"founded\"",
            "\"published\"",
            "\"signed\"",
            "\"paid\"",
            "\"listed\":null",
            "\"listed\":\"2015-01-01\"",
            "\"file\":null",
            "\"props\":{\"a\":\"1\",\"note\":\"y\"}",
            "\"share_pct\":51.5",
            "\"amount\":null",
            "\"amount\":30.0",
            "\"submitted\":\"2019-07-20\"",
            "\"submitted\":null",
            "\"won\":false",
            "\"label\":\"legal_rep\"",
            "\"valid\":{\"end\":null,\"start\":null}",
            "\"valid\":{\"end\":\"2022-02-02\",\"start\":null}",
        ] {
            assert!(all.contains(key), "no {key} in {all}");
        }
    }
}
