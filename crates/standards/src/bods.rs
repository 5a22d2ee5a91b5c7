//! BODS statements to bundle rows: 0.4 records (`recordType` person, entity, relationship) and
//! the older statements (`statementType` personStatement, entityStatement,
//! ownershipOrControlStatement).
//!
//! Persons are people (political exposure kept as `pep` and `pep_reason`); entities are companies,
//! whatever their type (kept as `entity_type`: a state body owning a state enterprise is still
//! the owner); a relationship is an ownership edge when an interest is a shareholding (its exact
//! share, or the lower bound of a range with the upper bound kept as `share_max`), a role when a
//! person sits on the board or manages (`boardMember`, `boardChair`, `seniorManagingOfficial`),
//! and an ownership edge without a share for any other control (voting rights, rights to appoint
//! the board, other influence). Every interest type is kept in `interest_types`. A relationship
//! whose interested party is not identified (an inline reason such as
//! `subjectUnableToConfirmOrIdentifyBeneficialOwner`) makes no edge and no placeholder person:
//! the reason and description are kept on the subject entity (`bo_unspecified_reason`,
//! `bo_unspecified_description`). Circular ownership is kept as the two edges it is. A record
//! described by several statements (its history) is read from the last one in the file.

use crate::bundle::Bundle;
use crate::ftm::day;
use crate::json::{list, s, Record};
use serde_json::Value;
use std::collections::BTreeMap;

/// A statement in the 0.4 shape: (kind, id, details). Older statements are read into the same
/// shape: their id is the statement id, their details the statement itself.
fn shape(v: &Value) -> Option<(&str, &str, &Value)> {
    if let Some(t) = v.get("recordType").and_then(Value::as_str) {
        return Some((t, s(v, &["recordId"]), v.get("recordDetails")?));
    }
    let kind = match s(v, &["statementType"]) {
        "personStatement" => "person",
        "entityStatement" => "entity",
        "ownershipOrControlStatement" => "relationship",
        _ => return None,
    };
    let id = match s(v, &["statementID"]) {
        "" => s(v, &["statementId"]),
        x => x,
    };
    Some((kind, id, v))
}

/// The record an older relationship's party points to, or a 0.4 relationship's id string.
fn party_ref(p: &Value) -> Option<&str> {
    if let Some(id) = p.as_str() {
        return Some(id);
    }
    ["describedByPersonStatement", "describedByEntityStatement"]
        .iter()
        .map(|k| s(p, &[k]))
        .find(|x| !x.is_empty())
}

fn person_name(d: &Value) -> String {
    let n = list(d, "names").first().cloned().unwrap_or(Value::Null);
    match s(&n, &["fullName"]) {
        "" => [s(&n, &["givenName"]), s(&n, &["familyName"])]
            .iter()
            .filter(|x| !x.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" "),
        f => f.to_owned(),
    }
}

fn identifiers(d: &Value) -> String {
    list(d, "identifiers")
        .iter()
        .map(|i| format!("{}:{}", s(i, &["scheme"]), s(i, &["id"])))
        .collect::<Vec<_>>()
        .join(";")
}

fn entity_type(d: &Value) -> &str {
    match s(d, &["entityType", "type"]) {
        "" => s(d, &["entityType"]),
        t => t,
    }
}

/// Translates BODS statements into bundle rows.
pub fn translate(records: &[Record]) -> (Bundle, BTreeMap<String, u64>) {
    let mut out = Bundle::default();
    let mut left_out: BTreeMap<String, u64> = BTreeMap::new();
    let mut kinds: BTreeMap<&str, &str> = BTreeMap::new();
    let mut unspecified: BTreeMap<&str, (&str, &str)> = BTreeMap::new();
    for r in records {
        let Some((kind, id, d)) = shape(&r.value) else {
            *left_out
                .entry("not a BODS statement".to_owned())
                .or_default() += 1;
            continue;
        };
        kinds.insert(id, kind);
        if kind == "relationship" {
            let p = d.get("interestedParty").unwrap_or(&Value::Null);
            if party_ref(p).is_none() {
                let reason = match s(p, &["reason"]) {
                    "" => s(p, &["unspecified", "reason"]),
                    x => x,
                };
                let desc = match s(p, &["description"]) {
                    "" => s(p, &["unspecified", "description"]),
                    x => x,
                };
                unspecified.insert(subject(d), (reason, desc));
            }
        }
    }
    // A record described by several statements (its history): the last one in the file holds.
    let mut last: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, r) in records.iter().enumerate() {
        if let Some((_, id, _)) = shape(&r.value) {
            last.insert(id, i);
        }
    }
    for (i, r) in records.iter().enumerate() {
        let Some((kind, id, d)) = shape(&r.value) else {
            continue;
        };
        if last.get(id) != Some(&i) {
            *left_out
                .entry(
                    "earlier statement of a record stated again later (the later holds)".to_owned(),
                )
                .or_default() += 1;
            continue;
        }
        match kind {
            "person" => person(&mut out, r, id, d),
            "entity" => entity(&mut out, r, id, d, unspecified.get(id)),
            "relationship" => {
                if let Some(why) = relationship(&mut out, r, d, &kinds) {
                    *left_out.entry(why.to_owned()).or_default() += 1;
                }
            }
            _ => {}
        }
    }
    (out, left_out)
}

fn subject(d: &Value) -> &str {
    d.get("subject").and_then(party_ref).unwrap_or("")
}

fn person(out: &mut Bundle, r: &Record, id: &str, d: &Value) {
    let pep = s(d, &["politicalExposure", "status"]);
    let reason = list(
        d.get("politicalExposure").unwrap_or(&Value::Null),
        "details",
    )
    .iter()
    .map(|x| s(x, &["reason"]))
    .filter(|x| !x.is_empty())
    .collect::<Vec<_>>()
    .join(";");
    out.row(
        "people.csv",
        r.line,
        &[
            ("id", id.to_owned()),
            ("name", person_name(d)),
            ("birth_date", day(s(d, &["birthDate"]))),
            ("death_date", day(s(d, &["deathDate"]))),
            ("person_type", s(d, &["personType"]).to_owned()),
            (
                "pep",
                if pep == "isPep" {
                    "true".to_owned()
                } else {
                    String::new()
                },
            ),
            ("pep_status", pep.to_owned()),
            ("pep_reason", reason),
            ("identifiers", identifiers(d)),
            ("json_pointer", r.pointer.clone()),
        ],
    );
}

fn entity(out: &mut Bundle, r: &Record, id: &str, d: &Value, unspecified: Option<&(&str, &str)>) {
    let code = list(d, "identifiers")
        .iter()
        .find(|i| s(i, &["scheme"]) == "CN-USCC")
        .map_or("", |i| s(i, &["id"]));
    let address = list(d, "addresses")
        .first()
        .map_or("", |a| s(a, &["address"]));
    let (reason, desc) = unspecified.copied().unwrap_or(("", ""));
    out.row(
        "companies.csv",
        r.line,
        &[
            ("id", id.to_owned()),
            ("name", s(d, &["name"]).to_owned()),
            ("credit_code", code.to_owned()),
            ("address", address.to_owned()),
            ("founded", day(s(d, &["foundingDate"]))),
            (
                "status",
                if s(d, &["dissolutionDate"]).is_empty() {
                    ""
                } else {
                    "dissolved"
                }
                .to_owned(),
            ),
            ("entity_type", entity_type(d).to_owned()),
            ("jurisdiction", s(d, &["jurisdiction", "code"]).to_owned()),
            ("identifiers", identifiers(d)),
            ("bo_unspecified_reason", reason.to_owned()),
            ("bo_unspecified_description", desc.to_owned()),
            ("json_pointer", r.pointer.clone()),
        ],
    );
}

/// The share of a shareholding interest: exact, or the lower bound (and the upper bound).
fn share(i: &Value) -> (String, String) {
    let sh = i.get("share").unwrap_or(&Value::Null);
    let num = |k: &str| sh.get(k).and_then(Value::as_f64).map(|x| x.to_string());
    match num("exact") {
        Some(x) => (x, String::new()),
        None => (
            num("minimum")
                .or_else(|| num("exclusiveMinimum"))
                .unwrap_or_default(),
            num("maximum")
                .or_else(|| num("exclusiveMaximum"))
                .unwrap_or_default(),
        ),
    }
}

/// Writes a relationship's edge; returns why it made none.
fn relationship(
    out: &mut Bundle,
    r: &Record,
    d: &Value,
    kinds: &BTreeMap<&str, &str>,
) -> Option<&'static str> {
    let company = subject(d);
    let Some(owner) = d.get("interestedParty").and_then(party_ref) else {
        return Some(
            "relationship with an unspecified interested party (reason kept on the subject)",
        );
    };
    if kinds.get(company) != Some(&"entity") {
        return Some("relationship whose subject is not an entity statement of the file");
    }
    let owner_kind = kinds.get(owner).copied().unwrap_or("");
    if owner_kind.is_empty() {
        return Some("relationship whose interested party is not a statement of the file");
    }
    let interests = list(d, "interests");
    let types: Vec<&str> = interests.iter().map(|i| s(i, &["type"])).collect();
    let holding = interests.iter().find(|i| s(i, &["type"]) == "shareholding");
    let board = ["boardMember", "boardChair", "seniorManagingOfficial"];
    let first = holding
        .or_else(|| interests.first())
        .unwrap_or(&Value::Null);
    let start = day(s(first, &["startDate"]));
    let end = day(s(first, &["endDate"]));
    let beneficial = interests
        .iter()
        .any(|i| i.get("beneficialOwnershipOrControl") == Some(&Value::Bool(true)));
    if holding.is_none() && owner_kind == "person" && types.iter().any(|t| board.contains(t)) {
        let role = if types.contains(&"seniorManagingOfficial") && !types.contains(&"boardMember") {
            "manager"
        } else {
            "director"
        };
        out.row(
            "roles.csv",
            r.line,
            &[
                ("person_id", owner.to_owned()),
                ("company_id", company.to_owned()),
                ("role", role.to_owned()),
                ("start", start),
                ("end", end),
                ("interest_types", types.join(";")),
                ("json_pointer", r.pointer.clone()),
            ],
        );
        return None;
    }
    let (pct, max) = holding.map(share).unwrap_or_default();
    out.row(
        "ownership.csv",
        r.line,
        &[
            ("owner_id", owner.to_owned()),
            ("company_id", company.to_owned()),
            ("share_pct", pct),
            ("start", start),
            ("end", end),
            ("share_max", max),
            ("interest_types", types.join(";")),
            ("beneficial", beneficial.to_string()),
            (
                "direct_or_indirect",
                s(first, &["directOrIndirect"]).to_owned(),
            ),
            ("json_pointer", r.pointer.clone()),
        ],
    );
    None
}
