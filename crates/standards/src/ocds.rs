//! OCDS releases to bundle rows: release packages (`releases`), record packages (`records`, each
//! record's `compiledRelease`, or else its releases) and compiled releases, as a JSON document
//! or JSON lines.
//!
//! Parties by role: the agency is the one that runs the procedure (the tender's procuring
//! entity, else the buyer; the buyer's id is kept on the tender as `buyer_id`); `tenderer`,
//! `supplier` and `payee` are companies, an identifier in the `CN-USCC`
//! scheme their credit code (so that they merge with the same company from any other source).
//! The tender is a tender (id = ocid); each tenderer of each bid in `bids.details` a bid, won when
//! the tenderer supplies an active award; each contract a contract with its award's supplier. The
//! procedure's fields rules filter on are kept as extra columns: procurement method and details,
//! status, currency, the submission deadline, the number of tenderers, each bid's status, lot
//! and consortium size.

use crate::bundle::Bundle;
use crate::ftm::day;
use crate::json::{list, s, Record};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// An identifier, which some publishers write as a number.
fn ident(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(x)) => x.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

fn num(v: &Value, path: &[&str]) -> String {
    let mut cur = v;
    for k in path {
        match cur.get(k) {
            Some(x) => cur = x,
            None => return String::new(),
        }
    }
    cur.as_f64().map(|x| x.to_string()).unwrap_or_default()
}

/// A party's id: its `id`, or its identifier as `SCHEME-ID` (bids of some portals name
/// tenderers by identifier only), or, for a party named only (OCDS 1.0 buyers), its name.
fn party_id(p: &Value) -> String {
    match ident(p, "id").as_str() {
        "" => {
            let (scheme, id) = (s(p, &["identifier", "scheme"]), s(p, &["identifier", "id"]));
            match (scheme, id) {
                (_, "") => s(p, &["name"]).to_owned(),
                ("", id) => id.to_owned(),
                (scheme, id) => format!("{scheme}-{id}"),
            }
        }
        id => id.to_owned(),
    }
}

fn address(p: &Value) -> String {
    ["streetAddress", "locality", "region"]
        .iter()
        .map(|k| s(p, &["address", k]))
        .filter(|x| !x.is_empty())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Party roles of agencies: the codelist's, and the Spanish labels some portals (Jalisco) publish
/// instead of the codes.
const AGENCY_ROLES: &[&str] = &[
    "buyer",
    "procuringEntity",
    "payer",
    "Comprador",
    "Entidad que realiza la contratación",
];
/// Party roles of companies, likewise.
const COMPANY_ROLES: &[&str] = &[
    "tenderer",
    "supplier",
    "payee",
    "Participante",
    "Proveedor o contratista",
];

/// The translation state: rows, the ids already written per file, what was left out.
#[derive(Default)]
struct Ocds {
    out: Bundle,
    agencies: BTreeSet<String>,
    companies: BTreeSet<String>,
    left_out: BTreeMap<String, u64>,
}

/// The releases of a record: its compiled release, or else each of its releases.
fn releases(v: &Value) -> Vec<&Value> {
    if v.get("ocid").is_some() && v.get("compiledRelease").is_none() && v.get("releases").is_none()
    {
        return vec![v];
    }
    match v
        .get("compiledRelease")
        .filter(|c| c.as_object().is_some_and(|o| !o.is_empty()))
    {
        Some(c) => vec![c],
        None => list(v, "releases").iter().collect(),
    }
}

/// Merges `later` into `base` as OCDS compiles releases: objects field by field, arrays of
/// objects with ids element by id, anything else replaced by the later value (null removes).
fn merge(base: &mut Value, later: &Value) {
    match (base, later) {
        (Value::Object(b), Value::Object(l)) => {
            for (k, v) in l {
                if v.is_null() {
                    b.remove(k);
                } else if let Some(x) = b.get_mut(k) {
                    merge(x, v);
                } else {
                    b.insert(k.clone(), v.clone());
                }
            }
        }
        (Value::Array(b), Value::Array(l)) if l.iter().all(|x| x.get("id").is_some()) => {
            for item in l {
                match b.iter_mut().find(|x| x.get("id") == item.get("id")) {
                    Some(x) => merge(x, item),
                    None => b.push(item.clone()),
                }
            }
        }
        (b, l) => *b = l.clone(),
    }
}

/// Translates OCDS records into bundle rows. Several releases of one ocid (a release package
/// of a process's history) are compiled into one, in file order, and cite the last one's line.
pub fn translate(records: &[Record]) -> (Bundle, BTreeMap<String, u64>) {
    let mut t = Ocds::default();
    let mut order: Vec<String> = Vec::new();
    let mut compiled: BTreeMap<String, (Record, u32)> = BTreeMap::new();
    for r in records {
        for rel in releases(&r.value) {
            let ocid = s(rel, &["ocid"]).to_owned();
            match compiled.get_mut(&ocid) {
                Some((c, _)) => {
                    merge(&mut c.value, rel);
                    c.line = r.line;
                    c.pointer.clone_from(&r.pointer);
                }
                None => {
                    order.push(ocid.clone());
                    let rec = Record {
                        line: r.line,
                        pointer: r.pointer.clone(),
                        value: rel.clone(),
                    };
                    compiled.insert(ocid, (rec, 0));
                }
            }
        }
    }
    for ocid in order {
        if let Some((rec, _)) = compiled.remove(&ocid) {
            t.release(&rec, &rec.value);
        }
    }
    (t.out, t.left_out)
}

impl Ocds {
    fn skip(&mut self, what: &str) {
        *self.left_out.entry(what.to_owned()).or_default() += 1;
    }

    fn agency(&mut self, r: &Record, p: &Value) -> String {
        let id = party_id(p);
        if !id.is_empty() && self.agencies.insert(id.clone()) {
            self.out.row(
                "agencies.csv",
                r.line,
                &[
                    ("id", id.clone()),
                    ("name", s(p, &["name"]).to_owned()),
                    ("region", s(p, &["address", "region"]).to_owned()),
                    ("json_pointer", r.pointer.clone()),
                ],
            );
        }
        id
    }

    fn company(&mut self, r: &Record, p: &Value) -> String {
        let id = party_id(p);
        if !id.is_empty() && self.companies.insert(id.clone()) {
            let scheme = s(p, &["identifier", "scheme"]);
            let ident = s(p, &["identifier", "id"]);
            let code = if scheme == "CN-USCC" { ident } else { "" };
            self.out.row(
                "companies.csv",
                r.line,
                &[
                    ("id", id.clone()),
                    ("name", s(p, &["name"]).to_owned()),
                    ("credit_code", code.to_owned()),
                    ("address", address(p)),
                    ("phone", s(p, &["contactPoint", "telephone"]).to_owned()),
                    ("identifier_scheme", scheme.to_owned()),
                    ("identifier", ident.to_owned()),
                    ("json_pointer", r.pointer.clone()),
                ],
            );
        }
        id
    }

    /// The parties: companies written by role; returns the agency that runs the procedure
    /// (the tender's procuring entity, else the buyer, else a party with an agency role), written
    /// as an agency. The buyer and payers are kept on the tender as extra columns, not as
    /// agencies of their own, since no edge of the model would reach them.
    fn parties(&mut self, r: &Record, rel: &Value) -> (String, String) {
        let mut by_role: Option<&Value> = None;
        for p in list(rel, "parties") {
            let roles: Vec<&str> = list(p, "roles").iter().filter_map(Value::as_str).collect();
            if roles.iter().any(|x| AGENCY_ROLES.contains(x)) {
                let runs = roles.iter().any(|x| {
                    *x == "procuringEntity" || *x == "Entidad que realiza la contratación"
                });
                if by_role.is_none() || runs {
                    by_role = Some(p);
                }
            } else if roles.iter().any(|x| COMPANY_ROLES.contains(x)) {
                self.company(r, p);
            } else {
                self.skip("party without a buyer, procuring entity, payer, tenderer, supplier or payee role");
            }
        }
        let entity = rel.get("tender").and_then(|t| t.get("procuringEntity"));
        let buyer = rel.get("buyer");
        let runs = [entity, buyer, by_role]
            .into_iter()
            .flatten()
            .find(|p| !party_id(p).is_empty());
        // The party entry has the address; the reference may have only id and name.
        let runs = runs.map(|p| {
            let id = party_id(p);
            list(rel, "parties")
                .iter()
                .find(|q| party_id(q) == id)
                .unwrap_or(p)
        });
        let agency = runs.map(|p| self.agency(r, p)).unwrap_or_default();
        (agency, buyer.map(party_id).unwrap_or_default())
    }

    fn release(&mut self, r: &Record, rel: &Value) {
        let ocid = s(rel, &["ocid"]);
        if ocid.is_empty() && rel.get("url").is_some() {
            self.skip("release given only as a link to where it is published");
            return;
        }
        if ocid.is_empty() {
            self.skip("release without an ocid");
            return;
        }
        let (agency, buyer) = self.parties(r, rel);
        if agency.is_empty() {
            self.skip("release without a buyer or procuring entity");
            return;
        }
        let tender = rel.get("tender").cloned().unwrap_or(Value::Null);
        for a in list(rel, "awards") {
            for p in list(a, "suppliers") {
                self.company(r, p);
            }
        }
        for c in list(rel, "contracts") {
            for p in list(c, "suppliers") {
                self.company(r, p);
            }
        }
        let winners: BTreeSet<String> = list(rel, "awards")
            .iter()
            .filter(|a| s(a, &["status"]) == "active")
            .flat_map(|a| list(a, "suppliers").iter().map(party_id))
            .collect();
        self.tender(r, ocid, (&agency, &buyer), &tender, rel);
        let details = list(list_holder(rel, "bids"), "details");
        for (i, b) in details.iter().enumerate() {
            self.bid(r, ocid, (i, b), &winners);
        }
        if details.is_empty() {
            // Without the bids extension, `tender.tenderers` says who bid (no amounts).
            for t in list(&tender, "tenderers") {
                let b = serde_json::json!({"tenderers": [t]});
                self.bid(r, ocid, (usize::MAX, &b), &winners);
            }
        }
        for c in list(rel, "contracts") {
            self.contract(r, ocid, &agency, c, rel);
        }
    }

    fn tender(
        &mut self,
        r: &Record,
        ocid: &str,
        (agency, buyer): (&str, &str),
        t: &Value,
        rel: &Value,
    ) {
        let published = match day(s(t, &["tenderPeriod", "startDate"])) {
            d if d.is_empty() => day(s(t, &["datePublished"])),
            d => d,
        };
        let details = match s(t, &["procurementMethodDetails"]) {
            "" => s(t, &["procurementMethodType"]),
            d => d,
        };
        self.out.row(
            "tenders.csv",
            r.line,
            &[
                ("id", ocid.to_owned()),
                ("agency_id", agency.to_owned()),
                ("title", s(t, &["title"]).to_owned()),
                ("buyer_id", buyer.to_owned()),
                ("budget", num(t, &["value", "amount"])),
                ("published", published),
                ("currency", s(t, &["value", "currency"]).to_owned()),
                (
                    "procurement_method",
                    s(t, &["procurementMethod"]).to_owned(),
                ),
                ("method_details", details.to_owned()),
                ("status", s(t, &["status"]).to_owned()),
                ("deadline", day(s(t, &["tenderPeriod", "endDate"]))),
                ("deadline_at", s(t, &["tenderPeriod", "endDate"]).to_owned()),
                ("submission_days", submission_days(t)),
                ("number_of_tenderers", count(t, "numberOfTenderers")),
                ("award_criteria", s(t, &["awardCriteria"]).to_owned()),
                ("awards_final", awards_final(rel)),
                ("winners", winners(rel)),
                ("awarded", awarded(rel)),
                ("json_pointer", r.pointer.clone()),
            ],
        );
    }

    fn bid(&mut self, r: &Record, ocid: &str, (i, b): (usize, &Value), winners: &BTreeSet<String>) {
        let tenderers = list(b, "tenderers");
        // The bid's identity: its id, else its place in `bids.details` (so that the rows of one
        // consortium bid are known as one bid); the tenderers of the bid, as a sorted set.
        let bid_id = match (ident(b, "id"), i) {
            (id, _) if !id.is_empty() => id,
            (_, usize::MAX) => String::new(),
            (_, i) => format!("#{i}"),
        };
        let together: BTreeSet<String> = tenderers.iter().map(party_id).collect();
        let together = together.into_iter().collect::<Vec<_>>().join(";");
        for t in tenderers {
            let id = self.company(r, t);
            if id.is_empty() {
                self.skip("bid by a tenderer without an id or identifier");
                continue;
            }
            let won = winners.contains(&id).to_string();
            self.out.row(
                "bids.csv",
                r.line,
                &[
                    ("tender_id", ocid.to_owned()),
                    ("company_id", id),
                    ("amount", num(b, &["value", "amount"])),
                    ("submitted", day(s(b, &["date"]))),
                    ("submitted_at", s(b, &["date"]).to_owned()),
                    ("won", won),
                    ("status", s(b, &["status"]).to_owned()),
                    ("currency", s(b, &["value", "currency"]).to_owned()),
                    ("lot", s(b, &["relatedLot"]).to_owned()),
                    ("bid_id", bid_id.clone()),
                    ("tenderers", together.clone()),
                    ("consortium_size", tenderers.len().to_string()),
                    ("json_pointer", r.pointer.clone()),
                ],
            );
        }
    }

    fn contract(&mut self, r: &Record, ocid: &str, agency: &str, c: &Value, rel: &Value) {
        let award = list(rel, "awards")
            .iter()
            .find(|a| ident(a, "id") == ident(c, "awardID") && !ident(c, "awardID").is_empty());
        let supplier = list(c, "suppliers")
            .first()
            .or_else(|| award.and_then(|a| list(a, "suppliers").first()))
            .map(party_id)
            .unwrap_or_default();
        if supplier.is_empty() {
            self.skip("contract without a supplier (in it or its award)");
            return;
        }
        self.out.row(
            "contracts.csv",
            r.line,
            &[
                ("id", format!("{ocid}/{}", ident(c, "id"))),
                ("agency_id", agency.to_owned()),
                ("company_id", supplier),
                ("tender_id", ocid.to_owned()),
                ("amount", num(c, &["value", "amount"])),
                ("signed", day(s(c, &["dateSigned"]))),
                ("currency", s(c, &["value", "currency"]).to_owned()),
                ("status", s(c, &["status"]).to_owned()),
                ("json_pointer", r.pointer.clone()),
            ],
        );
    }
}

/// A count: a whole number only (`1.0` is not a count of tenderers, as Cardinal reads it).
fn count(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_u64)
        .map(|n| n.to_string())
        .unwrap_or_default()
}

/// Whole days from the tender period's start to its end, truncated, when both are RFC 3339
/// timestamps: Cardinal's measure of the submission period (R003), finer than the two days.
fn submission_days(t: &Value) -> String {
    let at = |k| qinglian_indicators::time::parse(s(t, &["tenderPeriod", k]));
    match (at("startDate"), at("endDate")) {
        (Some(a), Some(b)) => qinglian_indicators::time::days_between(a, b).to_string(),
        _ => String::new(),
    }
}

/// Whether every award with a status is final (active, cancelled, unsuccessful); empty when
/// the release has no awards. A pending award leaves the outcome open.
fn awards_final(rel: &Value) -> String {
    let Some(awards) = rel.get("awards").and_then(Value::as_array) else {
        return String::new();
    };
    awards
        .iter()
        .all(|a| {
            matches!(
                s(a, &["status"]),
                "" | "active" | "cancelled" | "unsuccessful"
            )
        })
        .to_string()
}

/// How many distinct suppliers the active awards name; empty when the release has no awards.
fn winners(rel: &Value) -> String {
    if rel.get("awards").and_then(Value::as_array).is_none() {
        return String::new();
    }
    let ids: BTreeSet<String> = list(rel, "awards")
        .iter()
        .filter(|a| s(a, &["status"]) == "active")
        .flat_map(|a| list(a, "suppliers").iter().map(party_id))
        .collect();
    ids.len().to_string()
}

/// Whether an award is active (whoever it names); empty when the release has no awards.
fn awarded(rel: &Value) -> String {
    match rel.get("awards").and_then(Value::as_array) {
        Some(a) => a.iter().any(|a| s(a, &["status"]) == "active").to_string(),
        None => String::new(),
    }
}

/// `v[key]`, or null.
fn list_holder<'a>(v: &'a Value, key: &str) -> &'a Value {
    v.get(key).unwrap_or(&Value::Null)
}
