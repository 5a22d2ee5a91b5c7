//! FollowTheMoney entities as JSON lines (`{"id", "schema", "properties"}`), the format of
//! Aleph, OpenAleph, OpenSanctions and yente, so that a graph (or a finding's evidence) can be
//! loaded into an investigation platform or matched against sanctions lists.
//!
//! Each node is one entity, its bundle id as entity id: Person → `Person`, Agency →
//! `PublicBody`, Company → `Company`, Tender → `CallForTenders`, Contract → `Contract`,
//! Subsidy → `Payment`. An edge becomes a relationship entity where FtM has one (`Occupancy`
//! with its `Position`, `Family`/`Associate`, `Ownership`, `Directorship`/`Employment`,
//! `Membership`, `ContractAward`, `Sanction` for a blacklist entry) and a property where FtM
//! models it as one (the agency that runs a tender is its `authority`, the payer and
//! beneficiary of a subsidy are properties of the `Payment`, bidders are `tenderers`). What FtM
//! has no schema for — bids with their amounts, tender roles, approvals, declarations, a
//! contract's tender — is an `UnknownLink` whose `role` says what it is. Every relationship
//! entity cites its source row in `recordId`; `docs/formats.md` lists what the mapping keeps
//! and what it cannot.

use crate::table::{ends, Selection};
use qinglian_engine::describe::cite;
use qinglian_engine::exec::EdgeRef;
use qinglian_engine::snapshot::Snapshot;
use qinglian_model::{Attrs, Date, EdgeKind, Interval, NodeKind, FAMILY};
use rustc_hash::FxHashSet;
use serde_json::json;
use std::collections::BTreeMap;
use std::io::{self, Write};

/// One entity being built: schema and multi-valued properties.
struct Entity {
    id: String,
    schema: &'static str,
    props: BTreeMap<&'static str, Vec<String>>,
}

impl Entity {
    fn new(id: String, schema: &'static str) -> Entity {
        Entity {
            id,
            schema,
            props: BTreeMap::new(),
        }
    }

    fn add(&mut self, prop: &'static str, v: impl Into<String>) {
        let v = v.into();
        if !v.is_empty() {
            let vals = self.props.entry(prop).or_default();
            if !vals.contains(&v) {
                vals.push(v);
            }
        }
    }

    fn add_date(&mut self, prop: &'static str, d: Option<Date>) {
        if let Some(d) = d {
            self.add(prop, d.to_string());
        }
    }

    fn write<W: Write>(&self, w: &mut W) -> io::Result<()> {
        let v = json!({"id": self.id, "schema": self.schema, "properties": self.props});
        writeln!(w, "{v}")
    }
}

/// The FtM schema of a node kind.
fn node_schema(k: NodeKind) -> &'static str {
    match k {
        NodeKind::Person => "Person",
        NodeKind::Agency => "PublicBody",
        NodeKind::Company => "Company",
        NodeKind::Tender => "CallForTenders",
        NodeKind::Contract => "Contract",
        NodeKind::Subsidy => "Payment",
    }
}

fn day(d: i32, sentinel: i32) -> Option<Date> {
    (d != sentinel && d != qinglian_engine::snapshot::NO_DATE).then_some(Date(d))
}

/// Writes the selection as FtM JSON lines: nodes first, then relationship entities.
pub fn write<W: Write>(w: &mut W, snap: &Snapshot, sel: &Selection) -> io::Result<()> {
    let chosen: FxHashSet<(u8, u32)> = sel.edges.iter().map(|e| (e.kind, e.idx)).collect();
    for &n in &sel.nodes {
        node(snap, n, &chosen).write(w)?;
        for s in sanctions(snap, n) {
            s.write(w)?;
        }
    }
    let mut posts = FxHashSet::default();
    for e in &sel.edges {
        for ent in edge(snap, *e, &mut posts) {
            ent.write(w)?;
        }
    }
    Ok(())
}

/// The edges of kind `k` at node `n` (out when `out`, else in) that the selection holds.
fn selected(
    snap: &Snapshot,
    chosen: &FxHashSet<(u8, u32)>,
    k: EdgeKind,
    n: u32,
    out: bool,
) -> Vec<u32> {
    let v = snap.edges(k);
    let idx: Vec<u32> = if out {
        v.out(n).map(|i| i as u32).collect()
    } else {
        v.inc(n).to_vec()
    };
    idx.into_iter()
        .filter(|i| chosen.contains(&(k.index() as u8, *i)))
        .collect()
}

/// The other end of the selected edges of kind `k` at `n`, as bundle ids.
fn linked(
    snap: &Snapshot,
    chosen: &FxHashSet<(u8, u32)>,
    k: EdgeKind,
    n: u32,
    out: bool,
) -> Vec<String> {
    let v = snap.edges(k);
    selected(snap, chosen, k, n, out)
        .into_iter()
        .map(|i| {
            let other = if out {
                v.dst[i as usize]
            } else {
                v.src[i as usize]
            };
            snap.ext(other).to_owned()
        })
        .collect()
}

fn node(snap: &Snapshot, n: u32, chosen: &FxHashSet<(u8, u32)>) -> Entity {
    let kind = snap.kind_of(n);
    let mut e = Entity::new(snap.ext(n).to_owned(), node_schema(kind));
    if kind != NodeKind::Subsidy {
        e.add("name", snap.name(n));
    }
    if kind == NodeKind::Contract {
        // FtM requires a contract's title; a bundle's contract has at most a name, so its
        // number stands in when it has none.
        let name = snap.name(n);
        e.add("title", if name.is_empty() { snap.ext(n) } else { name });
    }
    let (f, l) = snap.node_source(n);
    let detail = snap.detail(n);
    let mut notes = vec![format!("source: {}", cite(snap, f, l))];
    if let Some(d) = &detail {
        attrs(&mut e, &d.attrs, d.identifier.as_deref(), &mut notes);
        for (k, v) in &d.props {
            match (kind, k.as_str()) {
                (NodeKind::Subsidy, "program" | "programme") => e.add("programme", v.clone()),
                _ => notes.push(format!("{k}: {v}")),
            }
        }
    }
    let link = |k, out| linked(snap, chosen, k, n, out);
    match kind {
        NodeKind::Tender => {
            for a in link(EdgeKind::Ran, false) {
                e.add("authority", a);
            }
            for c in link(EdgeKind::Bid, false) {
                e.add("tenderers", c);
            }
        }
        NodeKind::Contract => {
            for a in link(EdgeKind::Awarded, false) {
                e.add("authority", a);
            }
        }
        NodeKind::Subsidy => {
            for a in link(EdgeKind::Paid, false) {
                e.add("payer", a);
            }
            for b in link(EdgeKind::To, true) {
                e.add("beneficiary", b);
            }
        }
        _ => {}
    }
    // Payment is an interval in FtM, which has no notes; its source goes to recordId.
    let notes_prop = if kind == NodeKind::Subsidy {
        "recordId"
    } else {
        "notes"
    };
    for note in notes {
        e.add(notes_prop, note);
    }
    e
}

fn attrs(e: &mut Entity, a: &Attrs, ident: Option<&str>, notes: &mut Vec<String>) {
    match a {
        Attrs::Person {
            birth_date,
            death_date,
        } => {
            e.add_date("birthDate", *birth_date);
            e.add_date("deathDate", *death_date);
            e.add("idNumber", ident.unwrap_or_default());
            if ident.is_some() {
                // A valid resident ID number is a Chinese one.
                e.add("country", "cn");
            }
        }
        Attrs::Agency { region } => e.add("address", region.clone().unwrap_or_default()),
        Attrs::Company {
            address,
            phone,
            founded,
            status,
        } => {
            e.add("uscCode", ident.unwrap_or_default());
            if ident.is_some() {
                // A valid unified social credit code is a Chinese registration.
                e.add("jurisdiction", "cn");
            }
            e.add("address", address.clone().unwrap_or_default());
            if let Some(p) = phone {
                e.add("phone", e164(p));
            }
            e.add_date("incorporationDate", *founded);
            e.add("status", status.clone().unwrap_or_default());
        }
        Attrs::Tender {
            title,
            budget,
            published,
        } => {
            e.add("title", title.clone().unwrap_or_default());
            e.add_date("publicationDate", *published);
            if let Some(b) = budget {
                notes.push(format!("budget: {b}"));
            }
        }
        Attrs::Contract { amount, signed } => {
            e.add("amount", amount.map(|x| x.to_string()).unwrap_or_default());
            e.add_date("contractDate", *signed);
        }
        Attrs::Subsidy { amount, paid } => {
            e.add("amount", amount.map(|x| x.to_string()).unwrap_or_default());
            e.add_date("date", *paid);
        }
    }
}

/// A Chinese phone number in the international form FtM stores (`+86…`): a mobile number of
/// eleven digits starting with 1, or a landline with its area code (`0571-…`). Anything else
/// (already international, or not recognisably Chinese) is written as given.
fn e164(p: &str) -> String {
    let t = p.trim();
    let digits: String = t.chars().filter(char::is_ascii_digit).collect();
    let plain = t
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '-' | ' ' | '(' | ')'));
    if !plain || t.starts_with('+') {
        return t.to_owned();
    }
    let mobile = digits.len() == 11 && digits.starts_with('1');
    let landline = digits.starts_with('0') && (10..=12).contains(&digits.len());
    if mobile {
        format!("+86{digits}")
    } else if landline {
        format!("+86{}", &digits[1..])
    } else {
        t.to_owned()
    }
}

/// A `Sanction` per blacklist entry of node `n`.
fn sanctions(snap: &Snapshot, n: u32) -> Vec<Entity> {
    if snap.flags()[n as usize] & qinglian_engine::snapshot::flag::BLACKLISTED == 0 {
        return Vec::new();
    }
    let Some(d) = snap.detail(n) else {
        return Vec::new();
    };
    d.blacklist
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let mut s = Entity::new(format!("sanction-{}-{i}", snap.ext(n)), "Sanction");
            s.add("entity", snap.ext(n));
            s.add("authority", b.list_source.clone());
            s.add("reason", b.reason.clone());
            s.add_date("listingDate", b.listed);
            s.add("recordId", cite(snap, b.source.file.0, b.source.line));
            s
        })
        .collect()
}

/// The entities of one edge: none when the edge is a property of a node entity.
fn edge(snap: &Snapshot, e: EdgeRef, posts: &mut FxHashSet<String>) -> Vec<Entity> {
    let k = e.kind();
    let v = snap.edges(k);
    let i = e.idx as usize;
    let (a, b) = ends(snap, e);
    let (from, to) = (snap.ext(a).to_owned(), snap.ext(b).to_owned());
    let label = snap.label_text(k, v.label(i)).to_owned();
    let id = format!("{}-{}-{from}-{to}", k.as_str().to_ascii_lowercase(), e.idx);
    let rel = |schema: &'static str| {
        let mut x = Entity::new(id.clone(), schema);
        let iv = v.interval(i);
        x.add_date("startDate", day(iv.start, Interval::OPEN_START));
        x.add_date("endDate", day(iv.end, Interval::OPEN_END));
        let (f, l) = v.source(i);
        x.add("recordId", cite(snap, f, l));
        for (pk, pv) in snap.edge_props(k, i) {
            x.add("description", format!("{pk}: {pv}"));
        }
        x
    };
    let unknown = |role: String| {
        let mut x = rel("UnknownLink");
        x.add("subject", from.clone());
        x.add("object", to.clone());
        x.add("role", role);
        x
    };
    match k {
        EdgeKind::Position => {
            let post_id = format!("position-{to}-{}", hex(&label));
            let mut out = Vec::new();
            if posts.insert(post_id.clone()) {
                let mut p = Entity::new(post_id.clone(), "Position");
                p.add("name", format!("{label}, {}", snap.name(b)));
                p.add("organization", to.clone());
                out.push(p);
            }
            let mut o = rel("Occupancy");
            o.add("holder", from);
            o.add("post", post_id);
            out.push(o);
            out
        }
        EdgeKind::Relation => {
            let family = FAMILY.contains(&label.as_str());
            let mut x = rel(if family { "Family" } else { "Associate" });
            x.add("person", from);
            x.add(if family { "relative" } else { "associate" }, to);
            x.add("relationship", label);
            vec![x]
        }
        EdgeKind::Owns => {
            let mut x = rel("Ownership");
            x.add("owner", from);
            x.add("asset", to);
            x.add(
                "percentage",
                v.value(i).map(|p| p.to_string()).unwrap_or_default(),
            );
            vec![x]
        }
        EdgeKind::Role if label == "employee" => {
            let mut x = rel("Employment");
            x.add("employee", from);
            x.add("employer", to);
            x.add("role", label);
            vec![x]
        }
        EdgeKind::Role => {
            let mut x = rel("Directorship");
            x.add("director", from);
            x.add("organization", to);
            x.add("role", label);
            vec![x]
        }
        EdgeKind::PartOf => {
            let mut x = rel("Membership");
            x.add("member", from);
            x.add("organization", to);
            x.add("role", "part of");
            vec![x]
        }
        EdgeKind::To if snap.kind_of(a) == NodeKind::Contract => {
            let mut x = rel("ContractAward");
            x.add("contract", from);
            x.add("supplier", to);
            vec![x]
        }
        EdgeKind::Bid => {
            let won = v.flag(i) == Some(true);
            let mut x = unknown(if won { "winning bid" } else { "bid" }.to_owned());
            x.add_date("date", v.date(i).map(Date));
            if let Some(amount) = v.value(i) {
                x.add("description", format!("amount: {amount}"));
            }
            vec![x]
        }
        EdgeKind::Handled => vec![unknown(format!("tender {label}"))],
        EdgeKind::Declared => vec![unknown(format!("declared {label}"))],
        EdgeKind::Under => vec![unknown("awarded under".to_owned())],
        // A candidate identity link is a guess, not a fact of the data: FtM keeps such guesses
        // outside the entities (nomenklatura's judgements), so none is exported.
        EdgeKind::SameAs => Vec::new(),
        EdgeKind::ApprovedBy if snap.kind_of(a) == NodeKind::Contract => {
            // subject: the approver; object: the contract.
            let mut x = rel("UnknownLink");
            x.add("subject", to);
            x.add("object", from);
            x.add("role", "approved");
            vec![x]
        }
        EdgeKind::ApprovedBy => {
            // FtM cannot link to a Payment: the approval links the approver to the subsidy's
            // beneficiary (or, without one, its payer) and names the subsidy in its role.
            let t = snap.edges(EdgeKind::To);
            let p = snap.edges(EdgeKind::Paid);
            let other = t
                .out(a)
                .next()
                .map(|j| t.dst[j])
                .or_else(|| p.inc(a).first().map(|&j| p.src[j as usize]));
            let Some(other) = other else {
                return Vec::new();
            };
            let mut x = rel("UnknownLink");
            x.add("subject", to);
            x.add("object", snap.ext(other));
            x.add("role", format!("approved subsidy {from}"));
            vec![x]
        }
        // Properties of the tender, contract or payment.
        EdgeKind::Ran | EdgeKind::Awarded | EdgeKind::Paid | EdgeKind::To => Vec::new(),
    }
}

/// A short stable hex digest of a text, for ids built from free text.
fn hex(s: &str) -> String {
    format!("{:016x}", fnv(s.as_bytes()))
}

/// FNV-1a: stable across releases and platforms (ids must not change between exports).
fn fnv(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325, |h, &x| {
        (h ^ u64::from(x)).wrapping_mul(0x0100_0000_01b3)
    })
}
