//! FollowTheMoney entities (JSON lines: `{"id", "schema", "properties"}`) to bundle rows.
//!
//! Things become nodes: `Person` people, `PublicBody` agencies, every other legal entity
//! (`Company`, `Organization`, `LegalEntity`) companies, `CallForTenders` tenders, `Contract`
//! contracts, a `Payment` by a public body a subsidy. Links become edges: `Ownership`,
//! `Directorship`, `Employment`, `Membership` of a public body in another, `Occupancy` of a
//! `Position`, `Family`, `Associate`, `ContractAward` (a contract's supplier and tender), a
//! `Sanction` a blacklist entry, and the `UnknownLink`s Qinglian's own FtM export writes for bids,
//! tender roles, approvals and declarations (so that an export loads back). What has no place
//! in the model (addresses as entities, passports, private payments, documents …) is counted
//! in the load's summary and left out. `docs/formats.md` has the table.

use crate::bundle::Bundle;
use crate::json::Record;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};

type Props = Map<String, Value>;

fn props(v: &Value) -> Option<&Props> {
    v.get("properties")?.as_object()
}

/// Every string value of a property.
fn all<'a>(p: &'a Props, key: &str) -> Vec<&'a str> {
    p.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// The first value of a property, or "".
fn first<'a>(p: &'a Props, key: &str) -> &'a str {
    all(p, key).first().copied().unwrap_or("")
}

/// A full day `YYYY-MM-DD` from an FtM date (which may be a year, a month or a timestamp);
/// "" when the date is not a whole day (it is then kept as an extra column).
pub fn day(s: &str) -> String {
    let d = s.get(..10).unwrap_or("");
    let ok = d.len() == 10
        && d.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    if ok && qinglian_model::Date::parse(d).is_ok() {
        d.to_owned()
    } else {
        String::new()
    }
}

/// The vocabulary word for a relationship text (Qinglian's own words first, then common
/// English and Chinese ones); `None` when unknown.
fn relation(text: &str) -> Option<&'static str> {
    let t = text.trim().to_lowercase();
    for w in qinglian_model::RELATIONS {
        if t == *w {
            return Some(w);
        }
    }
    let has = |ws: &[&str]| ws.iter().any(|w| t.contains(w));
    Some(
        if has(&["in-law", "in law", "岳", "婆", "公公", "儿媳", "女婿"]) {
            "in_law"
        } else if has(&["spouse", "wife", "husband", "married", "配偶", "妻", "丈夫"]) {
            "spouse"
        } else if has(&["mother", "father", "parent", "父", "母"]) {
            "parent"
        } else if has(&["son", "daughter", "child", "子", "女"]) {
            "child"
        } else if has(&["brother", "sister", "sibling", "兄", "弟", "姐", "妹"]) {
            "sibling"
        } else {
            return None;
        },
    )
}

/// The role word for a directorship's role text; director when it says nothing more precise.
fn role(text: &str) -> &'static str {
    let t = text.to_lowercase();
    let has = |ws: &[&str]| ws.iter().any(|w| t.contains(w));
    for w in qinglian_model::ROLES {
        if t == *w {
            return w;
        }
    }
    if has(&["legal rep", "法定代表", "法人"]) {
        "legal_rep"
    } else if has(&["supervis", "监事", "auditor"]) {
        "supervisor"
    } else if has(&[
        "manag",
        "经理",
        "ceo",
        "chief executive",
        "executive officer",
    ]) {
        "manager"
    } else if has(&["employee", "职员", "员工"]) {
        "employee"
    } else {
        "director"
    }
}

/// What a node entity became.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Node {
    Person,
    Agency,
    Company,
    Tender,
    Contract,
    Subsidy,
}

fn node_of(schema: &str, p: &Props) -> Option<Node> {
    Some(match schema {
        "Person" => Node::Person,
        "PublicBody" => Node::Agency,
        "Company" | "Organization" | "LegalEntity" => Node::Company,
        "CallForTenders" => Node::Tender,
        "Contract" => Node::Contract,
        // A payment is a subsidy when a public body pays it (decided once payers are known).
        "Payment" if !first(p, "payer").is_empty() => Node::Subsidy,
        _ => return None,
    })
}

/// The translation state: entities by id, what each became, the rows, what was left out.
struct Ftm<'a> {
    by_id: HashMap<&'a str, &'a Record>,
    /// Contract id → (supplier, call for tenders) of its first `ContractAward`.
    awards: HashMap<&'a str, (&'a str, &'a str)>,
    kind: HashMap<&'a str, Node>,
    out: Bundle,
    left_out: BTreeMap<String, u64>,
}

/// Translates FtM records into bundle rows; returns the rows and what was left out, by schema.
pub fn translate(records: &[Record]) -> (Bundle, BTreeMap<String, u64>) {
    let mut t = Ftm {
        by_id: HashMap::new(),
        awards: HashMap::new(),
        kind: HashMap::new(),
        out: Bundle::default(),
        left_out: BTreeMap::new(),
    };
    for r in records {
        if let (Some(id), Some(schema), Some(p)) = (
            r.value.get("id").and_then(Value::as_str),
            r.value.get("schema").and_then(Value::as_str),
            props(&r.value),
        ) {
            t.by_id.insert(id, r);
            if schema == "ContractAward" {
                let award = (first(p, "supplier"), first(p, "callForTenders"));
                t.awards.entry(first(p, "contract")).or_insert(award);
            }
            if let Some(k) = node_of(schema, p) {
                t.kind.insert(id, k);
            }
        }
    }
    // A payment whose payer is not a public body is not a subsidy.
    let private: Vec<&str> = t
        .kind
        .iter()
        .filter(|(id, k)| {
            **k == Node::Subsidy
                && t.by_id
                    .get(*id)
                    .and_then(|r| props(&r.value))
                    .is_none_or(|p| t.kind.get(first(p, "payer")) != Some(&Node::Agency))
        })
        .map(|(id, _)| *id)
        .collect();
    for id in private {
        t.kind.remove(id);
    }
    for r in records {
        t.record(r);
    }
    (t.out, t.left_out)
}

impl<'a> Ftm<'a> {
    fn skip(&mut self, what: &str) {
        *self.left_out.entry(what.to_owned()).or_default() += 1;
    }

    fn is(&self, id: &str, k: Node) -> bool {
        self.kind.get(id) == Some(&k)
    }

    /// The entity's display name: FtM's `caption` (the name FtM itself shows), else its first
    /// `name`. Other names are kept as `aliases`.
    fn name(r: &Record, p: &Props) -> (String, String) {
        let caption = r.value.get("caption").and_then(Value::as_str).unwrap_or("");
        let names = all(p, "name");
        let shown = if caption.is_empty() {
            first(p, "name")
        } else {
            caption
        };
        let others: Vec<&str> = names.into_iter().filter(|n| *n != shown).collect();
        (shown.to_owned(), others.join(";"))
    }

    fn record(&mut self, r: &'a Record) {
        let (Some(id), Some(schema), Some(p)) = (
            r.value.get("id").and_then(Value::as_str),
            r.value.get("schema").and_then(Value::as_str),
            props(&r.value),
        ) else {
            self.skip("not an FtM entity");
            return;
        };
        let line = r.line;
        let names = Self::name(r, p);
        match self.kind.get(id).copied() {
            Some(Node::Person) => self.person(line, id, p, names),
            Some(Node::Agency) => self.agency(line, id, p, names),
            Some(Node::Company) => self.company(line, id, schema, p, names),
            Some(Node::Tender) => self.tender(line, id, p),
            Some(Node::Contract) => self.contract(line, id, p),
            Some(Node::Subsidy) => self.subsidy(line, id, p),
            None => self.link(line, schema, p),
        }
    }

    fn person(&mut self, line: u32, id: &str, p: &Props, (name, aliases): (String, String)) {
        self.out.row(
            "people.csv",
            line,
            &[
                ("id", id.to_owned()),
                ("name", name),
                ("id_number", first(p, "idNumber").to_owned()),
                ("birth_date", day(first(p, "birthDate"))),
                ("death_date", day(first(p, "deathDate"))),
                ("inn", first(p, "innCode").to_owned()),
                ("country", all(p, "country").join(";")),
                ("topics", all(p, "topics").join(";")),
                ("names", aliases),
            ],
        );
    }

    fn agency(&mut self, line: u32, id: &str, p: &Props, (name, aliases): (String, String)) {
        let parent = first(p, "parent");
        let parent = if self.is(parent, Node::Agency) {
            parent
        } else {
            ""
        };
        self.out.row(
            "agencies.csv",
            line,
            &[
                ("id", id.to_owned()),
                ("name", name),
                ("parent_id", parent.to_owned()),
                ("region", first(p, "address").to_owned()),
                ("topics", all(p, "topics").join(";")),
                ("names", aliases),
            ],
        );
    }

    fn company(
        &mut self,
        line: u32,
        id: &str,
        schema: &str,
        p: &Props,
        (name, aliases): (String, String),
    ) {
        let code = [first(p, "uscCode"), first(p, "registrationNumber")]
            .into_iter()
            .find(|c| qinglian_model::ident::looks_like_credit_code(c))
            .unwrap_or("");
        self.out.row(
            "companies.csv",
            line,
            &[
                ("id", id.to_owned()),
                ("name", name),
                ("credit_code", code.to_owned()),
                ("address", first(p, "address").to_owned()),
                ("phone", first(p, "phone").to_owned()),
                ("founded", day(first(p, "incorporationDate"))),
                ("status", first(p, "status").to_owned()),
                ("ftm_schema", schema.to_owned()),
                ("inn", first(p, "innCode").to_owned()),
                ("ogrn", first(p, "ogrnCode").to_owned()),
                (
                    "registration_number",
                    first(p, "registrationNumber").to_owned(),
                ),
                ("topics", all(p, "topics").join(";")),
                ("names", aliases),
            ],
        );
    }

    fn tender(&mut self, line: u32, id: &str, p: &Props) {
        self.out.row(
            "tenders.csv",
            line,
            &[
                ("id", id.to_owned()),
                ("agency_id", first(p, "authority").to_owned()),
                ("title", first(p, "title").to_owned()),
                ("published", day(first(p, "publicationDate"))),
            ],
        );
    }

    /// A contract with its supplier from the first `ContractAward` that names it.
    fn contract(&mut self, line: u32, id: &str, p: &Props) {
        let (supplier, tender) = self.awards.get(id).copied().unwrap_or(("", ""));
        if supplier.is_empty() || first(p, "authority").is_empty() {
            self.skip("Contract without an authority and a supplier");
            return;
        }
        self.out.row(
            "contracts.csv",
            line,
            &[
                ("id", id.to_owned()),
                ("agency_id", first(p, "authority").to_owned()),
                ("company_id", supplier.to_owned()),
                ("tender_id", tender.to_owned()),
                ("amount", first(p, "amount").to_owned()),
                ("signed", day(first(p, "contractDate"))),
            ],
        );
    }

    fn subsidy(&mut self, line: u32, id: &str, p: &Props) {
        self.out.row(
            "subsidies.csv",
            line,
            &[
                ("id", id.to_owned()),
                ("agency_id", first(p, "payer").to_owned()),
                ("recipient_id", first(p, "beneficiary").to_owned()),
                ("amount", first(p, "amount").to_owned()),
                ("paid", day(first(p, "date"))),
                ("program", first(p, "programme").to_owned()),
            ],
        );
    }

    fn dates(p: &Props) -> [(&'static str, String); 2] {
        [
            ("start", day(first(p, "startDate"))),
            ("end", day(first(p, "endDate"))),
        ]
    }

    fn link(&mut self, line: u32, schema: &str, p: &'a Props) {
        match schema {
            "Ownership" => self.ownership(line, p),
            "Directorship" | "Employment" => self.directorship(line, schema, p),
            "Occupancy" => self.occupancy(line, p),
            "Membership" => self.membership(line, p),
            "Family" | "Associate" => self.family(line, schema, p),
            "Sanction" => self.sanction(line, p),
            "UnknownLink" => self.unknown_link(line, p),
            // Read as part of the contract, the payment or the occupancy.
            "ContractAward" | "Position" => {}
            s => self.skip(s),
        }
    }

    fn ownership(&mut self, line: u32, p: &Props) {
        let (owner, asset) = (first(p, "owner"), first(p, "asset"));
        let owner_ok = self.is(owner, Node::Person) || self.is(owner, Node::Company);
        if !(owner_ok && self.is(asset, Node::Company)) {
            self.skip("Ownership of or by something not a person or company");
            return;
        }
        let share = first(p, "percentage")
            .trim_end_matches('%')
            .trim()
            .to_owned();
        let [start, end] = Self::dates(p);
        self.out.row(
            "ownership.csv",
            line,
            &[
                ("owner_id", owner.to_owned()),
                ("company_id", asset.to_owned()),
                ("share_pct", share),
                start,
                end,
                ("shares_count", first(p, "sharesCount").to_owned()),
                ("role_text", first(p, "role").to_owned()),
            ],
        );
    }

    fn directorship(&mut self, line: u32, schema: &str, p: &Props) {
        let (who, org) = if schema == "Employment" {
            (first(p, "employee"), first(p, "employer"))
        } else {
            (first(p, "director"), first(p, "organization"))
        };
        let text = first(p, "role");
        let [start, end] = Self::dates(p);
        if self.is(who, Node::Person) && self.is(org, Node::Agency) {
            let title = if text.is_empty() { schema } else { text };
            self.out.row(
                "positions.csv",
                line,
                &[
                    ("person_id", who.to_owned()),
                    ("agency_id", org.to_owned()),
                    ("title", title.to_owned()),
                    start,
                    end,
                ],
            );
        } else if self.is(who, Node::Person) && self.is(org, Node::Company) {
            let word = if schema == "Employment" {
                "employee"
            } else {
                role(text)
            };
            self.out.row(
                "roles.csv",
                line,
                &[
                    ("person_id", who.to_owned()),
                    ("company_id", org.to_owned()),
                    ("role", word.to_owned()),
                    start,
                    end,
                    ("role_text", text.to_owned()),
                ],
            );
        } else {
            self.skip(&format!(
                "{schema} not of a person in a company or public body"
            ));
        }
    }

    /// An occupancy of a post: a position in the post's organisation, or in the post itself
    /// when it names none (the post is then the agency).
    fn occupancy(&mut self, line: u32, p: &'a Props) {
        let (holder, post) = (first(p, "holder"), first(p, "post"));
        let Some(post_rec) = self.by_id.get(post).copied() else {
            self.skip("Occupancy of an unknown post");
            return;
        };
        let pp = props(&post_rec.value).cloned().unwrap_or_default();
        let org = first(&pp, "organization");
        let agency = if self.is(org, Node::Agency) {
            org.to_owned()
        } else {
            if !self.is(post, Node::Agency) {
                self.kind.insert(post, Node::Agency);
                self.out.row(
                    "agencies.csv",
                    post_rec.line,
                    &[
                        ("id", post.to_owned()),
                        ("name", first(&pp, "name").to_owned()),
                        ("ftm_schema", "Position".to_owned()),
                    ],
                );
            }
            post.to_owned()
        };
        if !self.is(holder, Node::Person) {
            self.skip("Occupancy by something not a person");
            return;
        }
        let [start, end] = Self::dates(p);
        self.out.row(
            "positions.csv",
            line,
            &[
                ("person_id", holder.to_owned()),
                ("agency_id", agency),
                ("title", first(&pp, "name").to_owned()),
                start,
                end,
            ],
        );
    }

    fn membership(&mut self, line: u32, p: &Props) {
        let (member, org) = (first(p, "member"), first(p, "organization"));
        if self.is(member, Node::Person) && self.is(org, Node::Agency) {
            let [start, end] = Self::dates(p);
            let title = match first(p, "role") {
                "" => "member",
                r => r,
            };
            self.out.row(
                "positions.csv",
                line,
                &[
                    ("person_id", member.to_owned()),
                    ("agency_id", org.to_owned()),
                    ("title", title.to_owned()),
                    start,
                    end,
                ],
            );
        } else {
            // An agency's membership in its parent is its parent_id (see `agency`).
            self.skip("Membership not of a person in a public body");
        }
    }

    fn family(&mut self, line: u32, schema: &str, p: &Props) {
        let (a, b) = if schema == "Family" {
            (first(p, "person"), first(p, "relative"))
        } else {
            (first(p, "person"), first(p, "associate"))
        };
        if !(self.is(a, Node::Person) && self.is(b, Node::Person)) {
            self.skip(&format!("{schema} not between two people"));
            return;
        }
        let text = first(p, "relationship");
        let word = relation(text).unwrap_or(if schema == "Family" {
            "other"
        } else {
            "associate"
        });
        self.out.row(
            "relations.csv",
            line,
            &[
                ("person_id", a.to_owned()),
                ("relative_id", b.to_owned()),
                ("relation", word.to_owned()),
                ("relation_text", text.to_owned()),
            ],
        );
    }

    fn sanction(&mut self, line: u32, p: &Props) {
        let entity = first(p, "entity");
        if !(self.is(entity, Node::Person) || self.is(entity, Node::Company)) {
            self.skip("Sanction of something not a person or company");
            return;
        }
        let reason = ["reason", "program", "provisions", "summary"]
            .iter()
            .map(|k| first(p, k))
            .find(|s| !s.is_empty())
            .unwrap_or("sanction");
        let listed = match day(first(p, "listingDate")) {
            d if d.is_empty() => day(first(p, "startDate")),
            d => d,
        };
        let source = match first(p, "authority") {
            "" => "FtM Sanction",
            a => a,
        };
        self.out.row(
            "blacklist.csv",
            line,
            &[
                ("entity_id", entity.to_owned()),
                ("reason", reason.to_owned()),
                ("listed", listed),
                ("source", source.to_owned()),
            ],
        );
    }

    /// The links Qinglian's FtM export writes for what FtM has no schema for.
    fn unknown_link(&mut self, line: u32, p: &Props) {
        let (s, o, r) = (first(p, "subject"), first(p, "object"), first(p, "role"));
        let amount = all(p, "description")
            .iter()
            .find_map(|d| d.strip_prefix("amount: "))
            .unwrap_or("")
            .to_owned();
        if (r == "bid" || r == "winning bid")
            && self.is(s, Node::Company)
            && self.is(o, Node::Tender)
        {
            let won = if r == "winning bid" { "true" } else { "false" };
            self.out.row(
                "bids.csv",
                line,
                &[
                    ("tender_id", o.to_owned()),
                    ("company_id", s.to_owned()),
                    ("amount", amount),
                    ("submitted", day(first(p, "date"))),
                    ("won", won.to_owned()),
                ],
            );
        } else if let Some(word) = r.strip_prefix("tender ") {
            self.out.row(
                "tender_officials.csv",
                line,
                &[
                    ("tender_id", o.to_owned()),
                    ("person_id", s.to_owned()),
                    ("role", word.to_owned()),
                ],
            );
        } else if let Some(word) = r.strip_prefix("declared ") {
            self.out.row(
                "declarations.csv",
                line,
                &[
                    ("person_id", s.to_owned()),
                    ("subject_id", o.to_owned()),
                    ("relation", word.to_owned()),
                ],
            );
        } else {
            self.skip(&format!("UnknownLink {r}"));
        }
    }
}
