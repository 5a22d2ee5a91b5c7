//! Pseudonymisation for analysts, applied in one place: the guard calls [`apply`] on every JSON
//! answer to an analyst, after the handler and before serialisation, so no route can forget it.
//!
//! A private person is a person who holds no position (a relative, an owner, a recipient). Their
//! bundle ids stay (they are already pseudonymous and tie the evidence together); everything
//! else that could name them goes:
//!
//! - an object describing one keeps only [`KEEP`] fields, its name replaced by a stable keyed
//!   pseudonym (so a new field added to a description later is withheld, not leaked);
//! - `*_name` fields beside an id field naming one get the pseudonym;
//! - every string in the answer — explanations, the `windows` sentences, labels — has their
//!   name replaced by the pseudonym, and their identifiers and birth date by `(withheld)`. A
//!   name that also appears as a longer name of someone public (张伟 inside 张伟明) is replaced
//!   only where it is not part of that longer name; a name equal to a public person's name is
//!   left alone where it is not tied to an id, since it then names the public person as much.

use crate::handlers::private_person;
use crate::AppState;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The fields a private person's description keeps.
const KEEP: [&str; 8] = [
    "id",
    "kind",
    "name",
    "source",
    "sources",
    "edges",
    "match",
    "death_date",
];

const WITHHELD: &str = "(withheld)";

/// What must not reach an analyst about one private person.
#[derive(Debug)]
struct Private {
    name: String,
    pseudonym: String,
    /// Identifiers and every extra column's value (raw invalid numbers, other names, …).
    secrets: Vec<String>,
    birth: Option<String>,
}

/// Rewrites an answer in place.
pub(crate) fn apply(st: &AppState, v: &mut Value) {
    let mut ids = BTreeSet::new();
    strings(v, &mut |s| {
        ids.insert(s.to_owned());
    });
    let mut private: BTreeMap<String, Private> = BTreeMap::new();
    let mut public_names: BTreeSet<String> = BTreeSet::new();
    for id in &ids {
        let Some(n) = st.snap.lookup(id) else {
            continue;
        };
        if private_person(st, n) {
            private.insert(id.clone(), describe(st, n, id));
        } else if st.snap.name(n).chars().count() > 1 {
            public_names.insert(st.snap.name(n).to_owned());
        }
    }
    if private.is_empty() {
        return;
    }
    rewrite_objects(v, &private);
    rewrite_strings(v, &private, &public_names);
}

fn describe(st: &AppState, n: u32, id: &str) -> Private {
    let snap = &st.snap;
    let mut secrets = Vec::new();
    if let Some(d) = snap.detail(n) {
        secrets.extend(d.identifier.clone());
        // Extra columns of a person (raw invalid numbers, other names, phones, addresses):
        // all of them may identify.
        secrets.extend(d.props.iter().map(|(_, val)| val.clone()));
    }
    let ident = snap.identifier(n);
    if !ident.is_empty() {
        secrets.push(ident.to_owned());
    }
    secrets.retain(|s| s.chars().count() > 1);
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    secrets.dedup();
    let d = snap.dates()[n as usize];
    Private {
        name: snap.name(n).to_owned(),
        pseudonym: st.key.pseudonym(id),
        secrets,
        birth: (d != qinglian_engine::snapshot::NO_DATE)
            .then(|| qinglian_model::Date(d).to_string()),
    }
}

/// Calls `f` on every string value.
fn strings(v: &Value, f: &mut impl FnMut(&str)) {
    match v {
        Value::String(s) => f(s),
        Value::Array(a) => a.iter().for_each(|x| strings(x, f)),
        Value::Object(m) => m.values().for_each(|x| strings(x, f)),
        _ => {}
    }
}

/// Descriptions of private people keep only [`KEEP`]; `x_name` beside `x` = a private id gets
/// the pseudonym.
fn rewrite_objects(v: &mut Value, private: &BTreeMap<String, Private>) {
    match v {
        Value::Object(m) => {
            if let Some(p) = m
                .get("id")
                .and_then(Value::as_str)
                .and_then(|id| private.get(id))
            {
                let pseudonym = p.pseudonym.clone();
                m.retain(|k, _| KEEP.contains(&k.as_str()));
                if m.contains_key("name") {
                    m.insert("name".into(), Value::String(pseudonym));
                }
            }
            name_fields(m, private);
            m.values_mut().for_each(|x| rewrite_objects(x, private));
        }
        Value::Array(a) => a.iter_mut().for_each(|x| rewrite_objects(x, private)),
        _ => {}
    }
}

fn name_fields(m: &mut Map<String, Value>, private: &BTreeMap<String, Private>) {
    let keys: Vec<String> = m.keys().filter(|k| k.ends_with("_name")).cloned().collect();
    for k in keys {
        let owner = &k[..k.len() - "_name".len()];
        let p = m
            .get(owner)
            .and_then(Value::as_str)
            .and_then(|id| private.get(id));
        if let Some(p) = p {
            let pseudonym = p.pseudonym.clone();
            m.insert(k, Value::String(pseudonym));
        }
    }
}

fn rewrite_strings(v: &mut Value, private: &BTreeMap<String, Private>, public: &BTreeSet<String>) {
    match v {
        Value::String(s) => {
            if let Some(t) = scrub(s, private, public) {
                *s = t;
            }
        }
        Value::Array(a) => a
            .iter_mut()
            .for_each(|x| rewrite_strings(x, private, public)),
        Value::Object(m) => m
            .values_mut()
            .for_each(|x| rewrite_strings(x, private, public)),
        _ => {}
    }
}

/// The string with every private person's name, identifiers and birth date replaced; None when
/// nothing changed. Names tied to an id (`张伟 (P0000017)`) are replaced first, each by its own
/// pseudonym; then bare names — by the pseudonym, or by a plain 某人 when two private people in
/// the answer share the name and the sentence does not say which.
fn scrub(
    s: &str,
    private: &BTreeMap<String, Private>,
    public: &BTreeSet<String>,
) -> Option<String> {
    let mut out = s.to_owned();
    for p in private.values() {
        for secret in &p.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), WITHHELD);
            }
        }
        // A bare date is a field of its own (an edge's start, a contract's date): only dates
        // inside sentences are the birth date being cited.
        if let Some(b) = p.birth.as_deref().filter(|b| out.contains(b) && out != *b) {
            out = out.replace(b, WITHHELD);
        }
    }
    for (id, p) in private.iter().filter(|(_, p)| !p.name.is_empty()) {
        out = out.replace(
            &format!("{} ({id})", p.name),
            &format!("{} ({id})", p.pseudonym),
        );
    }
    for p in private.values() {
        if p.name.is_empty() || public.contains(&p.name) || !out.contains(p.name.as_str()) {
            continue;
        }
        let shared = private.values().filter(|q| q.name == p.name).count() > 1;
        let with = if shared {
            "某人"
        } else {
            p.pseudonym.as_str()
        };
        out = replace_outside(&out, &p.name, with, public);
    }
    (out != s).then_some(out)
}

/// Replaces `name` by `with` wherever it is not part of a longer public name.
fn replace_outside(s: &str, name: &str, with: &str, public: &BTreeSet<String>) -> String {
    if !s.contains(name) {
        return s.to_owned();
    }
    let covers: Vec<&String> = public
        .iter()
        .filter(|p| p.len() > name.len() && p.contains(name))
        .collect();
    let mut protected: Vec<(usize, usize)> = Vec::new();
    for c in covers {
        protected.extend(s.match_indices(c.as_str()).map(|(i, m)| (i, i + m.len())));
    }
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    for (i, m) in s.match_indices(name) {
        let inside = protected.iter().any(|&(a, b)| a <= i && i + m.len() <= b);
        if !inside {
            out.push_str(&s[last..i]);
            out.push_str(with);
            last = i + m.len();
        }
    }
    out.push_str(&s[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_inside_a_longer_public_name_is_left_alone() {
        let public: BTreeSet<String> = ["张伟明".to_owned()].into();
        assert_eq!(
            replace_outside("张伟 和 张伟明", "张伟", "某人-1", &public),
            "某人-1 和 张伟明"
        );
    }
}
